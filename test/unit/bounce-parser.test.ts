import { randomBytes } from 'node:crypto';

import { parseBounce, splitMbox } from '../../server/src/engine/bounce-parser';

const DSN = [
  'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
  'To: bounces+abc123@sender.example.com',
  'Subject: Undelivered Mail Returned to Sender',
  'MIME-Version: 1.0',
  'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"',
  '',
  '--BOUND',
  'Content-Type: text/plain',
  '',
  'I could not deliver your message.',
  '',
  '--BOUND',
  'Content-Type: message/delivery-status',
  '',
  'Reporting-MTA: dns; mx.example.net',
  '',
  'Final-Recipient: rfc822; nobody-here@example.org',
  'Original-Recipient: rfc822; nobody-here@example.org',
  'Action: failed',
  'Status: 5.1.1',
  'Diagnostic-Code: smtp; 550 5.1.1 <nobody-here@example.org>: Recipient address',
  '    rejected: User unknown in local recipient table',
  '',
  'Final-Recipient: rfc822; full@example.org',
  'Action: delayed',
  'Status: 4.2.2',
  'Diagnostic-Code: smtp; 452 4.2.2 Mailbox full',
  '',
  '--BOUND',
  'Content-Type: text/rfc822-headers',
  '',
  'From: news@sender.example.com',
  'To: nobody-here@example.org',
  'Message-ID: <m-1@sender.example.com>',
  'X-Multi-Smtp-Id: 42',
  'Subject: Hello',
  '',
  '--BOUND--',
  '',
].join('\r\n');

const ARF = [
  'From: feedback@isp.example',
  'To: fbl@sender.example.com',
  'Subject: Abuse report',
  'MIME-Version: 1.0',
  'Content-Type: multipart/report; report-type=feedback-report; boundary="B2"',
  '',
  '--B2',
  'Content-Type: text/plain',
  '',
  'This is an email abuse report.',
  '--B2',
  'Content-Type: message/feedback-report',
  '',
  'Feedback-Type: abuse',
  'User-Agent: SomeGenerator/1.0',
  'Version: 1',
  'Original-Rcpt-To: <complainer@isp.example>',
  '',
  '--B2',
  'Content-Type: message/rfc822',
  '',
  'From: news@sender.example.com',
  'To: complainer@isp.example',
  'Message-ID: <m-2@sender.example.com>',
  'Subject: Offers',
  '',
  'Body',
  '--B2--',
  '',
].join('\r\n');

const AUTO_REPLY = [
  'From: Jane <jane@example.org>',
  'To: news@sender.example.com',
  'Subject: Automatic reply: Hello',
  'Auto-Submitted: auto-replied',
  '',
  'I am out of the office until Monday.',
  '',
].join('\r\n');

