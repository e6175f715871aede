import type { Core } from '@strapi/strapi';

import { UNSUBSCRIBE_PAGE_CSP, unsubscribePage, type UnsubscribePageKind } from '../services/unsubscribe';
import { getService } from '../utils/get-service';
import type { Context } from './crud';

/**
 * The public unsubscribe endpoint (no login, no cookies, rate-limited per client IP):
 *   GET  /api/multi-smtp/unsubscribe/:token  (or ?token=)  a confirmation page with a button
 *   POST the same URL                                       unsubscribes: the RFC 8058 one-click POST
 *        (List-Unsubscribe=One-Click, urlencoded or multipart) or the page's own form
 * A token this site did not sign records nothing and gets 400.
 */
const unsubscribe = ({ strapi }: { strapi: Core.Strapi }) => {
  const service = () => getService(strapi, 'unsubscribe');

  const tokenOf = (ctx: Context): unknown => ctx.params.token ?? ctx.query.token;

  const enforceRateLimit = (ctx: Context) =>
    getService(strapi, 'rateLimit').enforce(ctx, 'unsubscribe', getService(strapi, 'runtime').config().campaigns.rateLimitPerMinute);

  /** HTML for browsers; JSON for a client that asks for it. */
  const respond = (ctx: Context, kind: UnsubscribePageKind, status: number, email?: string) => {
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Robots-Tag', 'noindex');
    if (ctx.accepts('html', 'json') === 'json') {
      ctx.body =
        kind === 'invalid'
          ? { data: null, error: { status, name: 'ValidationError', message: 'token: is not a valid unsubscribe link', details: {} } }
          : { data: { unsubscribed: kind === 'done', email } };
      return;
    }
    ctx.set('Content-Security-Policy', UNSUBSCRIBE_PAGE_CSP);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = unsubscribePage(kind, email);
  };

  return {
    async page(ctx: Context) {
      await enforceRateLimit(ctx);
      const payload = service().verify(tokenOf(ctx));
      if (!payload) return respond(ctx, 'invalid', 400);
      return respond(ctx, 'confirm', 200, payload.email);
    },

    async confirm(ctx: Context) {
      await enforceRateLimit(ctx);
      const payload = await service().apply(tokenOf(ctx));
      if (!payload) return respond(ctx, 'invalid', 400);
      return respond(ctx, 'done', 200, payload.email);
    },
  };
};

export default unsubscribe;
