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
    expect(verp.verify(address)).toBe(id);
    expect(verp.verify(`<${address}>`)).toBe(id);
    expect(verp.verify(verp.token(id)!)).toBe(id);
    // A mail system that upper-cases the local part does not break it.
    expect(verp.verify(address.toUpperCase())).toBe(id);
  });

  it('carries short non-UUID ids too, and refuses ids it cannot carry', () => {
    expect(verp.verify(verp.address('msg-42')!)).toBe('msg-42');
    expect(verp.address('Has Spaces')).toBeNull();
    expect(verp.address('x'.repeat(40))).toBeNull();
  });

  it('refuses forged, altered, cut or foreign addresses', () => {
    const address = verp.address(id)!;
    const [local] = address.split('@');
    const mac = local!.split('.').pop()!;
    const flipped = `${local!.slice(0, -1)}${mac.endsWith('0') ? '1' : '0'}@bounces.example.com`;
    expect(verp.verify(flipped)).toBeNull();
    // Another message id with this message's MAC.
    expect(verp.verify(address.replace('u3f2a', 'u3f2b'))).toBeNull();
    expect(verp.verify(address.slice(0, -30))).toBeNull();
    expect(verp.verify(address.replace('bounce+', 'other+'))).toBeNull();
    expect(createVerp(Buffer.alloc(32, 1), { domain: 'bounces.example.com' }).verify(address)).toBeNull();
    for (const garbage of ['', '+', '@', 'bounce+@x', 'bounce+u.1234', 'x'.repeat(10_000), 'bounce+i.0000000000000000']) {
      expect(verp.verify(garbage)).toBeNull();
    }
  });

  it('finds a valid token anywhere in a text: headers, an SRS-rewritten address, a quoted Return-Path', () => {
    const address = verp.address(id)!;
    const token = verp.token(id)!;
    expect(verp.find(`Delivered-To: ${address}\nSubject: x`)).toBe(id);
    expect(verp.find(`To: SRS0=Ab1c=TT=bounces.example.com=bounce+${token}@forwarder.example`)).toBe(id);
    expect(verp.find(`> Return-Path: <${address}>`)).toBe(id);
    // A forged token before the real one is skipped; a longer local part that only ends in "bounce" is not ours.
    expect(verp.find(`To: bounce+u${'0'.repeat(32)}.${'0'.repeat(16)}@x.example\nX-Original-To: ${address}`)).toBe(id);
    expect(verp.find(`To: mybounce+${token}@bounces.example.com`)).toBeNull();
    expect(verp.find('nothing here')).toBeNull();
  });

  it('takes a configured local part and refuses bad settings', () => {
    const custom = createVerp(secret, { domain: 'b.example.org', localPart: 'rp' });
    expect(custom.address(id)).toMatch(/^rp\+u[0-9a-f]{32}\.[0-9a-f]{16}@b\.example\.org$/);
    expect(custom.verify(custom.address(id)!)).toBe(id);
    expect(verp.verify(custom.address(id)!)).toBeNull();
    expect(() => createVerp(secret, { domain: 'not a domain' })).toThrow(VerpError);
    expect(() => createVerp(secret, { domain: 'b.example', localPart: 'way-too-long-local' })).toThrow(VerpError);
    expect(() => createVerp(Buffer.alloc(8), { domain: 'b.example' })).toThrow(VerpError);
  });
});
