import { createHash } from 'node:crypto';

import type { Core } from '@strapi/strapi';

import { UNSUBSCRIBE_PAGE_CSP, unsubscribePage, type UnsubscribePageKind } from '../services/unsubscribe';
import { getService } from '../utils/get-service';
import type { Context } from './crud';

/**
 * The public unsubscribe endpoint (no login, no cookies):
 *   GET  /api/multi-smtp/unsubscribe/:token  (or ?token=)  a confirmation page with a button
 *   POST the same URL                                       unsubscribes: the RFC 8058 one-click POST
 *        (List-Unsubscribe=One-Click, urlencoded or multipart) or the page's own form
 * A token this site did not sign records nothing and gets 400.
 *
 * Rate limits: the token is checked first (an HMAC, microseconds). A link that is not ours counts
 * against the client IP's budget (campaigns.rateLimitPerMinute), so guessing is slow; a link that is
 * ours has a budget of its own (campaigns.unsubscribeLinkRateLimitPerMinute), so no other client,
 * however many requests it makes from a shared address, can block a recipient's unsubscribe, and
 * RFC 8058 one-click POSTs from mailbox providers always go through.
 */
const unsubscribe = ({ strapi }: { strapi: Core.Strapi }) => {
  const service = () => getService(strapi, 'unsubscribe');
  const rateLimit = () => getService(strapi, 'rateLimit');
  const settings = () => getService(strapi, 'runtime').config().campaigns;

  const tokenOf = (ctx: Context): unknown => ctx.params.token ?? ctx.query.token;

  /** The budget a request counts against; returns whether the token is ours. */
  const enforceRateLimit = async (ctx: Context): Promise<boolean> => {
    const token = tokenOf(ctx);
    if (!service().verify(token)) {
      await rateLimit().enforce(ctx, 'unsubscribe', settings().rateLimitPerMinute);
      return false;
    }
    const key = createHash('sha256').update(String(token)).digest('base64url').slice(0, 22);
    await rateLimit().enforceFor(ctx, 'unsubscribe-link', key, settings().unsubscribeLinkRateLimitPerMinute);
    return true;
  };

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
      if (!(await enforceRateLimit(ctx))) return respond(ctx, 'invalid', 400);
      const payload = service().verify(tokenOf(ctx));
      if (!payload) return respond(ctx, 'invalid', 400);
      return respond(ctx, 'confirm', 200, payload.email);
    },

    async confirm(ctx: Context) {
      if (!(await enforceRateLimit(ctx))) return respond(ctx, 'invalid', 400);
      const payload = await service().apply(tokenOf(ctx));
      if (!payload) return respond(ctx, 'invalid', 400);
      return respond(ctx, 'done', 200, payload.email);
    },
  };
};

export default unsubscribe;
