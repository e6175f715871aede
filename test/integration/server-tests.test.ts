import { refusingPort, startSmtpServer, type Fault, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';

const PASSWORD = 'Sink-Passw0rd-777';

describe('test connection and test email, against real SMTP servers', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let sink: TestSmtpServer;
  let authSink: TestSmtpServer;
  let startTlsSink: TestSmtpServer;
  let implicitTlsSink: TestSmtpServer;
  const servers: Record<string, string> = {};

  const addServer = async (name: string, body: object) => {
    const response = await api.post('/multi-smtp/servers', { name, host: '127.0.0.1', security: 'none', ...body });
    expect(response.status).toBe(201);
    servers[name] = response.body.data.documentId;
    return response.body.data.documentId as string;
  };
  const testConnection = async (name: string) => {
    const response = await api.post(`/multi-smtp/servers/${servers[name]}/test-connection`);
    expect(response.status).toBe(200);
    expect(response.text).not.toContain(PASSWORD);
    return response.body.data;
  };
  const testEmail = async (name: string, to = 'someone@example.com') => {
    const response = await api.post(`/multi-smtp/servers/${servers[name]}/test-email`, { to, subject: 'Hello from the test' });
    expect(response.status).toBe(200);
    expect(response.text).not.toContain(PASSWORD);
    return response.body.data;
  };

  beforeAll(async () => {
    [sink, authSink, startTlsSink, implicitTlsSink] = await Promise.all([
      startSmtpServer(),
      startSmtpServer({ auth: { username: 'relay-user', password: PASSWORD } }),
      startSmtpServer({ tls: 'starttls' }),
      startSmtpServer({ tls: 'implicit' }),
    ]);
    app = await startStrapi({ pluginConfig: { smtp: { connectionTimeoutMs: 2000, greetingTimeoutMs: 1000, socketTimeoutMs: 3000 } } });
    api = asAdmin(app);
    await addServer('sink', { port: sink.port, fromAddress: 'noreply@shop.example', fromName: 'Shop' });
    await addServer('auth-ok', { port: authSink.port, username: 'relay-user', password: PASSWORD });
    await addServer('auth-bad', { port: authSink.port, username: 'relay-user', password: 'wrong-password' });
    await addServer('starttls-verified', { port: startTlsSink.port, security: 'starttls' });
    await addServer('starttls-trusted', { port: startTlsSink.port, security: 'starttls', tlsRejectUnauthorized: false });
    await addServer('tls-trusted', { port: implicitTlsSink.port, security: 'tls', tlsRejectUnauthorized: false });
    await addServer('starttls-required', { port: sink.port, security: 'starttls' });
    await addServer('refused', { port: await refusingPort() });
  });
  afterAll(async () => {
    await app?.stop();
    await Promise.all([sink, authSink, startTlsSink, implicitTlsSink].map((server) => server?.close()));
  });
  beforeEach(() => sink.reset());

  it('connects to the sink and reports steps, timings and capabilities', async () => {
    const result = await testConnection('sink');
    expect(result).toMatchObject({ ok: true, failedStep: null });
    expect(result.steps.map((step: { step: string }) => step.step)).toEqual(expect.arrayContaining(['connect', 'greeting', 'ehlo', 'quit']));
    expect(result.capabilities).toEqual(expect.arrayContaining(['PIPELINING']));
    expect(result.totalMs).toBeGreaterThanOrEqual(0);
  });

  it('sends a test email that arrives at the sink', async () => {
    const result = await testEmail('sink', 'owner@example.com');
    expect(result).toMatchObject({ ok: true, accepted: ['owner@example.com'], rejected: [], failedStep: null });
    expect(result.reply).toMatch(/^250/);
    const [message] = await sink.waitForMessages(1);
    expect(message!.to).toEqual(['owner@example.com']);
    expect(message!.from).toBe('noreply@shop.example');
    expect(message!.subject).toBe('Hello from the test');
    expect(message!.headers.from).toContain('Shop');
    expect(result.messageId).toBe(message!.messageId);
  });

  it('authenticates with the stored (encrypted) password', async () => {
    const result = await testConnection('auth-ok');
    expect(result).toMatchObject({ ok: true });
    expect(result.steps.map((step: { step: string }) => step.step)).toContain('auth');
    expect(await testEmail('auth-ok')).toMatchObject({ ok: true });
    expect((await authSink.waitForMessages(1))[0]!.session.user).toBe('relay-user');
  });

  it('reports a wrong password at the auth step with the 535 reply', async () => {
    const result = await testConnection('auth-bad');
    expect(result).toMatchObject({ ok: false, failedStep: 'auth', errorCode: 'EAUTH' });
    expect(result.reply).toMatch(/^535 5\.7\.8/);
    expect(await testEmail('auth-bad')).toMatchObject({ ok: false, failedStep: 'auth' });
  });

  it('refuses a self-signed certificate unless told to trust it', async () => {
    const refused = await testConnection('starttls-verified');
    expect(refused.ok).toBe(false);
    expect(['starttls', 'tls']).toContain(refused.failedStep);
    expect(refused.message).toMatch(/certificate/i);

    expect(await testConnection('starttls-trusted')).toMatchObject({ ok: true });
    expect(await testConnection('tls-trusted')).toMatchObject({ ok: true });
    expect(await testEmail('tls-trusted')).toMatchObject({ ok: true });
    expect((await implicitTlsSink.waitForMessages(1))[0]!.session.secure).toBe(true);
    expect(await testEmail('starttls-trusted')).toMatchObject({ ok: true });
    expect((await startTlsSink.waitForMessages(1))[0]!.session.secure).toBe(true);
  });

  it('fails at starttls when STARTTLS is required but not offered', async () => {
    expect(await testConnection('starttls-required')).toMatchObject({ ok: false, failedStep: 'starttls' });
  });

  it('reports a refused connection at the connect step', async () => {
    const result = await testConnection('refused');
    expect(result).toMatchObject({ ok: false, failedStep: 'connect', errorCode: 'ECONNREFUSED' });
    expect(await testEmail('refused')).toMatchObject({ ok: false, failedStep: 'connect' });
  });

  it('reports a slow server as a timeout', async () => {
    sink.setDelay({ connect: 2500 });
    try {
      const result = await testConnection('sink');
      expect(result).toMatchObject({ ok: false, failedStep: 'greeting', errorCode: 'ETIMEDOUT' });
    } finally {
      sink.setDelay(undefined);
    }
  });

  const connectionFaults: [string, Fault, string][] = [
    ['421 at connect', { stage: 'connect', code: 421 }, 'greeting'],
    ['454 at AUTH', { stage: 'auth', code: 454 }, 'auth'],
  ];
  it.each(connectionFaults)('test connection reports %s', async (_label, fault, step) => {
    sink.setFaults([fault]);
    const name = fault.stage === 'auth' ? 'auth-ok' : 'sink';
    const target = fault.stage === 'auth' ? authSink : sink;
    target.setFaults([fault]);
    try {
      const result = await testConnection(name);
      expect(result).toMatchObject({ ok: false, failedStep: step });
      expect(result.reply).toMatch(new RegExp(`^${fault.code}\\b`));
    } finally {
      target.reset();
    }
  });

  const emailFaults: [string, Fault, string][] = [
    ['421 at connect', { stage: 'connect', code: 421 }, 'greeting'],
    ['450 at MAIL', { stage: 'mail', code: 450 }, 'mail'],
    ['451 at MAIL', { stage: 'mail', code: 451 }, 'mail'],
    ['452 at RCPT', { stage: 'rcpt', code: 452 }, 'rcpt'],
    ['550 5.1.1 at RCPT', { stage: 'rcpt', code: 550 }, 'rcpt'],
    ['553 at RCPT', { stage: 'rcpt', code: 553 }, 'rcpt'],
    ['552 at DATA', { stage: 'data', code: 552 }, 'data'],
    ['554 at DATA', { stage: 'data', code: 554 }, 'data'],
    ['451 at DATA', { stage: 'data', code: 451 }, 'data'],
  ];
  it.each(emailFaults)('test email reports %s at its step, and nothing arrives', async (_label, fault, step) => {
    sink.setFaults([fault]);
    const result = await testEmail('sink', 'victim@example.com');
    expect(result).toMatchObject({ ok: false, failedStep: step });
    expect(result.reply).toMatch(new RegExp(`^${fault.code}\\b`));
    if (fault.stage === 'rcpt') expect(result.rejected).toEqual(['victim@example.com']);
    expect(sink.messages).toHaveLength(0);
  });

  it('reports a 550 for chosen recipients only', async () => {
    sink.setFaults([{ stage: 'rcpt', code: 550, recipients: ['gone@example.com'] }]);
    expect(await testEmail('sink', 'gone@example.com')).toMatchObject({ ok: false, failedStep: 'rcpt', rejected: ['gone@example.com'] });
    expect(await testEmail('sink', 'here@example.com')).toMatchObject({ ok: true, accepted: ['here@example.com'] });
  });

  it('reports a connection dropped mid-DATA at the data step', async () => {
    sink.setDropMidData(true);
    const result = await testEmail('sink');
    expect(result).toMatchObject({ ok: false, failedStep: 'data' });
    expect(sink.messages).toHaveLength(0);
  });

  it('answers 400 for a bad test email request and 404 for an unknown server', async () => {
    const badTo = await api.post(`/multi-smtp/servers/${servers.sink}/test-email`, { to: 'not an address' });
    expect(badTo.status).toBe(400);
    expect(badTo.body.error.details.errors[0]).toMatchObject({ path: ['to'] });
    const injected = await api.post(`/multi-smtp/servers/${servers.sink}/test-email`, { to: 'a@example.com', subject: 'Hi\r\nBcc: x@example.com' });
    expect(injected.status).toBe(400);
    expect(injected.body.error.details.errors[0]).toMatchObject({ path: ['subject'], message: expect.stringMatching(/line break/) });
    const missing = await api.post('/multi-smtp/servers/unknown000000000000000000/test-connection');
    expect(missing.status).toBe(404);
    expect(sink.messages).toHaveLength(0);
  });
});
