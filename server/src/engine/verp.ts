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
 * A message with one recipient (all campaign mail) gets a token bound to that recipient: `r` (or `k`
 * for a short id) instead of `u` (`i`), and the MAC covers the message id and the recipient's
 * address. Such a token proves a report's recipient only when the report names that same address,
 * so a recipient who mails in a forged DSN or complaint listing other addresses, with their own
 * bounce address, cannot get those addresses suppressed, even after the message's log row is gone.
 * A message to several recipients keeps the unbound token: it links the report, and the log row
 * says who the message went to.
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
/** Addresses of one report tried against a bound token (a report naming thousands is cut). */
const MAX_CANDIDATES = 1000;
/** Longest text scanned for a token. */
const MAX_SCAN = 4 * 1024 * 1024;

export class VerpError extends Error {}

export interface VerpOptions {
  /** The domain of the bounce addresses, e.g. bounces.example.com (its MX or mailbox feeds the inbound endpoint). */
  domain: string;
  /** Before the '+'. Default 'bounce'. */
  localPart?: string;
}

/** What a valid token says: the message, and the recipient it is bound to (null for an unbound token). */
export interface VerpMatch {
  messageId: string;
  recipient: string | null;
}

export interface Verp {
  /**
   * The message's bounce address, or null for an id that cannot be carried (not a UUID and not
   * short). With exactly one recipient the token is bound to it.
   */
  address(messageId: string, recipients?: readonly string[]): string | null;
  /** The token alone (what follows '+'), or null as above. */
  token(messageId: string, recipients?: readonly string[]): string | null;
  /**
   * What a token or an address carries, or null when it is not ours (forged, cut, garbage). A bound
   * token verifies only with its recipient among `candidates` (the addresses a report names).
   */
  verify(tokenOrAddress: string, candidates?: readonly string[]): VerpMatch | null;
  /**
   * The first valid VERP token found in a text (headers, a whole bounce). Tokens are found by the
   * `<localPart>+` in front of them, with any domain after (a forwarder may have rewritten it: SRS
   * turns the '@' into '='); each is checked by its MAC, as verify() does.
   */
  find(text: string, candidates?: readonly string[]): VerpMatch | null;
}

/** How a recipient enters a bound MAC: trimmed, lower case (mail systems fold the case of addresses). */
const recipientKey = (address: string) => address.trim().toLowerCase();

const escapeRegExp = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The VERP MAC key, derived from the encryption key (or any secret of at least 32 bytes). */
export const verpKeyOf = (secret: Buffer | string): Buffer => {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (bytes.length < MIN_SECRET_BYTES) throw new VerpError(`multi-smtp: the VERP secret must be at least ${MIN_SECRET_BYTES} bytes`);
  return Buffer.from(hkdfSync('sha256', bytes, Buffer.alloc(0), 'multi-smtp verp v1', 32));
};

