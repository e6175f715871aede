import { randomBytes } from 'node:crypto';

import { createList, createCampaign, readyCampaign } from '../helpers/campaigns';
import { campaignAction, deliveriesOf, getCampaign, groupWithSink, waitForCampaignStatus } from '../helpers/campaign-sending';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { startPrivateRedis, startTcpProxy, type PrivateRedis, type TcpProxy } from '../helpers/faults';
import { deleteKeys, redisTestPrefix, testRedis } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { sleep, waitFor } from '../helpers/wait';

/**
 * Faults of the infrastructure, for real: the Redis the queue lives in is killed mid-campaign and
 * started again, the database goes away while the delivery log is written, an SMTP server dies
 * mid-campaign. Each time nothing is lost (every recipient gets the mail at least once), duplicates
 * are bounded by what was in flight at the fault, and the delivery log catches up.
 */

const MESSAGE_UID = 'plugin::multi-smtp.message';
type Api = ReturnType<typeof asAdmin>;
interface LogRow {
  messageId: string;
  status: string;
  serverName: string | null;
  recipients: string | null;
  attempts: { serverName: string; outcome: string; at: number; latencyMs?: number }[] | null;
  finishedAt: string | null;
}

/** Subscribers in one CSV import (one request, not hundreds). */
const importSubscribers = async (app: TestStrapi, list: string, emails: string[]) => {
  const response = await app
    .http()
    .post(`/multi-smtp/subscribers/import?lists=${list}`)
    .set('Authorization', `Bearer ${app.superAdminToken}`)
    .set('Content-Type', 'text/csv')
    .send(`email\n${emails.join('\n')}\n`);
  if (response.status !== 200 || response.body.data.created !== emails.length) throw new Error(`import: ${response.status} ${JSON.stringify(response.body)}`);
};

const logRows = async (app: TestStrapi, where: Record<string, unknown>): Promise<LogRow[]> =>
  (await app.strapi.db.query(MESSAGE_UID as never).findMany({
    where,
    select: ['messageId', 'status', 'serverName', 'recipients', 'attempts', 'finishedAt'],
    limit: 100_000,
  } as never)) as LogRow[];

const countBy = <T>(items: T[], key: (item: T) => string) => {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
};

/** Strapi's error log, kept instead of printed (an outage logs a line per failure); the count is printed. */
const captureErrors = (app: TestStrapi) => {
  const lines: string[] = [];
  app.strapi.log.error = ((message: unknown) => {
    lines.push(String(message));
  }) as typeof app.strapi.log.error;
  return lines;
};

const recipientsOf = (count: number, tag: string) => Array.from({ length: count }, (_, index) => `${tag}${String(index).padStart(4, '0')}@example.com`);

/** A campaign of these subscribers through the group; returns its documentId. */
const campaignTo = async (app: TestStrapi, api: Api, name: string, group: string, emails: string[]) => {
  const list = (await createList(api, name)).documentId;
  await importSubscribers(app, list, emails);
  return (await createCampaign(api, readyCampaign([list], { name, group, subject: 'Hello', html: '<p>Hi</p><a href="{{ unsubscribe_url }}">x</a>' }))).documentId;
};

const flushLog = (app: TestStrapi) => app.strapi.plugin('multi-smtp').service('messageLog').flush() as Promise<void>;

// ---------------------------------------------------------------------------------------------------

