import type { MessageLogEntry } from '../../shared/contracts/messages';
import {
  LATENCY_BOUNDS_MS,
  LATENCY_BUCKETS,
  bucketSpan,
  emptyHistogram,
  latencyBucketOf,
  latencyQuantile,
} from '../../server/src/engine/latency-histogram';
import {
  ALL_SCOPE_ID,
  HOUR_MS,
  buildSeries,
  createStatAccumulator,
  emptyCounts,
  latencySummaryOf,
  ratesOf,
  scopesOf,
  statEventsOfEngineEvent,
} from '../../server/src/engine/stat-aggregation';

const T0 = Date.parse('2026-03-10T10:00:00.000Z');

const histogramOf = (latencies: number[]) => {
  const histogram = emptyHistogram();
  for (const latency of latencies) histogram[latencyBucketOf(latency)]! += 1;
  return histogram;
};

describe('latency histogram', () => {
  it('puts a latency in the first bucket whose upper bound is at least it', () => {
    expect(latencyBucketOf(0)).toBe(0);
    expect(latencyBucketOf(1)).toBe(0);
    expect(latencyBucketOf(1.5)).toBe(1);
    expect(latencyBucketOf(100)).toBe(LATENCY_BOUNDS_MS.indexOf(100));
    expect(latencyBucketOf(101)).toBe(LATENCY_BOUNDS_MS.indexOf(150));
    expect(latencyBucketOf(120_000)).toBe(LATENCY_BOUNDS_MS.length - 1);
    expect(latencyBucketOf(500_000)).toBe(LATENCY_BUCKETS - 1);
    expect(latencyBucketOf(Number.NaN)).toBe(0);
    // Every value lands in a bucket whose span holds it.
    for (let latency = 0.5; latency < 200_000; latency *= 1.07) {
      const [lower, upper] = bucketSpan(latencyBucketOf(latency));
      expect(latency).toBeGreaterThan(lower === 0 ? -1 : lower);
      if (upper > lower) expect(latency).toBeLessThanOrEqual(upper);
    }
  });

  it('estimates p50 and p95 within the bucket of the true value, interpolating linearly', () => {
    // 100 latencies: 1..100 ms. True p50 = 50, p95 = 95.
    const histogram = histogramOf(Array.from({ length: 100 }, (_, index) => index + 1));
    expect(latencyQuantile(histogram, 0.5)).toBe(50); // rank 50 is the last of (30, 50]
    const p95 = latencyQuantile(histogram, 0.95)!;
    expect(p95).toBeGreaterThan(70);
    expect(p95).toBeLessThanOrEqual(100);
    expect(p95).toBeCloseTo(70 + (30 * (95 - 70)) / 30, 5); // (70, 100] holds 71..100
  });

  it('answers null for no data, and the lower bound for the unbounded bucket', () => {
    expect(latencyQuantile(emptyHistogram(), 0.5)).toBeNull();
    expect(latencyQuantile(histogramOf([300_000, 400_000]), 0.95)).toBe(120_000);
  });

  it('summarises count, p50, p95 and the exact average', () => {
    const latencies = [10, 10, 10, 10, 10, 10, 10, 10, 10, 1000];
    expect(latencySummaryOf(histogramOf(latencies), latencies.reduce((a, b) => a + b, 0))).toEqual({
      count: 10,
      p50: 8.7, // rank 5 of the 9 in (7, 10]: 7 + 3 x 5/9, to 0.1 ms
      p95: 850, // rank 9.5: half-way through (700, 1000]
      avg: 109,
    });
    expect(latencySummaryOf(emptyHistogram(), 0)).toEqual({ count: 0, p50: null, p95: null, avg: null });
  });
});

