import { randomBytes, randomUUID } from 'node:crypto';

import {
  classifyTrackingRequest,
  createTrackingTokens,
  isTrackableUrl,
  trackMessage,
  TRACK_CLICK_PATH,
  TRACK_OPEN_PATH,
} from '../../server/src/engine/tracking';

const tokens = createTrackingTokens(randomBytes(32));
const messageId = randomUUID();

describe('tracking tokens', () => {
  it('round-trips opens and clicks', () => {
    expect(tokens.verify(tokens.open(messageId))).toEqual({ kind: 'open', messageId });
    const url = 'https://shop.example/sale?item=42&ref=mail#top';
    expect(tokens.verify(tokens.click(messageId, url))).toEqual({ kind: 'click', messageId, url });
  });

  it('refuses altered, truncated, foreign and garbage tokens', () => {
    const token = tokens.click(messageId, 'https://shop.example/a');
    const bytes = Buffer.from(token, 'base64url');
    for (let index = 0; index < bytes.length; index += 7) {
      const altered = Buffer.from(bytes);
      altered[index] = altered[index]! ^ 0x01;
      expect(tokens.verify(altered.toString('base64url'))).toBeNull();
    }
    expect(tokens.verify(token.slice(0, -2))).toBeNull();
    expect(createTrackingTokens(randomBytes(32)).verify(token)).toBeNull();
    for (const garbage of ['', 'x', '!!!', 'a'.repeat(5000), '..%2F', Buffer.alloc(40).toString('base64url')]) {
      expect(tokens.verify(garbage)).toBeNull();
    }
  });

  it('never signs or accepts a non-web target', () => {
    expect(isTrackableUrl('javascript:alert(1)')).toBe(false);
    expect(isTrackableUrl('data:text/html,hi')).toBe(false);
    expect(isTrackableUrl('/relative')).toBe(false);
    expect(isTrackableUrl('https://ok.example/')).toBe(true);
    expect(tokens.verify(tokens.click(messageId, 'javascript:alert(1)'))).toBeNull();
  });
});

describe('trackMessage', () => {
  const base = {
    messageId,
    tokens,
    publicUrl: 'https://site.example/',
    trackOpens: true,
    trackClicks: true,
  };

  it('rewrites web links to signed redirects and adds a pixel before </body>', () => {
    const html = `<html><body><a href="https://a.example/x?y=1&amp;z=2">A</a> <a class="b" href='http://b.example'>B</a> <a href="mailto:x@y.z">M</a><a href="#top">T</a></body></html>`;
    const out = trackMessage({ ...base, html });
    const clicks = [...out.matchAll(new RegExp(`${TRACK_CLICK_PATH}/([A-Za-z0-9_-]+)`, 'g'))].map((match) => tokens.verify(match[1]!));
    expect(clicks).toEqual([
      { kind: 'click', messageId, url: 'https://a.example/x?y=1&z=2' },
      { kind: 'click', messageId, url: 'http://b.example' },
    ]);
    expect(out).toContain('href="mailto:x@y.z"');
    expect(out).toContain('href="#top"');
    expect(out).toMatch(new RegExp(`<img src="https://site.example${TRACK_OPEN_PATH}/[A-Za-z0-9_-]+\\.gif"[^>]*/></body>`));
  });

  it('leaves the unsubscribe link and data-no-track links alone, and tracks nothing when switched off', () => {
    const html = '<a href="https://site.example/u/1">Unsubscribe</a><a data-no-track href="https://c.example">C</a>';
    const out = trackMessage({ ...base, html, skipUrls: new Set(['https://site.example/u/1']) });
    expect(out).toContain('href="https://site.example/u/1"');
    expect(out).toContain('href="https://c.example"');
    expect(trackMessage({ ...base, html, trackOpens: false, trackClicks: false })).toBe(html);
  });
});

describe('machine opens and clicks', () => {
  const person = { method: 'GET', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36', ip: '203.0.113.9', sinceSentMs: 60_000 };

  it.each([
    ['a HEAD request', { ...person, method: 'HEAD' }, 'head-request'],
    ['no user agent', { ...person, userAgent: null }, 'no-user-agent'],
    ['a security scanner', { ...person, userAgent: 'Mozilla/5.0 (compatible; Barracuda Sentinel)' }, 'scanner'],
    ['a script', { ...person, userAgent: 'python-requests/2.31' }, 'scanner'],
    ["Apple's privacy proxy", { ...person, userAgent: 'Mozilla/5.0', ip: '17.58.1.2' }, 'apple-mail-privacy'],
    ['a fetch within a second of delivery', { ...person, sinceSentMs: 400 }, 'too-fast'],
  ])('flags %s as a machine', (_, request, reason) => {
    expect(classifyTrackingRequest(request, 'open')).toEqual({ machine: true, reason });
  });

  it('counts a person, and Gmail image proxy opens, as human', () => {
    expect(classifyTrackingRequest(person, 'open')).toEqual({ machine: false, reason: null });
    expect(classifyTrackingRequest({ ...person, userAgent: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)' }, 'open').machine).toBe(false);
  });
});
