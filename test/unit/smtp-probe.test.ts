/**
 * "Test connection" and "Send test email" against real in-process SMTP servers: what the admin
 * sees when things work, and which step, reply and code come back when they don't.
 */
import {
  sendTestEmail,
  testConnection,
  toTransportOptions,
  type SmtpEndpoint,
  type SmtpTimeouts,
} from '../../server/src/engine/smtp-probe';
import { SMTP_STEPS } from '../../shared/contracts/tests';
import { refusingPort, startSmtpServer, type SmtpServerOptions, type TestSmtpServer } from '../helpers/smtp-servers';

const PASSWORD = 'Sup3r-Secret-Pa55';
const CREDENTIALS = { username: 'mailer@example.test', password: PASSWORD };

const TIMEOUTS: SmtpTimeouts = {
  connectionTimeoutMs: 2000,
  greetingTimeoutMs: 2000,
  socketTimeoutMs: 2000,
  ehloName: 'probe.example.test',
};

const MESSAGE = {
  from: 'sender@example.test',
  to: 'rcpt@example.test',
  subject: 'Test email from Multi SMTP',
  text: 'It works.',
};

const servers: TestSmtpServer[] = [];
/** Every result produced, checked at the end for the password. */
const results: unknown[] = [];

async function start(options?: SmtpServerOptions): Promise<TestSmtpServer> {
  const server = await startSmtpServer(options);
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

afterAll(() => {
  // Whatever happened, the password never comes back to the admin.
  expect(results.length).toBeGreaterThan(10);
  expect(JSON.stringify(results)).not.toContain(PASSWORD);
});

function endpointFor(server: TestSmtpServer, overrides: Partial<SmtpEndpoint> = {}): SmtpEndpoint {
  return {
    host: server.host,
    port: server.port,
    security: server.security,
    tlsRejectUnauthorized: false,
    username: null,
    password: null,
    ...overrides,
  };
}

async function probe(endpoint: SmtpEndpoint, timeouts: SmtpTimeouts = TIMEOUTS) {
  const result = await testConnection(endpoint, timeouts);
  results.push(result);
  return result;
}

async function sendTest(endpoint: SmtpEndpoint, message = MESSAGE) {
  const result = await sendTestEmail(endpoint, TIMEOUTS, message);
  results.push(result);
  return result;
}

const stepNames = (result: { steps: { step: string }[] }) => result.steps.map(({ step }) => step);

describe('toTransportOptions', () => {
  const base: SmtpEndpoint = {
    host: 'smtp.example.test',
    port: 587,
    security: 'starttls',
    tlsRejectUnauthorized: true,
    username: 'u',
    password: 'p',
  };

  it('maps each security mode to nodemailer flags', () => {
    expect(toTransportOptions({ ...base, security: 'tls' }, TIMEOUTS)).toMatchObject({
      secure: true,
      requireTLS: false,
      ignoreTLS: false,
    });
    expect(toTransportOptions({ ...base, security: 'starttls' }, TIMEOUTS)).toMatchObject({
      secure: false,
      requireTLS: true,
      ignoreTLS: false,
    });
    expect(toTransportOptions({ ...base, security: 'none' }, TIMEOUTS)).toMatchObject({
      secure: false,
      requireTLS: false,
      ignoreTLS: true,
    });
  });

  it('passes timeouts, EHLO name, certificate checking and credentials', () => {
    expect(toTransportOptions(base, TIMEOUTS)).toMatchObject({
      host: 'smtp.example.test',
      port: 587,
      tls: { rejectUnauthorized: true },
      auth: { user: 'u', pass: 'p' },
      name: 'probe.example.test',
      connectionTimeout: 2000,
      greetingTimeout: 2000,
      socketTimeout: 2000,
    });
    expect(toTransportOptions({ ...base, username: null }, TIMEOUTS).auth).toBeUndefined();
  });
});

describe('testConnection succeeds', () => {
  it('over plain SMTP: steps in order, capabilities, final reply', async () => {
    const server = await start();
    const result = await probe(endpointFor(server));

    expect(result).toMatchObject({ ok: true, failedStep: null, errorCode: null });
    expect(stepNames(result)).toEqual(['connect', 'greeting', 'ehlo', 'quit']);
    expect(result.capabilities).toEqual(expect.arrayContaining(['PIPELINING', '8BITMIME']));
    expect(result.capabilities).not.toContain('STARTTLS');
    expect(result.reply).toMatch(/^221 /);
    expect(result.message).toContain(`Connected to 127.0.0.1:${server.port} without encryption`);
    for (const { step, ms } of result.steps) {
      expect(SMTP_STEPS).toContain(step);
      expect(ms).toBeGreaterThanOrEqual(0);
    }
    expect(result.totalMs).toBeGreaterThanOrEqual(
      result.steps.reduce((sum, { ms }) => sum + ms, 0) - result.steps.length
    );
  });

  it('with STARTTLS and AUTH: upgrades, greets again and logs in', async () => {
    const server = await start({ tls: 'starttls', auth: CREDENTIALS });
    const result = await probe(endpointFor(server, CREDENTIALS));

    expect(result.ok).toBe(true);
    expect(stepNames(result)).toEqual(['connect', 'greeting', 'ehlo', 'starttls', 'tls', 'ehlo', 'auth', 'quit']);
    // The capabilities offered over TLS: AUTH is there, STARTTLS no longer is.
    expect(result.capabilities).toContain('AUTH PLAIN LOGIN');
    expect(result.capabilities).not.toContain('STARTTLS');
    expect(result.message).toContain('over TLS and logged in as mailer@example.test');
  });

  it('with implicit TLS', async () => {
    const server = await start({ tls: 'implicit' });
    const result = await probe(endpointFor(server));

    expect(result.ok).toBe(true);
    expect(stepNames(result)).toEqual(['connect', 'tls', 'greeting', 'ehlo', 'quit']);
  });

  it('with AUTH over plain SMTP', async () => {
    const server = await start({ auth: CREDENTIALS });
    const result = await probe(endpointFor(server, CREDENTIALS));

    expect(result.ok).toBe(true);
    expect(stepNames(result)).toEqual(['connect', 'greeting', 'ehlo', 'auth', 'quit']);
  });

  it('leaves the server with no open connection', async () => {
    const server = await start({ tls: 'starttls' });
    await probe(endpointFor(server));
    // The server notices the close a moment after the client; give it up to a second.
    for (let waited = 0; server.openConnections > 0 && waited < 1000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(server.openConnections).toBe(0);
    expect(server.connections).toBe(1);
  });
});

describe('testConnection fails', () => {
  it('at connect when the port refuses connections', async () => {
    const port = await refusingPort();
    const result = await probe({
      host: '127.0.0.1',
      port,
      security: 'none',
      tlsRejectUnauthorized: true,
      username: null,
      password: null,
    });

    expect(result).toMatchObject({ ok: false, failedStep: 'connect', errorCode: 'ECONNREFUSED', reply: null });
    expect(result.message).toBe(`Connection refused by 127.0.0.1:${port} — is the server running and the port right?`);
    expect(stepNames(result)).toEqual(['connect']);
  });

  it('at greeting when the server answers 421', async () => {
    const server = await start({ faults: [{ stage: 'connect', code: 421, text: 'Too busy, come back later' }] });
    const result = await probe(endpointFor(server));

    expect(result).toMatchObject({
      ok: false,
      failedStep: 'greeting',
      reply: '421 4.3.2 Too busy, come back later',
    });
    expect(result.errorCode).toEqual(expect.any(String));
    expect(result.message).toContain('not accepting connections right now');
  });

  it('at auth with 535 for a wrong password', async () => {
    const server = await start({ auth: CREDENTIALS });
    const result = await probe(endpointFor(server, { ...CREDENTIALS, password: 'not-the-password' }));

    expect(result).toMatchObject({
      ok: false,
      failedStep: 'auth',
      errorCode: 'EAUTH',
      reply: '535 5.7.8 Authentication credentials invalid',
    });
    expect(result.message).toBe(
      'The server rejected the username or password (535 5.7.8 Authentication credentials invalid).'
    );
  });

  it('at auth when a username is set but no password', async () => {
    const server = await start({ auth: CREDENTIALS });
    const result = await probe(endpointFor(server, { username: CREDENTIALS.username, password: null }));

    expect(result).toMatchObject({ ok: false, failedStep: 'auth', errorCode: 'EAUTH', reply: null });
    expect(result.message).toContain('no password');
  });

  it('at auth when the server does not offer AUTH at all', async () => {
    const server = await start();
    const result = await probe(endpointFor(server, CREDENTIALS));

    expect(result).toMatchObject({ ok: false, failedStep: 'auth', errorCode: 'ENOAUTH' });
    expect(result.message).toContain('does not offer AUTH');
  });

  it('at tls for a self-signed certificate with verification on (implicit TLS)', async () => {
    const server = await start({ tls: 'implicit' });
    const result = await probe(endpointFor(server, { tlsRejectUnauthorized: true }));

    expect(result).toMatchObject({ ok: false, failedStep: 'tls', errorCode: 'ETLS' });
    expect(result.message).toBe(
      "The certificate is not trusted (self-signed?). Turn off 'verify certificate' only for a server you trust."
    );
  });

  it('at tls for a self-signed certificate with verification on (STARTTLS)', async () => {
    const server = await start({ tls: 'starttls' });
    const result = await probe(endpointFor(server, { tlsRejectUnauthorized: true }));

    expect(result).toMatchObject({ ok: false, failedStep: 'tls', errorCode: 'ETLS' });
    expect(stepNames(result)).toEqual(['connect', 'greeting', 'ehlo', 'starttls', 'tls']);
    expect(result.message).toContain('certificate is not trusted');
  });

  it('at starttls when STARTTLS is required but not offered', async () => {
    const server = await start({ tls: 'none' });
    const result = await probe(endpointFor(server, { security: 'starttls' }));

    expect(result).toMatchObject({ ok: false, failedStep: 'starttls', errorCode: 'ETLS' });
    expect(result.reply).toMatch(/^5\d\d /);
    expect(result.message).toContain('does not offer STARTTLS');
  });

  it('at tls when implicit TLS meets a plain SMTP port', async () => {
    const server = await start({ tls: 'none' });
    const result = await probe(endpointFor(server, { security: 'tls' }));

    expect(result).toMatchObject({ ok: false, failedStep: 'tls', errorCode: 'ETLS' });
    expect(result.message).toContain('did not answer with TLS');
  });

  it('at greeting with ETIMEDOUT when the server is slower than greetingTimeout', async () => {
    const server = await start({ delayMs: { connect: 1500 } });
    const result = await probe(endpointFor(server), { ...TIMEOUTS, greetingTimeoutMs: 300 });

    expect(result).toMatchObject({ ok: false, failedStep: 'greeting', errorCode: 'ETIMEDOUT', reply: null });
    expect(result.message).toContain('sent no greeting within 300 ms');
    const greeting = result.steps.find(({ step }) => step === 'greeting');
    expect(greeting?.ms).toBeGreaterThanOrEqual(250);
    expect(result.totalMs).toBeLessThan(1500);
  });
});

describe('sendTestEmail', () => {
  it('delivers: accepted, reply, message id, and the message arrives', async () => {
    const server = await start({ tls: 'starttls', auth: CREDENTIALS });
    const result = await sendTest(endpointFor(server, CREDENTIALS));

    expect(result).toMatchObject({
      ok: true,
      accepted: ['rcpt@example.test'],
      rejected: [],
      failedStep: null,
      errorCode: null,
    });
    expect(result.reply).toMatch(/^250 /);
    expect(result.messageId).toMatch(/^<.+@.+>$/);
    const [message] = await server.waitForMessages(1);
    expect(message).toMatchObject({
      from: 'sender@example.test',
      to: ['rcpt@example.test'],
      subject: 'Test email from Multi SMTP',
      text: 'It works.\n',
      messageId: result.messageId,
      session: { secure: true, user: CREDENTIALS.username, heloName: 'probe.example.test' },
    });
  });

  it('accepts a sender with a display name', async () => {
    const server = await start();
    const result = await sendTest(endpointFor(server), {
      ...MESSAGE,
      from: { name: 'Newsletter', address: 'news@example.test' },
    } as unknown as typeof MESSAGE);

    expect(result.ok).toBe(true);
    const [message] = await server.waitForMessages(1);
    expect(message?.from).toBe('news@example.test');
    expect(message?.headers.from).toBe('Newsletter <news@example.test>');
  });

  it('fails at rcpt when the recipient is refused with 550 5.1.1', async () => {
    const server = await start({ faults: [{ stage: 'rcpt', code: 550 }] });
    const result = await sendTest(endpointFor(server));

    expect(result).toMatchObject({
      ok: false,
      accepted: [],
      rejected: ['rcpt@example.test'],
      failedStep: 'rcpt',
      errorCode: 'EENVELOPE',
      reply: '550 5.1.1 <rcpt@example.test>: Recipient address rejected: User unknown',
      messageId: null,
    });
    expect(result.message).toContain('refused the recipient rcpt@example.test');
    expect(server.messages).toHaveLength(0);
  });

  it('fails at rcpt with a temporary 452', async () => {
    const server = await start({ faults: [{ stage: 'rcpt', code: 452 }] });
    const result = await sendTest(endpointFor(server));

    expect(result).toMatchObject({
      ok: false,
      failedStep: 'rcpt',
      reply: '452 4.3.1 <rcpt@example.test>: Insufficient system storage',
    });
    expect(result.message).toContain('temporary');
  });

  it('fails at mail with a temporary 451', async () => {
    const server = await start({ faults: [{ stage: 'mail', code: 451 }] });
    const result = await sendTest(endpointFor(server));

    expect(result).toMatchObject({
      ok: false,
      failedStep: 'mail',
      errorCode: 'EENVELOPE',
      reply: '451 4.3.0 Temporary local problem, try again later',
      rejected: [],
    });
    expect(result.message).toContain('refused the sender sender@example.test');
  });

  it.each([
    [552, '552 5.3.4 Message size exceeds fixed limit'],
    [554, '554 5.7.1 Message rejected as spam'],
  ])('fails at data when the message is refused with %i', async (code, reply) => {
    const server = await start({ faults: [{ stage: 'data', code }] });
    const result = await sendTest(endpointFor(server));

    expect(result).toMatchObject({ ok: false, failedStep: 'data', errorCode: 'EMESSAGE', reply, accepted: [] });
    expect(result.message).toBe(`The server refused the message (${reply}).`);
  });

  it('fails at data when the connection drops mid-DATA', async () => {
    const server = await start({ dropMidData: true });
    const result = await sendTest(endpointFor(server));

    expect(result).toMatchObject({ ok: false, failedStep: 'data', reply: null });
    expect(['ECONNECTION', 'ECONNRESET', 'EPIPE']).toContain(result.errorCode);
    expect(result.message).toContain('closed the connection during DATA');
    expect(server.messages).toHaveLength(0);
  });

  it('fails at auth for a wrong password', async () => {
    const server = await start({ auth: CREDENTIALS });
    const result = await sendTest(endpointFor(server, { ...CREDENTIALS, password: 'wrong-password' }));

    expect(result).toMatchObject({
      ok: false,
      failedStep: 'auth',
      errorCode: 'EAUTH',
      reply: '535 5.7.8 Authentication credentials invalid',
    });
  });

  it('fails at connect for a refused port', async () => {
    const port = await refusingPort();
    const result = await sendTest({
      host: '127.0.0.1',
      port,
      security: 'none',
      tlsRejectUnauthorized: true,
      username: null,
      password: null,
    });

    expect(result).toMatchObject({ ok: false, failedStep: 'connect', errorCode: 'ECONNREFUSED' });
  });

  it('fails at tls for a self-signed certificate with verification on', async () => {
    const server = await start({ tls: 'implicit' });
    const result = await sendTest(endpointFor(server, { tlsRejectUnauthorized: true }));

    expect(result).toMatchObject({ ok: false, failedStep: 'tls', errorCode: 'ETLS' });
    expect(result.message).toContain('certificate is not trusted');
  });
});