describe('statistics accumulator', () => {
  it('counts an event in all, its server, group, campaign and campaign x server, in its UTC hour', () => {
    expect(scopesOf({ serverId: 's1', groupSlug: 'g', campaignId: 'c1' })).toEqual([
      ['all', ALL_SCOPE_ID],
      ['server', 's1'],
      ['group', 'g'],
      ['campaign', 'c1'],
      ['campaignServer', 'c1|s1'],
    ]);
    expect(scopesOf({ groupSlug: 'g' })).toEqual([
      ['all', ALL_SCOPE_ID],
      ['group', 'g'],
    ]);

    const accumulator = createStatAccumulator();
    accumulator.add({ type: 'accepted', at: T0 + 59 * 60_000, serverId: 's1', groupSlug: 'g', latencyMs: 42 }, 0);
    accumulator.add({ type: 'accepted', at: T0 + 1000, serverId: 's1', groupSlug: 'g', latencyMs: 8 }, 0);
    accumulator.add({ type: 'failed', at: T0 + HOUR_MS, serverId: 's1' }, 0);
    accumulator.add({ type: 'queued', groupSlug: 'g' }, T0 + 5); // no `at`: now
    expect(accumulator.size).toBe(5); // hour 0: all, s1, g; hour 1: all, s1
    const deltas = accumulator.take();
    expect(accumulator.size).toBe(0);
    const find = (hour: number, scope: string, id: string) => deltas.find((delta) => delta.hour === hour && delta.scope === scope && delta.scopeId === id)!;
    const serverHour0 = find(T0, 'server', 's1');
    expect(serverHour0.counts).toEqual({ ...emptyCounts(), accepted: 2 });
    expect(serverHour0.latencySumMs).toBe(50);
    expect(serverHour0.latency[latencyBucketOf(42)]).toBe(1);
    expect(serverHour0.latency[latencyBucketOf(8)]).toBe(1);
    expect(find(T0, 'group', 'g').counts).toMatchObject({ accepted: 2, queued: 1 });
    expect(find(T0, 'all', ALL_SCOPE_ID).counts).toMatchObject({ accepted: 2, queued: 1 });
    expect(find(T0 + HOUR_MS, 'server', 's1').counts).toMatchObject({ failed: 1, accepted: 0 });
    expect(deltas).toHaveLength(5);
  });

  it('puts back the deltas of a failed write, added to what came since', () => {
    const accumulator = createStatAccumulator();
    accumulator.add({ type: 'accepted', at: T0, serverId: 's1', latencyMs: 5 }, 0);
    const failed = accumulator.take();
    accumulator.add({ type: 'accepted', at: T0, serverId: 's1', latencyMs: 5 }, 0);
    accumulator.restore(failed);
    const [all, server] = accumulator.take();
    expect(all!.counts.accepted).toBe(2);
    expect(server!.counts.accepted).toBe(2);
    expect(server!.latencySumMs).toBe(10);
    expect(server!.latency[latencyBucketOf(5)]).toBe(2);
  });

  it('counts an event that stands for many (a campaign batch queued) as that many, and a bad count as one', () => {
    const accumulator = createStatAccumulator();
    accumulator.add({ type: 'queued', at: T0, groupSlug: 'news', campaignId: 'c1', count: 500 }, 0);
    accumulator.add({ type: 'queued', at: T0, groupSlug: 'news', campaignId: 'c1', count: 2.5 }, 0);
    accumulator.add({ type: 'queued', at: T0, groupSlug: 'news', campaignId: 'c1', count: -3 }, 0);
    const deltas = accumulator.take();
    expect(deltas.map((delta) => delta.counts.queued)).toEqual(deltas.map(() => 502));
    expect(deltas.map((delta) => delta.scope).sort()).toEqual(['all', 'campaign', 'group']);
  });
});

const entry = (patch: Partial<MessageLogEntry>): MessageLogEntry => ({
  id: 'm1',
  status: 'queued',
  from: null,
  recipients: ['a@example.com'],
  subject: 's',
  group: 'news',
  serverId: null,
  serverName: null,
  attempts: [],
  lastReply: null,
  smtpMessageId: null,
  idempotencyKey: null,
  source: 'api',
  campaignId: 'c1',
  subscriberId: null,
  queuedAt: T0,
  sentAt: null,
  finishedAt: null,
  ...patch,
});

