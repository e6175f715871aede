/**
 * The in-process SMTP test servers themselves: what they record, how they refuse, and that they
 * really go away when closed. Talked to with plain nodemailer, as the plugin will.
 */
import net from 'node:net';

import { createTransport } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';

import { refusingPort, startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';

const servers: TestSmtpServer[] = [];

async function start(...args: Parameters<typeof startSmtpServer>): Promise<TestSmtpServer> {
  const server = await startSmtpServer(...args);
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

interface SendOptions {
  to?: string | string[];
  subject?: string;
  auth?: { user: string; pass: string };
  timeouts?: number;
}

/** Send one message with a fresh nodemailer transport; resolves with the info or the error. */
async function send(
  server: TestSmtpServer,
  options: SendOptions = {}
): Promise<{
  info?: SMTPTransport.SentMessageInfo;
  error?: Error & { responseCode?: number; response?: string; code?: string };
}> {
  const transport = createTransport({
    host: server.host,
    port: server.port,
    secure: server.security === 'tls',
    requireTLS: server.security === 'starttls',
    ignoreTLS: server.security === 'none',
    tls: { rejectUnauthorized: false },
    auth: options.auth,
    connectionTimeout: options.timeouts ?? 2000,
    greetingTimeout: options.timeouts ?? 2000,
    socketTimeout: options.timeouts ?? 2000,
  });
  try {
    const info = await transport.sendMail({
      from: 'sender@example.test',
      to: options.to ?? 'rcpt@example.test',
      subject: options.subject ?? 'Hello',
      text: 'Body text',
    });
    return { info };
  } catch (error) {
    return { error: error as Error };
  } finally {
    transport.close();
  }
}

describe('sink', () => {
  it('records an accepted message with envelope, parsed subject, text and headers', async () => {
    const server = await start();
    const { info, error } = await send(server, {
      to: ['a@example.test', 'b@example.test'],
      subject: 'Quarterly numbers',
    });

    expect(error).toBeUndefined();
    expect(info?.response).toMatch(/^250 /);
    const [message] = await server.waitForMessages(1);
    expect(message).toMatchObject({
      from: 'sender@example.test',
      to: ['a@example.test', 'b@example.test'],
      subject: 'Quarterly numbers',
      text: 'Body text\n',
      session: { secure: false },
    });
    expect(message?.headers.subject).toBe('Quarterly numbers');
    expect(message?.messageId).toBe(info?.messageId);
    expect(message?.raw).toContain('Subject: Quarterly numbers');
    expect(server.connections).toBe(1);
  });

  it('has the message recorded by the time the client sees 250', async () => {
    const server = await start();
    await send(server);
    expect(server.messages).toHaveLength(1);
  });

  it('rejects waitForMessages when too few arrive in time', async () => {
    const server = await start();
    await expect(server.waitForMessages(1, 50)).rejects.toThrow('Expected 1 message(s) within 50 ms, got 0');
  });

  it('reset forgets messages and connection counts', async () => {
    const server = await start();
    await send(server);
    server.reset();
    expect(server.messages).toHaveLength(0);
    expect(server.connections).toBe(0);
  });
});

describe('AUTH', () => {
  const auth = { username: 'mailer', password: 'correct horse' };

  it('accepts the right credentials and records the user', async () => {
    const server = await start({ auth });
    const { error } = await send(server, { auth: { user: 'mailer', pass: 'correct horse' } });

    expect(error).toBeUndefined();
    const [message] = await server.waitForMessages(1);
    expect(message?.session.user).toBe('mailer');
  });

  it('answers a wrong password with 535 5.7.8', async () => {
    const server = await start({ auth });
    const { error } = await send(server, { auth: { user: 'mailer', pass: 'wrong' } });

    expect(error?.code).toBe('EAUTH');
    expect(error?.responseCode).toBe(535);
    expect(error?.response).toBe('535 5.7.8 Authentication credentials invalid');
    expect(server.messages).toHaveLength(0);
  });

  it('refuses mail from a client that did not log in', async () => {
    const server = await start({ auth });
    const { error } = await send(server);
    expect(error?.responseCode).toBe(530);
  });
});

describe('faults', () => {
  it('connect: greets with the configured code and closes', async () => {
    const server = await start({ faults: [{ stage: 'connect', code: 421 }] });
    const { error } = await send(server);

    expect(error?.responseCode).toBe(421);
    expect(error?.response).toBe('421 4.3.2 Service not available, closing transmission channel');
  });

  it('auth: answers AUTH with the configured code', async () => {
    const server = await start({
      auth: { username: 'u', password: 'p' },
      faults: [{ stage: 'auth', code: 454 }],
    });
    const { error } = await send(server, { auth: { user: 'u', pass: 'p' } });

    expect(error?.responseCode).toBe(454);
    expect(error?.response).toBe('454 4.7.0 Temporary authentication failure');
  });

  it('mail: answers MAIL FROM with the configured code, enhanced code and text', async () => {
    const server = await start({
      faults: [{ stage: 'mail', code: 451, enhanced: '4.7.1', text: 'Try again later (greylisted)' }],
    });
    const { error } = await send(server);

    expect(error?.responseCode).toBe(451);
    expect(error?.response).toBe('451 4.7.1 Try again later (greylisted)');
  });

  it('rcpt: refuses only the chosen recipients, naming them', async () => {
    const server = await start({ faults: [{ stage: 'rcpt', code: 550, recipients: ['Gone@Example.test'] }] });
    const { info, error } = await send(server, { to: ['gone@example.test', 'here@example.test'] });

    expect(error).toBeUndefined();
    expect(info?.accepted).toEqual(['here@example.test']);
    expect(info?.rejected).toEqual(['gone@example.test']);
    // nodemailer reports per-recipient refusals here (missing from its typings).
    const { rejectedErrors } = (info ?? {}) as { rejectedErrors?: { response?: string }[] };
    const rejection = rejectedErrors?.[0];
    expect(rejection?.response).toBe('550 5.1.1 <gone@example.test>: Recipient address rejected: User unknown');
    const [message] = await server.waitForMessages(1);
    expect(message?.to).toEqual(['here@example.test']);
  });

  it('data: answers the end of the message with the configured code and records nothing', async () => {
    const server = await start({ faults: [{ stage: 'data', code: 552 }] });
    const { error } = await send(server);

    expect(error?.responseCode).toBe(552);
    expect(error?.response).toBe('552 5.3.4 Message size exceeds fixed limit');
    expect(server.messages).toHaveLength(0);
  });

  it('times: fails the first N matching events, then behaves normally', async () => {
    const server = await start({ faults: [{ stage: 'rcpt', code: 452, times: 2 }] });

    expect((await send(server)).error?.responseCode).toBe(452);
    expect((await send(server)).error?.responseCode).toBe(452);
    expect((await send(server)).error).toBeUndefined();
    expect(server.messages).toHaveLength(1);
  });

  it('setFaults replaces the faults; reset restores the ones given at start', async () => {
    const server = await start({ faults: [{ stage: 'mail', code: 451 }] });
    server.setFaults([]);
    expect((await send(server)).error).toBeUndefined();

    server.reset();
    expect((await send(server)).error?.responseCode).toBe(451);
  });

  it('refuses connections beyond maxClients with 421', async () => {
    const server = await start({ maxClients: 1 });
    const holder = net.connect(server.port, server.host);
    await new Promise((resolve) => holder.once('data', resolve)); // greeted: the one slot is taken
    try {
      const { error } = await send(server);
      expect(error?.responseCode).toBe(421);
      expect(server.peakConnections).toBe(2);
    } finally {
      holder.destroy();
    }
  });
});

describe('dropMidData', () => {
  it('cuts the connection before the end of DATA is answered', async () => {
    const server = await start({ dropMidData: true });
    const { error } = await send(server);

    expect(error).toBeDefined();
    expect(error?.response).toBeUndefined();
    expect(server.messages).toHaveLength(0);
  });

  it('with times, drops the first N messages only', async () => {
    const server = await start({ dropMidData: { times: 1 } });

    expect((await send(server)).error).toBeDefined();
    expect((await send(server)).error).toBeUndefined();
    expect(server.messages).toHaveLength(1);
  });
});

describe('delay', () => {
  it('holds the greeting back for delayMs.connect', async () => {
    const server = await start({ delayMs: { connect: 300 } });
    const startedAt = Date.now();
    const { error } = await send(server);

    expect(error).toBeUndefined();
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(300);
  });

  it('a client with a shorter greeting timeout gives up', async () => {
    const server = await start({ delayMs: { connect: 1000 } });
    const { error } = await send(server, { timeouts: 200 });
    expect(error?.code).toBe('ETIMEDOUT');
  });
});

describe('TLS', () => {
  it('speaks TLS from the first byte with tls: implicit', async () => {
    const server = await start({ tls: 'implicit' });
    expect(server.security).toBe('tls');
    const { error } = await send(server);

    expect(error).toBeUndefined();
    const [message] = await server.waitForMessages(1);
    expect(message?.session.secure).toBe(true);
  });

  it('offers STARTTLS with tls: starttls', async () => {
    const server = await start({ tls: 'starttls', auth: { username: 'u', password: 'p' } });
    expect(server.security).toBe('starttls');
    const { error } = await send(server, { auth: { user: 'u', pass: 'p' } });

    expect(error).toBeUndefined();
    const [message] = await server.waitForMessages(1);
    expect(message?.session).toMatchObject({ secure: true, user: 'u' });
  });

  it('does not offer STARTTLS with tls: none', async () => {
    const server = await start({ tls: 'none' });
    const transport = createTransport({ host: server.host, port: server.port, requireTLS: true, socketTimeout: 2000 });
    try {
      await expect(
        transport.sendMail({ from: 'a@example.test', to: 'b@example.test', text: 'x' })
      ).rejects.toMatchObject({
        code: 'ETLS',
        command: 'STARTTLS',
      });
    } finally {
      transport.close();
    }
  });
});

describe('close and refusingPort', () => {
  it('close() resolves even while a client holds a connection open, and the port is freed', async () => {
    const server = await startSmtpServer();
    const idle = net.connect(server.port, server.host);
    const idleClosed = new Promise((resolve) => idle.once('close', resolve));
    idle.on('error', () => undefined);
    await new Promise((resolve) => idle.once('data', resolve));

    await server.close();
    await idleClosed;
    await server.close(); // twice is fine

    const refused = await new Promise<string | undefined>((resolve) => {
      const probe = net.connect(server.port, server.host);
      probe.once('connect', () => {
        probe.destroy();
        resolve(undefined);
      });
      probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('refusingPort gives a port where connections are refused', async () => {
    const port = await refusingPort();
    const code = await new Promise<string | undefined>((resolve) => {
      const probe = net.connect(port, '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve(undefined);
      });
      probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    });
    expect(code).toBe('ECONNREFUSED');
  });
});
