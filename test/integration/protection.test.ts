import IORedis, { type Redis } from 'ioredis';

import type { Alert } from '../../shared/contracts/alerts';
import type { ServerStatus } from '../../shared/contracts/status';
import { createRedisWindowStore } from '../../server/src/engine/protection';
import { deleteKeys, redisTestPrefix, TEST_REDIS_URL, testRedis } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

/**
 * Automatic protection on real Strapi, Redis and SMTP sinks: a server whose sink refuses 10 % of
 * recipients with 550 5.7.1 crosses the bounce-rate threshold, is paused (the group's other server
 * takes its traffic), an alert with the evidence is raised and mailed, and lifting it resumes it.
 */

const REFUSAL = 'Recipient address rejected: Access denied';

/** 10 % of the addresses, in both halves of any alternation (indices 9 and 14 of every 20). */
const refusedIndex = (index: number) => index % 20 === 9 || index % 20 === 14;

describe('protection window in Redis', () => {
  let redis: Redis;
  const prefix = redisTestPrefix();

  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('keeps running counts of the last N sends, one slot each', async () => {
    const store = createRedisWindowStore(redis, { keyPrefix: prefix, maxSamples: 3 });
    for (let index = 0; index < 25; index += 1) {
      const outcome = index < 5 ? 'hardBounce' : index % 5 === 0 ? 'softBounce' : 'accepted';
      await store.observe('s1', [{ outcome, reply: outcome === 'accepted' ? null : `550 5.7.1 <r${index}@x.test> ${REFUSAL}`, at: index }], 10);
    }
    // The last 10 (15..24): a soft bounce at 15 and 20, the rest accepted; the early hard bounces are gone.
    const state = await store.read('s1');
    expect(state).toEqual({
      window: 10,
      sends: 10,
      counts: { accepted: 8, hardBounce: 0, softBounce: 2, complaint: 0, failed: 0 },
      tripped: [],
    });
    const samples = await store.samples('s1');
    expect(samples.map((sample) => sample.at)).toEqual([20, 15, 10]);
    expect(samples[0]).toEqual({ outcome: 'softBounce', reply: `550 5.7.1 <r20@x.test> ${REFUSAL}`, at: 20 });
  });

  it('turns the newest acceptance into a later report, else adds a send', async () => {
    const store = createRedisWindowStore(redis, { keyPrefix: prefix });
    expect((await store.observe('s2', [{ outcome: 'complaint', afterAccept: true }], 100)).sends).toBe(1);
    for (let index = 0; index < 3; index += 1) await store.observe('s2', [{ outcome: 'accepted' }], 100);
    const after = await store.observe('s2', [{ outcome: 'hardBounce', afterAccept: true }], 100);
    expect(after).toMatchObject({ sends: 4, counts: { accepted: 2, hardBounce: 1, complaint: 1 } });
    // The converted slot leaves the window with its own kind: fill the window past it.
    for (let index = 0; index < 100; index += 1) await store.observe('s2', [{ outcome: 'accepted' }], 100);
    expect((await store.read('s2')).counts).toEqual({ accepted: 100, hardBounce: 0, softBounce: 0, complaint: 0, failed: 0 });
  });

  it('takes a batch in one call with the same result as one observation at a time', async () => {
    const store = createRedisWindowStore(redis, { keyPrefix: prefix });
    const observations = [
      ...Array.from({ length: 12 }, () => ({ outcome: 'accepted' as const })),
      { outcome: 'hardBounce' as const, afterAccept: true, reply: '550 5.1.1 gone', at: 1000 },
      { outcome: 'failed' as const, reply: '554 refused', at: 2000 },
      ...Array.from({ length: 3 }, () => ({ outcome: 'accepted' as const })),
      { outcome: 'complaint' as const, afterAccept: true },
    ];
    for (const observation of observations) await store.observe('one-by-one', [observation], 10);
    const batched = await store.observe('batched', observations, 10);
    expect(batched).toEqual(await store.read('one-by-one'));
    // The last 10 slots: 12 acceptances pushed 2 out; two were turned into the bounce and the complaint.
    expect(batched.counts).toEqual({ accepted: 7, hardBounce: 1, softBounce: 0, complaint: 1, failed: 1 });
    expect(await store.samples('batched')).toEqual(await store.samples('one-by-one'));
  });

  it('works on an auto-pipelined connection from its first call (the engine\'s connection)', async () => {
    const auto = new IORedis(TEST_REDIS_URL, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
    try {
      // A pipeline of this tick is already open when the store is made and used.
      const other = auto.get(`${prefix}:other`);
      const store = createRedisWindowStore(auto, { keyPrefix: prefix });
      const [, state] = await Promise.all([other, store.observe('s4', [{ outcome: 'accepted' }], 10), auto.get(`${prefix}:other`)]);
      expect(state.sends).toBe(1);
      await Promise.all([store.reset('s4', []), auto.get(`${prefix}:other`)]);
      expect((await store.read('s4')).sends).toBe(0);
    } finally {
      auto.disconnect();
    }
  });

  it('claims a rule once, and a reset un-trips only the rules it names', async () => {
    const store = createRedisWindowStore(redis, { keyPrefix: prefix });
    await store.observe('s3', [{ outcome: 'failed', reply: '554 no' }], 10);
    const claims = await Promise.all(Array.from({ length: 20 }, () => store.claim('s3', 'bounceRate')));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await store.claim('s3', 'complaintRate')).toBe(true);
    await store.reset('s3', ['bounceRate']);
    expect(await store.read('s3')).toMatchObject({ sends: 0, tripped: ['complaintRate'], counts: { failed: 0 } });
    expect(await store.samples('s3')).toEqual([]);
    expect(await store.claim('s3', 'bounceRate')).toBe(true);
    // A new window size starts afresh, trips kept.
    await store.observe('s3', [{ outcome: 'accepted' }], 10);
    expect(await store.observe('s3', [{ outcome: 'accepted' }], 20)).toMatchObject({ window: 20, sends: 1, tripped: ['bounceRate', 'complaintRate'] });
  });
});