describe("the engine's events as statistics", () => {
  const attempt = (serverId: string, outcome: 'accepted' | 'server-transient' | 'recipient-hard', at: number, latencyMs: number) => ({
    at,
    serverId,
    serverName: serverId,
    outcome,
    reply: null,
    latencyMs,
  });

  it('queued counts for the group and campaign, not a server', () => {
    expect(statEventsOfEngineEvent('queued', entry({}), 0)).toEqual([{ type: 'queued', at: T0, serverId: null, groupSlug: 'news', campaignId: 'c1' }]);
  });

  it('sent counts accepted for the server of the accepted attempt, with its latency', () => {
    const sent = entry({
      status: 'sent',
      serverId: 'b',
      attempts: [attempt('a', 'server-transient', T0 + 10, 3000), attempt('b', 'accepted', T0 + 3020, 40)],
      sentAt: T0 + 3060,
      finishedAt: T0 + 3060,
    });
    expect(statEventsOfEngineEvent('sent', sent, 0)).toEqual([
      { type: 'accepted', at: T0 + 3060, serverId: 'b', groupSlug: 'news', campaignId: 'c1', latencyMs: 40 },
    ]);
  });

  it('deferred, failed, bounced and skipped', () => {
    const tried = entry({ attempts: [attempt('a', 'server-transient', T0 + 10, 100)], finishedAt: T0 + 500 });
    expect(statEventsOfEngineEvent('deferred', tried, 0)[0]).toMatchObject({ type: 'deferred', serverId: 'a', at: T0 + 110 });
    expect(statEventsOfEngineEvent('deferred', entry({}), T0 + 7)[0]).toMatchObject({ type: 'deferred', serverId: null, at: T0 + 7 });
    expect(statEventsOfEngineEvent('failed', tried, 0)[0]).toMatchObject({ type: 'failed', serverId: 'a', at: T0 + 500 });
    const bounced = entry({ attempts: [attempt('c', 'recipient-hard', T0, 20)], finishedAt: T0 + 20 });
    expect(statEventsOfEngineEvent('bounced', bounced, 0)[0]).toMatchObject({ type: 'hardBounce', serverId: 'c' });
    expect(statEventsOfEngineEvent('skipped', entry({ finishedAt: T0 + 1 }), 0)[0]).toMatchObject({ type: 'skipped', serverId: null });
  });
});

describe('report arithmetic', () => {
  it('computes rates, null when there is nothing to divide by', () => {
    const counts = { ...emptyCounts(), accepted: 90, failed: 4, hardBounce: 6, softBounce: 2, complaint: 1, openHumanUnique: 30, clickUnique: 9 };
    expect(ratesOf(counts)).toEqual({
      deliverability: 0.9,
      bounceRate: 0.08,
      hardBounceRate: 0.06,
      complaintRate: 0.011111,
      openRate: 0.333333,
      clickRate: 0.1,
    });
    expect(ratesOf(emptyCounts())).toEqual({
      deliverability: null,
      bounceRate: null,
      hardBounceRate: null,
      complaintRate: null,
      openRate: null,
      clickRate: null,
    });
  });

  it('builds a zero-filled hourly series over [from, to)', () => {
    const series = buildSeries(
      [
        { hour: T0 + HOUR_MS, counts: { accepted: 3 } },
        { hour: T0 + HOUR_MS, counts: { accepted: 1, failed: 2 } },
        { hour: T0 + 5 * HOUR_MS, counts: { accepted: 9 } }, // outside
      ],
      T0,
      T0 + 3 * HOUR_MS,
      'hour',
      'UTC'
    );
    expect(series.map((point) => [point.at, point.accepted, point.failed])).toEqual([
      ['2026-03-10T10:00:00.000Z', 0, 0],
      ['2026-03-10T11:00:00.000Z', 4, 2],
      ['2026-03-10T12:00:00.000Z', 0, 0],
    ]);
  });

  it('rolls hours up into calendar days of the configured zone', () => {
    const hours = Array.from({ length: 48 }, (_, index) => ({ hour: Date.parse('2026-03-10T00:00:00Z') + index * HOUR_MS, counts: { accepted: 1 } }));
    const utc = buildSeries(hours, hours[0]!.hour, hours[0]!.hour + 48 * HOUR_MS, 'day', 'UTC');
    expect(utc.map((point) => [point.at, point.accepted])).toEqual([
      ['2026-03-10T00:00:00.000Z', 24],
      ['2026-03-11T00:00:00.000Z', 24],
    ]);
    // Paris is UTC+1 in March: its days start at 23:00 UTC, so the first UTC hour belongs to the 10th local day.
    const paris = buildSeries(hours, hours[0]!.hour, hours[0]!.hour + 48 * HOUR_MS, 'day', 'Europe/Paris');
    expect(paris.map((point) => [point.at, point.accepted])).toEqual([
      ['2026-03-09T23:00:00.000Z', 23],
      ['2026-03-10T23:00:00.000Z', 24],
      ['2026-03-11T23:00:00.000Z', 1],
    ]);
  });
});
