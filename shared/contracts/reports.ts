import { z } from 'zod';

/**
 * Deliverability statistics and the reports API (GET /multi-smtp/reports/...).
 *
 * Statistics are kept in hourly buckets (UTC hours) per server, group, campaign, campaign x server
 * and over everything ('all'); reports sum buckets, so they never scan the delivery log (except a
 * campaign's bounce reasons, which need the replies).
 */

/** What one statistics event counts. */
export const STAT_TYPES = [
  'queued',
  'accepted',
  'deferred',
  'failed',
  'hardBounce',
  'softBounce',
  'complaint',
  'openHuman',
  'openHumanUnique',
  'openMachine',
  'click',
  'clickUnique',
  'unsubscribe',
  'skipped',
] as const;
export type StatType = (typeof STAT_TYPES)[number];

/**
 * One thing that happened to a message, for `getService(strapi, 'stats').record(event)`.
 * Counted in the hour of `at` (default now) for its server, group and campaign, and in 'all'.
 */
export interface StatEvent {
  type: StatType;
  /** epoch ms; default now. */
  at?: number;
  /** The server's documentId (the server that sent the message). */
  serverId?: string | null;
  /** The group's slug. */
  groupSlug?: string | null;
  /** The campaign's documentId. */
  campaignId?: string | null;
  /** SMTP latency of the attempt, in ms ('accepted' events). */
  latencyMs?: number;
  /** How many such events this stands for (a campaign batch queued: its size); 1 when not given. */
  count?: number;
}

/**
 * Where a bucket counts. `campaignServer` buckets (scopeId `<campaignId>|<serverId>`) give a
 * campaign's per-server split without touching the delivery log.
 */
export const STAT_SCOPES = ['server', 'group', 'campaign', 'campaignServer', 'all'] as const;
export type StatScope = (typeof STAT_SCOPES)[number];

/** Every counter of a bucket, summed over a range. */
export type StatCounts = Record<StatType, number>;

export const REPORT_INTERVALS = ['hour', 'day'] as const;
export type ReportInterval = (typeof REPORT_INTERVALS)[number];

/** The longest range one report may cover. */
export const MAX_REPORT_RANGE_DAYS = 400;
const DAY_MS = 24 * 3600 * 1000;

const isoDateTime = z.iso.datetime({ error: 'must be an ISO date-time (e.g. 2026-01-31T00:00:00Z)', offset: true });

const rangeFields = {
  /** Start of the range (ISO date-time); default: 30 days before `to`. Buckets from its hour on count. */
  from: isoDateTime.optional(),
  /** End of the range, exclusive (ISO date-time); default: now. */
  to: isoDateTime.optional(),
  /** `csv` answers a CSV download of the report's table instead of JSON. */
  format: z.enum(['json', 'csv'], { error: 'must be json or csv' }).default('json'),
};

/** from < to, and at most MAX_REPORT_RANGE_DAYS apart (each checked only when both are given). */
const checkRange = (value: { from?: string; to?: string }, ctx: z.RefinementCtx) => {
  if (!value.from || !value.to) return;
  const from = Date.parse(value.from);
  const to = Date.parse(value.to);
  if (to <= from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
  else if (to - from > MAX_REPORT_RANGE_DAYS * DAY_MS) {
    ctx.addIssue({ code: 'custom', path: ['from'], message: `must be at most ${MAX_REPORT_RANGE_DAYS} days before to` });
  }
};

const intervalField = z.enum(REPORT_INTERVALS, { error: 'must be hour or day' }).optional();

/** GET /reports/servers, /reports/groups. */
export const reportRangeQuerySchema = z.object(rangeFields).superRefine(checkRange);

/** GET /reports/overview, /reports/servers/:id. `interval` default: hour up to 7 days, day beyond. */
export const reportSeriesQuerySchema = z.object({ ...rangeFields, interval: intervalField }).superRefine(checkRange);

export const CAMPAIGN_REPORT_TABLES = ['funnel', 'servers', 'bounceReasons', 'topLinks', 'series'] as const;
export type CampaignReportTable = (typeof CAMPAIGN_REPORT_TABLES)[number];

/** GET /reports/campaigns/:id. Range default: the whole statistics retention up to now. */
export const campaignReportQuerySchema = z
  .object({
    ...rangeFields,
    interval: intervalField,
    /** Which table `format=csv` exports; default funnel. */
    table: z.enum(CAMPAIGN_REPORT_TABLES, { error: `must be one of: ${CAMPAIGN_REPORT_TABLES.join(', ')}` }).default('funnel'),
  })
  .superRefine(checkRange);

export type ReportRangeQuery = z.input<typeof reportRangeQuerySchema>;
export type ReportSeriesQuery = z.input<typeof reportSeriesQuerySchema>;
export type CampaignReportQuery = z.input<typeof campaignReportQuerySchema>;

/** The range a report covers, after defaults: `from` floored to its hour. */
export interface ReportRange {
  from: string;
  to: string;
  interval: ReportInterval;
  /** Days of interval=day are calendar days in this zone (the plugin's `timeZone`). */
  timeZone: string;
}

/**
 * Fractions (0..1), null when there is nothing to divide by.
 *   deliverability = accepted / (accepted + failed + hardBounce)
 *   bounceRate     = (hardBounce + softBounce) / (accepted + failed + hardBounce)
 *   complaintRate  = complaint / accepted
 *   openRate       = openHumanUnique / accepted;  clickRate = clickUnique / accepted
 */
export interface ReportRates {
  deliverability: number | null;
  bounceRate: number | null;
  hardBounceRate: number | null;
  complaintRate: number | null;
  openRate: number | null;
  clickRate: number | null;
}

/** SMTP latency of accepted attempts, in ms, estimated from a log-scale histogram. */
export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  avg: number | null;
}

