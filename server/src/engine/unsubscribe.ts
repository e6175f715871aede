import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Unsubscribe links for campaign mail: a signed token per recipient, the link that carries it, and
 * the `List-Unsubscribe` headers of RFC 8058 that let mail clients show a one-click button.
 *
 * Token: base64url of these bytes, followed by a MAC over all of them:
 *
 *   version (1) | flags (1) | subscriberId | campaignId (if flag 1) | email | issuedAt (if flag 2)
 *
 * Strings are UTF-8 with a 2-byte length in front; issuedAt is 4 bytes of Unix seconds. The MAC is
 * HMAC-SHA256 cut to 16 bytes (128 bits: far beyond guessing, and a shorter link). Nothing in it is
 * secret (the recipient already knows their address); the MAC only proves that we made it.
 *
 * Tokens do not expire by default: an unsubscribe link in a mail from years ago must still work.
 */

const TOKEN_VERSION = 1;
const MAC_BYTES = 16;
const HAS_CAMPAIGN = 0b01;
const HAS_ISSUED_AT = 0b10;
const KNOWN_FLAGS = HAS_CAMPAIGN | HAS_ISSUED_AT;
const MAX_FIELD_BYTES = 0xffff;
const MIN_SECRET_BYTES = 32;
/** Real tokens are ~100 characters; anything much longer is not worth decoding. */
const MAX_TOKEN_CHARS = 2048;

/** The public path of the unsubscribe endpoint, under the site's public URL. */
export const UNSUBSCRIBE_PATH = '/api/multi-smtp/unsubscribe';
/** The body a mail client POSTs for a one-click unsubscribe (RFC 8058). */
export const ONE_CLICK_BODY = 'List-Unsubscribe=One-Click';

export class UnsubscribeError extends Error {}

export interface UnsubscribePayload {
  subscriberId: string;
  campaignId: string | null;
  email: string;
}

export interface VerifiedUnsubscribe extends UnsubscribePayload {
  /** Only when the token was signed with one. */
  issuedAt?: Date;
}

export interface UnsubscribeTokens {
  /** A URL-safe token for this recipient. Give `issuedAt` to allow `maxAgeMs` checks later. */
  sign(payload: UnsubscribePayload & { issuedAt?: Date | number }): string;
  /**
   * What the token says, or null for anything we did not sign (tampered, truncated, garbage,
   * another secret). Never throws. With `maxAgeMs`, a token without `issuedAt` or older is refused.
   */
  verify(token: string, options?: { maxAgeMs?: number; now?: Date | number }): VerifiedUnsubscribe | null;
}

/** Reads a token's bytes one field at a time; any overrun makes the whole token invalid. */
class ByteReader {
  private offset = 0;

  constructor(private readonly bytes: Buffer) {}

  byte(): number | null {
    if (this.offset + 1 > this.bytes.length) return null;
    return this.bytes[this.offset++] ?? null;
  }

  string(): string | null {
    if (this.offset + 2 > this.bytes.length) return null;
    const length = this.bytes.readUInt16BE(this.offset);
    const start = this.offset + 2;
    if (start + length > this.bytes.length) return null;
    this.offset = start + length;
    return this.bytes.toString('utf8', start, start + length);
  }

