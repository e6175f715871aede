import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { stringify } from 'csv-stringify/sync';

import {
  MAX_REPORT_RANGE_DAYS,
  STAT_TYPES,
  campaignReportQuerySchema,
  reportRangeQuerySchema,
  reportSeriesQuerySchema,
  type BounceReasonRow,
  type CampaignReport,
  type CampaignReportTable,
  type GroupReportRow,
  type GroupsReport,
  type LatencySummary,
  type OverviewReport,
  type QuotaUse,
  type ReportInterval,
  type ReportRange,
  type ReportRates,
  type SeriesPoint,
  type ServerReport,
  type ServerReportRow,
  type ServersReport,
  type StatCounts,
  type TopLinkRow,
} from '../../../shared/contracts/reports';
import { REASON_OF_STATUS, reasonOfText } from '../engine/bounce/reasons';
import { parseSmtpReply } from '../engine/classify';
import { warmupCap } from '../engine/warmup';
import {
  ALL_SCOPE_ID,
  buildSeries,
  campaignServerId,
  emptyCounts,
  hourOf,
  latencySummaryOf,
  ratesOf,
} from '../engine/stat-aggregation';
import { createCampaignRepository } from '../repositories/campaigns';
import { createGroupRepository } from '../repositories/groups';
import { createServerRepository } from '../repositories/servers';
import { createStatsRepository, type SummedBucket } from '../repositories/stats';
import type { ServerEntity } from '../repositories/types';
import { escapeCell } from './csv-import';
import { PLUGIN_ID } from '../../../shared/plugin-id';
import { getService } from '../utils/get-service';
import { fieldError, parseInput } from '../utils/validation';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const DEFAULT_RANGE_DAYS = 30;
/** interval defaults to hour up to this range, day beyond. */
const HOURLY_UP_TO_MS = 7 * DAY_MS;
const MAX_BOUNCE_REASONS = 50;
/** An address, bare or in <>, inside a reply text. */
const ADDRESS_IN_TEXT = /<?[^\s<>@]+@[^\s<>]+>?/g;

interface LiveServer {
  quota: { hour: QuotaUse; day: QuotaUse };
  health: 'closed' | 'open' | 'half-open';
}

interface ResolvedRange {
  fromHour: number;
  to: number;
  range: ReportRange;
}

const emptySummed = (): SummedBucket => ({ counts: emptyCounts(), latencySumMs: 0, latency: [] });

/** A CSV download: file name and body. */
export interface CsvFile {
  filename: string;
  body: string;
}

/** Rows of cells as CSV with a header row; text cells are escaped against spreadsheet formulas. */
const csvOf = (columns: string[], rows: Array<Array<string | number | boolean | null>>): string =>
  stringify(
    rows.map((row) => row.map((cell) => (typeof cell === 'string' ? escapeCell(cell) : cell === null ? '' : String(cell)))),
    { header: true, columns: columns.map(escapeCell), bom: true }
  );

const day = (iso: string) => iso.slice(0, 10);
const fileName = (what: string, range: ReportRange) => `multi-smtp-${what}-${day(range.from)}-${day(range.to)}.csv`;

const RATE_COLUMNS: Array<keyof ReportRates> = ['deliverability', 'bounceRate', 'hardBounceRate', 'complaintRate', 'openRate', 'clickRate'];
const countCells = (counts: StatCounts) => STAT_TYPES.map((type) => counts[type]);
const rateCells = (rates: ReportRates) => RATE_COLUMNS.map((name) => rates[name]);
const latencyCells = (latency: LatencySummary) => [latency.p50, latency.p95, latency.avg];
const LATENCY_COLUMNS = ['latencyP50Ms', 'latencyP95Ms', 'latencyAvgMs'];

const seriesCsv = (series: SeriesPoint[]) =>
  csvOf(
    ['at', ...STAT_TYPES],
    series.map((point) => [point.at, ...countCells(point)])
  );

/**
 * Reads the hourly statistics for the reports API. Every report sums buckets over a range, so it
 * costs the same whatever the number of messages; only a campaign's bounce reasons read the
 * delivery log (through its campaign/status index).
 */
