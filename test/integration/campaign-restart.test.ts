import type Redis from 'ioredis';

import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { createCampaign, createList, createSubscriber, readyCampaign } from '../helpers/campaigns';
import { campaignAction, deliveriesOf, getCampaign, groupWithSink, repeated, waitForCampaignStatus } from '../helpers/campaign-sending';
import { deleteKeys, redisTestPrefix, testRedis } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { startStrapiProcess } from '../helpers/strapi-process';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { sleep, waitFor } from '../helpers/wait';

/**
 * Campaigns across restarts: Strapi is stopped (or killed) and a new one boots on the same
 * database and Redis prefix, as after a deploy or a crash. Nothing is kept in memory that a
 * campaign needs: the schedule is in the database, the fan-out's cursor in Redis.
 */
describe('campaigns across restarts', () => {
  let sink: TestSmtpServer;
  let redis: Redis;
  let database: TestDatabase;
  let redisPrefix: string;
  let app: TestStrapi | null = null;

  const boot = async (pluginConfig: Record<string, unknown>) => {
    app = await startStrapi({ reuse: { database, redisPrefix }, pluginConfig: { publicUrl: 'https://news.example.test', ...pluginConfig } });
    return asAdmin(app);
  };
  const shutdown = async () => {
    await app?.stop();
    app = null;
  };

  beforeEach(async () => {
    sink = await startSmtpServer();
    redis = testRedis();
    database = await createTestDatabase();
    redisPrefix = redisTestPrefix();
  });

  afterEach(async () => {
    await shutdown();
    await sink.close();
    await deleteKeys(redis, redisPrefix);
    redis.disconnect();
    await database.drop();
  });

  it('starts a scheduled campaign on time after a restart, and sends it once', async () => {
    let api = await boot({ worker: { enabled: true } });
    const group = await groupWithSink(api, sink, 'news');
    const list = (await createList(api, 'Readers')).documentId;
    const expected = Array.from({ length: 12 }, (_, index) => `reader${index}@example.com`);
    for (const email of expected) await createSubscriber(api, { email, lists: [list] });
    const campaign = (await createCampaign(api, readyCampaign([list], { name: 'Later', group }))).documentId;
    const scheduledAt = new Date(Date.now() + 9000);
    await campaignAction(api, campaign, 'schedule', { scheduledAt: scheduledAt.toISOString() });
    await shutdown();

    // A new Strapi on the same database and Redis: nothing is sent before the time, then it starts.
    api = await boot({ worker: { enabled: true } });
    expect((await getCampaign(api, campaign)).status).toBe('scheduled');
    const done = await waitForCampaignStatus(api, campaign, 'completed', 40_000);
    const startedAt = Date.parse(done.startedAt!);
    expect(startedAt).toBeGreaterThanOrEqual(scheduledAt.getTime());
    expect(startedAt - scheduledAt.getTime()).toBeLessThan(3000);
    const deliveries = deliveriesOf([sink], campaign);
    expect(repeated(deliveries)).toEqual([]);
    expect([...deliveries.keys()].sort()).toEqual([...expected].sort());
    expect(Math.min(...sink.messages.map((message) => message.receivedAt))).toBeGreaterThanOrEqual(scheduledAt.getTime());
    expect(done).toMatchObject({ sentCount: 12, totalRecipients: 12 });
  }, 90_000);

  it('a scheduled campaign whose time passed while every Strapi was down starts at the next boot', async () => {
    let api = await boot({ worker: { enabled: true } });
    const group = await groupWithSink(api, sink, 'news');
    const list = (await createList(api, 'Readers')).documentId;
    await createSubscriber(api, { email: 'one@example.com', lists: [list] });
    const campaign = (await createCampaign(api, readyCampaign([list], { name: 'Missed', group }))).documentId;
    await campaignAction(api, campaign, 'schedule', { scheduledAt: new Date(Date.now() + 1500).toISOString() });
    await shutdown();
    await sleep(2000);
    api = await boot({ worker: { enabled: true } });
    await waitForCampaignStatus(api, campaign, 'completed', 30_000);
    expect([...deliveriesOf([sink], campaign)]).toEqual([['one@example.com', 1]]);
  }, 90_000);

  it('a worker killed mid-campaign and a new one started lose and repeat no one', async () => {
    const total = 90;
    // Set up with no worker, so nothing is sent from this process.
    let api = await boot({ worker: { enabled: false } });
    const group = await groupWithSink(api, sink, 'news', { maxConnections: 3 });
    const list = (await createList(api, 'Many')).documentId;
    const expected = Array.from({ length: total }, (_, index) => `person${index}@example.com`);
    for (const email of expected) await createSubscriber(api, { email, lists: [list] });
    const campaign = (await createCampaign(api, readyCampaign([list], { name: 'Crash', group }))).documentId;
    await campaignAction(api, campaign, 'start');
    await shutdown();

    // The campaign goes out from a Strapi in another process, a few pages at a time.
    const settings = {
      publicUrl: 'https://news.example.test',
      worker: { enabled: true, concurrency: 3, lockDurationMs: 2000 },
      campaigns: { pageSize: 5, maxInFlight: 12 },
    };
    sink.setDelay({ rcpt: 40 });
    const worker = await startStrapiProcess({ database, redisPrefix, pluginConfig: settings });
    await waitFor('some deliveries', () => deliveriesOf([sink], campaign).size >= 25, 30_000);
    // Hold every new SMTP transaction before its DATA (so none is half-accepted), let those already
    // past it finish, then kill the process mid-campaign.
    sink.setDelay({ rcpt: 60_000 });
    await sleep(500);
    const cursor = JSON.parse((await redis.get(`${redisPrefix}:campaign:${campaign}:cursor`)) ?? 'null');
    await worker.kill();
    const beforeCrash = deliveriesOf([sink], campaign).size;
    expect(beforeCrash).toBeLessThan(total);
    expect(cursor).toMatchObject({ done: false });
    expect(cursor.seq).toBeGreaterThan(0);

    // A new Strapi takes over: the lock of the dead one lapses, its unfinished jobs are taken back.
    sink.setDelay(0);
    api = await boot(settings);
    const done = await waitForCampaignStatus(api, campaign, 'completed', 90_000);
    const deliveries = deliveriesOf([sink], campaign);
    expect(repeated(deliveries)).toEqual([]);
    expect([...deliveries.keys()].sort()).toEqual([...expected].sort());
    expect(done).toMatchObject({ sentCount: total, skippedCount: 0, failedCount: 0 });
  }, 180_000);
});
