/**
 * The signals of the `adaptive` strategy (router.ts): how much of its quota a server has left, and
 * how much of what it was recently given it accepted.
 *
 *   adaptive weight = weight × quota fraction × acceptance rate
 *
 * - quota fraction: the tightest of the server's windows, (limit − used) / limit for the hour limit
 *   and the day limit (the warm-up cap folded in, as reservations see it), 0..1; 1 without limits.
 *   A server with a quarter of its day left gets about a quarter of the share of an equal one with
 *   all of it, so the group's servers run out together instead of one after the other.
 * - acceptance rate: accepted / (accepted + server-side failures) over the last
 *   ACCEPTANCE_WINDOW_MINUTES, from the per-minute statistics the engine keeps per server (`sent` is
 *   counted by the attempt script, `failed` by every server-side failure). Below
 *   MIN_ATTEMPTS_FOR_ACCEPTANCE attempts it is 1 (too few to judge), and it never goes under
 *   MIN_ACCEPTANCE: a server at 0 would get no traffic and so never show that it recovered (the
 *   circuit breaker, not this, takes a failing server out).
 *
 * Both are read from Redis at most once per refresh interval per process (sending-engine.ts), never
 * per message; between refreshes the router works on the last values, so SWRR stays exact for them.
 */
import type { Cluster, Redis } from 'ioredis';

import type { QuotaLimits, QuotaStore } from './quota';

export const ACCEPTANCE_WINDOW_MINUTES = 15;
export const MIN_ATTEMPTS_FOR_ACCEPTANCE = 10;
export const MIN_ACCEPTANCE = 0.05;

export interface AdaptiveSignals {
  /** 0..1: what is left of the tightest quota window. */
  quotaFraction: number;
  /** MIN_ACCEPTANCE..1: accepted share of recent attempts. */
  acceptance: number;
}

/** The tightest remaining fraction of the hour and day limits; 1 when the server has neither. */
export function quotaFraction(
  limits: Pick<QuotaLimits, 'perHour' | 'perDay'>,
  used: { hour: number; day: number }
): number {
  let fraction = 1;
  for (const [limit, count] of [
    [limits.perHour, used.hour],
    [limits.perDay, used.day],
  ] as const) {
    if (limit === null) continue;
    const whole = Math.floor(limit);
    fraction = Math.min(fraction, whole <= 0 ? 0 : Math.max(0, whole - count) / whole);
  }
  return fraction;
}

/** accepted / attempts, 1 while there are too few attempts to judge, never under MIN_ACCEPTANCE. */
export function acceptanceRate(sent: number, failed: number): number {
  const attempts = sent + failed;
  if (attempts < MIN_ATTEMPTS_FOR_ACCEPTANCE) return 1;
  return Math.max(MIN_ACCEPTANCE, sent / attempts);
}

/**
 * Reads the signals of these servers: one quota usage script and one pipeline of per-minute stats
 * per server (its keys share the server's hash tag, so this works on Redis Cluster), in parallel.
 */
export async function readAdaptiveSignals(input: {
  redis: Redis | Cluster;
  quota: QuotaStore;
  servers: Array<{ id: string; limits: QuotaLimits }>;
  statsKey: (serverId: string, minute: number) => string;
  now: number;
}): Promise<Map<string, AdaptiveSignals>> {
  const { redis, quota, statsKey, now } = input;
  const minute = Math.floor(now / 60_000);
  const entries = await Promise.all(
    input.servers.map(async ({ id, limits }): Promise<[string, AdaptiveSignals]> => {
      const pipeline = redis.pipeline();
      for (let offset = 0; offset < ACCEPTANCE_WINDOW_MINUTES; offset += 1)
        pipeline.hgetall(statsKey(id, minute - offset));
      const [usage, rows] = await Promise.all([quota.usage(id, limits, now), pipeline.exec()]);
      let sent = 0;
      let failed = 0;
      for (const [error, value] of rows ?? []) {
        if (error) throw error;
        const row = (value ?? {}) as Record<string, string>;
        sent += Number(row.sent ?? 0);
        failed += Number(row.failed ?? 0);
      }
      return [id, { quotaFraction: quotaFraction(limits, usage), acceptance: acceptanceRate(sent, failed) }];
    })
  );
  return new Map(entries);
}
