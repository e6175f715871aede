/**
 * Hourly statistics, the pure part: which buckets an event counts in, an in-memory accumulator of
 * deltas (flushed by services/stats.ts as additive upserts), the engine's events as statistics,
 * and the arithmetic of reports (sums, rates, latency, time series). No Strapi, no database.
 */
import type { MessageLogEntry } from '../../../shared/contracts/messages';
import {
  STAT_TYPES,
  type LatencySummary,
  type ReportInterval,
  type ReportRates,
  type SeriesPoint,
  type StatCounts,
  type StatEvent,
  type StatScope,
} from '../../../shared/contracts/reports';
import { addHistogram, emptyHistogram, latencyBucketOf, latencyQuantile } from './latency-histogram';
import { lastAccepted } from './message-store';
import { createWindowCalendar } from './quota-windows';
import type { EngineEvent } from './sending-engine';

export const HOUR_MS = 3_600_000;
/** scopeId of the 'all' buckets (never null: a NULL would defeat the unique index on Postgres). */
export const ALL_SCOPE_ID = '*';
/** scopeId of a campaignServer bucket: `<campaignId>|<serverId>`. */
export const CAMPAIGN_SERVER_SEPARATOR = '|';
/** scope_id is a varchar(255). */
const SCOPE_ID_MAX = 255;

export const hourOf = (at: number) => Math.floor(at / HOUR_MS) * HOUR_MS;

export const emptyCounts = (): StatCounts => Object.fromEntries(STAT_TYPES.map((type) => [type, 0])) as StatCounts;

export const addCounts = (into: StatCounts, from: Partial<Record<string, unknown>>): StatCounts => {
  for (const type of STAT_TYPES) into[type] += Number(from[type] ?? 0);
  return into;
};

/** What one bucket gained since the last flush. */
export interface BucketDelta {
  /** Start of the UTC hour, epoch ms. */
  hour: number;
  scope: StatScope;
  scopeId: string;
  counts: StatCounts;
  latencySumMs: number;
  /** Counts per latency bucket (see latency-histogram.ts). */
  latency: number[];
}

const clipId = (id: string) => (id.length > SCOPE_ID_MAX ? id.slice(0, SCOPE_ID_MAX) : id);

export const campaignServerId = (campaignId: string, serverId: string) => `${campaignId}${CAMPAIGN_SERVER_SEPARATOR}${serverId}`;

/** Every bucket an event counts in: 'all', and its server, group, campaign and campaign x server when known. */
export const scopesOf = (event: Pick<StatEvent, 'serverId' | 'groupSlug' | 'campaignId'>): Array<[StatScope, string]> => {
  const scopes: Array<[StatScope, string]> = [['all', ALL_SCOPE_ID]];
  if (event.serverId) scopes.push(['server', clipId(event.serverId)]);
  if (event.groupSlug) scopes.push(['group', clipId(event.groupSlug)]);
  if (event.campaignId) scopes.push(['campaign', clipId(event.campaignId)]);
  if (event.campaignId && event.serverId) scopes.push(['campaignServer', clipId(campaignServerId(event.campaignId, event.serverId))]);
  return scopes;
};

export interface StatAccumulator {
  add(event: StatEvent, now: number): void;
  /** Takes every delta so far (the accumulator starts empty again). */
  take(): BucketDelta[];
  /** Puts deltas of a failed write back (added to whatever came since). */
  restore(deltas: BucketDelta[]): void;
  /** Buckets with a pending delta. */
  readonly size: number;
}

export const createStatAccumulator = (): StatAccumulator => {
  let pending = new Map<string, BucketDelta>();

  const deltaOf = (hour: number, scope: StatScope, scopeId: string): BucketDelta => {
    const key = `${hour}\u0000${scope}\u0000${scopeId}`;
    let delta = pending.get(key);
    if (!delta) {
      delta = { hour, scope, scopeId, counts: emptyCounts(), latencySumMs: 0, latency: emptyHistogram() };
      pending.set(key, delta);
    }
    return delta;
  };

  return {
    add(event, now) {
      const at = typeof event.at === 'number' && Number.isFinite(event.at) ? event.at : now;
      const hour = hourOf(at);
      const latency = event.type === 'accepted' && typeof event.latencyMs === 'number' && event.latencyMs >= 0 ? event.latencyMs : null;
      const bucket = latency === null ? -1 : latencyBucketOf(latency);
      const times = eventCountOf(event);
      for (const [scope, scopeId] of scopesOf(event)) {
        const delta = deltaOf(hour, scope, scopeId);
        delta.counts[event.type] += times;
        if (latency !== null) {
          delta.latencySumMs += Math.round(latency);
          delta.latency[bucket]! += 1;
        }
      }
    },
    take() {
      const deltas = [...pending.values()];
      pending = new Map();
      return deltas;
    },
    restore(deltas) {
      for (const old of deltas) {
        const delta = deltaOf(old.hour, old.scope, old.scopeId);
        addCounts(delta.counts, old.counts);
        delta.latencySumMs += old.latencySumMs;
        addHistogram(delta.latency, old.latency);
      }
    },
    get size() {
      return pending.size;
    },
  };
};

