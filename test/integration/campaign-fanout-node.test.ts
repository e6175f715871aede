import type Redis from 'ioredis';

import type { FanOutReport } from '../../server/src/services/campaign-runner';
import { createCampaign, createList, readyCampaign } from '../helpers/campaigns';
import { deliveriesOf, groupWithSink, repeated, waitForCampaignStatus } from '../helpers/campaign-sending';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { deleteKeys, redisTestPrefix, testRedis } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { startWorkerCommand, type WorkerCommand } from '../helpers/strapi-process';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { sleep, waitFor } from '../helpers/wait';

/**
 * `campaigns.fanOut: true` on a node whose queue worker is off: that node reads the audience and
 * queues the recipients, a standalone `multi-smtp-worker` (configured with `campaigns.fanOut: false`,
 * so it only sends) renders and sends every message. Both share one database and Redis prefix.
 */
describe('campaign fan-out on a node without queue workers', () => {
  const RECIPIENTS = 300;
  const PUBLIC_URL = 'https://fanout.example.test';

  let sink: TestSmtpServer;
  let redis: Redis;
  let database: TestDatabase;
  let redisPrefix: string;
  let web: TestStrapi | null = null;
  let worker: WorkerCommand | null = null;

  beforeAll(async () => {
    sink = await startSmtpServer();
    redis = testRedis();
    database = await createTestDatabase();
    redisPrefix = redisTestPrefix();
    web = await startStrapi({
      reuse: { database, redisPrefix },
      pluginConfig: {
        worker: { enabled: false },
        campaigns: { fanOut: true, pageSize: 50, maxInFlight: 120, batchSize: 10 },
        publicUrl: PUBLIC_URL,
      },
    });
  }, 90_000);

  afterAll(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) await worker.kill();
    await web?.stop();
    await sink?.close();
    await deleteKeys(redis, redisPrefix);
    redis.disconnect();
    await database?.drop();
  }, 60_000);

  it(`fans out ${RECIPIENTS} recipients on the web node; the standalone worker sends each exactly once and the campaign completes`, async () => {
    const api = asAdmin(web!);
    const plugin = web!.strapi.plugin('multi-smtp');
    expect(plugin.service('runtime').config().worker.enabled).toBe(false);
    const group = await groupWithSink(api, sink, 'news', { maxConnections: 4 });
    const list = (await createList(api, 'Everyone')).documentId;
    const expected = Array.from({ length: RECIPIENTS }, (_, index) => `reader${index}@example.com`);
    const imported = await web!
      .http()
      .post(`/multi-smtp/subscribers/import?lists=${list}`)
      .set('Authorization', `Bearer ${web!.superAdminToken}`)
      .set('Content-Type', 'text/csv')
      .send(`email,name\n${expected.map((email, index) => `${email},Reader ${index}`).join('\n')}\n`);
    expect(imported.status).toBeLessThan(300);
    expect(imported.body.data.created).toBe(RECIPIENTS);

    const campaign = (await createCampaign(api, readyCampaign([list], { name: 'Fan-out node', group }))).documentId;
    const reports: FanOutReport[] = [];
    (plugin.service('campaignRunner') as { onReport(listener: (report: FanOutReport) => void): () => void }).onReport((report) => reports.push(report));
    const started = await api.post(`/multi-smtp/campaigns/${campaign}/start`);
    expect(started.status).toBe(200);

    // No worker yet: the web node fans out up to maxInFlight and then waits; nothing is sent.
    await sleep(3000);
    expect(sink.messages.length).toBe(0);
    expect((plugin.service('campaignRunner') as { activeCampaigns(): string[] }).activeCampaigns()).toEqual([campaign]);
    const cursor = JSON.parse((await redis.get(`${redisPrefix}:campaign:${campaign}:cursor`)) ?? 'null') as { queued: number; done: boolean };
    expect(cursor).toMatchObject({ done: false });
    expect(cursor.queued).toBeGreaterThan(0);
    expect(cursor.queued).toBeLessThanOrEqual(120);

    // The sender: the shipped worker command, told to leave the fan-out to the web node.
    const workerConfig = { worker: { enabled: false, concurrency: 8 }, campaigns: { fanOut: false }, publicUrl: PUBLIC_URL };
    worker = await startWorkerCommand({ database, redisPrefix, pluginConfig: workerConfig });
    const done = await waitForCampaignStatus(api, campaign, 'completed', 90_000);

    const deliveries = deliveriesOf([sink], campaign);
    expect(repeated(deliveries)).toEqual([]);
    expect([...deliveries.keys()].sort()).toEqual([...expected].sort());
    expect(sink.messages.length).toBe(RECIPIENTS);
    expect(done).toMatchObject({ sentCount: RECIPIENTS, totalRecipients: RECIPIENTS, failedCount: 0 });
    // Rendered by the worker: merge tags and a signed unsubscribe link on the site's URL.
    const first = sink.messages.find((message) => message.to.includes('reader7@example.com'))!;
    expect(first.subject).toBe('Hello Reader 7');
    expect(first.html).toContain(`${PUBLIC_URL}/`);

    // The fan-out ran here, on the node without queue workers, from start to end. Its report comes a
    // moment after the campaign shows completed (the task's last writes and lock release come first).
    const finishedReports = () => reports.filter((report) => report.campaignId === campaign && report.outcome === 'done');
    await waitFor('the fan-out task to report done', () => finishedReports().length > 0, 10_000);
    expect(finishedReports()).toHaveLength(1);
    expect(reports.filter((report) => report.campaignId === campaign).reduce((sum, report) => sum + report.stats.queued, 0)).toBe(RECIPIENTS);
    expect(worker.output()).not.toMatch(/error/i);

    await worker.stop();
    worker = null;
  }, 180_000);
});