/** One interval of a time series: `at` is its start (ISO). */
export type SeriesPoint = { at: string } & StatCounts;

export interface OverviewReport {
  range: ReportRange;
  totals: StatCounts;
  rates: ReportRates;
  latency: LatencySummary;
  series: SeriesPoint[];
}

export interface QuotaUse {
  used: number;
  /** null: no limit. */
  cap: number | null;
}

export interface ServerReportRow {
  serverId: string;
  /** The server's name; its id when the server was deleted since. */
  name: string;
  /** False when the server no longer exists (its statistics stay). */
  exists: boolean;
  enabled: boolean;
  totals: StatCounts;
  rates: ReportRates;
  latency: LatencySummary;
  /** Quota use right now (not over the range); null for a deleted server. */
  quota: { hour: QuotaUse; day: QuotaUse } | null;
  /** Health right now; null for a deleted server. */
  health: 'closed' | 'open' | 'half-open' | null;
}

export interface ServersReport {
  range: ReportRange;
  servers: ServerReportRow[];
}

export interface ServerReport {
  range: ReportRange;
  server: ServerReportRow;
  series: SeriesPoint[];
}

export interface GroupReportRow {
  slug: string;
  /** The group's name; its slug when the group was deleted since. */
  name: string;
  exists: boolean;
  totals: StatCounts;
  rates: ReportRates;
  latency: LatencySummary;
  /** Messages of the group queued and not finished, right now. */
  queueDepth: number;
}

export interface GroupsReport {
  range: ReportRange;
  groups: GroupReportRow[];
}

export interface CampaignFunnel {
  /** The audience's size when the campaign started. */
  recipients: number;
  queued: number;
  accepted: number;
  opensUnique: number;
  clicksUnique: number;
  unsubscribes: number;
  /** Hard and soft. */
  bounces: number;
  complaints: number;
}

/** Bounced messages of a campaign by reason, from the delivery log (rows past the log's retention are gone). */
export interface BounceReasonRow {
  /** A reason name (userunknown, mailboxfull, blocked, ...) or 'other'. */
  reason: string;
  /** The enhanced status code, e.g. 5.1.1, when the reply had one. */
  status: string | null;
  count: number;
  /** One reply with this reason, as the server gave it. */
  example: string | null;
}

export interface CampaignServerRow {
  serverId: string;
  name: string;
  totals: StatCounts;
  rates: ReportRates;
}

/** A link of a campaign by clicks. Filled by the click tracking; empty until it records clicks. */
export interface TopLinkRow {
  url: string;
  clicks: number;
  uniqueClicks: number;
}

export interface CampaignReport {
  range: ReportRange;
  campaign: { documentId: string; name: string; status: string; startedAt: string | null; completedAt: string | null };
  funnel: CampaignFunnel;
  totals: StatCounts;
  rates: ReportRates;
  bounceReasons: BounceReasonRow[];
  servers: CampaignServerRow[];
  topLinks: TopLinkRow[];
  series: SeriesPoint[];
}

export interface OverviewReportResponse {
  data: OverviewReport;
}
export interface ServersReportResponse {
  data: ServersReport;
}
export interface ServerReportResponse {
  data: ServerReport;
}
export interface GroupsReportResponse {
  data: GroupsReport;
}
export interface CampaignReportResponse {
  data: CampaignReport;
}
