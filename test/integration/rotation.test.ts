import { startWorkerProcess, directoryOf, type WorkerProcess } from '../helpers/engine-workers';
import { TEST_REDIS_URL } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

/** The size of a sendBulk batch job (MAX_BULK_BATCH in engine/sending-engine.ts). */
const BATCH = 50;

/**
 * Rotation modes and local address (issue 12, item 5): `batch` sends each batch job through one
 * server while batches spread by weight; `sticky-domain` keeps a recipient domain on one server,
 * agreed across two processes; a server's localAddress is the source address the sink sees.
 */
describe('rotation modes and local address', () => {
  let app: TestStrapi;
  let heavy: TestSmtpServer;
  let light: TestSmtpServer;
  let stickyA: TestSmtpServer;
  let stickyB: TestSmtpServer;
  let sourced: TestSmtpServer;
  let extraWorker: WorkerProcess | undefined;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    [heavy, light, stickyA, stickyB, sourced] = await Promise.all([startSmtpServer(), startSmtpServer(), startSmtpServer(), startSmtpServer(), startSmtpServer()]);
    app = await startStrapi({ pluginConfig: { worker: { enabled: true, concurrency: 8 } } });
    const api = asAdmin(app);
    const batchGroup = (await api.post('/multi-smtp/groups', { name: 'Batches', slug: 'batches', strategy: 'weighted', rotation: 'batch' })).body.data;
    expect(batchGroup.rotation).toBe('batch');
    const stickyGroup = (await api.post('/multi-smtp/groups', { name: 'Sticky', slug: 'sticky', rotation: 'sticky-domain', stickyMinutes: 30 })).body.data;
    expect(stickyGroup).toMatchObject({ rotation: 'sticky-domain', stickyMinutes: 30 });
    const sourceGroup = (await api.post('/multi-smtp/groups', { name: 'Sourced', slug: 'sourced' })).body.data;
    expect(sourceGroup).toMatchObject({ rotation: 'message', stickyMinutes: 60 });
    const servers = [
      { name: 'heavy', sink: heavy, group: batchGroup.documentId, weight: 3 },
      { name: 'light', sink: light, group: batchGroup.documentId, weight: 1 },
      { name: 'sticky-a', sink: stickyA, group: stickyGroup.documentId, weight: 1 },
      { name: 'sticky-b', sink: stickyB, group: stickyGroup.documentId, weight: 1 },
      { name: 'sourced', sink: sourced, group: sourceGroup.documentId, weight: 1, localAddress: '127.0.0.2' },
    ];
    for (const server of servers) {
      const response = await api.post('/multi-smtp/servers', {
        name: server.name,
        host: '127.0.0.1',
        port: server.sink.port,
        security: 'none',
        weight: server.weight,
        // Never at its connection limit: a full server is ineligible, and a batch would move on.
        maxConnections: 50,
        fromAddress: 'app@example.com',
        group: server.group,
        ...(server.localAddress ? { localAddress: server.localAddress } : {}),
      });
      expect(response.status).toBe(201);
      ids[server.name] = response.body.data.documentId;
    }
  }, 120_000);

  afterAll(async () => {
    if (extraWorker) await extraWorker.stop().catch(() => extraWorker?.kill());
    await app?.stop();
    await Promise.all([heavy, light, stickyA, stickyB, sourced].filter(Boolean).map((sink) => sink.close()));
  });

  it('validates the new fields with a 400 naming each', async () => {
    const api = asAdmin(app);
    const badGroup = await api.post('/multi-smtp/groups', { name: 'Bad', slug: 'bad', rotation: 'sometimes', stickyMinutes: 0 });
    expect(badGroup.status).toBe(400);
    const groupPaths = badGroup.body.error.details.errors.map((error: { path: string[] }) => error.path.join('.'));
    expect(groupPaths).toEqual(expect.arrayContaining(['rotation', 'stickyMinutes']));

    const badServer = await api.put(`/multi-smtp/servers/${ids.sourced}`, { localAddress: '127.0.0.300' });
    expect(badServer.status).toBe(400);
    expect(badServer.body.error.details.errors).toEqual([expect.objectContaining({ path: ['localAddress'], message: 'must be an IPv4 or IPv6 address' })]);
    const ipv6 = await api.put(`/multi-smtp/servers/${ids.light}`, { localAddress: '::1' });
    expect(ipv6.status).toBe(200);
    expect(ipv6.body.data.localAddress).toBe('::1');
    const cleared = await api.put(`/multi-smtp/servers/${ids.light}`, { localAddress: '' });
    expect(cleared.body.data.localAddress).toBeNull();
  });

  it('batch: every batch of a sendBulk goes through one server, and batches spread 3:1 by weight', async () => {
    const mailer = app.strapi.plugin('multi-smtp').service('mailer');
    const batches = 40;
    const messages = Array.from({ length: batches * BATCH }, (_, index) => ({ to: `r${index}@example.org`, subject: `b${index}`, text: 'x' }));
    const queued: { id: string }[] = await mailer.sendBulk(messages, { group: 'batches' });
    await waitFor('every batch message at the sinks', () => heavy.messages.length + light.messages.length >= messages.length, 120_000, 100);
    expect(heavy.messages.length + light.messages.length).toBe(messages.length);

    const sinkOf = new Map<string, string>();
    for (const message of heavy.messages) sinkOf.set(message.headers['x-multi-smtp-id']!, 'heavy');
    for (const message of light.messages) sinkOf.set(message.headers['x-multi-smtp-id']!, 'light');
    const batchesPer: Record<string, number> = { heavy: 0, light: 0 };
    for (let batch = 0; batch < batches; batch += 1) {
      const servers = new Set(queued.slice(batch * BATCH, (batch + 1) * BATCH).map((entry) => sinkOf.get(entry.id)));
      expect({ batch, servers: [...servers] }).toEqual({ batch, servers: [expect.any(String)] });
      batchesPer[[...servers][0]!]! += 1;
    }
    // One weighted pick per batch: exactly 30 and 10 over 40 batches.
    expect(batchesPer).toEqual({ heavy: 30, light: 10 });
  }, 180_000);

  it('sticky-domain: a domain keeps one server across two processes; other domains spread over both', async () => {
    const mailer = app.strapi.plugin('multi-smtp').service('mailer');
    // The first message, sent by this process alone, sticks example.org to a server.
    const first = await mailer.sendNow({ to: 'first@example.org', subject: 'sticky first', text: 'x' }, { group: 'sticky' });
    expect(first.status).toBe('sent');
    const stuck = first.server.id === ids['sticky-a'] ? stickyA : stickyB;
    const other = stuck === stickyA ? stickyB : stickyA;

    extraWorker = await startWorkerProcess({ redisUrl: TEST_REDIS_URL, keyPrefix: app.redisPrefix, concurrency: 8, directory: await directoryOf(app.strapi) });
    let sentHere = 0;
    app.strapi.eventHub.on('multi-smtp.message.sent', async ({ message }: { message: { subject: string } }) => {
      if (message.subject.startsWith('sticky ')) sentHere += 1;
    });
    const toOrg = Array.from({ length: 600 }, (_, index) => ({ to: `u${index}@Example.org`, subject: `sticky ${index}`, text: 'x' }));
    await mailer.sendBulk(toOrg, { group: 'sticky' });
    await waitFor('600 example.org messages at the sinks', () => stickyA.messages.length + stickyB.messages.length >= 601, 120_000, 100);
    expect(stuck.messages.filter((message) => message.subject?.startsWith('sticky'))).toHaveLength(601);
    expect(other.messages.filter((message) => message.subject?.startsWith('sticky'))).toHaveLength(0);
    const sentByExtra = await extraWorker.stop();
    extraWorker = undefined;
    // Both processes sent to example.org, and both chose the same server.
    expect(sentByExtra).toBeGreaterThan(0);
    expect(sentHere).toBeGreaterThan(0);

    // Twenty other domains, ten messages each: each domain on one server, the domains on both.
    const domains = Array.from({ length: 20 }, (_, index) => `d${index}.test`);
    const spread = domains.flatMap((domain) => Array.from({ length: 10 }, (_, index) => ({ to: `u${index}@${domain}`, subject: `spread ${domain}`, text: 'x' })));
    await mailer.sendBulk(spread, { group: 'sticky' });
    await waitFor('the spread messages at the sinks', () => stickyA.messages.length + stickyB.messages.length >= 601 + spread.length, 60_000, 100);
    const serversOf = (domain: string) =>
      [stickyA, stickyB].filter((sink) => sink.messages.some((message) => message.subject === `spread ${domain}`));
    for (const domain of domains) expect({ domain, servers: serversOf(domain).length }).toEqual({ domain, servers: 1 });
    expect(new Set(domains.map((domain) => serversOf(domain)[0])).size).toBe(2);
  }, 240_000);

  it('local address: the sink sees the connection come from the server\'s localAddress', async () => {
    const mailer = app.strapi.plugin('multi-smtp').service('mailer');
    const report = await mailer.sendNow({ to: 'src@example.org', subject: 'from 127.0.0.2', text: 'x' }, { group: 'sourced' });
    expect(report.status).toBe('sent');
    await sourced.waitForMessages(1);
    expect(sourced.messages[0]!.session.remoteAddress).toBe('127.0.0.2');
    // Other servers connect from the system's choice.
    expect(heavy.messages[0]!.session.remoteAddress).toBe('127.0.0.1');

    // The admin's test email and connection test go out from it too.
    const api = asAdmin(app);
    const testEmail = await api.post(`/multi-smtp/servers/${ids.sourced}/test-email`, { to: 'owner@example.org', subject: 'source test' });
    expect(testEmail.body.data).toMatchObject({ ok: true });
    const captured = await sourced.waitForMessages(2);
    expect(captured[1]!.session.remoteAddress).toBe('127.0.0.2');
    expect((await api.post(`/multi-smtp/servers/${ids.sourced}/test-connection`)).body.data).toMatchObject({ ok: true, failedStep: null });
    // An address this host does not have: the connection cannot even start, which shows it is used.
    expect((await api.put(`/multi-smtp/servers/${ids.sourced}`, { localAddress: '192.0.2.123' })).status).toBe(200);
    expect((await api.post(`/multi-smtp/servers/${ids.sourced}/test-connection`)).body.data).toMatchObject({ ok: false });
  }, 60_000);
});
