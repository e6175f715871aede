import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import { getService } from '../utils/get-service';

/**
 * A fixed-window limiter in Redis for the public endpoints: at most `limit` requests per client and
 * minute, counted across every Strapi process. One INCR per request; the key expires with its window.
 * When Redis does not answer, requests are let through (an unsubscribe must not fail because the
 * limiter is down).
 */

export interface RateLimitResult {
  allowed: boolean;
  /** Requests left in this window. */
  remaining: number;
  /** Seconds until the window ends (for Retry-After). */
  retryAfterSec: number;
}

const WINDOW_MS = 60_000;

const rateLimit = ({ strapi }: { strapi: Core.Strapi }) => {
  const engine = () => getService(strapi, 'engine');

  return {
    /** Counts one request of `client` (e.g. its IP) to `bucket` (e.g. 'unsubscribe'). */
    async hit(bucket: string, client: string, limit: number, now = Date.now()): Promise<RateLimitResult> {
      const window = Math.floor(now / WINDOW_MS);
      const retryAfterSec = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000));
      const key = `${engine().keyPrefix()}:ratelimit:${bucket}:${window}:${client}`;
      try {
        const results = await engine().redis().multi().incr(key).pexpire(key, WINDOW_MS + 1000).exec();
        const count = Number(results?.[0]?.[1] ?? 0);
        return { allowed: count <= limit, remaining: Math.max(0, limit - count), retryAfterSec };
      } catch (error) {
        strapi.log.warn(`[multi-smtp] rate limiter unavailable, request allowed: ${(error as Error).message}`);
        return { allowed: true, remaining: limit, retryAfterSec };
      }
    },

    /** `hit()` for an endpoint: over the limit, sets Retry-After and throws Strapi's RateLimitError (429). */
    async enforce(ctx: { request: { ip: string }; set(name: string, value: string): void }, bucket: string, limit: number): Promise<void> {
      const result = await this.hit(bucket, ctx.request.ip, limit);
      if (!result.allowed) {
        ctx.set('Retry-After', String(result.retryAfterSec));
        throw new errors.RateLimitError('Too many requests: try again in a minute');
      }
    },
  };
};

export type RateLimitService = ReturnType<typeof rateLimit>;
export default rateLimit;
