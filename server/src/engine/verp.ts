import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * VERP (variable envelope return path): every message goes out with its own signed bounce address
 * as the envelope sender (MAIL FROM), so a bounce that comes back, however mangled its text, says
 * which message it is about:
 *
 *   bounce+u3f2a9c0e4b7d41c5a1e2f3a4b5c6d7e8.1a2b3c4d5e6f7a8b@bounces.example.com
 *   ^local ^ ^--- the message id ---------^ ^--- MAC ------^  ^ verpDomain
 *
 * The token is the message id (`u` + the UUID's 32 hex digits, or `i` + a short id as it is) and
 * 64 bits of HMAC-SHA256 over it, keyed from the encryption key (HKDF, a label of its own). Only
 * lower-case letters, digits and '-' / '.', so a mail system that folds the local part's case
 * cannot break it, and the whole local part stays within the 64 characters RFC 5321 allows.
 * A forged or altered address is refused (the MAC), so a bounce can only ever name a message we sent.
 *
 * Plain TypeScript, no I/O.
 */

const MAC_HEX = 16;
const MIN_SECRET_BYTES = 32;
/** RFC 5321: a local part has at most 64 octets. */
const MAX_LOCAL_PART = 64;
/** Ids that are not UUIDs: short, lower case, digits and '-' (the engine's ids are UUIDs). */
const SHORT_ID = /^[0-9a-z-]{1,32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The local part before '+': what an operator may choose (at most 12 characters, so every token fits). */
export const VERP_LOCAL_PART = /^[a-z0-9](?:[a-z0-9._-]{0,10}[a-z0-9])?$/i;
/** Longest text scanned for a token. */
const MAX_SCAN = 4 * 1024 * 1024;

export class VerpError extends Error {}

export interface VerpOptions {
  /** The domain of the bounce addresses, e.g. bounces.example.com (its MX or mailbox feeds the inbound endpoint). */
  domain: string;
  /** Before the '+'. Default 'bounce'. */
  localPart?: string;
}

export interface Verp {
  /** The message's bounce address, or null for an id that cannot be carried (not a UUID and not short). */
  address(messageId: string): string | null;
  /** The token alone (what follows '+'), or null as above. */
  token(messageId: string): string | null;
  /** The message id a token or an address carries, or null when it is not ours (forged, cut, garbage). */
  verify(tokenOrAddress: string): string | null;
  /**
   * The message id of the first valid VERP token found in a text (headers, a whole bounce). Tokens
   * are found by the `<localPart>+` in front of them, with any domain after (a forwarder may have
   * rewritten it: SRS turns the '@' into '='); each is checked by its MAC.
   */
  find(text: string): string | null;
}

const escapeRegExp = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The VERP MAC key, derived from the encryption key (or any secret of at least 32 bytes). */
export const verpKeyOf = (secret: Buffer | string): Buffer => {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (bytes.length < MIN_SECRET_BYTES) throw new VerpError(`multi-smtp: the VERP secret must be at least ${MIN_SECRET_BYTES} bytes`);
  return Buffer.from(hkdfSync('sha256', bytes, Buffer.alloc(0), 'multi-smtp verp v1', 32));
};

export const createVerp = (secret: Buffer | string, options: VerpOptions): Verp => {
  const key = verpKeyOf(secret);
  const localPart = options.localPart ?? 'bounce';
  if (!VERP_LOCAL_PART.test(localPart)) {
    throw new VerpError(`multi-smtp: the VERP local part "${localPart}" must be 1-12 letters, digits, '.', '_' or '-'`);
  }
  const domain = options.domain.trim().toLowerCase();
  if (!/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/.test(domain)) {
    throw new VerpError(`multi-smtp: the VERP domain "${options.domain}" is not a domain name`);
  }
  const macOf = (messageId: string) => createHmac('sha256', key).update(messageId, 'utf8').digest('hex').slice(0, MAC_HEX);
  const pattern = new RegExp(`(?:^|[^a-z0-9._-])${escapeRegExp(localPart)}\\+([ui][0-9a-z-]{1,32}\\.[0-9a-f]{${MAC_HEX}})(?![0-9a-z])`, 'gi');

  const encode = (messageId: string): string | null => {
    if (UUID.test(messageId)) return `u${messageId.replace(/-/g, '')}`;
    if (SHORT_ID.test(messageId)) return `i${messageId}`;
    return null;
  };

  const decode = (encoded: string): string | null => {
    if (encoded.startsWith('u')) {
      const hex = encoded.slice(1);
      if (!/^[0-9a-f]{32}$/.test(hex)) return null;
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    if (encoded.startsWith('i')) {
      const id = encoded.slice(1);
      return SHORT_ID.test(id) ? id : null;
    }
    return null;
  };

  const token = (messageId: string): string | null => {
    const encoded = encode(messageId);
    return encoded ? `${encoded}.${macOf(messageId)}` : null;
  };

  const verifyToken = (candidate: string): string | null => {
    const value = candidate.toLowerCase();
    const dot = value.lastIndexOf('.');
    if (dot <= 0) return null;
    const messageId = decode(value.slice(0, dot));
    const mac = value.slice(dot + 1);
    if (!messageId || mac.length !== MAC_HEX || !/^[0-9a-f]+$/.test(mac)) return null;
    return timingSafeEqual(Buffer.from(mac), Buffer.from(macOf(messageId))) ? messageId : null;
  };

  return {
    token,

    address(messageId) {
      const value = token(messageId);
      if (!value) return null;
      const local = `${localPart}+${value}`;
      return local.length <= MAX_LOCAL_PART ? `${local}@${domain}` : null;
    },

    verify(tokenOrAddress) {
      if (typeof tokenOrAddress !== 'string' || tokenOrAddress.length > 512) return null;
      let value = tokenOrAddress.trim().replace(/^<|>$/g, '');
      const at = value.lastIndexOf('@');
      if (at >= 0) value = value.slice(0, at);
      const plus = value.indexOf('+');
      if (plus >= 0) {
        if (value.slice(0, plus).toLowerCase() !== localPart.toLowerCase()) return null;
        value = value.slice(plus + 1);
      }
      return verifyToken(value);
    },

    find(text) {
      if (typeof text !== 'string' || !text) return null;
      const scanned = text.length > MAX_SCAN ? text.slice(0, MAX_SCAN) : text;
      pattern.lastIndex = 0;
      for (let match = pattern.exec(scanned); match; match = pattern.exec(scanned)) {
        const messageId = verifyToken(match[1]!);
        if (messageId) return messageId;
      }
      return null;
    },
  };
};
