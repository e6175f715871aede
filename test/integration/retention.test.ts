import type { MessageLogEntry } from '../../shared/contracts/messages';
import type { OverviewReport } from '../../shared/contracts/reports';
import type { MessageLogService } from '../../server/src/services/message-log';
import type { RetentionService } from '../../server/src/services/retention';
import type { StatsService } from '../../server/src/services/stats';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

const DAY = 24 * 3_600_000;
const MESSAGE_UID = 'plugin::multi-smtp.message';

const logEntry = (id: string, queuedAt: number): MessageLogEntry => ({
  id,
  status: 'sent',
  from: 'shop@example.com',
  recipients: [`${id}@example.com`],
  subject: id,
  group: 'transactional',
  serverId: 'srv-r',
  serverName: 'r',
  attempts: [{ at: queuedAt + 10, serverId: 'srv-r', serverName: 'r', outcome: 'accepted', reply: '250 2.0.0 Ok', latencyMs: 25 }],
  lastReply: '250 2.0.0 Ok',
  smtpMessageId: null,
  idempotencyKey: null,
  source: 'api',
  campaignId: null,
  subscriberId: null,
  queuedAt,
  sentAt: queuedAt + 35,
  finishedAt: queuedAt + 35,
});

describe('retention', () => {
  let app: TestStrapi;
  let log: MessageLogService;
  let stats: StatsService;
  let retention: RetentionService;
  const now = Date.now();
  const rows = (where: Record<string, unknown> = {}) => app.strapi.db.query(MESSAGE_UID).count({ where });

  /** `count` sent messages queued `daysAgo` days ago: a log row each, and their statistics. */
  const seed = async (prefix: string, count: number, daysAgo: number) => {
    const queuedAt = now - daysAgo * DAY;
    for (let index = 0; index < count; index += 1) {
      const entry = logEntry(`${prefix}-${index}`, queuedAt + index);
      log.record(entry);
      stats.record({ type: 'queued', at: entry.queuedAt, groupSlug: 'transactional' });
      stats.record({ type: 'accepted', at: entry.sentAt!, serverId: 'srv-r', groupSlug: 'transactional', latencyMs: 25 });
    }
    await log.flush();
    await stats.flush();
  };

  const acceptedAround = async (daysAgo: number) => {
    const from = new Date(now - (daysAgo + 1) * DAY).toISOString();
    const to = new Date(now - (daysAgo - 1) * DAY).toISOString();
    const response = await asAdmin(app).get(`/multi-smtp/reports/overview?from=${from}&to=${to}`);
    expect(response.status).toBe(200);
    return (response.body.data as OverviewReport).totals.accepted;
  };

  beforeAll(async () => {
    app = await startStrapi({ pluginConfig: { retention: { messageLogDays: 30, statsDays: 400 } } });
    const service = (name: string) => app.strapi.plugin('multi-smtp').service(name);
    log = service('messageLog') as MessageLogService;
    stats = service('stats') as StatsService;
    retention = service('retention') as RetentionService;
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('prunes old log rows soon after boot, by itself', async () => {
    await seed('boot-old', 30, 45);
    await seed('boot-new', 5, 1);
    // The first run comes about 5 s after boot.
    await waitFor('the boot-time pruning', async () => (await rows({ messageId: { $startsWith: 'boot-old-' } })) === 0, 20_000, 250);
    expect(await rows({ messageId: { $startsWith: 'boot-new-' } })).toBe(5);
    expect(await acceptedAround(45)).toBe(30);
  });

  it('deletes log rows past messageLogDays in batches, and buckets past statsDays; the hourly statistics stay', async () => {
    await seed('old', 4500, 40); // more than two batches
    await seed('recent', 20, 5);
    await seed('ancient', 3, 450);
    const bucketsBefore = await stats.repository().count();
    expect(await rows({ messageId: { $startsWith: 'old-' } })).toBe(4500);
    expect(await acceptedAround(40)).toBe(4500);
    expect(await acceptedAround(450)).toBe(3);

    const result = await retention.prune(now);
    expect(result).toMatchObject({ ran: true, messages: 4500 + 3 });
    // 'ancient' counted in all, its server and its group, in one or two hours.
    expect(result.buckets).toBeGreaterThanOrEqual(3);
    expect(result.buckets).toBeLessThanOrEqual(6);
    expect(Date.parse(result.messagesBefore)).toBe(now - 30 * DAY);

    expect(await rows({ messageId: { $startsWith: 'old-' } })).toBe(0);
    expect(await rows({ messageId: { $startsWith: 'ancient-' } })).toBe(0);
    expect(await rows({ messageId: { $startsWith: 'recent-' } })).toBe(20);
    expect((await log.search({ recipient: 'old-1@' })).meta.pagination.total).toBe(0);

    // The statistics of the pruned messages stay; only those past statsDays went.
    expect(await acceptedAround(40)).toBe(4500);
    expect(await acceptedAround(5)).toBe(20);
    expect(await acceptedAround(450)).toBe(0);
    expect(await stats.repository().count()).toBe(bucketsBefore - result.buckets);

    // Nothing left to do.
    expect(await retention.prune(now)).toMatchObject({ messages: 0, buckets: 0 });
  }, 60_000);
});
