import { createHash, timingSafeEqual } from 'node:crypto';

import type { Core } from '@strapi/strapi';
import { Counter, Gauge, Registry, type Metric } from 'prom-client';

import type { StatEvent, StatType } from '../../../shared/contracts/reports';
import { LATENCY_BOUNDS_MS, LATENCY_BUCKETS, latencyBucketOf } from '../engine/latency-histogram';
import { eventCountOf } from '../engine/stat-aggregation';
import { createServerRepository } from '../repositories/servers';
import { getService } from '../utils/get-service';

/**
 * Prometheus metrics for operators (GET /api/multi-smtp/metrics, bearer token `metrics.token`).
 *
 * Counters must add up over every Strapi process and survive restarts, so they live in Redis:
 * `count(event)` buffers increments in memory, `flush()` (driven by the stats service, about once
 * a second) adds them with one pipelined HINCRBY per field. A scrape reads them back, with the
 * live gauges (queue depth, quota use, suspension) from the status service, into a fresh
 * prom-client Registry of the plugin's own (never the global one), and renders it.
 */

/** Label value of each outcome. */
const OUTCOME_LABEL: Record<StatType, string> = {
  queued: 'queued',
  accepted: 'accepted',
  deferred: 'deferred',
  failed: 'failed',
  hardBounce: 'hard_bounce',
  softBounce: 'soft_bounce',
  complaint: 'complaint',
  openHuman: 'open_human',
  openHumanUnique: 'open_human_unique',
  openMachine: 'open_machine',
  click: 'click',
  clickUnique: 'click_unique',
  unsubscribe: 'unsubscribe',
  skipped: 'skipped',
};

const SEP = '|';
/** Fields hold ids and slugs; a separator inside one would shift the split. */
const clean = (value: string) => value.replaceAll(SEP, '_');

/** A bearer token compared in constant time (both sides hashed first, so lengths do not leak either). */
export const tokenMatches = (given: string, expected: string): boolean => {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
};