  uint32(): number | null {
    if (this.offset + 4 > this.bytes.length) return null;
    const value = this.bytes.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  get finished(): boolean {
    return this.offset === this.bytes.length;
  }
}

const lengthPrefixed = (name: string, value: string): Buffer => {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > MAX_FIELD_BYTES) throw new UnsubscribeError(`multi-smtp: unsubscribe token: ${name} is too long`);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

const toEpochMs = (value: Date | number): number => (value instanceof Date ? value.getTime() : value);

/**
 * `secret`: one secret, or a key ring (the current one first, then previous ones): links are signed
 * with the current secret and verified with any, so links already sent keep working after the
 * encryption key is rotated, for as long as the old key stays in the ring.
 */
export const createUnsubscribeTokens = (secret: string | Buffer | readonly (string | Buffer)[]): UnsubscribeTokens => {
  const secrets = Array.isArray(secret) ? secret : [secret as string | Buffer];
  // A key of its own per secret, derived from it, so the same secret can safely serve other purposes too.
  const macKeys = secrets.map((one) => {
    const secretBytes = typeof one === 'string' ? Buffer.from(one, 'utf8') : one;
    if (secretBytes.length < MIN_SECRET_BYTES) {
      throw new UnsubscribeError(`multi-smtp: the unsubscribe secret must be at least ${MIN_SECRET_BYTES} bytes`);
    }
    return Buffer.from(hkdfSync('sha256', secretBytes, Buffer.alloc(0), 'multi-smtp unsubscribe token v1', 32));
  });
  if (macKeys.length === 0) throw new UnsubscribeError('multi-smtp: the unsubscribe tokens need a secret');
  const macWith = (macKey: Buffer, payload: Buffer): Buffer => createHmac('sha256', macKey).update(payload).digest().subarray(0, MAC_BYTES);
  const macOf = (payload: Buffer): Buffer => macWith(macKeys[0]!, payload);
  const anyMacMatches = (given: Buffer, payload: Buffer) => macKeys.some((macKey) => timingSafeEqual(given, macWith(macKey, payload)));

  return {
    sign({ subscriberId, campaignId, email, issuedAt }) {
      if (!subscriberId) throw new UnsubscribeError('multi-smtp: unsubscribe token: subscriberId is required');
      if (!email) throw new UnsubscribeError('multi-smtp: unsubscribe token: email is required');
      const flags = (campaignId !== null ? HAS_CAMPAIGN : 0) | (issuedAt !== undefined ? HAS_ISSUED_AT : 0);
      const parts = [Buffer.from([TOKEN_VERSION, flags]), lengthPrefixed('subscriberId', subscriberId)];
      if (campaignId !== null) parts.push(lengthPrefixed('campaignId', campaignId));
      parts.push(lengthPrefixed('email', email));
      if (issuedAt !== undefined) {
        const seconds = Math.floor(toEpochMs(issuedAt) / 1000);
        if (!Number.isFinite(seconds) || seconds < 0 || seconds > 0xffffffff) {
          throw new UnsubscribeError('multi-smtp: unsubscribe token: issuedAt is not a valid date');
        }
        const issuedAtBytes = Buffer.alloc(4);
        issuedAtBytes.writeUInt32BE(seconds);
        parts.push(issuedAtBytes);
      }
      const payload = Buffer.concat(parts);
      return Buffer.concat([payload, macOf(payload)]).toString('base64url');
    },

    verify(token, options = {}) {
      try {
        if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
        const bytes = Buffer.from(token, 'base64url');
        // Base64 lets a few different last characters decode to the same bytes: accept only ours.
        if (bytes.toString('base64url') !== token || bytes.length < 2 + MAC_BYTES) return null;

        const payload = bytes.subarray(0, bytes.length - MAC_BYTES);
        const givenMac = bytes.subarray(bytes.length - MAC_BYTES);
        if (!anyMacMatches(givenMac, payload)) return null;

        // From here on the bytes are ours; the checks below guard against our own format changing.
        const reader = new ByteReader(payload);
        const version = reader.byte();
        const flags = reader.byte();
        if (version !== TOKEN_VERSION || flags === null || (flags & ~KNOWN_FLAGS) !== 0) return null;
        const subscriberId = reader.string();
        const campaignId = flags & HAS_CAMPAIGN ? reader.string() : null;
        const email = reader.string();
        const issuedAtSeconds = flags & HAS_ISSUED_AT ? reader.uint32() : null;
        if (!subscriberId || !email || !reader.finished) return null;
        if (flags & HAS_CAMPAIGN && campaignId === null) return null;
        if (flags & HAS_ISSUED_AT && issuedAtSeconds === null) return null;

        const issuedAt = issuedAtSeconds === null ? undefined : new Date(issuedAtSeconds * 1000);
        if (options.maxAgeMs !== undefined) {
          const now = toEpochMs(options.now ?? Date.now());
          if (!issuedAt || now - issuedAt.getTime() > options.maxAgeMs) return null;
        }
        return issuedAt ? { subscriberId, campaignId, email, issuedAt } : { subscriberId, campaignId, email };
      } catch {
        return null;
      }
    },
  };
};

/** The recipient's unsubscribe link: the page (GET) and the one-click endpoint (POST) share it. */
export const unsubscribeUrl = (publicUrl: string, token: string): string =>
  `${publicUrl.replace(/\/+$/, '')}${UNSUBSCRIBE_PATH}/${encodeURIComponent(token)}`;

const LINE_BREAK = /[\r\n]/;
/** Characters that would end or split a `<...>` entry of the header (RFC 2369 wants commas encoded). */
const UNSAFE_IN_HEADER_URI = /[\s<>,"]/;

const httpsUri = (value: string): string => {
  if (LINE_BREAK.test(value)) throw new UnsubscribeError('multi-smtp: the unsubscribe URL must not contain a line break');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UnsubscribeError(`multi-smtp: the unsubscribe URL "${value}" is not a valid URL`);
  }
  // RFC 8058: one-click unsubscribe needs an HTTPS URI; mail clients ignore plain http.
  if (url.protocol !== 'https:') throw new UnsubscribeError('multi-smtp: the unsubscribe URL must use https://');
  if (UNSAFE_IN_HEADER_URI.test(url.href)) {
    throw new UnsubscribeError('multi-smtp: the unsubscribe URL must not contain a comma, space, quote or angle bracket');
  }
  return url.href;
};

/** Takes "unsubscribe@example.com" or a full "mailto:" URI; adds `?subject=unsubscribe` when none is given. */
const mailtoUri = (value: string): string => {
  if (LINE_BREAK.test(value)) throw new UnsubscribeError('multi-smtp: the unsubscribe mailto must not contain a line break');
  const uri = /^mailto:/i.test(value) ? value : `mailto:${value}`;
  const address = uri.slice('mailto:'.length).split('?')[0] ?? '';
  if (!/^[^\s@<>,;"]+@[^\s@<>,;"]+$/.test(address) || UNSAFE_IN_HEADER_URI.test(uri)) {
    throw new UnsubscribeError(`multi-smtp: the unsubscribe mailto "${value}" is not a valid address`);
  }
  return uri.includes('?') ? uri : `${uri}?subject=unsubscribe`;
};

/**
 * Headers for campaign mail (RFC 2369 and RFC 8058): the HTTPS link first, then the mailto when
 * configured, and the one-click marker. Mail clients only trust one-click when a DKIM signature
 * covers both headers.
 */
export const listUnsubscribeHeaders = (options: { httpsUrl: string; mailto?: string | null }): Record<string, string> => {
  const uris = [httpsUri(options.httpsUrl)];
  if (options.mailto) uris.push(mailtoUri(options.mailto));
  return {
    'List-Unsubscribe': uris.map((uri) => `<${uri}>`).join(', '),
    'List-Unsubscribe-Post': ONE_CLICK_BODY,
  };
};
