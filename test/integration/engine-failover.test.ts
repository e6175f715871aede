import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { sleep, waitFor } from '../helpers/wait';

describe('failover and server health', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let flaky: TestSmtpServer;
  let healthyB: TestSmtpServer;
  let healthyC: TestSmtpServer;
  let flakyId: string;

  beforeAll(async () => {
    // The flaky server answers 421 to every connection at first; later it stops listening.
    [flaky, healthyB, healthyC] = await Promise.all([
      startSmtpServer({ faults: [{ stage: 'connect', code: 421 }] }),
      startSmtpServer(),
      startSmtpServer(),
    ]);
    app = await startStrapi({ pluginConfig: { worker: { enabled: true, concurrency: 8 }, retry: { attempts: 5, backoffMs: 200 } } });
    api = asAdmin(app);
    const group = (await api.post('/multi-smtp/groups', { name: 'Failover', slug: 'failover', strategy: 'weighted' })).body.data.documentId;
    const add = async (name: string, port: number, weight: number) => {
      const response = await api.post('/multi-smtp/servers', { name, host: '127.0.0.1', port, security: 'none', weight, fromAddress: 'f@example.com', group });
      expect(response.status).toBe(201);
      return response.body.data.documentId as string;
    };
    // The flaky server has most of the weight, so it is picked first for most messages.
    flakyId = await add('flaky', flaky.port, 8);
    await add('b', healthyB.port, 1);
    await add('c', healthyC.port, 1);
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await Promise.all([flaky, healthyB, healthyC].map((sink) => sink?.close()));
  });

  it('suspends a server answering 421 then refusing connections, and moves its traffic with nothing lost or sent twice', async () => {
    const mailer = app.strapi.plugin('multi-smtp').service('mailer');
    const first = await mailer.sendBulk(Array.from({ length: 40 }, (_, index) => ({ to: `a${index}@example.com`, subject: `a${index}`, text: 'x' })), { group: 'failover' });
    await waitFor('first 40 delivered', () => healthyB.messages.length + healthyC.messages.length >= 40, 30_000);
    await flaky.close(); // now it refuses connections
    const second = await mailer.sendBulk(Array.from({ length: 60 }, (_, index) => ({ to: `b${index}@example.com`, subject: `b${index}`, text: 'x' })), { group: 'failover' });
    await waitFor('all 100 delivered', () => healthyB.messages.length + healthyC.messages.length >= 100, 30_000);
    await sleep(1000);

    const delivered = [...healthyB.messages, ...healthyC.messages].map((message) => message.headers['x-multi-smtp-id']);
    expect(delivered).toHaveLength(100);
    expect(new Set(delivered).size).toBe(100);
    expect(new Set(delivered)).toEqual(new Set([...first, ...second].map((message: { id: string }) => message.id)));
    expect(flaky.messages).toHaveLength(0);

    // Failed over at once: a message that met the flaky server went to another one in the same run.
    const statuses = await Promise.all([...first, ...second].map((message: { id: string }) => mailer.status(message.id)));
    const failedOver = statuses.filter((status) => status.attempts.length > 1);
    expect(failedOver.length).toBeGreaterThan(0);
    for (const status of failedOver) {
      expect(status.status).toBe('sent');
      expect(status.attempts[0]).toMatchObject({ serverName: 'flaky', outcome: 'server-transient' });
      const servers = status.attempts.map((attempt: { serverId: string }) => attempt.serverId);
      expect(new Set(servers).size).toBe(servers.length); // never twice on the same server in one run
    }

    // The breaker opened: the server is suspended, the admin sees why, and can lift it by hand.
    const health = (await api.get(`/multi-smtp/servers/${flakyId}/status`)).body.data.health;
    expect(health.state).toBe('open');
    expect(health.source).toBe('breaker');
    expect(health.suspendedUntil).toBeGreaterThan(Date.now());
    expect(health.reason).toEqual(expect.any(String));
    // After the breaker opened, the flaky server was tried no more: only the first few messages met it.
    expect(statuses.filter((status) => status.attempts.some((attempt: { serverName: string }) => attempt.serverName === 'flaky')).length).toBeLessThan(20);

    const resumed = await api.post(`/multi-smtp/servers/${flakyId}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body.data.health).toMatchObject({ state: 'closed', suspendedUntil: null });
    const suspended = await api.post(`/multi-smtp/servers/${flakyId}/suspend`, { minutes: 30, reason: 'maintenance' });
    expect(suspended.body.data.health).toMatchObject({ state: 'open', source: 'manual', reason: 'maintenance' });
    const bad = await api.post(`/multi-smtp/servers/${flakyId}/suspend`, { minutes: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.errors[0].path).toEqual(['minutes']);
  }, 90_000);

  it('applies a response rule: "too many connections" throttles the server, and the message goes elsewhere', async () => {
    const busy = await startSmtpServer({ faults: [{ stage: 'connect', code: 421, enhanced: '4.7.0', text: 'Too many concurrent SMTP connections from this IP', times: 1 }] });
    try {
      const group = (await api.post('/multi-smtp/groups', { name: 'Rules', slug: 'rules', strategy: 'priority' })).body.data.documentId;
      const busyServer = await api.post('/multi-smtp/servers', { name: 'busy', host: '127.0.0.1', port: busy.port, security: 'none', priority: 0, group });
      await api.post('/multi-smtp/servers', { name: 'rules-backup', host: '127.0.0.1', port: healthyC.port, security: 'none', priority: 1, group });
      const mailer = app.strapi.plugin('multi-smtp').service('mailer');
      const result = await mailer.sendNow({ to: 'y@example.com', subject: 'rules', text: 'x', from: 'f@example.com' }, { group: 'rules' });
      expect(result).toMatchObject({ status: 'sent', server: { name: 'rules-backup' } });
      expect(result.attempts[0]).toMatchObject({ serverName: 'busy', outcome: 'server-transient', reply: expect.stringMatching(/Too many concurrent/) });
      const status = (await api.get(`/multi-smtp/servers/${busyServer.body.data.documentId}/status`)).body.data;
      expect(status.health.throttle).toMatchObject({ ratePerSecond: expect.any(Number) });
      expect(status.health.throttle.until).toBeGreaterThan(Date.now());
    } finally {
      await busy.close();
    }
  });

  it('sends the mail waiting for a suspended server as soon as it is resumed, single messages and batches alike', async () => {
    const sink = await startSmtpServer();
    try {
      const group = (await api.post('/multi-smtp/groups', { name: 'Paused', slug: 'paused', strategy: 'weighted' })).body.data.documentId;
      const added = await api.post('/multi-smtp/servers', { name: 'only', host: '127.0.0.1', port: sink.port, security: 'none', fromAddress: 'f@example.com', group });
      const serverId = added.body.data.documentId as string;
      expect((await api.post(`/multi-smtp/servers/${serverId}/suspend`, { minutes: 30, reason: 'maintenance' })).status).toBe(200);
      const mailer = app.strapi.plugin('multi-smtp').service('mailer');
      const single = await mailer.send({ to: 'wait-1@example.com', subject: 'waits', text: 'x' }, { group: 'paused' });
      const bulk = await mailer.sendBulk(
        Array.from({ length: 5 }, (_, index) => ({ to: `wait-b${index}@example.com`, subject: 'waits', text: 'x' })),
        { group: 'paused' }
      );
      const ids = [single.id, ...bulk.map((entry: { id: string }) => entry.id)];
      await waitFor('the mail deferred', async () => (await Promise.all(ids.map((id) => mailer.status(id)))).every((entry) => entry?.status === 'deferred'));
      await sleep(500);
      expect(sink.messages).toHaveLength(0);

      const resumedAt = Date.now();
      expect((await api.post(`/multi-smtp/servers/${serverId}/resume`)).status).toBe(200);
      // Without the wake-up it would look again only after its recheck (60 s).
      await waitFor('the waiting mail delivered', () => sink.messages.length >= ids.length, 15_000);
      console.log(`[failover] mail waiting for a suspended server delivered ${Date.now() - resumedAt} ms after the resume`);
      expect(new Set(sink.messages.map((message) => message.headers['x-multi-smtp-id']))).toEqual(new Set(ids));
    } finally {
      await sink.close();
    }
  });

  it('suspends at once a server that refuses authentication (535), and sends through the others', async () => {
    const authSink = await startSmtpServer({ auth: { username: 'u', password: 'right' } });
    try {
      const group = (await api.post('/multi-smtp/groups', { name: 'Auth', slug: 'auth', strategy: 'priority' })).body.data.documentId;
      const badAuth = await api.post('/multi-smtp/servers', { name: 'bad-auth', host: '127.0.0.1', port: authSink.port, security: 'none', username: 'u', password: 'wrong', priority: 0, group });
      await api.post('/multi-smtp/servers', { name: 'backup', host: '127.0.0.1', port: healthyB.port, security: 'none', priority: 1, group });
      healthyB.reset();
      const mailer = app.strapi.plugin('multi-smtp').service('mailer');
      const result = await mailer.sendNow({ to: 'x@example.com', subject: 'auth', text: 'x', from: 'f@example.com' }, { group: 'auth' });
      expect(result).toMatchObject({ status: 'sent', server: { name: 'backup' } });
      expect(result.attempts[0]).toMatchObject({ serverName: 'bad-auth', outcome: 'server-condemned', reply: expect.stringMatching(/^535/) });
      const health = (await api.get(`/multi-smtp/servers/${badAuth.body.data.documentId}/status`)).body.data.health;
      expect(health.state).toBe('open');
      expect(health.reason).toMatch(/535/);
    } finally {
      await authSink.close();
    }
  });
});