describe('faults: Redis killed (SIGKILL) mid-campaign and started again on its AOF', () => {
  const PORT = 7421;
  const RECIPIENTS = 400;
  const CONCURRENCY = 4;
  let redis: PrivateRedis;
  let sink: TestSmtpServer;
  let app: TestStrapi | undefined;
  let database: TestDatabase;
  let errors: string[] = [];

  beforeAll(async () => {
    redis = await startPrivateRedis(PORT, { appendfsync: 'always' });
    sink = await startSmtpServer({ delayMs: { data: 25 } });
    database = await createTestDatabase();
    app = await startStrapi({
      reuse: { database, redisPrefix: 'unused' },
      pluginConfig: {
        redis: { url: redis.url, keyPrefix: `faults-${randomBytes(3).toString('hex')}` },
        worker: { enabled: true, concurrency: CONCURRENCY, lockDurationMs: 5000 },
        retry: { attempts: 10, backoffMs: 500 },
        campaigns: { pageSize: 50, maxInFlight: 100 },
      },
    });
    errors = captureErrors(app);
  }, 90_000);

  afterAll(async () => {
    // Redis must answer for Strapi's destroy to finish its flushes; it is killed after.
    if (redis && app) await redis.start().catch(() => undefined);
    await app?.stop().catch(() => undefined);
    await redis?.stop();
    await sink?.close();
    await database?.drop().catch(() => undefined);
  }, 60_000);

  it('resumes by itself after the restart; every recipient gets the mail, duplicates only from sends in flight; the log has every message sent', async () => {
    const api = asAdmin(app!);
    const group = await groupWithSink(api, sink, 'redis-fault', { maxConnections: CONCURRENCY });
    const emails = recipientsOf(RECIPIENTS, 'aof');
    const campaign = await campaignTo(app!, api, 'Redis restart', group, emails);
    const delivered = () => sink.messages.filter((message) => message.headers['x-campaign-id'] === campaign).length;

    await campaignAction(api, campaign, 'start');
    await waitFor('a quarter delivered', () => delivered() >= RECIPIENTS / 4, 60_000, 20);
    await redis.kill('SIGKILL');
    const killedAt = Date.now();
    const atKill = delivered();
    await sleep(3000);
    // Sends under way at the kill may still reach the sink; then nothing moves without Redis.
    const duringOutage = delivered() - atKill;
    await redis.start();
    const restartedAt = Date.now();
    await waitFor('a delivery after the restart', () => sink.messages.some((message) => message.receivedAt > restartedAt), 30_000, 20);
    const resumedMs = Math.min(...sink.messages.filter((message) => message.receivedAt > restartedAt).map((message) => message.receivedAt)) - restartedAt;

    // The sink's open connections after the restart: every connection slot must come back (a
    // connection left out of the pool by a failed state write once kept its slot for good).
    let openAfterRestart = 0;
    const sampler = setInterval(() => {
      openAfterRestart = Math.max(openAfterRestart, sink.openConnections);
    }, 50);
    const done = await waitForCampaignStatus(api, campaign, 'completed', 90_000).finally(() => clearInterval(sampler));
    const completedMs = Date.now() - restartedAt;
    const deliveries = deliveriesOf([sink], campaign);
    const lost = emails.filter((email) => !deliveries.has(email));
    const duplicates = [...deliveries.values()].reduce((sum, count) => sum + count - 1, 0);

    // A log that does not catch up is reported with the rest of the figures (rows by status) before the assertions fail.
    await waitFor('the delivery log to catch up', async () => {
      await flushLog(app!).catch(() => undefined);
      return (await logRows(app!, { campaignId: campaign, status: 'sent' })).length >= RECIPIENTS;
    }, 30_000, 250).catch(() => undefined);
    const rows = await logRows(app!, { campaignId: campaign });
    const byStatus = countBy(rows, (row) => row.status);
    const redisErrors = errors.filter((line) => /redis|ECONNREFUSED|Connection is closed|max retries/i.test(line)).length;
    console.log(
      `[faults] Redis SIGKILL mid-campaign: recipients ${RECIPIENTS}, delivered ${deliveries.size} (${delivered()} messages), duplicates ${duplicates}, ` +
        `lost ${lost.length}; ${atKill} delivered at the kill, ${duringOutage} while Redis was down (${restartedAt - killedAt} ms); first delivery ${resumedMs} ms after the restart; ` +
        `campaign completed ${(completedMs / 1000).toFixed(1)} s after the restart, ${openAfterRestart} SMTP connections open at once after it (of ${CONCURRENCY}); log rows by status ${JSON.stringify(byStatus)}; ${errors.length} errors logged (${redisErrors} about Redis)`
    );

    expect(lost).toEqual([]);
    // Only a send the server accepted in the instant before the kill, before the accept was recorded,
    // may go out again: at most the sends in flight (one per worker slot).
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY);
    expect(atKill).toBeLessThan(RECIPIENTS);
    expect(resumedMs).toBeLessThan(15_000);
    expect(openAfterRestart).toBe(CONCURRENCY);
    // 300 messages at about 30 a second; 77 s when the slots were lost.
    // The lost-slots bug is asserted directly above (every connection open again); this bound only
    // says the campaign finishes, with room for a loaded CI machine (40.1 s measured under load).
    expect(completedMs).toBeLessThan(60_000);
    expect(done).toMatchObject({ sentCount: RECIPIENTS, failedCount: 0, queuedCount: RECIPIENTS });
    // One row per message, each in its final state.
    expect(rows).toHaveLength(RECIPIENTS);
    expect(byStatus).toEqual({ sent: RECIPIENTS });
    expect(new Set(rows.map((row) => row.recipients)).size).toBe(RECIPIENTS);
  }, 150_000);
});