/** `secret`: one secret, or a key ring (current first): addresses are signed with the current one, verified with any, so bounces of mail sent before a key rotation still link. */
export const createVerp = (secret: Buffer | string | readonly (Buffer | string)[], options: VerpOptions): Verp => {
  const keys = (Array.isArray(secret) ? secret : [secret as Buffer | string]).map(verpKeyOf);
  if (keys.length === 0) throw new VerpError('multi-smtp: VERP needs a secret');
  const localPart = options.localPart ?? 'bounce';
  if (!VERP_LOCAL_PART.test(localPart)) {
    throw new VerpError(`multi-smtp: the VERP local part "${localPart}" must be 1-12 letters, digits, '.', '_' or '-'`);
  }
  const domain = options.domain.trim().toLowerCase();
  if (!/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/.test(domain)) {
    throw new VerpError(`multi-smtp: the VERP domain "${options.domain}" is not a domain name`);
  }
  /** Unbound: over the message id alone (as every token was before binding). Bound: id and recipient. */
  const macWith = (key: Buffer, messageId: string, recipient: string | null) =>
    createHmac('sha256', key)
      .update(recipient === null ? messageId : `${messageId}\n${recipient}`, 'utf8')
      .digest('hex')
      .slice(0, MAC_HEX);
  const macOf = (messageId: string, recipient: string | null) => macWith(keys[0]!, messageId, recipient);
  const pattern = new RegExp(`(?:^|[^a-z0-9._-])${escapeRegExp(localPart)}\\+([uirk][0-9a-z-]{1,32}\\.[0-9a-f]{${MAC_HEX}})(?![0-9a-z])`, 'gi');

  /** u/i: unbound UUID / short id; r/k: the same, bound to the message's one recipient. */
  const encode = (messageId: string, bound: boolean): string | null => {
    if (UUID.test(messageId)) return `${bound ? 'r' : 'u'}${messageId.replace(/-/g, '')}`;
    if (SHORT_ID.test(messageId)) return `${bound ? 'k' : 'i'}${messageId}`;
    return null;
  };

  const decode = (encoded: string): { messageId: string; bound: boolean } | null => {
    const kind = encoded[0];
    const rest = encoded.slice(1);
    if (kind === 'u' || kind === 'r') {
      if (!/^[0-9a-f]{32}$/.test(rest)) return null;
      const messageId = `${rest.slice(0, 8)}-${rest.slice(8, 12)}-${rest.slice(12, 16)}-${rest.slice(16, 20)}-${rest.slice(20)}`;
      return { messageId, bound: kind === 'r' };
    }
    if (kind === 'i' || kind === 'k') return SHORT_ID.test(rest) ? { messageId: rest, bound: kind === 'k' } : null;
    return null;
  };

  const token = (messageId: string, recipients: readonly string[] = []): string | null => {
    const recipient = recipients.length === 1 ? recipientKey(recipients[0]!) : null;
    const encoded = encode(messageId, recipient !== null);
    return encoded ? `${encoded}.${macOf(messageId, recipient)}` : null;
  };

  /** The MAC under any key of the ring. */
  const sameMac = (mac: string, messageId: string, recipient: string | null) =>
    keys.some((key) => timingSafeEqual(Buffer.from(mac), Buffer.from(macWith(key, messageId, recipient))));

  const verifyToken = (candidate: string, candidates: readonly string[]): VerpMatch | null => {
    const value = candidate.toLowerCase();
    const dot = value.lastIndexOf('.');
    if (dot <= 0) return null;
    const decoded = decode(value.slice(0, dot));
    const mac = value.slice(dot + 1);
    if (!decoded || mac.length !== MAC_HEX || !/^[0-9a-f]+$/.test(mac)) return null;
    const { messageId, bound } = decoded;
    if (!bound) return sameMac(mac, messageId, null) ? { messageId, recipient: null } : null;
    for (const address of new Set(candidates.slice(0, MAX_CANDIDATES).map(recipientKey))) {
      if (sameMac(mac, messageId, address)) return { messageId, recipient: address };
    }
    return null;
  };

  return {
    token,

    address(messageId, recipients) {
      const value = token(messageId, recipients);
      if (!value) return null;
      const local = `${localPart}+${value}`;
      return local.length <= MAX_LOCAL_PART ? `${local}@${domain}` : null;
    },

    verify(tokenOrAddress, candidates = []) {
      if (typeof tokenOrAddress !== 'string' || tokenOrAddress.length > 512) return null;
      let value = tokenOrAddress.trim().replace(/^<|>$/g, '');
      const at = value.lastIndexOf('@');
      if (at >= 0) value = value.slice(0, at);
      const plus = value.indexOf('+');
      if (plus >= 0) {
        if (value.slice(0, plus).toLowerCase() !== localPart.toLowerCase()) return null;
        value = value.slice(plus + 1);
      }
      return verifyToken(value, candidates);
    },

    find(text, candidates = []) {
      if (typeof text !== 'string' || !text) return null;
      const scanned = text.length > MAX_SCAN ? text.slice(0, MAX_SCAN) : text;
      pattern.lastIndex = 0;
      for (let match = pattern.exec(scanned); match; match = pattern.exec(scanned)) {
        const found = verifyToken(match[1]!, candidates);
        if (found) return found;
      }
      return null;
    },
  };
};
