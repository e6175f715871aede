import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import { bearerMatches, RAW_BODY_STATE, TooManyMessagesError, type RawBody } from '../services/inbound';
import { getService } from '../utils/get-service';
import type { Context } from './crud';

/**
 * POST /api/multi-smtp/inbound: bounces and complaints as whole messages.
 *
 *   Authorization: Bearer <config bounces.inboundToken>   (404 while none is configured, 401 otherwise)
 *   Content-Type: message/rfc822 or text/plain (one message), application/mbox (many)
 *
 * 200 with one result per message ({ kind, recipients, linkedMessageIds, actions }) and a summary;
 * 400 for an empty body, 413 over bounces.maxInboundBytes, 429 over the per-IP limit. A body that
 * is not a bounce at all is still 200, with kind 'other'. A message the parser gives no answer for
 * within its time limit is kind 'unparsed' (nothing applied); when no message of the request could
 * be parsed the answer is 422 (the same results under error.details), never a 5xx.
 */

/** Rate limit shared by the inbound and webhook endpoints (config bounces.rateLimitPerMinute, per client IP). */
export const enforceBounceRateLimit = async (strapi: Core.Strapi, ctx: Context, bucket: string) => {
  await getService(strapi, 'rateLimit').enforce(ctx, bucket, getService(strapi, 'runtime').config().bounces.rateLimitPerMinute);
};

/** The body captured before Strapi's parser (services/inbound.ts captureRawBodies); 413 when it was too large. */
export const rawBodyOf = (ctx: Context, limit: number): RawBody => {
  const body = ctx.state[RAW_BODY_STATE] as RawBody | undefined;
  if (body?.tooLarge) {
    ctx.set('Connection', 'close');
    throw new errors.PayloadTooLargeError(`The body is larger than ${limit} bytes`);
  }
  if (!body?.bytes || body.bytes.length === 0) {
    throw new errors.ValidationError('body: is empty', { errors: [{ path: ['body'], message: 'is empty', name: 'ValidationError' }] });
  }
  return body;
};

const inbound = ({ strapi }: { strapi: Core.Strapi }) => ({
  async receive(ctx: Context) {
    const settings = getService(strapi, 'runtime').config().bounces;
    if (!settings.inboundToken) throw new errors.NotFoundError('Not Found');
    await enforceBounceRateLimit(strapi, ctx, 'inbound');
    if (!bearerMatches(ctx.get('authorization'), settings.inboundToken)) {
      ctx.set('WWW-Authenticate', 'Bearer');
      throw new errors.UnauthorizedError('Missing or invalid inbound token');
    }
    const body = rawBodyOf(ctx, settings.maxInboundBytes);
    try {
      const result = await getService(strapi, 'inbound').processBody(body.bytes!, body.contentType);
      if (result.summary.messages > 0 && result.summary.unparsed === result.summary.messages) {
        ctx.status = 422;
        ctx.body = {
          data: null,
          error: { status: 422, name: 'UnprocessableEntityError', message: 'The message could not be parsed in time', details: result },
        };
        return;
      }
      ctx.body = { data: result };
    } catch (error) {
      if (error instanceof TooManyMessagesError) throw new errors.PayloadTooLargeError(error.message);
      throw error;
    }
  },
});

export default inbound;