const metrics = ({ strapi }: { strapi: Core.Strapi }) => {
  /** Pending increments per Redis hash and field. */
  let pending = new Map<string, Map<string, number>>();
  let lastErrorLogAt = 0;

  const keys = () => {
    const prefix = getService(strapi, 'engine').keyPrefix();
    return {
      servers: `${prefix}:metrics:servers`,
      groups: `${prefix}:metrics:groups`,
      latency: `${prefix}:metrics:latency`,
    };
  };
  type Hash = keyof ReturnType<typeof keys>;

  const add = (hash: Hash, field: string, by: number) => {
    let fields = pending.get(hash);
    if (!fields) {
      fields = new Map();
      pending.set(hash, fields);
    }
    fields.set(field, (fields.get(field) ?? 0) + by);
  };

  const restore = (taken: Map<string, Map<string, number>>) => {
    for (const [hash, fields] of taken) for (const [field, by] of fields) add(hash as Hash, field, by);
  };

  const readHash = async (key: string): Promise<Array<[string[], number]>> => {
    const raw = await getService(strapi, 'engine').redis().hgetall(key);
    return Object.entries(raw).map(([field, value]) => [field.split(SEP), Number(value)]);
  };

  return {
    /** Buffers one event's increments (nothing is sent until flush). */
    count(event: StatEvent): void {
      const times = eventCountOf(event);
      if (event.serverId) {
        const server = clean(event.serverId);
        add('servers', `${server}${SEP}${event.type}`, times);
        if (event.type === 'accepted' && typeof event.latencyMs === 'number' && event.latencyMs >= 0) {
          add('latency', `${server}${SEP}${latencyBucketOf(event.latencyMs)}`, 1);
          add('latency', `${server}${SEP}sum`, Math.round(event.latencyMs));
        }
      }
      if (event.groupSlug) add('groups', `${clean(event.groupSlug)}${SEP}${event.type}`, times);
    },

    /** Adds the buffered increments in Redis. Never rejects: a failure keeps them for the next flush and is logged. */
    async flush(): Promise<void> {
      if (pending.size === 0) return;
      const taken = pending;
      pending = new Map();
      try {
        const redisKeys = keys();
        const pipeline = getService(strapi, 'engine').redis().pipeline();
        for (const [hash, fields] of taken) for (const [field, by] of fields) pipeline.hincrby(redisKeys[hash as Hash], field, by);
        const results = (await pipeline.exec()) ?? [];
        const failed = results.find(([error]) => error);
        if (failed) throw failed[0];
      } catch (error) {
        restore(taken);
        if (Date.now() - lastErrorLogAt > 60_000) {
          lastErrorLogAt = Date.now();
          strapi.log.warn(`multi-smtp: metrics counters not written yet, kept for the next try (${(error as Error).message})`);
        }
      }
    },

    /** The token a scrape must present, or null when the endpoint is off. */
    token(): string | null {
      return getService(strapi, 'runtime').config().metrics.token ?? null;
    },

    /** Renders every metric (Prometheus text format). */
    async render(): Promise<{ contentType: string; body: string }> {
      const redisKeys = keys();
      const [serverRows, serverCounts, groupCounts, latency, status] = await Promise.all([
        createServerRepository(strapi).findAll(),
        readHash(redisKeys.servers),
        readHash(redisKeys.groups),
        readHash(redisKeys.latency),
        getService(strapi, 'status').overview(),
      ]);
      const names = new Map(serverRows.map((row) => [row.documentId, row.name]));
      const serverLabels = (serverId: string) => ({ server_id: serverId, server: names.get(serverId) ?? serverId });

      const registry = new Registry();
      const sends = new Counter({
        name: 'multi_smtp_sends_total',
        help: 'Messages by the SMTP server that handled them and outcome (accepted, deferred, failed, hard_bounce, ...)',
        labelNames: ['server_id', 'server', 'outcome'],
        registers: [registry],
      });
      for (const [[serverId = '', type = ''], value] of serverCounts) {
        const outcome = OUTCOME_LABEL[type as StatType];
        if (outcome && value > 0) sends.inc({ ...serverLabels(serverId), outcome }, value);
      }

      const groupMessages = new Counter({
        name: 'multi_smtp_group_messages_total',
        help: 'Messages by group (slug) and outcome (queued, accepted, deferred, failed, skipped, ...)',
        labelNames: ['group', 'outcome'],
        registers: [registry],
      });
      for (const [[group = '', type = ''], value] of groupCounts) {
        const outcome = OUTCOME_LABEL[type as StatType];
        if (outcome && value > 0) groupMessages.inc({ group, outcome }, value);
      }

      registry.registerMetric(latencyHistogram(latency, serverLabels) as unknown as Metric);

      const depth = new Gauge({
        name: 'multi_smtp_queue_depth',
        help: 'Messages queued or in flight, not finished, per group (slug; "pinned": sent to a chosen server)',
        labelNames: ['group'],
        registers: [registry],
      });
      for (const group of status.groups) depth.set({ group: group.slug }, group.depth);
      depth.set({ group: 'pinned' }, status.pinnedDepth);

      const quotaUsed = new Gauge({
        name: 'multi_smtp_quota_used',
        help: 'Messages counted against the server quota in the current hour or day window',
        labelNames: ['server_id', 'server', 'window'],
        registers: [registry],
      });
      const quotaLimit = new Gauge({
        name: 'multi_smtp_quota_limit',
        help: 'The server quota of the current hour or day window (absent when unlimited; warm-up caps included)',
        labelNames: ['server_id', 'server', 'window'],
        registers: [registry],
      });
      const connections = new Gauge({
        name: 'multi_smtp_connections_open',
        help: 'SMTP connections open to the server, over every process',
        labelNames: ['server_id', 'server'],
        registers: [registry],
      });
      const suspended = new Gauge({
        name: 'multi_smtp_server_suspended',
        help: '1 while the server is out of rotation (breaker, response rule, protection or by hand)',
        labelNames: ['server_id', 'server'],
        registers: [registry],
      });
      for (const server of status.servers) {
        const labels = serverLabels(server.documentId);
        for (const window of ['hour', 'day'] as const) {
          quotaUsed.set({ ...labels, window }, server.quota[window].used);
          const cap = server.quota[window].cap;
          if (cap !== null) quotaLimit.set({ ...labels, window }, cap);
        }
        connections.set(labels, server.quota.connections.used);
        suspended.set(labels, server.health.state === 'open' ? 1 : 0);
      }

      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
};

/**
 * The SMTP latency histogram of accepted sends, per server, from the cumulative bucket counts in
 * Redis. prom-client's Histogram can only observe values one by one, so this is a metric object
 * of the shape its Registry renders (the same one its own metrics return from get()).
 */
const latencyHistogram = (
  rows: Array<[string[], number]>,
  serverLabels: (serverId: string) => Record<string, string>
) => {
  const name = 'multi_smtp_smtp_latency_seconds';
  const help = 'SMTP latency of accepted sends (connection ready to the server accepting the message), per server';
  const byServer = new Map<string, { buckets: number[]; sumMs: number }>();
  for (const [[serverId = '', field = ''], value] of rows) {
    let entry = byServer.get(serverId);
    if (!entry) {
      entry = { buckets: new Array<number>(LATENCY_BUCKETS).fill(0), sumMs: 0 };
      byServer.set(serverId, entry);
    }
    if (field === 'sum') entry.sumMs = value;
    else if (Number(field) >= 0 && Number(field) < LATENCY_BUCKETS) entry.buckets[Number(field)] = value;
  }
  const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
  for (const [serverId, { buckets, sumMs }] of byServer) {
    const labels = serverLabels(serverId);
    let cumulative = 0;
    LATENCY_BOUNDS_MS.forEach((bound, index) => {
      cumulative += buckets[index] ?? 0;
      values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: bound / 1000 }, value: cumulative });
    });
    cumulative += buckets[LATENCY_BUCKETS - 1] ?? 0;
    values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
    values.push({ metricName: `${name}_sum`, labels, value: sumMs / 1000 });
    values.push({ metricName: `${name}_count`, labels, value: cumulative });
  }
  const metric = { name, help, type: 'histogram', aggregator: 'sum', values };
  return { name, help, type: 'histogram', aggregator: 'sum', get: async () => metric };
};

export type MetricsService = ReturnType<typeof metrics>;
export default metrics;
