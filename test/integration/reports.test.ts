import { randomUUID } from 'node:crypto';

import { parse } from 'csv-parse/sync';

import type { CampaignReport, GroupsReport, OverviewReport, ServerReport, ServersReport, StatEvent } from '../../shared/contracts/reports';
import { ACTIONS } from '../../shared/permissions';
import { latencyBucketOf } from '../../server/src/engine/latency-histogram';
import { createStatAccumulator } from '../../server/src/engine/stat-aggregation';
import type { EngineService } from '../../server/src/services/engine';
import type { MailerService } from '../../server/src/services/mailer';
import type { MessageLogService } from '../../server/src/services/message-log';
import type { StatsService } from '../../server/src/services/stats';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

const HOUR = 3_600_000;
const DATA_DELAY_MS = 120;
const REFUSED = ['nobody0@example.com', 'nobody1@example.com', 'nobody2@example.com', 'nobody3@example.com'];

/** Synthetic day: events recorded straight into the statistics at known hours, with known latencies. */
const DAY = Date.parse('2025-12-01T00:00:00.000Z');
const H10 = DAY + 10 * HOUR;
const H23 = DAY + 23 * HOUR;
const NEXT_H01 = DAY + 25 * HOUR;
const GHOST_SERVER = 'srv-deleted-long-ago';
const GHOST_CAMPAIGN = 'campaign-synthetic';

const syntheticEvents = (): StatEvent[] => {
  const at = (hour: number, type: StatEvent['type'], count: number, extra: Partial<StatEvent> = {}) =>
    Array.from({ length: count }, () => ({ type, at: hour + 60_000, serverId: GHOST_SERVER, groupSlug: 'synthetic', campaignId: GHOST_CAMPAIGN, ...extra }));
  return [
    ...at(H10, 'queued', 40, { serverId: null }),
    ...at(H10, 'accepted', 10, { latencyMs: 40 }),
    ...at(H10, 'accepted', 9, { latencyMs: 80 }),
    ...at(H10, 'accepted', 1, { latencyMs: 2500 }),
    ...at(H10, 'failed', 2),
    ...at(H10, 'hardBounce', 3),
    ...at(H10, 'softBounce', 5),
    ...at(H10, 'complaint', 1),
    ...at(H10, 'deferred', 7),
    ...at(H10, 'openHuman', 12),
    ...at(H10, 'openHumanUnique', 8),
    ...at(H10, 'openMachine', 4),
    ...at(H10, 'click', 6),
    ...at(H10, 'clickUnique', 4),
    ...at(H10, 'unsubscribe', 1),
    ...at(H23, 'accepted', 5, { latencyMs: 200 }),
    ...at(NEXT_H01, 'accepted', 3), // no latency known
  ];
};

