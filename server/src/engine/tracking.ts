import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Open and click tracking for campaign mail: signed tokens, the rewriting of a message's links and
 * its tracking pixel, and telling machine fetches (mail-privacy proxies, link scanners) from people.
 *
 * Token: base64url of
 *
 *   version (1) | kind (1: open, 2: click) | message id (16 bytes of its UUID) | url (click only, UTF-8) | MAC (16)
 *
 * The MAC is HMAC-SHA256 (key derived from the plugin's encryption key, its own HKDF label) over
 * everything before it, cut to 16 bytes. A click token carries its target URL, bound to the message
 * by the MAC: the redirect can only ever go to a URL that was in that message (no open redirect),
 * personalised links included, and no table of links has to be looked up. Anything altered or
 * forged fails the MAC and is refused without being recorded.
 */

const TOKEN_VERSION = 1;
const MAC_BYTES = 16;
const UUID_BYTES = 16;
const KIND_OPEN = 1;
const KIND_CLICK = 2;
/** Links longer than this are left as they are (a token grows with its URL). */
const MAX_URL_CHARS = 2000;
const MAX_TOKEN_CHARS = 4096;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The public paths of the tracking endpoints, under the site's public URL. */
export const TRACK_OPEN_PATH = '/api/multi-smtp/track/open';
export const TRACK_CLICK_PATH = '/api/multi-smtp/track/click';

export type TrackingToken = { kind: 'open'; messageId: string } | { kind: 'click'; messageId: string; url: string };

export interface TrackingTokens {
  open(messageId: string): string;
  click(messageId: string, url: string): string;
  /** What a token says, or null for anything we did not sign. Never throws. */
  verify(token: string): TrackingToken | null;
}

const uuidToBytes = (id: string): Buffer => {
  if (!UUID.test(id)) throw new Error('tracking: message ids must be UUIDs');
  return Buffer.from(id.replace(/-/g, ''), 'hex');
};

const bytesToUuid = (bytes: Buffer): string => {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/** `secret`: one secret, or a key ring (current first): signed with the current one, verified with any, so sent links outlive a key rotation. */
export const createTrackingTokens = (secret: Buffer | string | readonly (Buffer | string)[]): TrackingTokens => {
  const secrets = Array.isArray(secret) ? secret : [secret as Buffer | string];
  const macKeys = secrets.map((one) => {
    const secretBytes = typeof one === 'string' ? Buffer.from(one, 'utf8') : one;
    if (secretBytes.length < 32) throw new Error('tracking: the secret must be at least 32 bytes');
    return Buffer.from(hkdfSync('sha256', secretBytes, Buffer.alloc(0), 'multi-smtp tracking token v1', 32));
  });
  if (macKeys.length === 0) throw new Error('tracking: a secret is required');
  const macWith = (macKey: Buffer, payload: Buffer) => createHmac('sha256', macKey).update(payload).digest().subarray(0, MAC_BYTES);
  const macOf = (payload: Buffer) => macWith(macKeys[0]!, payload);
  const seal = (payload: Buffer) => Buffer.concat([payload, macOf(payload)]).toString('base64url');

  return {
    open(messageId) {
      return seal(Buffer.concat([Buffer.from([TOKEN_VERSION, KIND_OPEN]), uuidToBytes(messageId)]));
    },

    click(messageId, url) {
      return seal(Buffer.concat([Buffer.from([TOKEN_VERSION, KIND_CLICK]), uuidToBytes(messageId), Buffer.from(url, 'utf8')]));
    },

    verify(token) {
      try {
        if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
        const bytes = Buffer.from(token, 'base64url');
        // Several last characters can decode to the same bytes: accept only the one we make.
        if (bytes.toString('base64url') !== token || bytes.length < 2 + UUID_BYTES + MAC_BYTES) return null;
        const payload = bytes.subarray(0, bytes.length - MAC_BYTES);
        const givenMac = bytes.subarray(bytes.length - MAC_BYTES);
        if (!macKeys.some((macKey) => timingSafeEqual(givenMac, macWith(macKey, payload)))) return null;
        const [version, kind] = payload;
        if (version !== TOKEN_VERSION) return null;
        const messageId = bytesToUuid(payload.subarray(2, 2 + UUID_BYTES));
        const rest = payload.subarray(2 + UUID_BYTES);
        if (kind === KIND_OPEN) return rest.length === 0 ? { kind: 'open', messageId } : null;
        if (kind !== KIND_CLICK) return null;
        const url = rest.toString('utf8');
        return isTrackableUrl(url) ? { kind: 'click', messageId, url } : null;
      } catch {
        return null;
      }
    },
  };
};

/** Only web links are tracked (and redirected to): never javascript:, data:, mailto: or relative ones. */
export const isTrackableUrl = (url: string): boolean => {
  if (url.length > MAX_URL_CHARS || /[\s<>"]/.test(url)) return false;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:';
  } catch {
    return false;
  }
};

const decodeEntities = (value: string) =>
  value.replace(/&(amp|quot|#39|#x27|lt|gt);/gi, (_, name: string) => ({ amp: '&', quot: '"', '#39': "'", '#x27': "'", lt: '<', gt: '>' })[name.toLowerCase()] ?? _);

const encodeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;');

/**
 * Anchors' href attributes, quoted with " or '. An HTML parser would be overkill: templates are
 * rendered HTML where links are plain anchors, and anything unusual is simply left untracked.
 */
const ANCHOR_HREF = /(<a\b[^>]*?\shref\s*=\s*)(?:"([^"]*)"|'([^']*)')/gi;

export interface TrackMessageOptions {
  html: string;
  messageId: string;
  tokens: TrackingTokens;
  /** The site's public URL, e.g. https://example.com (no trailing slash needed). */
  publicUrl: string;
  trackOpens: boolean;
  trackClicks: boolean;
  /** Links left alone (the unsubscribe link must work without a redirect). */
  skipUrls?: ReadonlySet<string>;
}

/** Rewrites a rendered message's links and adds its tracking pixel, as the campaign asks. */
export const trackMessage = (options: TrackMessageOptions): string => {
  const base = options.publicUrl.replace(/\/+$/, '');
  let html = options.html;
  if (options.trackClicks) {
    html = html.replace(ANCHOR_HREF, (whole, prefix: string, doubleQuoted?: string, singleQuoted?: string) => {
      const url = decodeEntities((doubleQuoted ?? singleQuoted ?? '').trim());
      if (!isTrackableUrl(url) || options.skipUrls?.has(url)) return whole;
      // Links the editor marked with data-no-track stay as they are.
      if (/\sdata-no-track\b/i.test(whole)) return whole;
      const tracked = `${base}${TRACK_CLICK_PATH}/${options.tokens.click(options.messageId, url)}`;
      return `${prefix}"${encodeAttribute(tracked)}"`;
    });
  }
  if (options.trackOpens) {
    const pixel = `<img src="${base}${TRACK_OPEN_PATH}/${options.tokens.open(options.messageId)}.gif" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px;" />`;
    html = /<\/body\s*>/i.test(html) ? html.replace(/<\/body\s*>/i, (close) => `${pixel}${close}`) : `${html}${pixel}`;
  }
  return html;
};

/** A transparent 1x1 GIF, the body of every open answer. */
export const TRACKING_PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export interface TrackingRequest {
  method: string;
  userAgent: string | null;
  ip: string | null;
  /** ms since the message was accepted by the SMTP server, when known. */
  sinceSentMs: number | null;
}

export interface MachineVerdict {
  machine: boolean;
  /** Why it was taken for a machine. */
  reason: string | null;
}

/** Security gateways and link scanners that fetch every link of a message, and generic HTTP clients. */
const SCANNER_AGENT =
  /bot\b|crawler|spider|scanner|barracuda|mimecast|proofpoint|safelinks|symantec|trendmicro|trend micro|forcepoint|sophos|fireeye|cisco|ironport|messagelabs|zscaler|python-requests|python-urllib|curl\/|wget\/|go-http-client|java\/|okhttp|libwww|httpclient|headless/i;

/** Apple Mail Privacy Protection fetches from Apple's own network, whether or not the mail is read. */
const isAppleNetwork = (ip: string | null) => !!ip && /^(::ffff:)?17\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip);

/** People do not open (or click) within a second or two of delivery; scanners do. */
const TOO_FAST_MS = 2000;

/**
 * Whether an open or click came from a machine rather than a person. Gmail's and Yahoo's image
 * proxies fetch when the person opens the mail, so they count as human; Apple's Mail Privacy
 * Protection prefetches every message, so it does not.
 */
export const classifyTrackingRequest = (request: TrackingRequest, kind: 'open' | 'click'): MachineVerdict => {
  const agent = request.userAgent?.trim() ?? '';
  if (request.method.toUpperCase() === 'HEAD') return { machine: true, reason: 'head-request' };
  if (!agent) return { machine: true, reason: 'no-user-agent' };
  if (SCANNER_AGENT.test(agent)) return { machine: true, reason: 'scanner' };
  // Apple's proxy sends a bare "Mozilla/5.0" from Apple's 17.0.0.0/8 network.
  if (kind === 'open' && (isAppleNetwork(request.ip) || agent === 'Mozilla/5.0')) return { machine: true, reason: 'apple-mail-privacy' };
  if (request.sinceSentMs !== null && request.sinceSentMs >= 0 && request.sinceSentMs < TOO_FAST_MS) return { machine: true, reason: 'too-fast' };
  return { machine: false, reason: null };
};
