/**
 * SMTP in worker threads (engine/smtp-threads.ts, smtp-thread.ts) against real SMTP sinks on
 * 127.0.0.1: messages sent through a thread arrive intact; every outcome (accepted, a refused
 * recipient, 4xx and 5xx replies, a refused connection, a TLS failure) classifies exactly as the
 * same send on the main thread does; a thread terminated mid-send fails that send as
 * server-transient, its idle connections are closed with their leases returned, and the next send
 * runs on a fresh thread; closeAll stops every thread.
 */
import type Mail from 'nodemailer/lib/mailer';

import { classifyAttempt } from '../../server/src/engine/classify';
import type { ServerConfig } from '../../server/src/engine/directory';
import { toTransportOptions, type SmtpEndpoint, type SmtpTimeouts } from '../../server/src/engine/smtp-probe';
import { createPooledTransport, errorFromWire, toWire } from '../../server/src/engine/smtp-thread';
import { SmtpThreadPool } from '../../server/src/engine/smtp-threads';
import { createConnectionPool } from '../../server/src/engine/transports';
import { refusingPort, startSmtpServer, type SmtpServerOptions, type TestSmtpServer } from '../helpers/smtp-servers';

const TIMEOUTS: SmtpTimeouts = { connectionTimeoutMs: 3000, greetingTimeoutMs: 3000, socketTimeoutMs: 5000, ehloName: 'threads.example.test' };

const MAIL: Mail.Options = {
  from: 'sender@example.test',
  to: ['one@example.test', 'two@example.test'],
  subject: 'Through a thread',
  text: 'Plain text body. '.repeat(50),
  html: '<p>HTML body with non-ASCII: é ü 日本</p>',
  messageId: '<thread-test@example.test>',
  headers: { 'X-Multi-SMTP-ID': 'thread-test' },
  attachments: [
    { filename: 'a.txt', content: 'aGVsbG8gZnJvbSBiYXNlNjQ=', encoding: 'base64', contentType: 'text/plain' },
    { filename: 'b.bin', content: Buffer.from([0, 1, 2, 250, 251, 252]) },
  ],
};

const servers: TestSmtpServer[] = [];
const pools: SmtpThreadPool[] = [];

async function start(options?: SmtpServerOptions): Promise<TestSmtpServer> {
  const server = await startSmtpServer(options);
  servers.push(server);
  return server;
}

function threadPool(size = 1): SmtpThreadPool {
  const pool = new SmtpThreadPool({ size });
  pools.push(pool);
  return pool;
}

function endpointOf(server: { host: string; port: number; security: SmtpEndpoint['security'] }, overrides: Partial<SmtpEndpoint> = {}): SmtpEndpoint {
  return { host: server.host, port: server.port, security: server.security, tlsRejectUnauthorized: false, username: null, password: null, ...overrides };
}

/** One send's result, as the engine gets it: the info, or the error. */
async function outcome(send: Promise<unknown>): Promise<{ info?: unknown; error?: unknown }> {
  try {
    return { info: await send };
  } catch (error) {
    return { error };
  }
}

