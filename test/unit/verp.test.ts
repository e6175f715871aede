import { createVerp, VerpError } from '../../server/src/engine/verp';

const secret = Buffer.alloc(32, 9);
const id = '3f2a9c0e-4b7d-41c5-a1e2-f3a4b5c6d7e8';

describe('VERP bounce addresses', () => {
  const verp = createVerp(secret, { domain: 'Bounces.Example.com' });

  it('makes a signed, lower-case address per message that fits in 64 characters', () => {
    const address = verp.address(id)!;
    expect(address).toMatch(/^bounce\+u3f2a9c0e4b7d41c5a1e2f3a4b5c6d7e8\.[0-9a-f]{16}@bounces\.example\.com$/);
    expect(address.split('@')[0]!.length).toBeLessThanOrEqual(64);
    expect(verp.address(id)).toBe(address);
    expect(verp.address('3f2a9c0e-4b7d-41c5-a1e2-f3a4b5c6d7e9')).not.toBe(address);
  });

  it('reads the message id back from the address, the token, or the address in angle brackets', () => {
    const address = verp.address(id)!;
    expect(verp.verify(address)?.messageId ?? null).toBe(id);
    expect(verp.verify(`<${address}>`)?.messageId ?? null).toBe(id);
    expect(verp.verify(verp.token(id)!)?.messageId ?? null).toBe(id);
    // A mail system that upper-cases the local part does not break it.
    expect(verp.verify(address.toUpperCase())?.messageId ?? null).toBe(id);
  });

  it('carries short non-UUID ids too, and refuses ids it cannot carry', () => {
    expect(verp.verify(verp.address('msg-42')!)?.messageId ?? null).toBe('msg-42');
    expect(verp.address('Has Spaces')).toBeNull();
    expect(verp.address('x'.repeat(40))).toBeNull();
  });

  it('refuses forged, altered, cut or foreign addresses', () => {
    const address = verp.address(id)!;
    const [local] = address.split('@');
    const mac = local!.split('.').pop()!;
    const flipped = `${local!.slice(0, -1)}${mac.endsWith('0') ? '1' : '0'}@bounces.example.com`;
    expect(verp.verify(flipped)?.messageId ?? null).toBeNull();
    // Another message id with this message's MAC.
    expect(verp.verify(address.replace('u3f2a', 'u3f2b'))?.messageId ?? null).toBeNull();
    expect(verp.verify(address.slice(0, -30))?.messageId ?? null).toBeNull();
    expect(verp.verify(address.replace('bounce+', 'other+'))?.messageId ?? null).toBeNull();
    expect(createVerp(Buffer.alloc(32, 1), { domain: 'bounces.example.com' }).verify(address)?.messageId ?? null).toBeNull();
    for (const garbage of ['', '+', '@', 'bounce+@x', 'bounce+u.1234', 'x'.repeat(10_000), 'bounce+i.0000000000000000']) {
      expect(verp.verify(garbage)?.messageId ?? null).toBeNull();
    }
  });

  it('finds a valid token anywhere in a text: headers, an SRS-rewritten address, a quoted Return-Path', () => {
    const address = verp.address(id)!;
    const token = verp.token(id)!;
    expect(verp.find(`Delivered-To: ${address}\nSubject: x`)?.messageId ?? null).toBe(id);
    expect(verp.find(`To: SRS0=Ab1c=TT=bounces.example.com=bounce+${token}@forwarder.example`)?.messageId ?? null).toBe(id);
    expect(verp.find(`> Return-Path: <${address}>`)?.messageId ?? null).toBe(id);
    // A forged token before the real one is skipped; a longer local part that only ends in "bounce" is not ours.
    expect(verp.find(`To: bounce+u${'0'.repeat(32)}.${'0'.repeat(16)}@x.example\nX-Original-To: ${address}`)?.messageId ?? null).toBe(id);
    expect(verp.find(`To: mybounce+${token}@bounces.example.com`)?.messageId ?? null).toBeNull();
    expect(verp.find('nothing here')?.messageId ?? null).toBeNull();
  });

  it('binds the token of a one-recipient message to that recipient', () => {
    const bound = verp.address(id, ['Ann@Example.com'])!;
    expect(bound).toMatch(/^bounce\+r[0-9a-f]{32}\.[0-9a-f]{16}@bounces\.example\.com$/);
    expect(bound.split('@')[0]!.length).toBeLessThanOrEqual(64);
    // It proves the message and the recipient together, whatever the case of the address...
    expect(verp.verify(bound, ['someone@else.example', 'ann@example.com'])).toEqual({ messageId: id, recipient: 'ann@example.com' });
    expect(verp.find(`Return-Path: <${bound}>`, ['ANN@example.com'])).toEqual({ messageId: id, recipient: 'ann@example.com' });
    // ...and nothing when the report names only other addresses (a recipient forging a DSN about others).
    expect(verp.verify(bound, ['victim@example.org'])).toBeNull();
    expect(verp.verify(bound)).toBeNull();
    // Turned into an unbound token, its MAC no longer fits.
    expect(verp.verify(bound.replace('+r', '+u'), ['ann@example.com'])).toBeNull();
    // Several recipients: an unbound token, as before (the log row says who it went to).
    expect(verp.address(id, ['a@example.com', 'b@example.com'])).toBe(verp.address(id));
    expect(verp.verify(verp.address('msg-7', ['solo@example.com'])!, ['solo@example.com'])).toEqual({ messageId: 'msg-7', recipient: 'solo@example.com' });
  });

  it('takes a configured local part and refuses bad settings', () => {
    const custom = createVerp(secret, { domain: 'b.example.org', localPart: 'rp' });
    expect(custom.address(id)).toMatch(/^rp\+u[0-9a-f]{32}\.[0-9a-f]{16}@b\.example\.org$/);
    expect(custom.verify(custom.address(id)!)?.messageId ?? null).toBe(id);
    expect(verp.verify(custom.address(id)!)?.messageId ?? null).toBeNull();
    expect(() => createVerp(secret, { domain: 'not a domain' })).toThrow(VerpError);
    expect(() => createVerp(secret, { domain: 'b.example', localPart: 'way-too-long-local' })).toThrow(VerpError);
    expect(() => createVerp(Buffer.alloc(8), { domain: 'b.example' })).toThrow(VerpError);
  });
});
