import type { Core } from '@strapi/strapi';

import {
  listUnsubscribeHeaders,
  unsubscribeUrl,
  type UnsubscribePayload,
  type VerifiedUnsubscribe,
} from '../engine/unsubscribe';
import { getService } from '../utils/get-service';

/**
 * Unsubscribe links and their public endpoint: a signed token per recipient (engine/unsubscribe.ts,
 * keyed from the encryption key), the link and List-Unsubscribe headers campaign mail carries, and
 * what a click (or a mail client's one-click POST) does: the address is unsubscribed and suppressed.
 *
 * Recipients that are not subscribers (a collection audience, a test send) still get a token: its
 * subscriberId is then a placeholder, and only the address and the campaign matter.
 */

/** The subscriberId put in tokens of recipients that are not subscribers (test sends). */
export const NON_SUBSCRIBER_ID = '-';

const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

export type UnsubscribePageKind = 'confirm' | 'done' | 'invalid';

/** Served with the pages: nothing but their own inline style, forms only to this site, no framing. */
export const UNSUBSCRIBE_PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The small public pages of the unsubscribe link: self-contained (no scripts, fonts or images),
 * every value escaped. The confirm page's form posts to the page's own URL (token included) with the
 * RFC 8058 body, so a click and a mail client's one-click POST are handled the same way.
 */
export const unsubscribePage = (kind: UnsubscribePageKind, email?: string): string => {
  const address = email ? `<strong>${escapeHtml(email)}</strong>` : 'this address';
  const body = {
    confirm: `<h1>Unsubscribe</h1>
<p>Stop sending these emails to ${address}?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
    done: `<h1>You are unsubscribed</h1>
<p>${address} will not receive these emails any more.</p>`,
    invalid: `<h1>This link does not work</h1>
<p>This unsubscribe link is not valid. It may have been cut short: open the whole link from the email, or reply to the email and ask to be removed.</p>`,
  }[kind];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Unsubscribe</title>
<style>body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f6f6f9;color:#32324d;margin:0;padding:48px 16px}
main{max-width:440px;margin:0 auto;background:#fff;border-radius:8px;padding:32px;box-shadow:0 1px 4px rgba(33,33,52,.1)}
h1{font-size:22px;margin:0 0 16px}p{line-height:1.5;word-break:break-word}
button{background:#4945ff;color:#fff;border:0;border-radius:4px;padding:10px 20px;font-size:15px;cursor:pointer}</style>
</head><body><main>
${body}
</main></body></html>
`;
};

/** Never a valid signed token (those are base64url payload.signature), so the endpoint refuses it. */
const PREVIEW_TOKEN = 'preview';

const unsubscribe = ({ strapi }: { strapi: Core.Strapi }) => {
  const runtime = () => getService(strapi, 'runtime');
  let warnedNotHttps = false;

  /** The site's public URL (config publicUrl), else Strapi's own absolute URL. */
  const baseUrl = (): string => {
    const configured = runtime().config().publicUrl;
    if (configured) return configured;
    const absolute = strapi.config.get('server.absoluteUrl') as string | undefined;
    return absolute || 'http://localhost:1337';
  };

  return {
    /**
     * The link a preview shows: shaped like a real one, but inert (the endpoint answers it as an
     * invalid link and records nothing). A preview must not mint a working one-click link for any
     * address a `campaigns.read` user types in.
     */
    previewLink(): string {
      return unsubscribeUrl(baseUrl(), PREVIEW_TOKEN);
    },

    /** This recipient's personal link: the page on GET, one-click unsubscribe on POST. */
    linkFor(payload: UnsubscribePayload): string {
      const token = runtime().unsubscribeTokens().sign({ ...payload, subscriberId: payload.subscriberId || NON_SUBSCRIBER_ID });
      return unsubscribeUrl(baseUrl(), token);
    },

    /**
     * List-Unsubscribe (the link, and the mailto when configured) and List-Unsubscribe-Post (RFC 8058).
     * Mail clients only honour HTTPS links: without an https publicUrl no headers are added (the
     * link in the body still works) and a warning says so once.
     */
    headersFor(link: string): Record<string, string> {
      if (!link.startsWith('https://')) {
        if (!warnedNotHttps) {
          warnedNotHttps = true;
          strapi.log.warn(
            '[multi-smtp] campaign mail goes out without List-Unsubscribe headers: set the plugin config publicUrl to the https:// address of the site'
          );
        }
        return {};
      }
      return listUnsubscribeHeaders({ httpsUrl: link, mailto: runtime().config().campaigns.unsubscribeMailto ?? null });
    },

    /** What a token says, or null for anything this site did not sign. */
    verify(token: unknown): VerifiedUnsubscribe | null {
      if (typeof token !== 'string' || !token) return null;
      return runtime().unsubscribeTokens().verify(token);
    },

    /**
     * Unsubscribes and suppresses the token's address (idempotent). Null, and nothing recorded,
     * when the token is not valid.
     */
    async apply(token: unknown): Promise<VerifiedUnsubscribe | null> {
      const payload = this.verify(token);
      if (!payload) return null;
      await getService(strapi, 'subscribers').unsubscribe({
        email: payload.email,
        campaignId: payload.campaignId ?? undefined,
      });
      return payload;
    },
  };
};

export type UnsubscribeService = ReturnType<typeof unsubscribe>;
export default unsubscribe;
