import type Redis from 'ioredis';

import { createList, createSubscriber } from '../helpers/campaigns';
import { deleteKeys, testRedis } from '../helpers/redis';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { sleep } from '../helpers/wait';

type UnsubscribeService = { linkFor(payload: { subscriberId: string; campaignId: string | null; email: string }): string };

describe('public unsubscribe endpoint: confirmation page, RFC 8058 one-click POST, forged tokens, rate limit', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let redis: Redis;
  let listId: string;
  let counter = 0;

  const PUBLIC_URL = 'https://news.example';
  const pathOf = (link: string) => link.slice(PUBLIC_URL.length);
  const linkFor = (email: string, subscriberId = 'sub-1', campaignId: string | null = 'cmp-1') =>
    (app.strapi.plugin('multi-smtp').service('unsubscribe') as UnsubscribeService).linkFor({ subscriberId, campaignId, email });

  /** A fresh subscribed subscriber and the path of their unsubscribe link. */
  const subscriberWithLink = async () => {
    const email = `reader${++counter}@example.com`;
    const subscriber = await createSubscriber(api, { email, name: 'Reader', lists: [listId] });
    return { email, id: subscriber.documentId, path: pathOf(linkFor(email, subscriber.documentId)) };
  };
  const subscriberStatus = async (id: string) => (await api.get(`/multi-smtp/subscribers/${id}`)).body.data.status as string;
  const suppressionsOf = async (email: string) =>
    ((await api.get(`/multi-smtp/suppressions?q=${encodeURIComponent(email)}`)).body.data as { value: string; reason: string; source: string }[]).filter(
      (suppression) => suppression.value === email
    );
  const totalSuppressions = async () => (await api.get('/multi-smtp/suppressions')).body.meta.pagination.total as number;

  beforeAll(async () => {
    redis = testRedis();
    app = await startStrapi({ pluginConfig: { worker: { enabled: false }, publicUrl: PUBLIC_URL } });
    api = asAdmin(app);
    listId = (await createList(api, 'Newsletter')).documentId;
  });
  afterAll(async () => {
    await app?.stop();
    if (app) await deleteKeys(redis, app.redisPrefix);
    redis.disconnect();
  });
  // Each test starts with a fresh rate-limit window for 127.0.0.1.
  beforeEach(() => deleteKeys(redis, `${app.redisPrefix}:ratelimit:`));

  it('links carry a signed token under the public URL', () => {
    expect(linkFor('ann@example.com')).toMatch(/^https:\/\/news\.example\/api\/multi-smtp\/unsubscribe\/[A-Za-z0-9_-]{40,}$/);
  });

  it('GET shows a self-contained confirmation page with a POST button, records nothing and sets no cookie', async () => {
    const { id, path } = await subscriberWithLink();
    const nameInPage = `<i>"x"</i>@example.com`;
    for (const url of [path, `/api/multi-smtp/unsubscribe?token=${path.split('/').pop()}`]) {
      const response = await app.http().get(url).set('Accept', 'text/html');
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(response.headers['content-security-policy']).toBe(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
      );
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.text).toMatch(/reader\d+@example\.com/);
      expect(response.text).toContain('<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">');
      expect(response.text).not.toMatch(/<script|<link|src=/i);
    }
    expect(await subscriberStatus(id)).toBe('subscribed');

    // Whatever the token holds is escaped on the page.
    const odd = await app.http().get(pathOf(linkFor(nameInPage))).set('Accept', 'text/html');
    expect(odd.text).toContain('&#60;i&#62;&#34;x&#34;&#60;/i&#62;@example.com');
    expect(odd.text).not.toContain('<i>');
  });

  it('one-click POST with application/x-www-form-urlencoded unsubscribes and suppresses at once', async () => {
    const { email, id, path } = await subscriberWithLink();
    const response = await app.http().post(path).type('form').send('List-Unsubscribe=One-Click');
    expect(response.status).toBe(200);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.text).toContain('You are unsubscribed');
    expect(await subscriberStatus(id)).toBe('unsubscribed');
    expect(await suppressionsOf(email)).toEqual([expect.objectContaining({ reason: 'unsubscribed', source: `campaign:cmp-1` })]);
    expect(await redis.sismember(`${app.redisPrefix}:suppressed`, email)).toBe(1);

    // A second POST (mail clients retry) changes nothing and still answers 200.
    expect((await app.http().post(path).type('form').send('List-Unsubscribe=One-Click')).status).toBe(200);
    expect(await suppressionsOf(email)).toHaveLength(1);
  });

  it('one-click POST with multipart/form-data unsubscribes and suppresses', async () => {
    const { email, id, path } = await subscriberWithLink();
    const response = await app.http().post(path).field('List-Unsubscribe', 'One-Click');
    expect((response as unknown as { req: { getHeader(name: string): string } }).req.getHeader('content-type')).toMatch(/^multipart\/form-data; boundary=/);
    expect(response.status).toBe(200);
    expect(await subscriberStatus(id)).toBe('unsubscribed');
    expect(await suppressionsOf(email)).toHaveLength(1);
  });

  it("the page's own form post (token in the query) works, and JSON is answered to a client that asks for it", async () => {
    const { id, path } = await subscriberWithLink();
    const token = path.split('/').pop();
    const response = await app.http().post(`/api/multi-smtp/unsubscribe?token=${token}`).set('Accept', 'application/json').type('form').send({ 'List-Unsubscribe': 'One-Click' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { unsubscribed: true, email: expect.stringMatching(/^reader\d+@example\.com$/) } });
    expect(await subscriberStatus(id)).toBe('unsubscribed');
  });

  it('suppresses an address that is not a subscriber (a collection audience or a test send)', async () => {
    const email = 'member-42@example.com';
    const response = await app.http().post(pathOf(linkFor(email, '-', 'cmp-9'))).type('form').send('List-Unsubscribe=One-Click');
    expect(response.status).toBe(200);
    expect(await suppressionsOf(email)).toEqual([expect.objectContaining({ reason: 'unsubscribed', source: 'campaign:cmp-9' })]);
  });

  it('refuses forged, truncated or missing tokens with 400 and records nothing', async () => {
    const { id, path } = await subscriberWithLink();
    const token = path.split('/').pop()!;
    const flipped = `${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
    const before = await totalSuppressions();
    for (const bad of [flipped, token.slice(0, -4), 'not-a-token', 'x'.repeat(3000)]) {
      const post = await app.http().post(`/api/multi-smtp/unsubscribe/${bad}`).type('form').send('List-Unsubscribe=One-Click');
      expect(post.status).toBe(400);
      expect(post.text).toContain('This link does not work');
      expect((await app.http().get(`/api/multi-smtp/unsubscribe/${bad}`)).status).toBe(400);
    }
    const missing = await app.http().post('/api/multi-smtp/unsubscribe').set('Accept', 'application/json').type('form').send('List-Unsubscribe=One-Click');
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/token/);
    // A token signed with another key is as good as forged.
    const { createUnsubscribeTokens } = await import('../../server/src/engine/unsubscribe');
    const foreign = createUnsubscribeTokens(Buffer.alloc(32, 9)).sign({ subscriberId: id, campaignId: null, email: 'victim@example.com' });
    expect((await app.http().post(`/api/multi-smtp/unsubscribe/${foreign}`).type('form').send('List-Unsubscribe=One-Click')).status).toBe(400);

    expect(await subscriberStatus(id)).toBe('subscribed');
    expect(await totalSuppressions()).toBe(before);
  });

  /** Sets the limits for one test (the parsed config is read at each request). */
  const withLimits = async (limits: { rateLimitPerMinute: number; unsubscribeLinkRateLimitPerMinute: number }, run: () => Promise<void>) => {
    const campaigns = (app.strapi.plugin('multi-smtp').service('runtime') as { config(): { campaigns: typeof limits } }).config().campaigns;
    const original = { ...campaigns };
    Object.assign(campaigns, limits);
    // Not across a window boundary: the count starts afresh each minute.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await sleep(60_000 - intoMinute + 50);
    try {
      await run();
    } finally {
      Object.assign(campaigns, original);
    }
  };
  const forgedPath = (index: number) => `/api/multi-smtp/unsubscribe/forged-token-${index}`;

  it('answers 429 with Retry-After once a client IP goes over the limit with links that are not ours', async () => {
    await withLimits({ rateLimitPerMinute: 3, unsubscribeLinkRateLimitPerMinute: 30 }, async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await app.http().get(forgedPath(i))).status);
      const over = await app.http().post(forgedPath(9)).type('form').send('List-Unsubscribe=One-Click');
      expect(statuses).toEqual([400, 400, 400]);
      expect(over.status).toBe(429);
      expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(60);
    });
  });

  it("one client cannot block anyone's one-click unsubscribe: a valid link has its own budget", async () => {
    await withLimits({ rateLimitPerMinute: 3, unsubscribeLinkRateLimitPerMinute: 4 }, async () => {
      const { id, path } = await subscriberWithLink();
      // The same address (a shared proxy, a mailbox provider) has used up its budget with junk...
      for (let i = 0; i < 5; i += 1) await app.http().get(forgedPath(i));
      expect((await app.http().get(forgedPath(99))).status).toBe(429);
      // ...and the RFC 8058 POST of a real link still goes through.
      const oneClick = await app.http().post(path).type('form').send('List-Unsubscribe=One-Click');
      expect(oneClick.status).toBe(200);
      expect(await subscriberStatus(id)).toBe('unsubscribed');
      // One link hammered on its own is limited too (4 a minute here), without touching other links.
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await app.http().get(path)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const other = await subscriberWithLink();
      expect((await app.http().post(other.path).type('form').send('List-Unsubscribe=One-Click')).status).toBe(200);
    });
  });

  it('a client cannot dodge the per-IP limit by writing X-Forwarded-For when Strapi trusts its proxy', async () => {
    const koa = app.strapi.server.app as { proxy: boolean; maxIpsCount: number };
    const original = { proxy: koa.proxy, maxIpsCount: koa.maxIpsCount };
    try {
      await withLimits({ rateLimitPerMinute: 3, unsubscribeLinkRateLimitPerMinute: 30 }, async () => {
        // Trusted proxy, maxIpsCount unset: the entry the proxy appended (rightmost) is the client, not the ones before it.
        koa.proxy = true;
        koa.maxIpsCount = 0;
        const spoofed = (index: number) => app.http().get(forgedPath(index)).set('X-Forwarded-For', `203.0.113.${index}, 198.51.100.7`);
        const statuses: number[] = [];
        for (let i = 0; i < 4; i += 1) statuses.push((await spoofed(i)).status);
        expect(statuses).toEqual([400, 400, 400, 429]);
        // Another real client behind the same proxy has its own bucket.
        expect((await app.http().get(forgedPath(50)).set('X-Forwarded-For', '192.0.2.1, 198.51.100.8')).status).toBe(400);

        // maxIpsCount = 2 (two proxies): the address the outer proxy saw counts; the client's own prefix is ignored.
        koa.maxIpsCount = 2;
        const behindTwo = (index: number) => app.http().get(forgedPath(index)).set('X-Forwarded-For', `10.9.9.${index}, 192.0.2.77, 198.51.100.9`);
        const twoHops: number[] = [];
        for (let i = 0; i < 4; i += 1) twoHops.push((await behindTwo(i)).status);
        expect(twoHops).toEqual([400, 400, 400, 429]);
      });
    } finally {
      Object.assign(koa, original);
    }
  });
});
