import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import { createRateLimiter, type RateLimiter, type RateLimitResult } from '../engine/rate-limiter';
import { getService } from '../utils/get-service';

export type { RateLimitResult } from '../engine/rate-limiter';

/** What the limiter reads of a Koa request: the socket's address, the forwarded header, Koa's own view. */
export interface RateLimitedContext {
  request: { ip: string; ips: string[]; socket?: { remoteAddress?: string } };
  app: { proxy: boolean; maxIpsCount: number; proxyIpHeader: string };
  get(header: string): string;
  set(name: string, value: string): void;
}

/**
 * The client a per-IP bucket counts, honouring Strapi's `server.proxy` settings (Koa's `proxy`,
 * `maxIpsCount`, `ipHeader`):
 *
 * - proxy not trusted: the socket's address. Behind a proxy every client then shares the proxy's
 *   address, and so one bucket: set `server.proxy.koa: true` with `maxIpsCount` (logged once).
 * - proxy trusted with `maxIpsCount` = the number of proxies in front of Strapi: Koa's `ip`, the
 *   address the outermost trusted proxy saw; a client cannot push it out of that window.
 * - proxy trusted without `maxIpsCount`: Koa would take the leftmost X-Forwarded-For entry, which
 *   the client writes itself (a new bucket per request). The rightmost entry is the one the nearest
 *   proxy added, so it is used instead (logged once, with the setting to make).
 */
export const clientAddressOf = (ctx: RateLimitedContext, warn: (message: string) => void = () => undefined): string => {
  const socketAddress = ctx.request.socket?.remoteAddress ?? ctx.request.ip;
  if (!ctx.app.proxy) {
    if (ctx.get(ctx.app.proxyIpHeader || 'X-Forwarded-For')) {
      warn(
        'requests come through a proxy (X-Forwarded-For) that Strapi does not trust: every client shares one rate-limit bucket. Set server.proxy.koa to true and server.proxy.maxIpsCount to the number of proxies in front of Strapi'
      );
    }
    return socketAddress;
  }
  if (ctx.app.maxIpsCount > 0) return ctx.request.ip;
  const forwarded = ctx.request.ips;
  if (forwarded.length > 1) {
    warn(
      'server.proxy.koa is on without server.proxy.maxIpsCount: the client-written part of X-Forwarded-For is ignored for rate limits; set maxIpsCount to the number of proxies in front of Strapi'
    );
  }
  return forwarded[forwarded.length - 1] ?? socketAddress;
};

/**
 * The public endpoints' rate limits (engine/rate-limiter.ts): counted in Redis across every process,
 * in memory per process while Redis is down (never unlimited).
 */
const rateLimit = ({ strapi }: { strapi: Core.Strapi }) => {
  const engine = () => getService(strapi, 'engine');
  const warned = new Set<string>();
  const warnOnce = (message: string) => {
    if (warned.has(message)) return;
    warned.add(message);
    strapi.log.warn(`[multi-smtp] ${message}`);
  };
  let limiter: RateLimiter | null = null;
  const current = () =>
    (limiter ??= createRateLimiter({
      redis: () => engine().redis(),
      keyPrefix: () => engine().keyPrefix(),
      onFallback: (error) => strapi.log.warn(`[multi-smtp] rate limits count in memory while Redis does not answer: ${error.message}`),
    }));

  const refuse = (ctx: RateLimitedContext, result: RateLimitResult) => {
    ctx.set('Retry-After', String(result.retryAfterSec));
    throw new errors.RateLimitError('Too many requests: try again in a minute');
  };

  return {
    /** Counts one request of `client` (an IP, a token hash) to `bucket` (e.g. 'unsubscribe'). */
    hit(bucket: string, client: string, limit: number, now = Date.now()): Promise<RateLimitResult> {
      return current().hit(bucket, client, limit, now);
    },

    /** The client address a per-IP bucket counts (see clientAddressOf). */
    clientOf(ctx: RateLimitedContext): string {
      return clientAddressOf(ctx, warnOnce);
    },

    /** Per client IP: over the limit, sets Retry-After and throws Strapi's RateLimitError (429). */
    async enforce(ctx: RateLimitedContext, bucket: string, limit: number): Promise<void> {
      const result = await this.hit(bucket, this.clientOf(ctx), limit);
      if (!result.allowed) refuse(ctx, result);
    },

    /** Per key other than the IP (e.g. one unsubscribe token): over the limit, 429 as enforce(). */
    async enforceFor(ctx: RateLimitedContext, bucket: string, key: string, limit: number): Promise<void> {
      const result = await this.hit(bucket, key, limit);
      if (!result.allowed) refuse(ctx, result);
    },
  };
};

export type RateLimitService = ReturnType<typeof rateLimit>;
export default rateLimit;
