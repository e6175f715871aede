import {
  createUnsubscribeTokens,
  listUnsubscribeHeaders,
  unsubscribeUrl,
  UnsubscribeError,
} from '../../server/src/engine/unsubscribe';

const secret = 'a-secret-of-at-least-32-bytes-for-tests!';
const payload = { subscriberId: 'sub_k2j4h5g6f7d8s9a0', campaignId: 'cmp_q1w2e3r4t5y6', email: 'ann@example.com' };

describe('unsubscribe tokens', () => {
  const tokens = createUnsubscribeTokens(secret);

  it('round-trips a payload in a compact, URL-safe token', () => {
    const token = tokens.sign(payload);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token.length).toBeLessThan(120);
    expect(tokens.verify(token)).toEqual(payload);
  });

  it('round-trips a token without campaign, and one with non-ASCII text', () => {
    const noCampaign = { subscriberId: 's1', campaignId: null, email: 'zoë@exämple.com' };
    expect(tokens.verify(tokens.sign(noCampaign))).toEqual(noCampaign);
  });

  it('signs the same payload the same way (no expiry, no randomness)', () => {
    expect(tokens.sign(payload)).toBe(tokens.sign(payload));
    expect(createUnsubscribeTokens(secret).verify(tokens.sign(payload))).toEqual(payload);
  });

  it('carries an optional issuedAt and can refuse tokens older than a maximum age', () => {
    const issuedAt = new Date('2030-01-02T03:04:05Z');
    const token = tokens.sign({ ...payload, issuedAt });
    expect(tokens.verify(token)).toEqual({ ...payload, issuedAt });
    const day = 24 * 3600 * 1000;
    expect(tokens.verify(token, { maxAgeMs: day, now: issuedAt.getTime() + day - 1 })).toEqual({ ...payload, issuedAt });
    expect(tokens.verify(token, { maxAgeMs: day, now: issuedAt.getTime() + day + 1000 })).toBeNull();
    // Without issuedAt its age is unknown, so a maximum age refuses it.
    expect(tokens.verify(tokens.sign(payload), { maxAgeMs: day })).toBeNull();
  });

  it('refuses any single-character change', () => {
    const token = tokens.sign(payload);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let position = 0; position < token.length; position++) {
      for (const replacement of [alphabet[(alphabet.indexOf(token[position]!) + 1) % 64]!, '+', '=', '.']) {
        const changed = token.slice(0, position) + replacement + token.slice(position + 1);
        expect(tokens.verify(changed)).toBeNull();
      }
    }
  });

  it('refuses truncated, extended and garbage tokens without throwing', () => {
    const token = tokens.sign(payload);
    const garbage: unknown[] = [
      token.slice(0, -1),
      token.slice(1),
      `${token}A`,
      `${token}==`,
      '',
      'x',
      'not a token',
      '%%%',
      'A'.repeat(5000),
      Buffer.from([1, 0, 0, 1, 65, 0, 1, 66]).toString('base64url'),
      null,
      undefined,
      42,
      {},
    ];
    for (const candidate of garbage) expect(tokens.verify(candidate as string)).toBeNull();
  });

  it('refuses a token signed with another secret', () => {
    const other = createUnsubscribeTokens('another-secret-of-at-least-32-bytes!!');
    expect(other.verify(tokens.sign(payload))).toBeNull();
  });

  it('needs a secret of at least 32 bytes', () => {
    expect(() => createUnsubscribeTokens('too short')).toThrow(UnsubscribeError);
    expect(() => createUnsubscribeTokens(Buffer.alloc(32, 7))).not.toThrow();
  });

  it('refuses to sign without a subscriber or an email', () => {
    expect(() => tokens.sign({ ...payload, subscriberId: '' })).toThrow(/subscriberId/);
    expect(() => tokens.sign({ ...payload, email: '' })).toThrow(/email/);
  });
});

describe('unsubscribe URL', () => {
  it('joins the public URL and the token, with or without a trailing slash', () => {
    expect(unsubscribeUrl('https://example.com', 'tok')).toBe('https://example.com/api/multi-smtp/unsubscribe/tok');
    expect(unsubscribeUrl('https://example.com/', 'tok')).toBe('https://example.com/api/multi-smtp/unsubscribe/tok');
    expect(unsubscribeUrl('https://example.com/site//', 'tok')).toBe('https://example.com/site/api/multi-smtp/unsubscribe/tok');
  });
});

describe('List-Unsubscribe headers (RFC 8058)', () => {
  const httpsUrl = 'https://example.com/api/multi-smtp/unsubscribe/tok';

  it('gives the HTTPS link and the one-click marker', () => {
    expect(listUnsubscribeHeaders({ httpsUrl })).toEqual({
      'List-Unsubscribe': `<${httpsUrl}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    expect(listUnsubscribeHeaders({ httpsUrl, mailto: null })).toEqual(listUnsubscribeHeaders({ httpsUrl }));
  });

  it('adds a mailto after the HTTPS link when configured', () => {
    expect(listUnsubscribeHeaders({ httpsUrl, mailto: 'unsubscribe@example.com' })).toEqual({
      'List-Unsubscribe': `<${httpsUrl}>, <mailto:unsubscribe@example.com?subject=unsubscribe>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    expect(listUnsubscribeHeaders({ httpsUrl, mailto: 'mailto:leave@example.com?subject=stop-tok' })['List-Unsubscribe']).toBe(
      `<${httpsUrl}>, <mailto:leave@example.com?subject=stop-tok>`
    );
  });

  it('refuses a URL that is not https', () => {
    expect(() => listUnsubscribeHeaders({ httpsUrl: 'http://example.com/u/tok' })).toThrow(/https/);
    expect(() => listUnsubscribeHeaders({ httpsUrl: 'javascript:alert(1)' })).toThrow(/https/);
    expect(() => listUnsubscribeHeaders({ httpsUrl: 'not a url' })).toThrow(UnsubscribeError);
  });

  it('refuses line breaks and characters that would break the header', () => {
    expect(() => listUnsubscribeHeaders({ httpsUrl: `${httpsUrl}\r\nBcc: x@example.com` })).toThrow(/line break/);
    expect(() => listUnsubscribeHeaders({ httpsUrl, mailto: 'a@example.com\nBcc: x@example.com' })).toThrow(/line break/);
    expect(() => listUnsubscribeHeaders({ httpsUrl: 'https://example.com/u/a,b' })).toThrow(/comma/);
    expect(() => listUnsubscribeHeaders({ httpsUrl, mailto: 'not an address' })).toThrow(/mailto/);
    expect(() => listUnsubscribeHeaders({ httpsUrl, mailto: 'a@example.com>, <https://evil.example' })).toThrow(/mailto/);
  });
});
