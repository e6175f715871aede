/**
 * Reading an SMTP attempt's outcome. The sends are real: nodemailer talks to in-process SMTP
 * servers that answer with chosen errors, so the classifier is tested against the exact error
 * objects nodemailer produces, not against hand-made imitations.
 */
import { createTransport } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';

import {
  classifyAttempt,
  classifyRejectedRecipients,
  parseSmtpReply,
  type AttemptOutcome,
  type Classification,
} from '../../server/src/engine/classify';
import { refusingPort, startSmtpServer, type SmtpServerOptions, type TestSmtpServer } from '../helpers/smtp-servers';

const CREDENTIALS = { username: 'mailer@example.test', password: 'right-password' };

interface ClientOptions {
  /** Which password to log in with; no login when the server has no `auth`. */
  password?: string;
  /** Connect to this port instead of the server's. */
  port?: number;
  security?: 'none' | 'starttls' | 'tls';
  rejectUnauthorized?: boolean;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
  to?: string | string[];
  text?: string;
}

const servers: TestSmtpServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Start a server, send one message to it with a fresh transport, and classify what came back. */
async function attempt(serverOptions: SmtpServerOptions, client: ClientOptions = {}): Promise<Classification> {
  const server = await startSmtpServer(serverOptions);
  servers.push(server);
  const security = client.security ?? server.security;
  const options: SMTPTransport.Options = {
    host: server.host,
    port: client.port ?? server.port,
    secure: security === 'tls',
    requireTLS: security === 'starttls',
    ignoreTLS: security === 'none',
    tls: { rejectUnauthorized: client.rejectUnauthorized ?? false },
    auth: serverOptions.auth
      ? { user: CREDENTIALS.username, pass: client.password ?? CREDENTIALS.password }
      : undefined,
    connectionTimeout: 1000,
    greetingTimeout: client.greetingTimeoutMs ?? 1000,
    socketTimeout: client.socketTimeoutMs ?? 2000,
  };
  const transport = createTransport(options);
  try {
    const info = await transport.sendMail({
      from: 'sender@example.test',
      to: client.to ?? 'rcpt@example.test',
      subject: 'Classification test',
      text: client.text ?? 'Hello.',
    });
    return classifyAttempt({ info });
  } catch (error) {
    return classifyAttempt({ error });
  } finally {
    transport.close();
  }
}

describe('parseSmtpReply', () => {
  test.each<[string, number | null, string | null]>([
    ['250 2.0.0 OK: queued as 1', 250, '2.0.0'],
    ['550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown', 550, '5.1.1'],
    ['421-4.7.0 [192.0.2.1] Our system has detected\n421-4.7.0 an unusual rate\n421 4.7.0 of mail.', 421, '4.7.0'],
    ['550 5.7.606 Access denied, banned sending IP [192.0.2.1]', 550, '5.7.606'],
    ['550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found', 550, '5.1.10'],
    ['552 Error: message exceeds fixed maximum message size 10', 552, null],
    ['  451 4.3.0 Temporary local problem', 451, '4.3.0'],
    ['250-mx.example.test Hello', 250, null],
    ['554', 554, null],
    ['5.1.1 user unknown', null, '5.1.1'],
    ['2500 not a reply code', null, null],
    ['550 1.2.3.4 is not an enhanced code', 550, null],
    ['Connection closed unexpectedly', null, null],
    ['', null, null],
  ])('%j -> %s %s', (text, code, enhanced) => {
    expect(parseSmtpReply(text)).toEqual({ code, enhanced });
  });
});