/** How many events one StatEvent stands for: `count` when it is a whole number above 0, else 1. */
export const eventCountOf = (event: StatEvent): number =>
  typeof event.count === 'number' && Number.isInteger(event.count) && event.count > 0 ? event.count : 1;

/**
 * An engine event as statistics: queued, accepted (with the accepted attempt's latency), deferred,
 * failed, hardBounce (a synchronous 5xx) and skipped, each for the server of the attempt that
 * decided it, the message's group and campaign. The hour is the engine's time of the event.
 */
export const statEventsOfEngineEvent = (event: EngineEvent, entry: MessageLogEntry, now: number): StatEvent[] => {
  const base = { groupSlug: entry.group, campaignId: entry.campaignId };
  const last = entry.attempts.at(-1);
  switch (event) {
    case 'queued':
      return [{ ...base, type: 'queued', at: entry.queuedAt, serverId: null }];
    case 'sent': {
      const accepted = lastAccepted(entry.attempts) ?? last;
      return [
        {
          ...base,
          type: 'accepted',
          at: entry.sentAt ?? entry.finishedAt ?? now,
          serverId: accepted?.serverId ?? entry.serverId,
          latencyMs: accepted?.latencyMs,
        },
      ];
    }
    case 'deferred':
      return [{ ...base, type: 'deferred', at: last ? last.at + last.latencyMs : now, serverId: last?.serverId ?? null }];
    case 'failed':
      return [{ ...base, type: 'failed', at: entry.finishedAt ?? now, serverId: last?.serverId ?? entry.serverId }];
    case 'bounced':
      return [{ ...base, type: 'hardBounce', at: entry.finishedAt ?? now, serverId: last?.serverId ?? entry.serverId }];
    case 'skipped':
      return [{ ...base, type: 'skipped', at: entry.finishedAt ?? now, serverId: null }];
    default:
      return [];
  }
};

const ratio = (numerator: number, denominator: number): number | null =>
  denominator > 0 ? Math.round((numerator / denominator) * 1e6) / 1e6 : null;

/** See ReportRates in shared/contracts/reports.ts for the definitions. */
export const ratesOf = (counts: StatCounts): ReportRates => {
  const attempted = counts.accepted + counts.failed + counts.hardBounce;
  return {
    deliverability: ratio(counts.accepted, attempted),
    bounceRate: ratio(counts.hardBounce + counts.softBounce, attempted),
    hardBounceRate: ratio(counts.hardBounce, attempted),
    complaintRate: ratio(counts.complaint, counts.accepted),
    openRate: ratio(counts.openHumanUnique, counts.accepted),
    clickRate: ratio(counts.clickUnique, counts.accepted),
  };
};

export const latencySummaryOf = (histogram: ArrayLike<number>, sumMs: number): LatencySummary => {
  let count = 0;
  for (let index = 0; index < histogram.length; index += 1) count += Number(histogram[index] ?? 0);
  return {
    count,
    p50: latencyQuantile(histogram, 0.5),
    p95: latencyQuantile(histogram, 0.95),
    avg: count > 0 ? Math.round((sumMs / count) * 10) / 10 : null,
  };
};

/** Rows of hourly counts (any order, any number per hour) as a zero-filled series. */
export interface HourCounts {
  hour: number;
  counts: Partial<Record<string, unknown>>;
}

/**
 * A continuous series over [fromHour, to): one point per UTC hour, or per calendar day in
 * `timeZone` (an hour counts in the day its start falls in; a day's point is at the day's first
 * instant, so the first may start before `fromHour`).
 */
export const buildSeries = (rows: HourCounts[], fromHour: number, to: number, interval: ReportInterval, timeZone: string): SeriesPoint[] => {
  const calendar = interval === 'day' ? createWindowCalendar(timeZone) : null;
  const startOf = (at: number) => (calendar ? calendar.dayAt(at).start : hourOf(at));
  const nextOf = (start: number) => (calendar ? calendar.dayAt(start).end : start + HOUR_MS);

  const points = new Map<number, StatCounts>();
  for (let start = startOf(fromHour); start < to; start = nextOf(start)) points.set(start, emptyCounts());
  for (const row of rows) {
    const counts = points.get(startOf(row.hour));
    if (counts) addCounts(counts, row.counts);
  }
  return [...points.entries()].map(([start, counts]) => ({ at: new Date(start).toISOString(), ...counts }));
};