describe('reports API', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let fast: TestSmtpServer;
  let bouncy: TestSmtpServer;
  let fastId: string;
  let bouncyId: string;
  let campaignId: string;
  let stats: StatsService;
  let testStart: number;

  const flushAll = async () => {
    await (app.strapi.plugin('multi-smtp').service('messageLog') as MessageLogService).flush();
    await stats.flush();
  };

  const get = async <T>(url: string): Promise<T> => {
    const response = await api.get(url);
    expect([url, response.status]).toEqual([url, 200]);
    return response.body.data as T;
  };
  const liveRange = () => `from=${new Date(testStart - HOUR).toISOString()}&to=${new Date(Date.now() + HOUR).toISOString()}`;
  const syntheticRange = `from=${new Date(DAY).toISOString()}&to=${new Date(DAY + 48 * HOUR).toISOString()}`;

  beforeAll(async () => {
    testStart = Date.now();
    [fast, bouncy] = await Promise.all([
      startSmtpServer({ delayMs: { data: DATA_DELAY_MS } }),
      startSmtpServer({ faults: [{ stage: 'rcpt', code: 550, recipients: REFUSED }] }),
    ]);
    // The synthetic day lies in the past: kept from the retention run soon after boot whatever today is.
    app = await startStrapi({ pluginConfig: { retry: { attempts: 2, backoffMs: 100 }, retention: { messageLogDays: 3650, statsDays: 3650 } } });
    api = asAdmin(app);
    stats = app.strapi.plugin('multi-smtp').service('stats') as StatsService;

    const group = async (name: string, slug: string) => (await api.post('/multi-smtp/groups', { name, slug, strategy: 'weighted' })).body.data.documentId as string;
    const server = async (name: string, port: number, groupId: string) => {
      const response = await api.post('/multi-smtp/servers', { name, host: '127.0.0.1', port, security: 'none', fromAddress: 'r@example.com', group: groupId, hourlyLimit: 1000 });
      expect(response.status).toBe(201);
      return response.body.data.documentId as string;
    };
    fastId = await server('fast', fast.port, await group('Reports', 'rpt'));
    bouncyId = await server('bouncy', bouncy.port, await group('Bouncy', 'bnc'));
    const campaign = await app.strapi.documents('plugin::multi-smtp.campaign').create({
      data: { name: 'Spring sale', status: 'draft', totalRecipients: 10, subject: 'Sale' },
    });
    campaignId = campaign.documentId;

    // Real mail: 6 through "fast" (each answered after DATA_DELAY_MS), and a campaign of 10 through
    // "bouncy", whose 550 5.1.1 refuses 4 of them.
    const mailer = app.strapi.plugin('multi-smtp').service('mailer') as MailerService;
    const plain = await mailer.sendBulk(
      Array.from({ length: 6 }, (_, index) => ({ to: `reader${index}@example.com`, subject: `r${index}`, text: 'x' })),
      { group: 'rpt' }
    );
    const engine = (app.strapi.plugin('multi-smtp').service('engine') as EngineService).get();
    const campaignMessages = [...REFUSED, ...Array.from({ length: 6 }, (_, index) => `fan${index}@example.com`)].map((to) => ({
      id: randomUUID(),
      subscriberId: null,
      message: { to, subject: 'Sale', text: 'x', from: 'shop@example.com' },
    }));
    await engine.queueCampaignBatch({ batchId: `reports-${randomUUID()}`, campaignId, group: 'bnc', messages: campaignMessages });
    const ids = [...plain.map((message) => message.id), ...campaignMessages.map((message) => message.id)];
    const messageLog = app.strapi.plugin('multi-smtp').service('messageLog') as MessageLogService;
    await waitFor(
      'all 16 messages finished',
      async () => {
        // The delivery log (finished campaign messages leave Redis).
        const entries = await Promise.all(ids.map((id) => messageLog.get(id)));
        return entries.every((entry) => entry && ['sent', 'bounced', 'failed'].includes(entry.status));
      },
      30_000
    );
    await waitFor('the sinks got 12', () => fast.messages.length + bouncy.messages.length >= 12, 10_000);

    for (const event of syntheticEvents()) stats.record(event);
    await flushAll();
  }, 90_000);

  afterAll(async () => {
    await app?.stop();
    await Promise.all([fast, bouncy].map((sink) => sink?.close()));
  });

  describe('real messages through the engine', () => {
    it('overview: queued, accepted and hard bounces, with rates', async () => {
      const overview = await get<OverviewReport>(`/multi-smtp/reports/overview?${liveRange()}`);
      expect(overview.totals).toMatchObject({ queued: 16, accepted: 12, hardBounce: 4, failed: 0, skipped: 0 });
      expect(overview.rates.deliverability).toBe(0.75);
      expect(overview.rates.bounceRate).toBe(0.25);
      expect(overview.range.interval).toBe('hour');
      expect(overview.series.reduce((sum, point) => sum + point.accepted, 0)).toBe(12);
      expect(overview.latency.count).toBe(12);
    });

    it('servers: per-server counts, latency from the slow sink, quota use', async () => {
      const report = await get<ServersReport>(`/multi-smtp/reports/servers?${liveRange()}`);
      const fastRow = report.servers.find((row) => row.serverId === fastId)!;
      const bouncyRow = report.servers.find((row) => row.serverId === bouncyId)!;
      expect(fastRow).toMatchObject({ name: 'fast', exists: true, enabled: true, health: 'closed' });
      expect(fastRow.totals).toMatchObject({ accepted: 6, hardBounce: 0, queued: 0 });
      expect(fastRow.rates.deliverability).toBe(1);
      // Every accepted attempt waited DATA_DELAY_MS for the sink's answer to DATA.
      expect(fastRow.latency.count).toBe(6);
      expect(fastRow.latency.p50).toBeGreaterThanOrEqual(DATA_DELAY_MS);
      expect(fastRow.latency.p95).toBeGreaterThanOrEqual(fastRow.latency.p50!);
      expect(fastRow.latency.avg).toBeGreaterThanOrEqual(DATA_DELAY_MS);
      expect(fastRow.quota).toEqual({ hour: { used: 6, cap: 1000 }, day: { used: 6, cap: null } });

      expect(bouncyRow.totals).toMatchObject({ accepted: 6, hardBounce: 4 });
      expect(bouncyRow.rates).toMatchObject({ deliverability: 0.6, bounceRate: 0.4, hardBounceRate: 0.4 });
      // The quota counts what the server accepted: a refused message gives its slot back.
      expect(bouncyRow.quota?.hour).toEqual({ used: 6, cap: 1000 });
    });

    it('one server: its series and totals', async () => {
      const report = await get<ServerReport>(`/multi-smtp/reports/servers/${bouncyId}?${liveRange()}`);
      expect(report.server.totals).toMatchObject({ accepted: 6, hardBounce: 4 });
      expect(report.series.reduce((sum, point) => sum + point.hardBounce, 0)).toBe(4);
      expect((await api.get(`/multi-smtp/reports/servers/no-such-server?${liveRange()}`)).status).toBe(404);
    });

    it('groups: per group, with the queue depth now', async () => {
      const report = await get<GroupsReport>(`/multi-smtp/reports/groups?${liveRange()}`);
      expect(report.groups.find((row) => row.slug === 'rpt')).toMatchObject({ name: 'Reports', exists: true, queueDepth: 0, totals: expect.objectContaining({ queued: 6, accepted: 6 }) });
      expect(report.groups.find((row) => row.slug === 'bnc')!.totals).toMatchObject({ queued: 10, accepted: 6, hardBounce: 4 });
    });

    it('campaign: funnel, bounce reasons from the log, per-server split', async () => {
      const report = await get<CampaignReport>(`/multi-smtp/reports/campaigns/${campaignId}?${liveRange()}`);
      expect(report.campaign).toMatchObject({ documentId: campaignId, name: 'Spring sale', status: 'draft' });
      expect(report.funnel).toEqual({ recipients: 10, queued: 10, accepted: 6, opensUnique: 0, clicksUnique: 0, unsubscribes: 0, bounces: 4, complaints: 0 });
      expect(report.bounceReasons).toEqual([{ reason: 'userunknown', status: '5.1.1', count: 4, example: expect.stringMatching(/^550 5\.1\.1 /) }]);
      expect(report.servers).toEqual([{ serverId: bouncyId, name: 'bouncy', totals: expect.objectContaining({ accepted: 6, hardBounce: 4 }), rates: expect.objectContaining({ deliverability: 0.6 }) }]);
      expect(report.topLinks).toEqual([]);
      // Default range: from the campaign's creation (it never started) to now.
      const byDefault = await get<CampaignReport>(`/multi-smtp/reports/campaigns/${campaignId}`);
      expect(byDefault.funnel.accepted).toBe(6);
      expect((await api.get('/multi-smtp/reports/campaigns/no-such-campaign')).status).toBe(404);
    });
  });

  describe('synthetic events at known hours', () => {
    it('sums counts, computes rates and p50/p95 from the known latencies', async () => {
      const overview = await get<OverviewReport>(`/multi-smtp/reports/overview?${syntheticRange}&interval=hour`);
      expect(overview.totals).toEqual({
        queued: 40,
        accepted: 28,
        deferred: 7,
        failed: 2,
        hardBounce: 3,
        softBounce: 5,
        complaint: 1,
        openHuman: 12,
        openHumanUnique: 8,
        openMachine: 4,
        click: 6,
        clickUnique: 4,
        unsubscribe: 1,
        skipped: 0,
      });
      expect(overview.rates).toEqual({
        deliverability: 0.848485, // 28 / (28 + 2 + 3)
        bounceRate: 0.242424, // (3 + 5) / 33
        hardBounceRate: 0.090909,
        complaintRate: 0.035714, // 1 / 28
        openRate: 0.285714, // 8 / 28
        clickRate: 0.142857, // 4 / 28
      });
      // 25 latencies: 10 x 40, 9 x 80, 5 x 200, 1 x 2500 ms (the 3 accepted at 01:00 came without one).
      // True p50 is 80 and p95 200: each estimate lies in its true value's bucket.
      expect(overview.latency.count).toBe(25);
      expect(overview.latency.avg).toBe(184.8);
      expect(latencyBucketOf(overview.latency.p50!)).toBe(latencyBucketOf(80));
      expect(latencyBucketOf(overview.latency.p95!)).toBe(latencyBucketOf(200));
      expect(overview.latency).toMatchObject({ p50: 78.3, p95: 197.5 });

      expect(overview.series).toHaveLength(48);
      expect(overview.series[10]).toMatchObject({ at: new Date(H10).toISOString(), accepted: 20, softBounce: 5, complaint: 1 });
      expect(overview.series[23]).toMatchObject({ at: new Date(H23).toISOString(), accepted: 5 });
      expect(overview.series[25]).toMatchObject({ accepted: 3 });
      expect(overview.series.filter((point) => point.accepted > 0)).toHaveLength(3);
    });

    it('interval=day rolls the hours up into days', async () => {
      const overview = await get<OverviewReport>(`/multi-smtp/reports/overview?${syntheticRange}&interval=day`);
      expect(overview.range).toMatchObject({ interval: 'day', timeZone: 'UTC' });
      expect(overview.series.map((point) => [point.at, point.accepted, point.hardBounce])).toEqual([
        ['2025-12-01T00:00:00.000Z', 25, 3],
        ['2025-12-02T00:00:00.000Z', 3, 0],
      ]);
    });

    it('keeps a deleted server in the comparison, by id', async () => {
      const report = await get<ServersReport>(`/multi-smtp/reports/servers?${syntheticRange}`);
      const ghost = report.servers.find((row) => row.serverId === GHOST_SERVER)!;
      expect(ghost).toMatchObject({ name: GHOST_SERVER, exists: false, enabled: false, quota: null, health: null });
      expect(ghost.totals).toMatchObject({ accepted: 28, hardBounce: 3, complaint: 1 });
      expect(ghost.latency).toMatchObject({ count: 25, p50: 78.3, p95: 197.5 });
      // Servers that exist are listed too, with nothing in this range.
      expect(report.servers.find((row) => row.serverId === fastId)!.totals.accepted).toBe(0);
    });

    it('exports CSV: the series, the server comparison, a campaign table', async () => {
      const response = await api.get(`/multi-smtp/reports/overview?${syntheticRange}&interval=day&format=csv`);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/csv/);
      expect(response.headers['content-disposition']).toBe('attachment; filename="multi-smtp-overview-2025-12-01-2025-12-03.csv"');
      const rows = parse(response.text, { columns: true, bom: true }) as Array<Record<string, string>>;
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatchObject({ at: '2025-12-01T00:00:00.000Z', accepted: '25', softBounce: '5', openHumanUnique: '8' });

      const servers = parse((await api.get(`/multi-smtp/reports/servers?${syntheticRange}&format=csv`)).text, { columns: true, bom: true }) as Array<Record<string, string>>;
      expect(servers.find((row) => row.serverId === GHOST_SERVER)).toMatchObject({ exists: 'false', accepted: '28', deliverability: '0.848485', latencyP50Ms: '78.3', latencyP95Ms: '197.5' });

      const groups = parse((await api.get(`/multi-smtp/reports/groups?${syntheticRange}&format=csv`)).text, { columns: true, bom: true }) as Array<Record<string, string>>;
      expect(groups.find((row) => row.slug === 'synthetic')).toMatchObject({ exists: 'false', accepted: '28' });

      const bounces = await api.get(`/multi-smtp/reports/campaigns/${campaignId}?${liveRange()}&format=csv&table=bounceReasons`);
      const bounceRows = parse(bounces.text, { columns: true, bom: true }) as Array<Record<string, string>>;
      expect(bounceRows).toEqual([expect.objectContaining({ reason: 'userunknown', status: '5.1.1', count: '4' })]);
      const funnel = parse((await api.get(`/multi-smtp/reports/campaigns/${campaignId}?${liveRange()}&format=csv`)).text, { columns: true, bom: true });
      expect(funnel).toContainEqual({ step: 'bounces', count: '4' });
    });
  });

  describe('additive buckets', () => {
    it('adds up deltas written by several writers at once (as several processes would)', async () => {
      const hour = Date.parse('2025-06-01T08:00:00.000Z');
      const writers = Array.from({ length: 4 }, () => createStatAccumulator());
      writers.forEach((writer, index) => {
        for (let count = 0; count <= index; count += 1) writer.add({ type: 'accepted', at: hour, serverId: 'concurrent', latencyMs: 30 }, 0);
      });
      const repository = stats.repository();
      await Promise.all(writers.map((writer) => repository.addDeltas(writer.take())));
      // And once more through the service, after the bucket exists.
      stats.record({ type: 'accepted', at: hour, serverId: 'concurrent', latencyMs: 30 });
      await stats.flush();
      const report = await get<ServerReport>(`/multi-smtp/reports/servers/concurrent?from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z`);
      expect(report.server.totals.accepted).toBe(1 + 2 + 3 + 4 + 1);
      expect(report.server.latency.count).toBe(11);
      expect(await repository.count({ scope: 'server', scopeId: 'concurrent' })).toBe(1);
    });
  });

  describe('input and permissions', () => {
    it('answers 400 naming the bad field', async () => {
      const field = async (url: string) => {
        const response = await api.get(url);
        expect([url, response.status]).toEqual([url, 400]);
        return response.body.error.details.errors[0].path;
      };
      expect(await field('/multi-smtp/reports/overview?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z')).toEqual(['to']);
      expect(await field('/multi-smtp/reports/overview?from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z')).toEqual(['from']);
      expect(await field('/multi-smtp/reports/overview?from=yesterday')).toEqual(['from']);
      expect(await field('/multi-smtp/reports/overview?interval=week')).toEqual(['interval']);
      expect(await field('/multi-smtp/reports/servers?format=xml')).toEqual(['format']);
      expect(await field(`/multi-smtp/reports/servers/${fastId}?to=not-a-date`)).toEqual(['to']);
      expect(await field('/multi-smtp/reports/groups?from=2099-01-01T00:00:00Z')).toEqual(['from']); // after now
      expect(await field(`/multi-smtp/reports/campaigns/${campaignId}?format=csv&table=links`)).toEqual(['table']);
    });

    it('needs reports.read', async () => {
      const reader = asAdmin(app, await app.createAdmin([ACTIONS.reportsRead]));
      const other = asAdmin(app, await app.createAdmin([ACTIONS.serversRead, ACTIONS.campaignsRead]));
      for (const url of ['/multi-smtp/reports/overview', '/multi-smtp/reports/servers', `/multi-smtp/reports/servers/${fastId}`, '/multi-smtp/reports/groups', `/multi-smtp/reports/campaigns/${campaignId}`]) {
        expect([url, (await reader.get(url)).status]).toEqual([url, 200]);
        expect([url, (await other.get(url)).status]).toEqual([url, 403]);
      }
    });
  });
});
