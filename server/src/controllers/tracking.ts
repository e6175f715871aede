import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import { TRACKING_PIXEL } from '../engine/tracking';
import type { TrackingRequestInfo } from '../services/tracking';
import { getService } from '../utils/get-service';
import type { Context } from './crud';

/**
 * The public tracking endpoints of campaign mail (no login, no cookies, rate-limited per client IP):
 *   GET /api/multi-smtp/track/open/:token.gif    the 1x1 pixel, never cached
 *   GET /api/multi-smtp/track/click/:token       302 to the URL the signed token carries (HEAD too:
 *                                                answered the same, and counted as a machine)
 * A token this site did not sign, altered, or of the other kind gets 404 and records nothing. The
 * answer never waits for the recording (services/tracking.ts).
 */
const tracking = ({ strapi }: { strapi: Core.Strapi }) => {
  const service = () => getService(strapi, 'tracking');

  const enforceRateLimit = (ctx: Context) =>
    getService(strapi, 'rateLimit').enforce(
      ctx,
      'track',
      getService(strapi, 'runtime').config().tracking.rateLimitPerMinute
    );

  const requestOf = (ctx: Context): TrackingRequestInfo => ({
    method: ctx.method,
    userAgent: ctx.get('User-Agent') || null,
    // The same client address the rate limits count (honours server.proxy; not the client-written X-Forwarded-For).
    ip: getService(strapi, 'rateLimit').clientOf(ctx) || null,
  });

  /** Every answer: never cached (each open must reach us), never indexed, no referrer to the target. */
  const noStore = (ctx: Context) => {
    ctx.set('Cache-Control', 'no-store, no-cache, must-revalidate, max-age=0');
    ctx.set('Pragma', 'no-cache');
    ctx.set('Expires', '0');
    ctx.set('X-Robots-Tag', 'noindex, nofollow');
    ctx.set('Referrer-Policy', 'no-referrer');
  };

  const notFound = () => new errors.NotFoundError('Not found');

  return {
    async open(ctx: Context) {
      await enforceRateLimit(ctx);
      const raw = typeof ctx.params.token === 'string' ? ctx.params.token.replace(/\.gif$/i, '') : null;
      if (!service().hit(raw, 'open', requestOf(ctx))) throw notFound();
      noStore(ctx);
      ctx.status = 200;
      ctx.type = 'image/gif';
      ctx.body = TRACKING_PIXEL;
    },

    async click(ctx: Context) {
      await enforceRateLimit(ctx);
      const verified = service().hit(ctx.params.token, 'click', requestOf(ctx));
      if (!verified || verified.kind !== 'click') throw notFound();
      noStore(ctx);
      // 302 with Location percent-encoded where a header needs it (non-ASCII), else exactly the URL.
      ctx.redirect(verified.url);
    },
  };
};

export default tracking;
