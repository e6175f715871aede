import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Encrypts secrets (SMTP passwords, later DKIM keys) at rest with AES-256-GCM.
 *
 * Stored form: `v1:<key id>:<iv>:<auth tag>:<ciphertext>` (base64url parts). The key id is the
 * first 8 hex characters of the key's SHA-256, so a value encrypted under another key is reported as
 * such instead of failing as a corrupt blob.
 *
 * Key ring: new values are encrypted under the current key; values under a previous key (config
 * `previousEncryptionKeys`) still decrypt, by their key id, until the rotation command
 * (`multi-smtp-rotate-key`) has re-encrypted them under the current one.
 */
const VERSION = 'v1';
const IV_BYTES = 12;

export const ENCRYPTION_KEY_HELP =
  'Set the plugin config `encryptionKey` (usually from the env var MULTI_SMTP_ENCRYPTION_KEY) to 32 random bytes, ' +
  'base64 or hex encoded. Make one with: ' +
  `node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`;

export class SecretBoxError extends Error {}

/** Reads a 32-byte key given as base64 (44 chars) or hex (64 chars); throws with the help text otherwise. */
export const parseEncryptionKey = (raw: string | undefined | null): Buffer => {
  const value = (raw ?? '').trim();
  if (!value) {
    throw new SecretBoxError(`multi-smtp: no encryption key. ${ENCRYPTION_KEY_HELP}`);
  }
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== 32) {
    throw new SecretBoxError(
      `multi-smtp: the encryption key must be 32 bytes (it decodes to ${key.length}). ${ENCRYPTION_KEY_HELP}`
    );
  }
  return key;
};

export interface SecretBox {
  encrypt(plain: string): string;
  decrypt(stored: string): string;
  /** The id of the key new values are encrypted under. */
  readonly keyId: string;
  /** True when a stored value is under the current key (else the rotation re-encrypts it). */
  isCurrent(stored: string): boolean;
}

/** The id a stored value names for its key (the first 8 hex characters of the key's SHA-256). */
export const keyIdOf = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 8);

export const createSecretBox = (rawKey: string, previousKeys: readonly string[] = []): SecretBox => {
  const key = parseEncryptionKey(rawKey);
  const keyId = keyIdOf(key);
  const ring = new Map<string, Buffer>();
  for (const previous of previousKeys) {
    const parsed = parseEncryptionKey(previous);
    ring.set(keyIdOf(parsed), parsed);
  }
  ring.set(keyId, key);

  return {
    keyId,

    isCurrent(stored) {
      return stored.split(':')[1] === keyId;
    },

    encrypt(plain) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, keyId, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join(':');
    },

    decrypt(stored) {
      const parts = stored.split(':');
      if (parts.length !== 5 || parts[0] !== VERSION) {
        throw new SecretBoxError('multi-smtp: a stored secret is not in a known format');
      }
      const [, storedKeyId, iv, tag, ciphertext] = parts as [string, string, string, string, string];
      const storedKey = ring.get(storedKeyId);
      if (!storedKey) {
        throw new SecretBoxError(
          `multi-smtp: a stored secret was encrypted under a key that is not configured (id ${storedKeyId}, current ${keyId}): add that key to previousEncryptionKeys, or set the secret again`
        );
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', storedKey, Buffer.from(iv, 'base64url'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        // Never include the blob or the key in the error.
        throw new SecretBoxError('multi-smtp: a stored secret failed its integrity check');
      }
    },
  };
};
