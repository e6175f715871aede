import { createSecretBox, parseEncryptionKey } from '../../server/src/engine/secret-box';

const key = Buffer.alloc(32, 1).toString('base64');

describe('secret box (AES-256-GCM)', () => {
  it('round-trips a secret and never stores it in clear', () => {
    const box = createSecretBox(key);
    const stored = box.encrypt('hunter2-p@ss');
    expect(stored).toMatch(/^v1:[0-9a-f]{8}:/);
    expect(stored).not.toContain('hunter2');
    expect(box.decrypt(stored)).toBe('hunter2-p@ss');
  });

  it('uses a fresh IV each time', () => {
    const box = createSecretBox(key);
    expect(box.encrypt('same')).not.toBe(box.encrypt('same'));
  });

  it('detects tampering without revealing the secret', () => {
    const box = createSecretBox(key);
    const parts = box.encrypt('secret-value').split(':');
    const ciphertext = Buffer.from(parts[4]!, 'base64url');
    ciphertext[0] = ciphertext[0]! ^ 0xff;
    parts[4] = ciphertext.toString('base64url');
    expect(() => box.decrypt(parts.join(':'))).toThrow(/integrity/);
  });

  it('says which key a secret needs when the key changed', () => {
    const stored = createSecretBox(key).encrypt('x');
    const other = createSecretBox(Buffer.alloc(32, 2).toString('hex'));
    expect(() => other.decrypt(stored)).toThrow(/a key that is not configured \(id [0-9a-f]{8}, current [0-9a-f]{8}\): add that key to previousEncryptionKeys/);
  });

  it('decrypts under any key of the ring, encrypts under the current one, and says which values are current', () => {
    const oldKey = key;
    const newKey = Buffer.alloc(32, 3).toString('base64');
    const underOld = createSecretBox(oldKey).encrypt('s3cret');
    const ring = createSecretBox(newKey, [oldKey]);
    expect(ring.decrypt(underOld)).toBe('s3cret');
    expect(ring.isCurrent(underOld)).toBe(false);
    const underNew = ring.encrypt('s3cret');
    expect(ring.isCurrent(underNew)).toBe(true);
    expect(underNew.split(':')[1]).toBe(ring.keyId);
    expect(createSecretBox(newKey).decrypt(underNew)).toBe('s3cret');
    expect(() => createSecretBox(newKey).decrypt(underOld)).toThrow(/not configured/);
  });

  it('refuses a missing or short key with instructions to make one', () => {
    expect(() => parseEncryptionKey(undefined)).toThrow(/randomBytes\(32\)/);
    expect(() => parseEncryptionKey('c2hvcnQ=')).toThrow(/must be 32 bytes \(it decodes to 5\)/);
    expect(parseEncryptionKey('ab'.repeat(32))).toHaveLength(32);
  });
});