// ---------------------------------------------------------------------------------------------------

describe('faults: the database unreachable for 5 s while the delivery log is written', () => {
  const TOTAL = 300;
  const OUTAGE_MS = 5000;
  let proxy: TcpProxy;
  let database: TestDatabase;
  let redisPrefix: string;
  let sink: TestSmtpServer;
  let app: TestStrapi | undefined;
  let errors: string[] = [];
  let knexWarnings = 0;
  const warn = console.warn.bind(console);

  beforeAll(async () => {
    // Postgres whatever MULTI_SMTP_TEST_DB says, reached through the proxy only.
    database = await createTestDatabase('postgres');
    proxy = await startTcpProxy({ host: database.env.DATABASE_HOST!, port: Number(database.env.DATABASE_PORT) });
    redisPrefix = redisTestPrefix();
    sink = await startSmtpServer({ delayMs: { data: 60 } });
    app = await startStrapi({
      reuse: { database: { ...database, env: { ...database.env, DATABASE_HOST: proxy.host, DATABASE_PORT: String(proxy.port) } }, redisPrefix },
      pluginConfig: { worker: { enabled: true, concurrency: 4 }, retry: { attempts: 10, backoffMs: 500 } },
    });
    errors = captureErrors(app);
    // knex warns once per dead pooled connection it throws away (test/app/config/database.js prints it): counted, not printed.
    jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      if (String(args[0]).includes('Connection Error')) knexWarnings += 1;
      else warn(...args);
    });
  }, 90_000);

  afterAll(async () => {
    jest.restoreAllMocks();
    await app?.stop().catch(() => undefined);
    await proxy?.close();
    await sink?.close();
    await database?.drop().catch(() => undefined);
    const redis = testRedis();
    await deleteKeys(redis, redisPrefix).catch(() => undefined);
    redis.disconnect();
  }, 60_000);

  it('keeps sending, retries the log writes, and has every message in the log in its final state once the database is back', async () => {
    const api = asAdmin(app!);
    await groupWithSink(api, sink, 'db-fault', { maxConnections: 4 });
    const mailer = app!.strapi.plugin('multi-smtp').service('mailer');
    const queued: { id: string }[] = await mailer.sendBulk(
      Array.from({ length: TOTAL }, (_, index) => ({ to: `db${index}@example.com`, subject: `db ${index}`, text: 'x', from: 'f@example.com' })),
      { group: 'db-fault' }
    );
    await waitFor('a first few delivered', () => sink.messages.length >= 40, 30_000, 20);
    const cutAt = Date.now();
    const atCut = sink.messages.length;
    const outage = proxy.outage(OUTAGE_MS);
    // A query while it is down fails: the outage is real.
    await sleep(200);
    const refused = await app!.strapi.db.query(MESSAGE_UID as never).count({}).then(() => null, (error: Error) => error.message);
    await outage;
    const backAt = Date.now();
    const duringOutage = sink.messages.filter((message) => message.receivedAt >= cutAt && message.receivedAt < backAt).length;
    const logFailuresDuringOutage = errors.filter((line) => line.includes('writing the delivery log failed')).length;

    await waitFor('all delivered', () => sink.messages.length >= TOTAL, 60_000, 50);
    // Every message's row, in its final state, without anyone calling flush(): the writer's own retries.
    let caughtUpAt = 0;
    await waitFor('the delivery log to catch up', async () => {
      const sent = await app!.strapi.db.query(MESSAGE_UID as never).count({ where: { status: 'sent', source: 'api' } } as never);
      if (sent < TOTAL) return false;
      caughtUpAt = Date.now();
      return true;
    }, 60_000, 100);
    const rows = await logRows(app!, { source: 'api' });
    const byStatus = countBy(rows, (row) => row.status);
    const ids = sink.messages.map((message) => message.headers['x-multi-smtp-id']);
    const lost = queued.filter((message) => !ids.includes(message.id)).length;
    const duplicates = ids.length - new Set(ids).size;
    console.log(
      `[faults] database down ${OUTAGE_MS} ms: messages ${TOTAL}, delivered ${new Set(ids).size}, duplicates ${duplicates}, lost ${lost}; ` +
        `${atCut} delivered before the cut, ${duringOutage} during the outage; ${proxy.cut} connections cut; query while down: ${refused}; ` +
        `${logFailuresDuringOutage} failed log writes during the outage, ${knexWarnings} dead pooled connections dropped by knex; log complete ${caughtUpAt - backAt} ms after the database came back; ` +
        `log rows by status ${JSON.stringify(byStatus)}`
    );

    expect(refused).not.toBeNull();
    expect(proxy.cut).toBeGreaterThan(0);
    // Sending does not depend on the database: the sink kept receiving while it was away.
    expect(duringOutage).toBeGreaterThan(10);
    expect(logFailuresDuringOutage).toBeGreaterThan(0);
    expect(lost).toBe(0);
    expect(duplicates).toBe(0);
    // Strapi's pool reconnects by itself and the writer's retries (backing off, at most 8 s after a 5 s outage) catch up.
    expect(caughtUpAt - backAt).toBeLessThan(15_000);
    expect(rows).toHaveLength(TOTAL);
    expect(byStatus).toEqual({ sent: TOTAL });
    expect(new Set(rows.map((row) => row.messageId))).toEqual(new Set(queued.map((message) => message.id)));
  }, 150_000);
});

