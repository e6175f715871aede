import type { Cluster, Redis } from 'ioredis';

/**
 * A fixed-window limiter for the public endpoints: at most `limit` requests per client, bucket and
 * minute, counted in Redis across every process (one INCR per request; the key expires with its
 * window). When Redis does not answer, each process counts in memory instead: the limit then holds
 * per process (at most `limit` times the number of nodes) rather than not at all, so an outage of
 * Redis is not an opening for a flood.
 *
 * Plain TypeScript; the Strapi layer (services/rate-limit.ts) picks the client and the limits.
 */

export interface RateLimitResult {
  allowed: boolean;
  /** Requests left in this window. */
  remaining: number;
  /** Seconds until the window ends (for Retry-After). */
  retryAfterSec: number;
}

export interface RateLimiterOptions {
  redis: () => Redis | Cluster;
  keyPrefix: () => string;
  /** Told once per outage that Redis failed and memory counts instead. */
  onFallback?: (error: Error) => void;
  windowMs?: number;
  /** Clients remembered in memory at most (older windows are dropped first; beyond it, the oldest). */
  maxMemoryClients?: number;
  /** A Redis answer slower than this counts in memory instead (a public request never waits on an outage). */
  timeoutMs?: number;
}

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    );
  });

export const createRateLimiter = (options: RateLimiterOptions) => {
  const windowMs = options.windowMs ?? 60_000;
  const maxMemoryClients = options.maxMemoryClients ?? 100_000;
  const timeoutMs = options.timeoutMs ?? 500;
  const memory = new Map<string, { window: number; count: number }>();
  let inOutage = false;

  const countInMemory = (key: string, window: number): number => {
    const entry = memory.get(key);
    if (entry && entry.window === window) {
      entry.count += 1;
      return entry.count;
    }
    if (memory.size >= maxMemoryClients) {
      for (const [stale, value] of memory) if (value.window !== window) memory.delete(stale);
      // Still full of this window's clients: forget the oldest (insertion order) rather than grow.
      while (memory.size >= maxMemoryClients) memory.delete(memory.keys().next().value!);
    }
    memory.delete(key);
    memory.set(key, { window, count: 1 });
    return 1;
  };

  return {
    /** Counts one request of `client` (an IP, a token hash) to `bucket`. */
    async hit(bucket: string, client: string, limit: number, now = Date.now()): Promise<RateLimitResult> {
      const window = Math.floor(now / windowMs);
      const retryAfterSec = Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000));
      const key = `${bucket}:${window}:${client}`;
      let count: number;
      try {
        const redis = options.redis();
        // A connection that is down would queue the command until it reconnects: count in memory at once.
        if (redis.status !== 'ready') throw new Error(`Redis is ${redis.status}`);
        const redisKey = `${options.keyPrefix()}:ratelimit:${key}`;
        const results = await withTimeout(redis.multi().incr(redisKey).pexpire(redisKey, windowMs + 1000).exec(), timeoutMs);
        const error = results?.find(([failure]) => failure)?.[0];
        if (error) throw error;
        count = Number(results?.[0]?.[1] ?? 0);
        inOutage = false;
      } catch (error) {
        if (!inOutage) options.onFallback?.(error as Error);
        inOutage = true;
        count = countInMemory(`${bucket}:${client}`, window);
      }
      return { allowed: count <= limit, remaining: Math.max(0, limit - count), retryAfterSec };
    },
  };
};

export type RateLimiter = ReturnType<typeof createRateLimiter>;