describe('parseBounce', () => {
  it('reads an RFC 3464 DSN: recipients, status, reply code, hard/soft, returned headers', async () => {
    const parsed = await parseBounce(DSN);
    expect(parsed.kind).toBe('bounce');
    expect(parsed.recipients).toHaveLength(2);
    expect(parsed.recipients[0]).toMatchObject({
      recipient: 'nobody-here@example.org',
      status: '5.1.1',
      replyCode: '550',
      hardBounce: true,
      reason: 'userunknown',
      feedbackType: null,
    });
    expect(parsed.recipients[0]?.diagnostic).toContain('User unknown');
    expect(parsed.recipients[1]).toMatchObject({
      recipient: 'full@example.org',
      status: '4.2.2',
      replyCode: '452',
      hardBounce: false,
      reason: 'mailboxfull',
    });
    expect(parsed.originalMessageId).toBe('m-1@sender.example.com');
    expect(parsed.originalHeaders['x-multi-smtp-id']).toBe('42');
    expect(parsed.verpAddress).toBe('bounces+abc123@sender.example.com');
  });

  it('accepts a Buffer as well as a string', async () => {
    const parsed = await parseBounce(Buffer.from(DSN, 'utf8'));
    expect(parsed.recipients.map((r) => r.status)).toEqual(['5.1.1', '4.2.2']);
  });

  it('reads an ARF feedback report as a complaint', async () => {
    const parsed = await parseBounce(ARF);
    expect(parsed.kind).toBe('complaint');
    expect(parsed.recipients).toEqual([
      expect.objectContaining({
        recipient: 'complainer@isp.example',
        feedbackType: 'abuse',
        reason: 'feedback',
        hardBounce: false,
      }),
    ]);
    expect(parsed.originalMessageId).toBe('m-2@sender.example.com');
  });

  it('recognises an auto-reply', async () => {
    const parsed = await parseBounce(AUTO_REPLY);
    expect(parsed.kind).toBe('auto-reply');
    expect(parsed.recipients[0]).toMatchObject({
      recipient: 'jane@example.org',
      reason: 'vacation',
      hardBounce: false,
    });
  });

  it('reads a non-MIME qmail bounce', async () => {
    const qmail = [
      'From: MAILER-DAEMON@mx.example.net',
      'To: news@sender.example.com',
      'Subject: failure notice',
      '',
      'Hi. This is the qmail-send program at mx.example.net.',
      "I'm afraid I wasn't able to deliver your message to the following addresses.",
      "This is a permanent error; I've given up. Sorry it didn't work out.",
      '',
      '<gone@example.org>:',
      'Sorry, no mailbox here by that name. (#5.1.1)',
      '',
      '--- Below this line is a copy of the message.',
      '',
      'From: news@sender.example.com',
      'To: gone@example.org',
      'Message-ID: <m-3@sender.example.com>',
      '',
    ].join('\n');
    const parsed = await parseBounce(qmail);
    expect(parsed.kind).toBe('bounce');
    expect(parsed.recipients).toEqual([
      expect.objectContaining({ recipient: 'gone@example.org', status: '5.1.1', hardBounce: true }),
    ]);
    expect(parsed.originalMessageId).toBe('m-3@sender.example.com');
  });

  it.each([
    ['an empty string', ''],
    ['garbage bytes', Buffer.from([0, 255, 13, 10, 13, 10, 1, 2, 3, 58, 58])],
    ['a plain message', 'From: a@example.org\r\nTo: b@example.org\r\nSubject: Hi\r\n\r\nHello there.\r\n'],
    ['headers only, broken multipart', 'Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n'],
  ])('gives kind "other" for %s without throwing', async (_label, input) => {
    const parsed = await parseBounce(input);
    expect(parsed.kind).toBe('other');
    expect(parsed.recipients).toEqual([]);
  });

  it('handles a 5 MB random blob quickly', async () => {
    const blob = randomBytes(5 * 1024 * 1024);
    const started = Date.now();
    const parsed = await parseBounce(blob);
    expect(parsed.kind).toBe('other');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('caps the input at maxBytes', async () => {
    const parsed = await parseBounce(DSN + 'x'.repeat(100_000), { maxBytes: 1024 });
    expect(['bounce', 'other']).toContain(parsed.kind);
  });

  it('reads an RFC 3464 DSN: a vague Status field gives way to the code in the diagnostic', async () => {
    const dsn = DSN.replace('Status: 4.2.2', 'Status: 4.4.7').replace(
      'Diagnostic-Code: smtp; 452 4.2.2 Mailbox full',
      'Diagnostic-Code: smtp; 554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed out>'
    );
    const parsed = await parseBounce(dsn);
    expect(parsed.recipients[1]).toMatchObject({ status: '4.4.2', hardBounce: false, reason: 'expired' });
  });

  it('tells an unknown user refused at RCPT (hard) from one refused after DATA by a filter (soft)', async () => {
    const at = (command: string) =>
      [
        'From: MAILER-DAEMON@mx.example.net',
        'Subject: Undelivered Mail Returned to Sender',
        '',
        '<gone@example.org>: host mx.example.org[192.0.2.1] said: 550 unknown user',
        `    (in reply to ${command} command)`,
        '',
      ].join('\n');
    const rcpt = await parseBounce(at('RCPT TO'));
    expect(rcpt.recipients[0]).toMatchObject({
      recipient: 'gone@example.org',
      status: '5.0.911',
      hardBounce: true,
      reason: 'userunknown',
      smtpCommand: 'RCPT',
    });
    const data = await parseBounce(at('end of DATA'));
    expect(data.recipients[0]).toMatchObject({ status: '5.0.910', hardBounce: false, reason: 'filtered' });
  });

  it('reads every recipient of a Sendmail transcript with the answer each one got', async () => {
    const sendmail = [
      'From: Mail Delivery Subsystem <MAILER-DAEMON@example.com>',
      'Subject: Returned mail: User unknown',
      '',
      '   ----- Transcript of session follows -----',
      'While talking to mailin1.example.org:',
      '>>> MAIL From:<sender@example.com>',
      '<<< 501 <sender@example.com>... no access from mail server [192.0.2.55]',
      '554 <one@example.org>... Remote protocol error',
      '550 example.net (smtp)... 550 Host unknown',
      '554 <two@example.net>... 550 Host unknown (Authoritative answer from name server)',
      'While talking to smtp.example.edu:',
      '>>> RCPT To:<three@example.edu>',
      '<<< 550 <three@example.edu>... User unknown',
      '550 <three@example.edu>... User unknown',
      '   ----- Unsent message follows -----',
      'From: sender@example.com',
      'To: one@example.org',
      '',
    ].join('\n');
    const parsed = await parseBounce(sendmail);
    expect(parsed.recipients.map((r) => [r.recipient, r.reason, r.hardBounce])).toEqual([
      ['one@example.org', 'blocked', false],
      ['two@example.net', 'hostunknown', true],
      ['three@example.edu', 'userunknown', true],
    ]);
  });

  it('reads a Postfix SMTP server transcript sent to the postmaster', async () => {
    const notice = [
      'From: MAILER-DAEMON@mx.example.com (Mail Delivery System)',
      'Subject: Postfix SMTP server: errors from localhost[127.0.0.1]',
      '',
      'Transcript of session follows.',
      '',
      ' Out: 220 mx.example.com ESMTP',
      ' In:  MAIL FROM:<sender@example.com>',
      ' Out: 250 2.1.0 Ok',
      ' In:  RCPT TO:<someone@example.org>',
      ' Out: 250 2.1.5 Ok',
      ' In:  DATA',
      ' Out: 354 End data with <CR><LF>.<CR><LF>',
      ' Out: 451 4.3.0 Error: queue file write error',
      '',
    ].join('\n');
    const parsed = await parseBounce(notice);
    expect(parsed.recipients).toEqual([
      expect.objectContaining({
        recipient: 'someone@example.org',
        status: '4.3.0',
        reason: 'systemerror',
        smtpCommand: 'DATA',
      }),
    ]);
  });

  it('gives an Exim retry timeout a temporary code and reads the command it names', async () => {
    const exim = (detail: string) =>
      [
        'From: Mail Delivery System <Mailer-Daemon@mail.example.net>',
        'Subject: Mail delivery failed: returning message to sender',
        'X-Failed-Recipients: someone@example.org',
        '',
        'This message was created automatically by mail delivery software.',
        '',
        'A message that you sent could not be delivered to one or more of its',
        'recipients. This is a permanent error. The following address(es) failed:',
        '',
        '  someone@example.org',
        detail,
        '',
      ].join('\n');
    expect((await parseBounce(exim('    retry timeout exceeded'))).recipients[0]).toMatchObject({
      status: '4.0.947',
      reason: 'expired',
      hardBounce: false,
    });
    const helo = await parseBounce(
      exim('    SMTP error from remote mail server after EHLO mx.example.net:\n    554 go away')
    );
    expect(helo.recipients[0]).toMatchObject({ reason: 'blocked', smtpCommand: 'EHLO', hardBounce: false });
  });

  it('reads Microsoft 365 answers by their own codes', async () => {
    const dsn = DSN.replace('Status: 5.1.1', 'Status: 5.4.1').replace(
      /Diagnostic-Code: smtp; 550 5\.1\.1[^\n]*\n[^\n]*\n/,
      'Diagnostic-Code: smtp; 550 5.4.1 <nobody-here@example.org>: Recipient address rejected: Access denied [AB1CD.eop.prod.protection.outlook.com]\r\n'
    );
    const parsed = await parseBounce(dsn);
    expect(parsed.recipients[0]).toMatchObject({ status: '5.4.1', reason: 'userunknown', hardBounce: true });
  });

  it('reads Amazon SES notifications mailed through SNS: bounce, complaint, delivery', async () => {
    const sns = (message: object) =>
      [
        'From: AWS Notifications <no-reply@sns.amazonaws.com>',
        'To: bounces@sender.example.com',
        'Subject: AWS Notification Message',
        'Content-Type: text/plain; charset=UTF-8',
        '',
        JSON.stringify({ Type: 'Notification', MessageId: 'x', Message: JSON.stringify(message) }, null, 2),
        '',
      ].join('\n');
    const mail = { messageId: 'ses-1', headers: [{ name: 'Message-ID', value: '<m-9@sender.example.com>' }] };
    const bounce = await parseBounce(
      sns({
        notificationType: 'Bounce',
        bounce: {
          bounceType: 'Permanent',
          bouncedRecipients: [
            {
              emailAddress: 'gone@example.org',
              action: 'failed',
              status: '5.1.1',
              diagnosticCode: 'smtp; 550 5.1.1 user unknown',
            },
          ],
        },
        mail,
      })
    );
    expect(bounce.kind).toBe('bounce');
    expect(bounce.recipients[0]).toMatchObject({ recipient: 'gone@example.org', status: '5.1.1', hardBounce: true });
    expect(bounce.originalMessageId).toBe('m-9@sender.example.com');

    const complaint = await parseBounce(
      sns({
        notificationType: 'Complaint',
        complaint: { complainedRecipients: [{ emailAddress: 'angry@example.org' }], complaintFeedbackType: 'abuse' },
        mail,
      })
    );
    expect(complaint.kind).toBe('complaint');
    expect(complaint.recipients[0]).toMatchObject({ recipient: 'angry@example.org', feedbackType: 'abuse' });

    const delivery = await parseBounce(
      sns({
        notificationType: 'Delivery',
        delivery: { recipients: ['ok@example.org'], smtpResponse: '250 2.6.0 Ok' },
        mail,
      })
    );
    expect(delivery.kind).toBe('other');
    expect(delivery.recipients[0]).toMatchObject({ recipient: 'ok@example.org', status: '2.6.0', reason: 'delivered' });
  });

  it("reads Microsoft's JMRP complaint (no feedback-report part)", async () => {
    const jmrp = [
      'From: staff@hotmail.com',
      'To: abuse-report@sender.example.com',
      'Subject: complaint about message from 192.0.2.222',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="J"',
      '',
      '--J',
      'Content-Type: message/rfc822',
      '',
      'X-HmXmrOriginalRecipient: reader@example.com',
      'From: news@sender.example.com',
      'To: reader@example.com',
      'Message-ID: <m-5@sender.example.com>',
      '',
      'Hello',
      '--J--',
      '',
    ].join('\r\n');
    const parsed = await parseBounce(jmrp);
    expect(parsed.kind).toBe('complaint');
    expect(parsed.recipients).toEqual([
      expect.objectContaining({ recipient: 'reader@example.com', feedbackType: 'abuse' }),
    ]);
    expect(parsed.originalMessageId).toBe('m-5@sender.example.com');
  });

  it('reads a bounce forwarded inside another message', async () => {
    const forwarded = [
      'From: someone@example.com',
      'To: admin@sender.example.com',
      'Subject: Fwd: Returned mail',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="F"',
      '',
      '--F',
      'Content-Type: text/plain',
      '',
      'See below.',
      '--F',
      'Content-Type: message/rfc822',
      '',
      DSN,
      '--F--',
      '',
    ].join('\r\n');
    const parsed = await parseBounce(forwarded);
    expect(parsed.kind).toBe('bounce');
    expect(parsed.recipients.map((r) => r.recipient)).toEqual(['nobody-here@example.org', 'full@example.org']);
  });

  it.each([
    ['a failure in the subject', 'Subject: Build failed\r\n\r\nThe nightly build failed, ask bob@example.org.\r\n'],
    [
      'a failure in the text',
      'Subject: Hello\r\n\r\nMy message to bob@example.org was not delivered, can you check?\r\n',
    ],
  ])("does not take a person's message with %s for a bounce", async (_label, rest) => {
    const parsed = await parseBounce(`From: Alice <alice@example.com>\r\nTo: news@sender.example.com\r\n${rest}`);
    expect(parsed.kind).toBe('other');
    expect(parsed.recipients).toEqual([]);
  });

  it('reads raw UTF-8 headers and a notice from a no-reply sender with a null reverse-path', async () => {
    const notice = [
      'Return-Path: <>',
      'From: no-reply@mail.example.jp',
      'Subject: メールエラー通知',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Your mail sent on: Thu, 29 Apr 2013 23:45:22 +0900',
      '     Could not be delivered to: <someone@example.jp>',
      '     As their mailbox is full.',
      '',
    ].join('\r\n');
    const parsed = await parseBounce(Buffer.from(notice, 'utf8'));
    expect(parsed.kind).toBe('bounce');
    expect(parsed.recipients[0]).toMatchObject({
      recipient: 'someone@example.jp',
      reason: 'mailboxfull',
      hardBounce: false,
    });
  });

  it('splits an mbox into its messages', () => {
    const mbox = `From MAILER-DAEMON Thu Apr 29 23:34:45 2015\n${DSN}\nFrom MAILER-DAEMON Thu Apr 29 23:34:46 2015\n${ARF}`;
    const parts = splitMbox(mbox);
    expect(parts).toHaveLength(2);
    expect(parts[1]!.toString('latin1')).toContain('Feedback-Type: abuse');
    expect(splitMbox(DSN)).toHaveLength(1);
    expect(splitMbox('')).toHaveLength(1);
  });

  describe('hostile input: never throws, bounded time', () => {
    const cases: Array<[string, () => string | Buffer]> = [
      [
        'one 5 MB line of address-like text',
        () => 'From: mailer-daemon@x.example\nSubject: Undelivered\n\n' + 'a@b-'.repeat(1_250_000),
      ],
      [
        'multipart nested 500 deep',
        () => {
          let s = 'bounce body';
          for (let i = 0; i < 500; i++)
            s = `Content-Type: multipart/mixed; boundary="b${i}"\n\n--b${i}\n${s}\n--b${i}--\n`;
          return 'From: mailer-daemon@x.example\n' + s;
        },
      ],
      [
        'message/rfc822 nested 300 deep',
        () => {
          let s = 'From: a@b.example\n\nhi';
          for (let i = 0; i < 300; i++)
            s = `From: mailer-daemon@x.example\nSubject: Returned mail\nContent-Type: message/rfc822\n\n${s}`;
          return s;
        },
      ],
      [
        '20,000 delivery-status parts',
        () =>
          'From: mailer-daemon@x.example\nContent-Type: multipart/report; boundary="B"\n\n' +
          '--B\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; a@b.example\nStatus: 5.1.1\n\n'.repeat(
            20_000
          ),
      ],
      [
        '100,000 recipient lines',
        () =>
          'From: mailer-daemon@x.example\nSubject: Undelivered\n\n' +
          Array.from({ length: 100_000 }, (_, i) => `<u${i}@example.org>: 550 5.1.1 User unknown`).join('\n'),
      ],
      ['a 2 MB header', () => 'X-A: ' + 'b '.repeat(1_000_000) + '\n\nbody'],
      [
        'broken JSON in an SNS notification',
        () => 'From: no-reply@sns.amazonaws.com\n\n{"Type":"Notification","Message":"' + '{'.repeat(100_000),
      ],
      [
        'binary noise with bounce headers',
        () =>
          Buffer.concat([
            Buffer.from('From: MAILER-DAEMON@x.example\r\nContent-Type: multipart/report; boundary=x\r\n\r\n--x\r\n'),
            randomBytes(1024 * 1024),
          ]),
      ],
      [
        'a long Sendmail transcript',
        () => 'From: mailer-daemon@x.example\nSubject: Returned mail\n\n' + '<<< 550-5.7.1 x\n'.repeat(100_000),
      ],
    ];
    it.each(cases)('%s', async (_label, make) => {
      const input = make();
      const started = Date.now();
      const parsed = await parseBounce(input);
      expect(['bounce', 'complaint', 'auto-reply', 'other']).toContain(parsed.kind);
      expect(parsed.recipients.length).toBeLessThanOrEqual(100);
      expect(Date.now() - started).toBeLessThan(3000);
    });
  });
});
