import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import { MAX_WEBHOOK_BYTES } from '../services/inbound';
import { WebhookError } from '../services/webhooks';
import { getService } from '../utils/get-service';
import { ForbiddenReasonError } from '../utils/http-errors';
import type { Context } from './crud';
import { enforceBounceRateLimit, rawBodyOf } from './inbound';

/**
 * Provider webhooks (public, authenticated by their signatures; see services/webhooks.ts):
 *   POST /api/multi-smtp/webhooks/ses        Amazon SES notifications through SNS
 *   POST /api/multi-smtp/webhooks/sendgrid   SendGrid's signed event webhook
 * 404 while the provider is not configured, 403 for a signature that does not verify (nothing is
 * recorded), 400 for a body that is not what the provider sends, 503 when the SNS certificate
 * cannot be fetched (SNS retries).
 */

const asHttpError = (error: unknown): never => {
  if (!(error instanceof WebhookError)) throw error;
  switch (error.status) {
    case 400:
      throw new errors.ValidationError(error.message);
    case 403:
      throw new ForbiddenReasonError(error.message);
    case 404:
      throw new errors.NotFoundError(error.message);
    default:
      throw error;
  }
};

const header = (ctx: Context, name: string): string | undefined => ctx.get(name) || undefined;

const webhooks = ({ strapi }: { strapi: Core.Strapi }) => {
  const service = () => getService(strapi, 'webhooks');

  return {
    async ses(ctx: Context) {
      if (getService(strapi, 'runtime').config().webhooks.ses.topicArns.length === 0) throw new errors.NotFoundError('Not Found');
      await enforceBounceRateLimit(strapi, ctx, 'webhook-ses');
      const body = rawBodyOf(ctx, MAX_WEBHOOK_BYTES);
      try {
        ctx.body = { data: await service().ses(body.bytes!.toString('utf8')) };
      } catch (error) {
        // No Strapi error class for 503: written here, in Strapi's error shape. SNS retries it.
        if (error instanceof WebhookError && error.status === 503) {
          ctx.status = 503;
          ctx.body = { data: null, error: { status: 503, name: 'ServiceUnavailableError', message: error.message, details: {} } };
          return;
        }
        asHttpError(error);
      }
    },

    async sendgrid(ctx: Context) {
      if (!getService(strapi, 'runtime').config().webhooks.sendgrid.publicKey) throw new errors.NotFoundError('Not Found');
      await enforceBounceRateLimit(strapi, ctx, 'webhook-sendgrid');
      const body = rawBodyOf(ctx, MAX_WEBHOOK_BYTES);
      try {
        ctx.body = {
          data: await service().sendgrid(
            body.bytes!,
            header(ctx, 'x-twilio-email-event-webhook-signature'),
            header(ctx, 'x-twilio-email-event-webhook-timestamp')
          ),
        };
      } catch (error) {
        asHttpError(error);
      }
    },
  };
};

export default webhooks;