describe('automatic protection', () => {
  let app: TestStrapi;
  let badSink: TestSmtpServer;
  let goodSink: TestSmtpServer;
  let quietSink: TestSmtpServer;
  let alertSink: TestSmtpServer;
  const ids: Record<string, string> = {};
  let api: ReturnType<typeof asAdmin>;
  let counter = 0;
  const finished = new Set<string>();

  const protection = () => app.strapi.plugin('multi-smtp').service('protection');
  const mailer = () => app.strapi.plugin('multi-smtp').service('mailer');

  /** Queues `count` messages to a group and waits until every one is finished (sent or bounced). */
  const sendAndSettle = async (group: string, count: number, refused: (index: number) => boolean = () => false) => {
    const first = counter;
    counter += count;
    const messages = Array.from({ length: count }, (_, offset) => {
      const index = first + offset;
      return { to: `${refused(offset) ? 'refuse' : 'ok'}${index}@example.com`, subject: `m${index}`, text: 'hello' };
    });
    const queued: Array<{ id: string }> = await mailer().sendBulk(messages, { group });
    await waitFor(`${count} messages finished`, () => queued.every((message) => finished.has(message.id)), 60_000, 50);
    await protection().idle();
  };

  const serverStatus = async (id: string): Promise<ServerStatus> => (await api.get(`/multi-smtp/servers/${id}/status`)).body.data;
  const alertsOf = async (query: string): Promise<Alert[]> => {
    const response = await api.get(`/multi-smtp/alerts?${query}`);
    expect(response.status).toBe(200);
    return response.body.data;
  };

  beforeAll(async () => {
    [badSink, goodSink, quietSink, alertSink] = await Promise.all([startSmtpServer(), startSmtpServer(), startSmtpServer(), startSmtpServer()]);
    app = await startStrapi({
      pluginConfig: {
        worker: { enabled: true, concurrency: 4 },
        protection: {
          window: 100,
          minSends: 50,
          rules: {
            bounceRate: { threshold: 0.05, action: 'pause' },
            complaintRate: { threshold: 0.01, action: 'reduce-weight', weightFactor: 0.25 },
          },
          alertEmails: ['ops@example.com', 'oncall@example.com'],
          alertGroup: 'alerts',
        },
      },
    });
    api = asAdmin(app);
    for (const event of ['sent', 'bounced', 'failed']) {
      app.strapi.eventHub.on(`multi-smtp.message.${event}`, async ({ message }: { message: { id: string } }) => {
        finished.add(message.id);
      });
    }
    const group = async (slug: string) =>
      (await api.post('/multi-smtp/groups', { name: slug, slug, strategy: 'weighted' })).body.data.documentId as string;
    const groups = { main: await group('main'), quiet: await group('quiet'), alerts: await group('alerts') };
    const server = async (name: string, sink: TestSmtpServer, groupId: string) => {
      const response = await api.post('/multi-smtp/servers', {
        name,
        host: '127.0.0.1',
        port: sink.port,
        security: 'none',
        weight: 1,
        maxConnections: 4,
        fromAddress: `${name}@example.com`,
        group: groupId,
      });
      expect(response.status).toBe(201);
      ids[name] = response.body.data.documentId;
    };
    await server('bad', badSink, groups.main);
    await server('good', goodSink, groups.main);
    await server('quiet', quietSink, groups.quiet);
    await server('alerter', alertSink, groups.alerts);
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await Promise.all([badSink, goodSink, quietSink, alertSink].map((sink) => sink?.close()));
  });

  it('raises nothing below the threshold', async () => {
    // 4 % refused (one in 25), over 150 sends: a full window of 100 never crosses 5 %.
    quietSink.setFaults([{ stage: 'rcpt', code: 550, enhanced: '5.7.1', text: REFUSAL, recipients: Array.from({ length: 6 }, (_, n) => `refuse${counter + 24 + 25 * n}@example.com`) }]);
    await sendAndSettle('quiet', 150, (offset) => offset % 25 === 24);
    expect(quietSink.messages).toHaveLength(144);
    expect(await protection().window(ids.quiet)).toMatchObject({ window: 100, sends: 100, counts: { hardBounce: 4 }, tripped: [] });
    expect(await alertsOf(`server=${ids.quiet}`)).toEqual([]);
    expect((await serverStatus(ids.quiet!)).health.state).toBe('closed');
  }, 90_000);

  it('pauses a server whose sink refuses 10 % of recipients with 550 5.7.1, with an alert, a mail, and the traffic on the other server', async () => {
    const first = counter;
    const refused = Array.from({ length: 200 }, (_, offset) => offset)
      .filter(refusedIndex)
      .map((offset) => `refuse${first + offset}@example.com`);
    badSink.setFaults([{ stage: 'rcpt', code: 550, enhanced: '5.7.1', text: REFUSAL, recipients: refused }]);
    await sendAndSettle('main', 200, refusedIndex);

    const [alert, ...others] = await alertsOf('status=active');
    expect(others).toEqual([]);
    expect(alert).toMatchObject({
      server: { documentId: ids.bad, name: 'bad' },
      rule: 'bounceRate',
      action: 'pause',
      status: 'active',
      emailedTo: ['ops@example.com', 'oncall@example.com'],
      liftedAt: null,
      liftedBy: null,
    });
    const { evidence } = alert!;
    console.log(`protection: bad paused after ${evidence.sends} sends in its window, bounce rate ${(evidence.rate * 100).toFixed(1)} % (${evidence.counts.hardBounce} refused with 550 5.7.1)`);
    expect(evidence.window).toBe(100);
    expect(evidence.minSends).toBe(50);
    expect(evidence.sends).toBeGreaterThanOrEqual(50);
    expect(evidence.threshold).toBe(0.05);
    expect(evidence.rate).toBeGreaterThan(0.05);
    expect(evidence.counts.hardBounce / evidence.sends).toBeCloseTo(evidence.rate, 6);
    expect(evidence.counts.accepted + evidence.counts.hardBounce).toBe(evidence.sends);
    expect(evidence.samples.length).toBeGreaterThan(0);
    expect(evidence.samples[0]).toMatchObject({ outcome: 'hardBounce', reply: expect.stringContaining('550 5.7.1') });
    expect(alert!.summary).toMatch(/^bounce rate [\d.]+ % over the last \d+ sends \(threshold 5 %\): paused$/);
    const got = await api.get(`/multi-smtp/alerts/${alert!.documentId}`);
    expect(got.body.data).toEqual(alert);

    const status = await serverStatus(ids.bad!);
    expect(status.health).toMatchObject({ state: 'open', source: 'rule', reason: `Protection: ${alert!.summary}` });
    expect(status.alerts).toEqual([{ documentId: alert!.documentId, rule: 'bounceRate', action: 'pause', summary: alert!.summary, createdAt: alert!.createdAt }]);
    expect((await serverStatus(ids.good!)).alerts).toEqual([]);

    // The alert mail, through the alerts group, with the evidence.
    const [mail] = await alertSink.waitForMessages(1, 15_000);
    expect(mail!.to.sort()).toEqual(['oncall@example.com', 'ops@example.com']);
    expect(mail!.subject).toBe(`[Multi SMTP] bad: ${alert!.summary}`);
    expect(mail!.text).toContain('Rule: bounce rate above 5 %');
    expect(mail!.text).toContain(`hardBounce ${evidence.counts.hardBounce}`);
    expect(mail!.text).toContain(`550 5.7.1`);
    expect(mail!.text).toContain(REFUSAL);
    await waitFor('the alert mail logged', async () => (await alertsOf('status=active'))[0]?.emailMessageId);

    // Paused: the group's later traffic goes to the other server only.
    const badBefore = badSink.messages.length;
    const goodBefore = goodSink.messages.length;
    await sendAndSettle('main', 40);
    expect(badSink.messages.length).toBe(badBefore);
    expect(goodSink.messages.length).toBe(goodBefore + 40);
    // Once, not on every later send.
    expect(await alertsOf('')).toHaveLength(1);

    // One click lifts it: resumed, window afresh, alert marked with who lifted it.
    const lifted = await api.post(`/multi-smtp/alerts/${alert!.documentId}/lift`, {});
    expect(lifted.status).toBe(200);
    expect(lifted.body.data).toMatchObject({ status: 'lifted', liftedBy: 'Super Admin <super@example.com>' });
    expect(lifted.body.data.liftedAt).toEqual(expect.any(String));
    expect((await serverStatus(ids.bad!)).health).toMatchObject({ state: 'closed', suspendedUntil: null });
    expect((await serverStatus(ids.bad!)).alerts).toEqual([]);
    expect(await protection().window(ids.bad)).toMatchObject({ sends: 0, tripped: [] });
    // Lifting again changes nothing.
    const again = await api.post(`/multi-smtp/alerts/${alert!.documentId}/lift`, {});
    expect(again.body.data).toEqual(lifted.body.data);

    badSink.setFaults([]);
    await sendAndSettle('main', 40);
    expect(badSink.messages.length).toBe(badBefore + 20);
    expect(await alertsOf('status=active')).toEqual([]);
    expect((await alertsOf('status=lifted')).map((entry) => entry.documentId)).toEqual([alert!.documentId]);
  }, 120_000);

  it('cuts the weight on complaints (reduce-weight) and restores it when lifted', async () => {
    // The good server has a full window of accepted sends; complaints arrive later (ARF reports).
    expect((await protection().window(ids.good)).sends).toBe(100);
    await protection().observe({ serverId: ids.good, outcome: 'complaint', reply: 'Feedback-Type: abuse' });
    expect(await alertsOf(`server=${ids.good}`)).toEqual([]);
    await protection().observe({ serverId: ids.good, outcome: 'complaint', reply: 'Feedback-Type: abuse' });
    expect(await protection().window(ids.good)).toMatchObject({ sends: 100, counts: { complaint: 2, accepted: 98 }, tripped: ['complaintRate'] });

    const [alert] = await alertsOf(`server=${ids.good}&status=active`);
    expect(alert).toMatchObject({ rule: 'complaintRate', action: 'reduce-weight' });
    expect(alert!.evidence).toMatchObject({ sends: 100, rate: 0.02, threshold: 0.01, weightFactor: 0.25, counts: { complaint: 2 } });
    expect(alert!.summary).toBe('complaint rate 2 % over the last 100 sends (threshold 1 %): weight cut to 25 %');
    expect((await serverStatus(ids.good!)).health).toMatchObject({ state: 'closed', weightFactor: 0.25 });
    await alertSink.waitForMessages(2, 15_000);

    // Weights 1 and 0.25: the good server takes a fifth of the group's traffic.
    const badBefore = badSink.messages.length;
    const goodBefore = goodSink.messages.length;
    await sendAndSettle('main', 100);
    expect(goodSink.messages.length - goodBefore).toBeGreaterThanOrEqual(12);
    expect(goodSink.messages.length - goodBefore).toBeLessThanOrEqual(28);
    expect(badSink.messages.length - badBefore + goodSink.messages.length - goodBefore).toBe(100);

    const lifted = await api.post(`/multi-smtp/alerts/${alert!.documentId}/lift`);
    expect(lifted.status).toBe(200);
    expect((await serverStatus(ids.good!)).health.weightFactor).toBeUndefined();
    const goodAfterLift = goodSink.messages.length;
    await sendAndSettle('main', 40);
    expect(goodSink.messages.length - goodAfterLift).toBe(20);
  }, 120_000);

  it('refuses bad filters and unknown alerts', async () => {
    const bad = await api.get('/multi-smtp/alerts?status=gone&pageSize=500');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.errors.map((error: { path: string[] }) => error.path.join('.')).sort()).toEqual(['pageSize', 'status']);
    expect((await api.get('/multi-smtp/alerts/nope')).status).toBe(404);
    expect((await api.post('/multi-smtp/alerts/nope/lift', {})).status).toBe(404);
    const paged = await api.get('/multi-smtp/alerts?pageSize=1&page=2&sort=createdAt:asc');
    expect(paged.body.meta.pagination).toEqual({ page: 2, pageSize: 1, pageCount: 2, total: 2 });
    expect(paged.body.data[0].rule).toBe('complaintRate');
  });

  it('reads alerts with reports.read and lifts them only with servers.manage', async () => {
    const reader = asAdmin(app, await app.createAdmin(['reports.read']));
    const [alert] = (await reader.get('/multi-smtp/alerts')).body.data as Alert[];
    expect(alert).toBeDefined();
    expect((await reader.post(`/multi-smtp/alerts/${alert!.documentId}/lift`, {})).status).toBe(403);
    const manager = asAdmin(app, await app.createAdmin(['servers.manage', 'servers.read']));
    expect((await manager.get('/multi-smtp/alerts')).status).toBe(403);
    expect((await manager.post(`/multi-smtp/alerts/${alert!.documentId}/lift`, {})).status).toBe(200);
  });
});
