import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { promisify } from 'node:util';

import { GENERATED_KEY_BITS, MAX_KEY_BITS, MIN_KEY_BITS } from '../../../shared/contracts/sending-domains';

/**
 * DKIM keys and the DNS records of a sending domain, without Strapi: key generation and import
 * (an imported key is checked and its public key derived), the header fields to sign, and the
 * TXT records to publish. Nothing here ever puts a private key in an error message.
 */

/**
 * The header fields signed (nodemailer's DKIM signs those of them a message has, in `h=`): its own
 * default list (RFC 4871 §5.5) plus List-Unsubscribe-Post, which RFC 8058 requires to be covered by
 * the signature for one-click unsubscribe, and which nodemailer's default leaves out.
 */
export const DKIM_SIGNED_HEADERS = [
  'From',
  'Sender',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'Content-ID',
  'Content-Description',
  'Resent-Date',
  'Resent-From',
  'Resent-Sender',
  'Resent-To',
  'Resent-Cc',
  'Resent-Message-ID',
  'In-Reply-To',
  'References',
  'List-Id',
  'List-Help',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
  'List-Subscribe',
  'List-Post',
  'List-Owner',
  'List-Archive',
].join(':');

export class DkimKeyError extends Error {}

export interface DkimKeyPair {
  /** PKCS#8 PEM; encrypt it before it is stored. */
  privateKeyPem: string;
  /** base64 of the DER SubjectPublicKeyInfo: the p= tag of the DKIM record. */
  publicKey: string;
  bits: number;
}

const publicKeyOf = (key: KeyObject) => createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('base64');

const pairOf = (privateKey: KeyObject): DkimKeyPair => ({
  privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  publicKey: publicKeyOf(privateKey),
  bits: privateKey.asymmetricKeyDetails?.modulusLength ?? 0,
});

/** A new RSA key pair (2048 bits), made off the event loop. */
export const generateDkimKey = async (): Promise<DkimKeyPair> => {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: GENERATED_KEY_BITS });
  return pairOf(privateKey);
};

/**
 * Reads an imported private key: unencrypted PEM, RSA, 1024 to 4096 bits. Throws a DkimKeyError
 * whose message says what is wrong with it (never a part of it).
 */
export const importDkimKey = (pem: string): DkimKeyPair => {
  const text = pem.trim();
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text) || /Proc-Type:\s*4,ENCRYPTED/i.test(text)) {
    throw new DkimKeyError('must be an unencrypted private key (this one needs a passphrase)');
  }
  if (!/^-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+-----END (RSA )?PRIVATE KEY-----$/.test(text)) {
    throw new DkimKeyError(
      'must be a PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)'
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch {
    // Node's message may quote what it could not parse: it is not passed on.
    throw new DkimKeyError('is not a readable PEM private key');
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new DkimKeyError(
      `must be an RSA key (this one is ${key.asymmetricKeyType ?? 'of another type'}; DKIM here signs with rsa-sha256)`
    );
  }
  const pair = pairOf(key);
  if (pair.bits < MIN_KEY_BITS || pair.bits > MAX_KEY_BITS) {
    throw new DkimKeyError(`must be between ${MIN_KEY_BITS} and ${MAX_KEY_BITS} bits (this one has ${pair.bits})`);
  }
  return pair;
};

/**
 * The ASCII domain of an email address (lower case, IDNs in xn-- form), or null when it has none.
 * Signing looks the sending domain up by it.
 */
export const domainOfAddress = (address: string): string | null => {
  const at = address.lastIndexOf('@');
  if (at < 0) return null;
  const domain = domainToASCII(
    address
      .slice(at + 1)
      .trim()
      .replace(/\.$/, '')
      .toLowerCase()
  );
  return domain || null;
};

/** The domain itself, then each parent with at least two labels: a.b.example.com → b.example.com → example.com. */
export const domainAndParents = (domain: string): string[] => {
  const labels = domain.split('.');
  return labels.slice(0, -1).map((_, index) => labels.slice(index).join('.'));
};

export interface SpfSuggestion {
  /** The mechanisms suggested (ip4:, ip6:, a:), one per usable server host. */
  mechanisms: string[];
  /** Hosts left out, each with why. */
  skipped: { host: string; reason: string }[];
}

const PRIVATE_V4 = [/^127\./, /^10\./, /^192\.168\./, /^172\.(1[6-9]|2\d|3[01])\./, /^169\.254\./, /^0\./];

/** Why a server host cannot stand in a public SPF record, or null if it can. */
const unpublishable = (host: string): string | null => {
  const lower = host.toLowerCase().replace(/^\[|\]$/g, '');
  const family = isIP(lower);
  if (family === 4) return PRIVATE_V4.some((pattern) => pattern.test(lower)) ? 'a loopback or private address' : null;
  if (family === 6) return /^(::1?$|f[cd]|fe[89ab])/.test(lower) ? 'a loopback or private address' : null;
  if (lower === 'localhost' || !lower.includes('.')) return 'not a public host name';
  if (/\.(local|localhost|internal|lan|home\.arpa|test|invalid|example)$/.test(lower)) return 'not a public host name';
  return null;
};

/** An SPF suggestion from the plugin's servers' hosts: ip4:/ip6: for addresses, a: for names. */
export const spfSuggestion = (hosts: readonly string[]): SpfSuggestion => {
  const mechanisms: string[] = [];
  const skipped: SpfSuggestion['skipped'] = [];
  for (const host of new Set(hosts.map((value) => value.trim().toLowerCase()).filter(Boolean))) {
    const reason = unpublishable(host);
    if (reason) {
      skipped.push({ host, reason });
      continue;
    }
    const bare = host.replace(/^\[|\]$/g, '');
    const family = isIP(bare);
    mechanisms.push(family === 4 ? `ip4:${bare}` : family === 6 ? `ip6:${bare}` : `a:${bare}`);
  }
  return { mechanisms, skipped };
};

export const dkimRecordName = (selector: string, domain: string) => `${selector}._domainkey.${domain}`;
export const dkimRecordValue = (publicKey: string) => `v=DKIM1; k=rsa; p=${publicKey}`;
export const spfRecordValue = (mechanisms: readonly string[]) => ['v=spf1', ...mechanisms, '~all'].join(' ');
export const dmarcRecordName = (domain: string) => `_dmarc.${domain}`;
export const dmarcRecordValue = (domain: string) => `v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}`;