const reports = ({ strapi }: { strapi: Core.Strapi }) => {
  const stats = () => createStatsRepository(strapi);
  const timeZone = () => getService(strapi, 'runtime').config().timeZone;

  /** Defaults, then the checks zod could not make with a default in play (from < to, the longest range). */
  const resolveRange = (
    query: { from?: string; to?: string; interval?: ReportInterval },
    defaultFrom: (to: number) => number = (to) => to - DEFAULT_RANGE_DAYS * DAY_MS
  ): ResolvedRange => {
    const to = query.to ? Date.parse(query.to) : Date.now();
    const from = query.from ? Date.parse(query.from) : Math.max(defaultFrom(to), to - MAX_REPORT_RANGE_DAYS * DAY_MS);
    if (from >= to) fieldError(query.from ? 'from' : 'to', query.from ? 'must be before to (default: now)' : 'must be after from');
    if (to - from > MAX_REPORT_RANGE_DAYS * DAY_MS) fieldError('from', `must be at most ${MAX_REPORT_RANGE_DAYS} days before to`);
    const fromHour = hourOf(from);
    const interval = query.interval ?? (to - fromHour <= HOURLY_UP_TO_MS ? 'hour' : 'day');
    return {
      fromHour,
      to,
      range: { from: new Date(fromHour).toISOString(), to: new Date(to).toISOString(), interval, timeZone: timeZone() },
    };
  };

  /**
   * Quota use and health of each server right now: one quota read per server and one health read
   * for all, as the status service makes them (without its last-hour traffic scan, which reports
   * do not show). Null when Redis does not answer: the report goes on without live figures.
   */
  const liveServers = async (servers: ServerEntity[]): Promise<Map<string, LiveServer> | null> => {
    try {
      const engine = getService(strapi, 'engine').get();
      const now = engine.now();
      const zone = timeZone();
      const [healths, usages] = await Promise.all([
        engine.health.getMany(
          servers.map((server) => server.documentId),
          now
        ),
        Promise.all(
          servers.map((server) => {
            const dayCap = server.warmup?.enabled ? warmupCap(server.warmup, server.dailyLimit ?? null, now, zone).cap : (server.dailyLimit ?? null);
            const limits = { perSecond: server.ratePerSecond ?? null, perHour: server.hourlyLimit ?? null, perDay: dayCap, maxConnections: server.maxConnections ?? 5 };
            return engine.quota.usage(server.documentId, limits, now).then((usage) => ({ usage, limits }));
          })
        ),
      ]);
      return new Map(
        servers.map((server, index) => {
          const { usage, limits } = usages[index]!;
          return [
            server.documentId,
            {
              quota: { hour: { used: usage.hour, cap: limits.perHour }, day: { used: usage.day, cap: limits.perDay } },
              health: healths.get(server.documentId)?.state ?? 'closed',
            },
          ];
        })
      );
    } catch (error) {
      strapi.log.warn(`multi-smtp: reports without live quota figures (${(error as Error).message})`);
      return null;
    }
  };

  /** Messages queued and not finished per group id, now; empty when Redis does not answer. */
  const queueDepth = async (): Promise<Record<string, number>> => {
    try {
      return await getService(strapi, 'engine').get().queueDepth();
    } catch (error) {
      strapi.log.warn(`multi-smtp: reports without queue depths (${(error as Error).message})`);
      return {};
    }
  };

  const serverRow = (
    serverId: string,
    summed: SummedBucket,
    server: { name: string; enabled?: boolean | null } | undefined,
    live: LiveServer | undefined
  ): ServerReportRow => {
    return {
      serverId,
      name: server?.name ?? serverId,
      exists: !!server,
      enabled: server ? (server.enabled ?? true) : false,
      totals: summed.counts,
      rates: ratesOf(summed.counts),
      latency: latencySummaryOf(summed.latency, summed.latencySumMs),
      quota: live ? live.quota : null,
      health: live ? live.health : null,
    };
  };

  /**
   * The campaign's links by clicks. Fed by the click tracking (services/tracking.ts `topLinks`),
   * when it is there; an empty list until then.
   */
  const topLinksOf = async (campaignId: string, fromHour: number, to: number): Promise<TopLinkRow[]> => {
    const plugin = strapi.plugin(PLUGIN_ID);
    const tracking = plugin.services.tracking ? (plugin.service('tracking') as { topLinks?: unknown }) : null;
    if (typeof tracking?.topLinks !== 'function') return [];
    return (tracking.topLinks as (id: string, range: { from: number; to: number }) => Promise<TopLinkRow[]>)(campaignId, {
      from: fromHour,
      to,
    });
  };

  /** Bounced messages per reason and status code, from their last replies. */
  const bounceReasonsOf = async (campaignId: string, fromHour: number, to: number): Promise<BounceReasonRow[]> => {
    const replies = await stats().campaignBounceReplies(campaignId, fromHour, to);
    const byReason = new Map<string, BounceReasonRow>();
    // Replies differ mostly by the address they name: each shape is classified once.
    const classified = new Map<string, { reason: string; enhanced: string | null }>();
    for (const { reply, count } of replies) {
      const text = reply ?? '';
      const shape = text.replace(ADDRESS_IN_TEXT, '@');
      let found = classified.get(shape);
      if (!found) {
        const { enhanced } = parseSmtpReply(text);
        // The status code's meaning when it has a specific one, else what the text says.
        found = { reason: (enhanced ? REASON_OF_STATUS[enhanced] : undefined) ?? reasonOfText(shape) ?? 'other', enhanced };
        classified.set(shape, found);
      }
      const { reason, enhanced } = found;
      const key = `${reason} ${enhanced ?? ''}`;
      const row = byReason.get(key) ?? { reason, status: enhanced, count: 0, example: reply };
      row.count += count;
      byReason.set(key, row);
    }
    return [...byReason.values()].sort((a, b) => b.count - a.count).slice(0, MAX_BOUNCE_REASONS);
  };

  return {
    async overview(query: unknown): Promise<OverviewReport> {
      const { fromHour, to, range } = resolveRange(parseInput(reportSeriesQuerySchema, query));
      const [hours, total] = await Promise.all([
        stats().hoursOf('all', ALL_SCOPE_ID, fromHour, to),
        stats().sumOf('all', ALL_SCOPE_ID, fromHour, to),
      ]);
      return {
        range,
        totals: total.counts,
        rates: ratesOf(total.counts),
        latency: latencySummaryOf(total.latency, total.latencySumMs),
        series: buildSeries(hours, fromHour, to, range.interval, range.timeZone),
      };
    },

    /** Every server side by side: the servers there are now, and deleted ones that sent in the range. */
    async servers(query: unknown): Promise<ServersReport> {
      const { fromHour, to, range } = resolveRange(parseInput(reportRangeQuerySchema, query));
      const [sums, servers] = await Promise.all([stats().sumByScopeId('server', fromHour, to), createServerRepository(strapi).findAll()]);
      const live = await liveServers(servers);
      const byId = new Map(servers.map((server) => [server.documentId, server]));
      const ids = [...servers.map((server) => server.documentId), ...[...sums.keys()].filter((id) => !byId.has(id))];
      return { range, servers: ids.map((id) => serverRow(id, sums.get(id) ?? emptySummed(), byId.get(id), live?.get(id))) };
    },

    async server(serverId: string, query: unknown): Promise<ServerReport> {
      const { fromHour, to, range } = resolveRange(parseInput(reportSeriesQuerySchema, query));
      const [hours, total, server] = await Promise.all([
        stats().hoursOf('server', serverId, fromHour, to),
        stats().sumOf('server', serverId, fromHour, to),
        createServerRepository(strapi).findOne(serverId),
      ]);
      if (!server && hours.length === 0) throw new errors.NotFoundError(`SMTP server ${serverId} not found`);
      const live = server ? await liveServers([server]) : null;
      return {
        range,
        server: serverRow(serverId, total, server ?? undefined, live?.get(serverId)),
        series: buildSeries(hours, fromHour, to, range.interval, range.timeZone),
      };
    },

    async groups(query: unknown): Promise<GroupsReport> {
      const { fromHour, to, range } = resolveRange(parseInput(reportRangeQuerySchema, query));
      const [sums, groups, depth] = await Promise.all([
        stats().sumByScopeId('group', fromHour, to),
        createGroupRepository(strapi).findAll(),
        queueDepth(),
      ]);
      const bySlug = new Map(groups.map((group) => [group.slug, group]));
      const slugs = [...groups.map((group) => group.slug), ...[...sums.keys()].filter((slug) => !bySlug.has(slug))];
      const rows: GroupReportRow[] = slugs.map((slug) => {
        const summed = sums.get(slug) ?? emptySummed();
        const group = bySlug.get(slug);
        return {
          slug,
          name: group?.name ?? slug,
          exists: !!group,
          totals: summed.counts,
          rates: ratesOf(summed.counts),
          latency: latencySummaryOf(summed.latency, summed.latencySumMs),
          queueDepth: group ? (depth[group.documentId] ?? 0) : 0,
        };
      });
      return { range, groups: rows };
    },

    /** Range default: from the campaign's start (or creation) to now. */
    async campaign(campaignId: string, query: unknown): Promise<CampaignReport> {
      const parsed = parseInput(campaignReportQuerySchema, query);
      const campaign = await createCampaignRepository(strapi).findOne(campaignId);
      if (!campaign) throw new errors.NotFoundError(`Campaign ${campaignId} not found`);
      const started = Date.parse(campaign.startedAt ?? campaign.createdAt);
      const { fromHour, to, range } = resolveRange(parsed, (end) => (Number.isFinite(started) && started < end ? started : end - DAY_MS));

      const [hours, total, serverIds, bounceReasons, topLinks, servers] = await Promise.all([
        stats().hoursOf('campaign', campaignId, fromHour, to),
        stats().sumOf('campaign', campaignId, fromHour, to),
        stats().scopeIdsIn('server', fromHour, to),
        bounceReasonsOf(campaignId, fromHour, to),
        topLinksOf(campaignId, fromHour, to),
        createServerRepository(strapi).findAll(),
      ]);
      const split = await stats().sumByScopeId(
        'campaignServer',
        fromHour,
        to,
        serverIds.map((serverId) => campaignServerId(campaignId, serverId))
      );
      const names = new Map(servers.map((server) => [server.documentId, server.name]));
      const counts = total.counts;
      return {
        range,
        campaign: {
          documentId: campaign.documentId,
          name: campaign.name,
          status: campaign.status,
          startedAt: campaign.startedAt,
          completedAt: campaign.completedAt,
        },
        funnel: {
          recipients: campaign.totalRecipients ?? 0,
          queued: counts.queued,
          accepted: counts.accepted,
          opensUnique: counts.openHumanUnique,
          clicksUnique: counts.clickUnique,
          unsubscribes: counts.unsubscribe,
          bounces: counts.hardBounce + counts.softBounce,
          complaints: counts.complaint,
        },
        totals: counts,
        rates: ratesOf(counts),
        bounceReasons,
        servers: serverIds
          .filter((serverId) => split.has(campaignServerId(campaignId, serverId)))
          .map((serverId) => {
            const summed = split.get(campaignServerId(campaignId, serverId))!;
            return { serverId, name: names.get(serverId) ?? serverId, totals: summed.counts, rates: ratesOf(summed.counts) };
          })
          .sort((a, b) => b.totals.accepted - a.totals.accepted || a.name.localeCompare(b.name)),
        topLinks,
        series: buildSeries(hours, fromHour, to, range.interval, range.timeZone),
      };
    },

    /** CSV exports: one table per report (a campaign report: the table named in `table`). */
    csv: {
      overview: (report: OverviewReport): CsvFile => ({ filename: fileName('overview', report.range), body: seriesCsv(report.series) }),

      servers: (report: ServersReport): CsvFile => ({
        filename: fileName('servers', report.range),
        body: csvOf(
          [
            'serverId',
            'name',
            'exists',
            'enabled',
            ...STAT_TYPES,
            ...RATE_COLUMNS,
            ...LATENCY_COLUMNS,
            'quotaHourUsed',
            'quotaHourCap',
            'quotaDayUsed',
            'quotaDayCap',
            'health',
          ],
          report.servers.map((row) => [
            row.serverId,
            row.name,
            row.exists,
            row.enabled,
            ...countCells(row.totals),
            ...rateCells(row.rates),
            ...latencyCells(row.latency),
            row.quota?.hour.used ?? null,
            row.quota?.hour.cap ?? null,
            row.quota?.day.used ?? null,
            row.quota?.day.cap ?? null,
            row.health,
          ])
        ),
      }),

      server: (report: ServerReport): CsvFile => ({
        filename: fileName(`server-${report.server.serverId}`, report.range),
        body: seriesCsv(report.series),
      }),

      groups: (report: GroupsReport): CsvFile => ({
        filename: fileName('groups', report.range),
        body: csvOf(
          ['slug', 'name', 'exists', ...STAT_TYPES, ...RATE_COLUMNS, ...LATENCY_COLUMNS, 'queueDepth'],
          report.groups.map((row) => [
            row.slug,
            row.name,
            row.exists,
            ...countCells(row.totals),
            ...rateCells(row.rates),
            ...latencyCells(row.latency),
            row.queueDepth,
          ])
        ),
      }),

      campaign: (report: CampaignReport, table: CampaignReportTable): CsvFile => {
        const filename = fileName(`campaign-${report.campaign.documentId}-${table}`, report.range);
        switch (table) {
          case 'servers':
            return {
              filename,
              body: csvOf(
                ['serverId', 'name', ...STAT_TYPES, ...RATE_COLUMNS],
                report.servers.map((row) => [row.serverId, row.name, ...countCells(row.totals), ...rateCells(row.rates)])
              ),
            };
          case 'bounceReasons':
            return {
              filename,
              body: csvOf(
                ['reason', 'status', 'count', 'example'],
                report.bounceReasons.map((row) => [row.reason, row.status, row.count, row.example])
              ),
            };
          case 'topLinks':
            return {
              filename,
              body: csvOf(
                ['url', 'clicks', 'uniqueClicks'],
                report.topLinks.map((row) => [row.url, row.clicks, row.uniqueClicks])
              ),
            };
          case 'series':
            return { filename, body: seriesCsv(report.series) };
          default:
            return {
              filename,
              body: csvOf(
                ['step', 'count'],
                Object.entries(report.funnel).map(([step, count]) => [step, count])
              ),
            };
        }
      },
    },
  };
};

export type ReportsService = ReturnType<typeof reports>;
export default reports;