describe('classifyAttempt on real sends', () => {
  test('a message the server takes is accepted', async () => {
    const result = await attempt({});
    expect(result).toMatchObject({
      outcome: 'accepted',
      replyCode: 250,
      enhancedStatus: '2.0.0',
      stage: 'data',
      errorCode: null,
      retryable: false,
      rejectedRecipients: [],
    });
    expect(result.reply).toMatch(/^250 2\.0\.0 OK/);
  });

  type Case = [name: string, server: SmtpServerOptions, outcome: AttemptOutcome, expected: Partial<Classification>];
  const cases: Case[] = [
    // Before any mail is discussed.
    [
      '421 instead of the greeting',
      { faults: [{ stage: 'connect', code: 421 }] },
      'server-transient',
      { stage: 'greeting', replyCode: 421, errorCode: 'EPROTOCOL' },
    ],
    [
      '554 instead of the greeting',
      { faults: [{ stage: 'connect', code: 554, enhanced: '5.7.1', text: 'No SMTP service for you' }] },
      'server-condemned',
      { stage: 'greeting', replyCode: 554 },
    ],
    [
      '454 at AUTH (temporary authentication failure)',
      { auth: CREDENTIALS, faults: [{ stage: 'auth', code: 454 }] },
      'server-transient',
      { stage: 'auth', replyCode: 454, enhancedStatus: '4.7.0', errorCode: 'EAUTH' },
    ],
    // 'wrong password' below is the 535 case.
    // MAIL FROM.
    [
      '450 at MAIL FROM',
      { faults: [{ stage: 'mail', code: 450 }] },
      'server-transient',
      { stage: 'mail', replyCode: 450, errorCode: 'EENVELOPE' },
    ],
    [
      '451 at MAIL FROM',
      { faults: [{ stage: 'mail', code: 451 }] },
      'server-transient',
      { stage: 'mail', replyCode: 451 },
    ],
    [
      '452 at MAIL FROM',
      { faults: [{ stage: 'mail', code: 452 }] },
      'server-transient',
      { stage: 'mail', replyCode: 452 },
    ],
    [
      '421 4.7.0 [TSS04] deferral at MAIL FROM',
      {
        faults: [
          { stage: 'mail', code: 421, enhanced: '4.7.0', text: '[TSS04] Messages from 192.0.2.1 temporarily deferred' },
        ],
      },
      'server-transient',
      { stage: 'mail', enhancedStatus: '4.7.0' },
    ],
    [
      '550 5.7.1 relay access denied at MAIL FROM',
      { faults: [{ stage: 'mail', code: 550, enhanced: '5.7.1', text: 'Relay access denied' }] },
      'server-condemned',
      { stage: 'mail', replyCode: 550, enhancedStatus: '5.7.1' },
    ],
    [
      '530 5.7.0 authentication required at MAIL FROM',
      { faults: [{ stage: 'mail', code: 530, enhanced: '5.7.0', text: 'Authentication required' }] },
      'server-condemned',
      { stage: 'mail', replyCode: 530 },
    ],
    [
      '550 5.4.5 daily sending quota exceeded at MAIL FROM',
      { faults: [{ stage: 'mail', code: 550, enhanced: '5.4.5', text: 'Daily user sending quota exceeded.' }] },
      'server-transient',
      { stage: 'mail', enhancedStatus: '5.4.5' },
    ],
    [
      '553 5.1.7 bad sender address at MAIL FROM',
      { faults: [{ stage: 'mail', code: 553, enhanced: '5.1.7', text: 'The sender address is invalid' }] },
      'message-rejected',
      { stage: 'mail', replyCode: 553 },
    ],
    // RCPT TO.
    [
      '550 5.1.1 user unknown at RCPT TO',
      { faults: [{ stage: 'rcpt', code: 550 }] },
      'recipient-hard',
      { stage: 'rcpt', replyCode: 550, enhancedStatus: '5.1.1', errorCode: 'EENVELOPE' },
    ],
    [
      '553 5.1.3 bad address at RCPT TO',
      { faults: [{ stage: 'rcpt', code: 553 }] },
      'recipient-hard',
      { stage: 'rcpt', replyCode: 553, enhancedStatus: '5.1.3' },
    ],
    [
      '450 4.2.1 mailbox busy at RCPT TO',
      { faults: [{ stage: 'rcpt', code: 450 }] },
      'recipient-soft',
      { stage: 'rcpt', replyCode: 450, enhancedStatus: '4.2.1' },
    ],
    [
      '452 4.2.2 mailbox full at RCPT TO',
      { faults: [{ stage: 'rcpt', code: 452, enhanced: '4.2.2', text: 'Mailbox full' }] },
      'recipient-soft',
      { stage: 'rcpt', enhancedStatus: '4.2.2' },
    ],
    [
      '452 4.3.1 insufficient system storage at RCPT TO',
      { faults: [{ stage: 'rcpt', code: 452 }] },
      'server-transient',
      { stage: 'rcpt', enhancedStatus: '4.3.1' },
    ],
    [
      '451 4.3.0 local problem at RCPT TO',
      { faults: [{ stage: 'rcpt', code: 451 }] },
      'server-transient',
      { stage: 'rcpt', enhancedStatus: '4.3.0' },
    ],
    [
      '421 at RCPT TO',
      { faults: [{ stage: 'rcpt', code: 421 }] },
      'server-transient',
      { stage: 'rcpt', replyCode: 421 },
    ],
    [
      '450 4.7.1 greylisted at RCPT TO',
      {
        faults: [
          {
            stage: 'rcpt',
            code: 450,
            enhanced: '4.7.1',
            text: 'Recipient address rejected: Greylisted, try again later',
          },
        ],
      },
      'recipient-soft',
      { stage: 'rcpt', enhancedStatus: '4.7.1' },
    ],
    [
      '554 5.7.1 relay access denied at RCPT TO',
      { faults: [{ stage: 'rcpt', code: 554, enhanced: '5.7.1', text: 'Relay access denied' }] },
      'server-condemned',
      { stage: 'rcpt', enhancedStatus: '5.7.1' },
    ],
    [
      '554 5.7.1 client host blocked by a block list at RCPT TO',
      {
        faults: [
          {
            stage: 'rcpt',
            code: 554,
            enhanced: '5.7.1',
            text: 'Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org',
          },
        ],
      },
      'server-transient',
      { stage: 'rcpt', enhancedStatus: '5.7.1' },
    ],
    [
      '550 5.7.1 recipient refused by policy at RCPT TO',
      {
        faults: [{ stage: 'rcpt', code: 550, enhanced: '5.7.1', text: 'Recipient does not accept mail from outside' }],
      },
      'recipient-hard',
      { stage: 'rcpt', enhancedStatus: '5.7.1' },
    ],
    // DATA.
    [
      '554 5.7.1 spam at DATA',
      { faults: [{ stage: 'data', code: 554 }] },
      'message-rejected',
      { stage: 'data', replyCode: 554, enhancedStatus: '5.7.1', errorCode: 'EMESSAGE' },
    ],
    [
      '552 5.3.4 size at DATA',
      { faults: [{ stage: 'data', code: 552 }] },
      'message-rejected',
      { stage: 'data', replyCode: 552, enhancedStatus: '5.3.4' },
    ],
    [
      '552 over the server size limit (smtp-server answers itself, no enhanced code)',
      { maxMessageBytes: 10 },
      'message-rejected',
      { stage: 'data', replyCode: 552, enhancedStatus: null },
    ],
    [
      '554 5.6.0 bad content at DATA',
      { faults: [{ stage: 'data', code: 554, enhanced: '5.6.0', text: 'Message content rejected' }] },
      'message-rejected',
      { stage: 'data', enhancedStatus: '5.6.0' },
    ],
    [
      '451 4.3.0 local problem at DATA',
      { faults: [{ stage: 'data', code: 451 }] },
      'server-transient',
      { stage: 'data', enhancedStatus: '4.3.0' },
    ],
    ['421 at DATA', { faults: [{ stage: 'data', code: 421 }] }, 'server-transient', { stage: 'data', replyCode: 421 }],
    [
      '451 4.7.500 Microsoft server busy at DATA',
      {
        faults: [
          {
            stage: 'data',
            code: 451,
            enhanced: '4.7.500',
            text: 'Server busy. Please try again later from [192.0.2.1]',
          },
        ],
      },
      'server-transient',
      { stage: 'data', enhancedStatus: '4.7.500' },
    ],
    [
      '452 4.2.2 mailbox full at DATA',
      { faults: [{ stage: 'data', code: 452, enhanced: '4.2.2', text: 'Mailbox full' }] },
      'recipient-soft',
      { stage: 'data', enhancedStatus: '4.2.2' },
    ],
    [
      'connection dropped in the middle of DATA',
      { dropMidData: true },
      'server-transient',
      { stage: null, replyCode: null, reply: null, errorCode: 'ECONNECTION' },
    ],
  ];

  test.each(cases)('%s', async (_name, serverOptions, outcome, expected) => {
    const result = await attempt(serverOptions);
    expect(result).toMatchObject({ outcome, ...expected });
    expect(result.retryable).toBe(
      outcome === 'server-transient' || outcome === 'server-condemned' || outcome === 'recipient-soft'
    );
    expect(result.summary.length).toBeGreaterThan(10);
  });

  test('an unknown recipient whose address mentions relaying and block lists is still just unknown', async () => {
    const result = await attempt({ faults: [{ stage: 'rcpt', code: 550 }] }, { to: 'relay@blocklist.example.test' });
    expect(result).toMatchObject({ outcome: 'recipient-hard', stage: 'rcpt', enhancedStatus: '5.1.1' });
    expect(result.reply).toContain('<relay@blocklist.example.test>');
  });

  test('552 5.2.3 (message over the administrative limit) at DATA is about the message, not the mailbox', async () => {
    const result = await attempt({
      faults: [{ stage: 'data', code: 552, enhanced: '5.2.3', text: 'Message length exceeds administrative limit' }],
    });
    expect(result).toMatchObject({ outcome: 'message-rejected', stage: 'data', enhancedStatus: '5.2.3' });
  });

  test('wrong password (535) condemns the server', async () => {
    const result = await attempt({ auth: CREDENTIALS }, { password: 'wrong-password' });
    expect(result).toMatchObject({
      outcome: 'server-condemned',
      stage: 'auth',
      replyCode: 535,
      enhancedStatus: '5.7.8',
      errorCode: 'EAUTH',
      retryable: true,
    });
  });

  test('a refused connection is transient, with the socket error code recovered', async () => {
    const result = await attempt({}, { port: await refusingPort() });
    expect(result).toMatchObject({
      outcome: 'server-transient',
      stage: 'connect',
      errorCode: 'ECONNREFUSED',
      replyCode: null,
      reply: null,
    });
  });

  test('a greeting that never comes times out: transient', async () => {
    const result = await attempt({ delayMs: { connect: 2000 } }, { greetingTimeoutMs: 200 });
    expect(result).toMatchObject({ outcome: 'server-transient', stage: 'greeting', errorCode: 'ETIMEDOUT' });
  });

  test('a server that goes silent after the message times out: transient, step unknown', async () => {
    const result = await attempt({ delayMs: { data: 2000 } }, { socketTimeoutMs: 200 });
    expect(result).toMatchObject({ outcome: 'server-transient', stage: null, errorCode: 'ETIMEDOUT' });
  });

  test('a self-signed certificate on implicit TLS is a transient TLS failure', async () => {
    const result = await attempt({ tls: 'implicit' }, { rejectUnauthorized: true });
    expect(result).toMatchObject({ outcome: 'server-transient', stage: 'tls', errorCode: 'ETLS', reply: null });
  });

  test('a self-signed certificate after STARTTLS is a transient TLS failure', async () => {
    const result = await attempt({ tls: 'starttls' }, { rejectUnauthorized: true });
    expect(result).toMatchObject({ outcome: 'server-transient', stage: 'tls', errorCode: 'ETLS' });
  });

  test('talking TLS to a plain port is a transient TLS failure', async () => {
    const result = await attempt({ tls: 'none' }, { security: 'tls', greetingTimeoutMs: 500 });
    expect(result).toMatchObject({ outcome: 'server-transient', stage: 'tls', errorCode: 'ETLS' });
  });

  test('STARTTLS required but refused by the server (5xx) condemns it', async () => {
    const result = await attempt({ tls: 'none' }, { security: 'starttls' });
    expect(result).toMatchObject({ outcome: 'server-condemned', stage: 'tls', replyCode: 500, errorCode: 'ETLS' });
  });

  test('missing credentials (nodemailer refuses before asking the server) condemn the server', async () => {
    const result = await attempt({ auth: CREDENTIALS }, { password: '' });
    expect(result).toMatchObject({ outcome: 'server-condemned', stage: 'auth', errorCode: 'EAUTH', reply: null });
  });

  test('a message without recipients is rejected before any server is asked', async () => {
    const result = await attempt({}, { to: [] });
    expect(result).toMatchObject({
      outcome: 'message-rejected',
      errorCode: 'EENVELOPE',
      reply: null,
      retryable: false,
    });
  });
});

