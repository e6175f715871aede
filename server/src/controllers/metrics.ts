import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import { tokenMatches } from '../services/metrics';
import { getService } from '../utils/get-service';
import type { Context } from './crud';

/**
 * GET /api/multi-smtp/metrics: Prometheus text format, for a scraper holding the bearer token of
 * config `metrics.token` (404 while none is configured, 401 for a missing or wrong one; compared in
 * constant time). Rate-limited per client IP like the other public endpoints.
 */
const metrics = ({ strapi }: { strapi: Core.Strapi }) => ({
  async scrape(ctx: Context) {
    const service = getService(strapi, 'metrics');
    const expected = service.token();
    if (!expected) throw new errors.NotFoundError('Not Found');

    await getService(strapi, 'rateLimit').enforce(ctx, 'metrics', getService(strapi, 'runtime').config().metrics.rateLimitPerMinute);

    const match = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization') ?? '');
    if (!match?.[1] || !tokenMatches(match[1], expected)) {
      ctx.set('WWW-Authenticate', 'Bearer realm="multi-smtp metrics"');
      throw new errors.UnauthorizedError('A valid metrics token is required (Authorization: Bearer <metrics.token>)');
    }

    // This process's latest counts first (the other processes flush theirs every second).
    await service.flush();
    const { contentType, body } = await service.render();
    ctx.set('Cache-Control', 'no-store');
    ctx.type = contentType;
    ctx.body = body;
  },
});

export default metrics;
