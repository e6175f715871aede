import { randomBytes } from 'node:crypto';

import { parseBounce } from '../../server/src/engine/bounce-parser';

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
});