describe('recipients refused one by one', () => {
  test('partial acceptance: accepted, with the refused recipient classified on its own', async () => {
    const result = await attempt(
      { faults: [{ stage: 'rcpt', code: 550, recipients: ['gone@example.test'] }] },
      { to: ['here@example.test', 'gone@example.test'] }
    );
    expect(result).toMatchObject({ outcome: 'accepted', replyCode: 250, retryable: false });
    expect(result.summary).toContain('1 recipient(s) refused');
    expect(result.rejectedRecipients).toEqual([
      {
        recipient: 'gone@example.test',
        outcome: 'recipient-hard',
        reply: '550 5.1.1 <gone@example.test>: Recipient address rejected: User unknown',
        enhancedStatus: '5.1.1',
      },
    ]);
  });

  test('every recipient refused, one of them softly: retry later, each with its own verdict', async () => {
    const result = await attempt(
      {
        faults: [
          { stage: 'rcpt', code: 550, recipients: ['gone@example.test'] },
          { stage: 'rcpt', code: 452, enhanced: '4.2.2', text: 'Mailbox full', recipients: ['full@example.test'] },
        ],
      },
      { to: ['gone@example.test', 'full@example.test'] }
    );
    expect(result).toMatchObject({ outcome: 'recipient-soft', stage: 'rcpt', reply: '452 4.2.2 Mailbox full' });
    expect(result.rejectedRecipients.map(({ recipient, outcome }) => [recipient, outcome])).toEqual([
      ['gone@example.test', 'recipient-hard'],
      ['full@example.test', 'recipient-soft'],
    ]);
  });

  test('classifyRejectedRecipients reads nodemailer info: address objects, missing replies', () => {
    const info = {
      accepted: ['a@example.test'],
      rejected: [{ name: 'B', address: 'b@example.test' }, 'c@example.test', 'd@example.test'],
      rejectedErrors: [
        {
          code: 'EENVELOPE',
          response: '550 5.1.1 <b@example.test>: User unknown',
          command: 'RCPT TO',
          recipient: 'b@example.test',
        },
        {
          code: 'EENVELOPE',
          response: '450 4.2.1 <c@example.test>: Try later',
          command: 'RCPT TO',
          recipient: 'c@example.test',
        },
      ],
    };
    expect(classifyRejectedRecipients(info)).toEqual([
      {
        recipient: 'b@example.test',
        outcome: 'recipient-hard',
        reply: '550 5.1.1 <b@example.test>: User unknown',
        enhancedStatus: '5.1.1',
      },
      {
        recipient: 'c@example.test',
        outcome: 'recipient-soft',
        reply: '450 4.2.1 <c@example.test>: Try later',
        enhancedStatus: '4.2.1',
      },
      // No reply on record: no evidence for a hard bounce.
      { recipient: 'd@example.test', outcome: 'recipient-soft', reply: null, enhancedStatus: null },
    ]);
  });
});