// ---------------------------------------------------------------------------------------------------

describe('faults: an SMTP server of a group dies mid-campaign', () => {
  const RECIPIENTS = 300;
  const MOVE_BOUND_MS = 5000;
  let dying: TestSmtpServer;
  let survivor: TestSmtpServer;
  let app: TestStrapi | undefined;

  beforeAll(async () => {
    [dying, survivor] = await Promise.all([startSmtpServer({ delayMs: { data: 30 } }), startSmtpServer({ delayMs: { data: 30 } })]);
    app = await startStrapi({
      pluginConfig: {
        worker: { enabled: true, concurrency: 6 },
        // The default retry backoff (30 s): a message that waited for a retry could not move within 5 s.
        campaigns: { pageSize: 50, maxInFlight: 100 },
      },
    });
  }, 90_000);

  afterAll(async () => {
    await app?.stop().catch(() => undefined);
    await Promise.all([dying, survivor].map((sink) => sink?.close()));
  }, 60_000);

  it('moves its traffic to the other server within 5 s, loses nothing and sends nothing twice to the survivor', async () => {
    const api = asAdmin(app!);
    const group = await groupWithSink(api, dying, 'pair', { name: 'dying', maxConnections: 3 });
    const added = await api.post('/multi-smtp/servers', {
      name: 'survivor',
      host: survivor.host,
      port: survivor.port,
      security: 'none',
      maxConnections: 3,
      fromAddress: 'news@example.com',
      group,
    });
    expect(added.status).toBe(201);
    const emails = recipientsOf(RECIPIENTS, 'smtp');
    const campaign = await campaignTo(app!, api, 'Server dies', group, emails);
    const of = (sink: TestSmtpServer) => sink.messages.filter((message) => message.headers['x-campaign-id'] === campaign);

    await campaignAction(api, campaign, 'start');
    await waitFor('a third delivered', () => of(dying).length + of(survivor).length >= RECIPIENTS / 3, 60_000, 20);
    expect(of(dying).length).toBeGreaterThan(0);
    await dying.close(); // from now on its port refuses connections
    const closedAt = Date.now();
    const atDeath = { dying: of(dying).length, survivor: of(survivor).length };

    await waitForCampaignStatus(api, campaign, 'completed', 90_000);
    await flushLog(app!);
    const rows = await logRows(app!, { campaignId: campaign });

    const atSurvivor = deliveriesOf([survivor], campaign);
    const overall = deliveriesOf([dying, survivor], campaign);
    const lost = emails.filter((email) => !overall.has(email));
    const twiceAtSurvivor = [...atSurvivor].filter(([, count]) => count > 1).map(([email]) => email);
    const duplicates = [...overall.values()].reduce((sum, count) => sum + count - 1, 0);
    // Messages that met the dead server and were delivered by the other one.
    const moved = rows.filter(
      (row) => row.status === 'sent' && row.serverName === 'survivor' && (row.attempts ?? []).some((attempt) => attempt.serverName === 'dying')
    );
    // Failed over at once, in the same run: from the refused attempt to the next, on the survivor.
    const failoverDelays = moved.map((row) => {
      const attempts = row.attempts ?? [];
      const index = attempts.findIndex((attempt) => attempt.serverName === 'dying');
      return (attempts[index + 1]?.at ?? Number.NaN) - attempts[index]!.at;
    });
    const refusedLatencies = moved.map((row) => (row.attempts ?? []).find((attempt) => attempt.serverName === 'dying')?.latencyMs);
    const receivedAt = new Map(of(survivor).map((message) => [message.to[0]!, message.receivedAt]));
    const movedTimes = moved.map((row) => (receivedAt.get(row.recipients!) ?? Number.NaN) - closedAt).sort((a, b) => a - b);
    // The longest pause in deliveries after the death (over both sinks: in-flight ones may still land on the dying).
    const after = [closedAt, ...of(survivor).map((message) => message.receivedAt).filter((at) => at >= closedAt)].sort((a, b) => a - b);
    const gaps = after.slice(1).map((at, index) => at - after[index]!);
    const maxGap = Math.max(0, ...gaps);
    const dyingAttempts = rows.flatMap((row) => (row.attempts ?? []).filter((attempt) => attempt.serverName === 'dying' && attempt.at >= closedAt));
    console.log(
      `[faults] SMTP server dies: recipients ${RECIPIENTS}, delivered ${overall.size}, duplicates ${duplicates} (twice at the survivor: ${twiceAtSurvivor.length}), ` +
        `lost ${lost.length}; at the death ${atDeath.dying} at the dying / ${atDeath.survivor} at the survivor; ` +
        `${moved.length} messages moved (next attempt ${Math.max(...failoverDelays)} ms at most after the refused one: ${[...failoverDelays].sort((a, b) => a - b).join(', ')} ms; refused attempts took ${refusedLatencies.join(', ')} ms), first delivered ${movedTimes[0]} ms after the close, longest pause in deliveries ${maxGap} ms; ` +
        `${dyingAttempts.length} attempts on the dead server after its close; log rows by status ${JSON.stringify(countBy(rows, (row) => row.status))}`
    );

    expect(lost).toEqual([]);
    expect(twiceAtSurvivor).toEqual([]);
    // Only a message the dying server took in the instant it closed (before its 250 went out) may be sent again.
    expect(duplicates).toBeLessThanOrEqual(3);
    expect(moved.length).toBeGreaterThan(0);
    // Moved at once, not after the retry backoff (30 s): within the 5 s even on a loaded machine
    // (a quiet one measures well under a second; the printed figure says which).
    for (const delay of failoverDelays) expect(delay).toBeLessThan(MOVE_BOUND_MS);
    expect(movedTimes[0]).toBeLessThan(MOVE_BOUND_MS);
    expect(maxGap).toBeLessThan(MOVE_BOUND_MS);
    expect(of(dying).length).toBeLessThanOrEqual(atDeath.dying + 3);
    expect(rows).toHaveLength(RECIPIENTS);
    expect(countBy(rows, (row) => row.status)).toEqual({ sent: RECIPIENTS });
    // The breaker opened: the dead server is suspended.
    const dyingServer = (await app!.strapi.db.query('plugin::multi-smtp.server' as never).findOne({ where: { name: 'dying' } } as never)) as { documentId: string };
    const health = (await api.get(`/multi-smtp/servers/${dyingServer.documentId}/status`)).body.data.health;
    expect(health.state).toBe('open');
    expect(await getCampaign(api, campaign)).toMatchObject({ status: 'completed', sentCount: RECIPIENTS });
  }, 150_000);
});