/** The same message on the main thread and on an SMTP thread, each on a new connection. */
async function bothWays(endpoint: SmtpEndpoint, mail: Mail.Options = MAIL) {
  const options = toTransportOptions(endpoint, TIMEOUTS);
  const inline = createPooledTransport(options);
  const threaded = threadPool().open(options, () => undefined);
  if (!threaded) throw new Error('the SMTP thread pool fell back to inline sending');
  try {
    const onMain = await outcome(inline.sendMail(mail));
    const onThread = await outcome(threaded.sendMail(mail));
    return { onMain, onThread };
  } finally {
    inline.close();
    threaded.close();
  }
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

describe('SMTP threads', () => {
  it('sends through a thread: the message arrives intact, Buffers and base64 attachments included', async () => {
    const server = await start();
    const pool = threadPool();
    const sender = pool.open(toTransportOptions(endpointOf(server), TIMEOUTS), () => undefined)!;
    expect(sender).not.toBeNull();
    const info = await sender.sendMail(MAIL);
    expect(info.accepted).toEqual(['one@example.test', 'two@example.test']);
    expect(info.messageId).toBe('<thread-test@example.test>');
    expect(info.envelope).toEqual({ from: 'sender@example.test', to: ['one@example.test', 'two@example.test'] });
    const [message] = await server.waitForMessages(1);
    expect(message!.subject).toBe('Through a thread');
    expect(message!.html).toContain('é ü 日本');
    expect(message!.headers['x-multi-smtp-id']).toBe('thread-test');
    expect(message!.session.heloName).toBe('threads.example.test');
    const attachments = message!.parsed.attachments.map((a) => [a.filename, a.content.toString('hex')]);
    expect(attachments).toEqual([
      ['a.txt', Buffer.from('hello from base64').toString('hex')],
      ['b.bin', '000102fafbfc'],
    ]);
    // The connection is reused from send to send, on the same thread.
    await sender.sendMail({ ...MAIL, messageId: '<second@example.test>' });
    await server.waitForMessages(2);
    expect(server.connections).toBe(1);
    expect(pool.stats.threadsStarted).toBe(1);
    expect(pool.inline).toBe(false);
  });

  it("turns Nagle's algorithm off on the thread's SMTP sockets (no delayed-ACK wait per message)", async () => {
    const server = await start();
    const sender = threadPool().open(toTransportOptions(endpointOf(server), TIMEOUTS), () => undefined)!;
    await sender.sendMail(MAIL);
    // One after the other on one connection: with Nagle on, each message waits ~40 ms for a delayed ACK.
    const started = performance.now();
    for (let i = 0; i < 60; i += 1) await sender.sendMail({ ...MAIL, attachments: undefined, messageId: `<seq-${i}@example.test>` });
    const perMessage = (performance.now() - started) / 60;
    expect(perMessage).toBeLessThan(30);
    sender.close();
  });

  it('spreads connections over its threads, least loaded first', async () => {
    const server = await start();
    const pool = threadPool(2);
    const options = toTransportOptions(endpointOf(server), TIMEOUTS);
    const senders = [0, 1, 2, 3].map(() => pool.open(options, () => undefined)!);
    expect(pool.threads).toBe(2);
    await Promise.all(senders.map((sender, i) => sender.sendMail({ ...MAIL, messageId: `<spread-${i}@example.test>` })));
    await server.waitForMessages(4);
    expect(server.peakConnections).toBeLessThanOrEqual(4);
    expect(server.connections).toBe(4);
    senders.forEach((sender) => sender.close());
  });

  const cases: [string, SmtpServerOptions, Partial<SmtpEndpoint>, string][] = [
    ['accepted', {}, {}, 'accepted'],
    ['one recipient refused (partial acceptance)', { faults: [{ stage: 'rcpt', code: 550, recipients: ['two@example.test'] }] }, {}, 'accepted'],
    ['every recipient refused 5xx', { faults: [{ stage: 'rcpt', code: 550 }] }, {}, 'recipient-hard'],
    ['every recipient refused 4xx (mailbox busy)', { faults: [{ stage: 'rcpt', code: 450 }] }, {}, 'recipient-soft'],
    ['MAIL FROM 451', { faults: [{ stage: 'mail', code: 451 }] }, {}, 'server-transient'],
    ['DATA 554 spam', { faults: [{ stage: 'data', code: 554 }] }, {}, 'message-rejected'],
    ['greeting 421', { faults: [{ stage: 'connect', code: 421 }] }, {}, 'server-transient'],
    ['bad login 535', { auth: { username: 'u', password: 'right' } }, { username: 'u', password: 'wrong' }, 'server-condemned'],
    ['self-signed certificate refused', { tls: 'implicit' }, { tlsRejectUnauthorized: true }, 'server-transient'],
  ];

  /** The sink numbers its queue ids: the two sends differ only there. */
  const unnumbered = (classification: ReturnType<typeof classifyAttempt>) =>
    JSON.parse(JSON.stringify(classification).replace(/queued as \d+/g, 'queued as N')) as ReturnType<typeof classifyAttempt>;

  it.each(cases)('classifies "%s" exactly as a send on the main thread', async (_name, serverOptions, endpoint, expected) => {
    const server = await start(serverOptions);
    const { onMain, onThread } = await bothWays(endpointOf(server, endpoint));
    const main = unnumbered(classifyAttempt(onMain as Parameters<typeof classifyAttempt>[0]));
    const thread = unnumbered(classifyAttempt(onThread as Parameters<typeof classifyAttempt>[0]));
    expect(thread).toEqual(main);
    expect(thread.outcome).toBe(expected);
    if (onMain.error) {
      // An Error again, with nodemailer's fields.
      expect(onThread.error).toBeInstanceOf(Error);
      for (const field of ['message', 'code', 'response', 'responseCode', 'command']) {
        expect((onThread.error as Record<string, unknown>)[field]).toEqual((onMain.error as Record<string, unknown>)[field]);
      }
    }
  });

  it('classifies a connection dropped mid-DATA as on the main thread', async () => {
    // Which error comes first (EPIPE on the write, or the close) is a race on either thread.
    const server = await start({ dropMidData: true });
    const { onMain, onThread } = await bothWays(endpointOf(server));
    for (const result of [onMain, onThread]) {
      expect(classifyAttempt(result as Parameters<typeof classifyAttempt>[0])).toMatchObject({ outcome: 'server-transient', replyCode: null, stage: null });
    }
  });

  it('classifies a refused connection exactly as on the main thread (the socket code travels in errno)', async () => {
    const port = await refusingPort();
    const { onMain, onThread } = await bothWays(endpointOf({ host: '127.0.0.1', port, security: 'none' }));
    const thread = classifyAttempt(onThread as Parameters<typeof classifyAttempt>[0]);
    expect(thread).toEqual(classifyAttempt(onMain as Parameters<typeof classifyAttempt>[0]));
    expect(thread).toMatchObject({ outcome: 'server-transient', stage: 'connect', errorCode: 'ECONNREFUSED' });
  });

  it('serializes errors field by field so that every shape classifies as the original', () => {
    const socketError = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ESOCKET', errno: -111, syscall: 'connect', command: 'CONN' });
    const tlsError = Object.assign(new Error('unable to verify the first certificate'), { code: 'ESOCKET', library: 'SSL routines', reason: 'x', command: 'CONN' });
    const everyRecipient = Object.assign(new Error("Can't send mail - all recipients were rejected: 550 5.1.1 <a@x.test>: User unknown"), {
      code: 'EENVELOPE',
      response: '550 5.1.1 <a@x.test>: User unknown',
      responseCode: 550,
      command: 'RCPT TO',
      rejected: ['a@x.test', 'b@x.test'],
      rejectedErrors: [
        Object.assign(new Error('Recipient command failed: 550 5.1.1 <a@x.test>: User unknown'), { code: 'EENVELOPE', response: '550 5.1.1 <a@x.test>: User unknown', responseCode: 550, command: 'RCPT TO', recipient: 'a@x.test' }),
        Object.assign(new Error('Recipient command failed: 452 4.7.1 <b@x.test>: try later'), { code: 'EENVELOPE', response: '452 4.7.1 <b@x.test>: try later', responseCode: 452, command: 'RCPT TO', recipient: 'b@x.test' }),
      ],
    });
    const errors: unknown[] = [
      socketError,
      tlsError,
      everyRecipient,
      Object.assign(new Error('Invalid login: 535 5.7.8 nope'), { code: 'EAUTH', response: '535 5.7.8 nope', responseCode: 535, command: 'AUTH PLAIN' }),
      Object.assign(new Error('Message failed: 552 5.3.4 too big'), { code: 'EMESSAGE', response: '552 5.3.4 too big', responseCode: 552, command: 'DATA' }),
      Object.assign(new Error('Greeting never received'), { code: 'ETIMEDOUT', command: 'CONN' }),
      Object.assign(new Error('No recipients defined'), { code: 'EENVELOPE', command: 'API' }),
      Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION', command: 'CONN' }),
      new Error('anything else'),
    ];
    for (const error of errors) {
      const copy = errorFromWire(structuredClone(toWire(error)) as Record<string, unknown>);
      expect(classifyAttempt({ error: copy })).toEqual(classifyAttempt({ error }));
    }
    const info = { accepted: ['a@x.test'], rejected: ['b@x.test'], rejectedErrors: everyRecipient.rejectedErrors.slice(1), response: '250 2.0.0 Ok: queued', messageId: '<m@x>', envelope: { from: 'f@x', to: ['a@x.test', 'b@x.test'] } };
    const infoCopy = structuredClone(toWire(info)) as typeof info;
    expect(classifyAttempt({ info: infoCopy as never })).toEqual(classifyAttempt({ info: info as never }));
    expect(infoCopy.rejectedErrors[0]).toMatchObject({ message: expect.stringContaining('452'), recipient: 'b@x.test', responseCode: 452 });
  });

  it('a thread terminated mid-send fails that send as server-transient; the next send runs on a fresh thread', async () => {
    const server = await start({ delayMs: { data: 3000 } });
    const pool = threadPool();
    const options = toTransportOptions(endpointOf(server), TIMEOUTS);
    let deaths = 0;
    const sender = pool.open(options, () => (deaths += 1))!;
    const sending = outcome(sender.sendMail(MAIL));
    // Wait for the body to reach the server (its reply is held back), then kill the thread.
    const deadline = Date.now() + 5000;
    while (server.openConnections === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [worker] = pool.workers;
    await worker!.terminate();
    const { error } = await sending;
    expect(error).toMatchObject({ code: 'ECONNECTION' });
    expect(classifyAttempt({ error })).toMatchObject({ outcome: 'server-transient', retryable: true });
    expect(deaths).toBe(1);
    expect(pool.threads).toBe(0);
    // The dead connection fails at once; a new connection starts a new thread and goes through.
    expect(classifyAttempt(await outcome(sender.sendMail(MAIL)) as never).outcome).toBe('server-transient');
    server.setDelay(undefined);
    const next = pool.open(options, () => undefined)!;
    const info = await next.sendMail({ ...MAIL, messageId: '<after-death@example.test>' });
    expect(info.accepted).toHaveLength(2);
    expect(pool.stats).toMatchObject({ threadsStarted: 2, deaths: 1 });
    expect(pool.inline).toBe(false);
  });

  it('the connection pool closes connections whose thread died and returns their leases; closeAll stops every thread', async () => {
    const server = await start();
    const released: string[] = [];
    const connections = createConnectionPool({
      timeouts: TIMEOUTS,
      idleMs: 60_000,
      releaseLease: async (_serverId, token) => {
        released.push(token);
      },
      renewLeases: async () => [],
      renewEveryMs: 60_000,
      threads: 2,
    });
    const config = { id: 's1', version: 'v1', endpoint: endpointOf(server) } as ServerConfig;
    const first = connections.open(config, 'lease-1');
    const second = connections.open(config, 'lease-2');
    await Promise.all([first.transport.sendMail(MAIL), second.transport.sendMail({ ...MAIL, messageId: '<2@example.test>' })]);
    connections.putBack(first);
    connections.putBack(second);
    const threads = connections.smtpThreads!;
    expect(threads.threads).toBe(2);

    // Kill the thread that holds `lease-1`'s connection: it is closed and its lease returned; the other stays.
    const workers = threads.workers;
    await workers[0]!.terminate();
    await new Promise((resolve) => setImmediate(resolve));
    expect(released).toEqual(['lease-1']);
    expect(first.dead).toBe(true);
    expect(connections.take(config)).toBe(second);
    connections.putBack(second);

    await connections.closeAll();
    expect(released.sort()).toEqual(['lease-1', 'lease-2']);
    expect(threads.threads).toBe(0);
    // A worker that has exited has threadId -1.
    expect(workers.map((worker) => worker.threadId)).toEqual([-1, -1]);
  });

  it('wakes a send waiting for a connection of its servers when one is put back or closed, not for other servers', async () => {
    const freed: string[] = [];
    const connections = createConnectionPool({
      timeouts: TIMEOUTS,
      idleMs: 60_000,
      releaseLease: async () => undefined,
      renewLeases: async () => [],
      renewEveryMs: 60_000,
      threads: 0,
      onFreed: (serverId) => freed.push(serverId),
    });
    const endpoint = { host: '127.0.0.1', port: 9, security: 'none', tlsRejectUnauthorized: true, username: null, password: null } as const;
    const a = connections.open({ id: 'a', version: 'v1', endpoint } as ServerConfig, 'lease-a');
    const b = connections.open({ id: 'b', version: 'v1', endpoint } as ServerConfig, 'lease-b');
    const woken: string[] = [];
    const waitingForA = connections.whenFreed(new Set(['a']), 60_000).then(() => woken.push('a'));
    const waitingForB = connections.whenFreed(new Set(['b']), 60_000).then(() => woken.push('b'));

    connections.putBack(b);
    await waitingForB;
    expect(woken).toEqual(['b']);
    expect(freed).toEqual(['b']);

    // Closed (server trouble): woken once its lease is returned.
    await connections.discard(a);
    await waitingForA;
    expect(woken).toEqual(['b', 'a']);
    expect(freed).toEqual(['b', 'a']);

    // Nothing freed: the wait ends at its time.
    const started = Date.now();
    await connections.whenFreed(new Set(['a']), 30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    await connections.closeAll();
  });

  it('threads: 0 sends on the main thread', async () => {
    const server = await start();
    const connections = createConnectionPool({
      timeouts: TIMEOUTS,
      idleMs: 60_000,
      releaseLease: async () => undefined,
      renewLeases: async () => [],
      renewEveryMs: 60_000,
      threads: 0,
    });
    const connection = connections.open({ id: 's1', version: 'v1', endpoint: endpointOf(server) } as ServerConfig, 'lease');
    expect(connections.smtpThreads).toBeNull();
    expect((await connection.transport.sendMail(MAIL)).accepted).toHaveLength(2);
    await connections.closeAll();
  });
});