describe('classifyAttempt on odd inputs', () => {
  test('anything thrown that is not an error object is a transient server failure', () => {
    expect(classifyAttempt({ error: 'boom' })).toMatchObject({
      outcome: 'server-transient',
      reply: null,
      errorCode: null,
    });
  });

  test('an error from another realm (no Error prototype) is read by its shape', () => {
    const foreign = Object.assign(Object.create(null) as object, {
      message: 'connect ECONNREFUSED 127.0.0.1:2525',
      code: 'ESOCKET',
      errno: -111,
      syscall: 'connect',
      command: 'CONN',
    });
    expect(classifyAttempt({ error: foreign })).toMatchObject({
      outcome: 'server-transient',
      stage: 'connect',
      errorCode: 'ECONNREFUSED',
    });
  });

  test('a reply that mentions TLS is still the server talking, not a TLS failure', () => {
    const error = {
      message: 'Mail command failed',
      code: 'EENVELOPE',
      response: '530 5.7.0 TLS required',
      command: 'MAIL FROM',
    };
    expect(classifyAttempt({ error })).toMatchObject({
      outcome: 'server-condemned',
      stage: 'mail',
      errorCode: 'EENVELOPE',
    });
  });

  test('neither info nor error: transient', () => {
    expect(classifyAttempt({}).outcome).toBe('server-transient');
  });
});
