import type Redis from 'ioredis';

import { deleteKeys, testRedis } from '../helpers/redis';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';

type ErrorBody = { error: { message: string; details: { errors: { path: string[]; message: string }[] } } };

const fieldsOf = (response: { body: ErrorBody }) => response.body.error.details.errors.map((error) => error.path.join('.'));

describe('subscribers admin API', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let redis: Redis;
  let newsletter: string;
  let offers: string;

  const createSubscriber = async (body: object) => {
    const response = await api.post('/multi-smtp/subscribers', body);
    expect(response.status).toBe(201);
    return response.body.data as { documentId: string; email: string };
  };

  const expectFieldError = (response: { status: number; body: ErrorBody }, field: string, message?: RegExp) => {
    expect(response.status).toBe(400);
    expect(fieldsOf(response)).toContain(field);
    if (message) {
      const error = response.body.error.details.errors.find((entry) => entry.path.join('.') === field)!;
      expect(error.message).toMatch(message);
    }
  };

  const subscriberCount = () => app.strapi.db.query('plugin::multi-smtp.subscriber' as never).count({});

  beforeAll(async () => {
    app = await startStrapi();
    api = asAdmin(app);
    redis = testRedis();
    newsletter = (await api.post('/multi-smtp/lists', { name: 'Newsletter' })).body.data.documentId;
    offers = (await api.post('/multi-smtp/lists', { name: 'Offers' })).body.data.documentId;
  });
  afterAll(async () => {
    await app?.stop();
    if (redis) {
      await deleteKeys(redis, app.redisPrefix);
      redis.disconnect();
    }
  });

  it('creates a subscriber with its address normalised, attributes and lists', async () => {
    const created = await api.post('/multi-smtp/subscribers', {
      email: '  Ann.Smith@Example.COM ',
      name: 'Ann Smith',
      attributes: { city: 'Paris', age: 41, vip: true, note: null },
      lists: [newsletter, offers, newsletter],
      consentAt: '2024-05-01T09:00:00Z',
    });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({
      email: 'ann.smith@example.com',
      name: 'Ann Smith',
      status: 'subscribed',
      attributes: { city: 'Paris', age: 41, vip: true, note: null },
      consentAt: '2024-05-01T09:00:00.000Z',
      unsubscribedAt: null,
    });
    expect(created.body.data.lists.map((list: { name: string }) => list.name).sort()).toEqual(['Newsletter', 'Offers']);

    const fetched = await api.get(`/multi-smtp/subscribers/${created.body.data.documentId}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body.data.email).toBe('ann.smith@example.com');
  });

  it('refuses an address that is already a subscriber, whatever its case', async () => {
    await createSubscriber({ email: 'bob@example.com' });
    const again = await api.post('/multi-smtp/subscribers', { email: 'BOB@example.com' });
    expectFieldError(again, 'email', /is already a subscriber/);
    expect(again.body.error.message).toBe('email: is already a subscriber');

    const other = await createSubscriber({ email: 'bobby@example.com' });
    expectFieldError(await api.put(`/multi-smtp/subscribers/${other.documentId}`, { email: ' Bob@Example.com' }), 'email');
    // Its own address (in another case) is not a clash.
    const same = await api.put(`/multi-smtp/subscribers/${other.documentId}`, { email: 'BOBBY@example.com' });
    expect(same.status).toBe(200);
    expect(same.body.data.email).toBe('bobby@example.com');
  });

  it('updates fields, replaces lists and attributes, and stamps unsubscribedAt', async () => {
    const subscriber = await createSubscriber({ email: 'carol@example.com', lists: [newsletter], attributes: { a: '1' } });
    const updated = await api.put(`/multi-smtp/subscribers/${subscriber.documentId}`, {
      name: 'Carol',
      lists: [offers],
      attributes: { b: 2 },
      status: 'unsubscribed',
    });
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({ name: 'Carol', attributes: { b: 2 }, status: 'unsubscribed' });
    expect(updated.body.data.lists).toEqual([{ documentId: offers, name: 'Offers' }]);
    expect(Date.parse(updated.body.data.unsubscribedAt)).toBeGreaterThan(Date.now() - 60_000);

    const cleared = await api.put(`/multi-smtp/subscribers/${subscriber.documentId}`, { lists: [], name: null });
    expect(cleared.body.data).toMatchObject({ lists: [], name: null, status: 'unsubscribed' });

    expect((await api.delete(`/multi-smtp/subscribers/${subscriber.documentId}`)).status).toBe(204);
    expect((await api.get(`/multi-smtp/subscribers/${subscriber.documentId}`)).status).toBe(404);
    expect((await api.put(`/multi-smtp/subscribers/${subscriber.documentId}`, { name: 'x' })).status).toBe(404);
    expect((await api.delete(`/multi-smtp/subscribers/${subscriber.documentId}`)).status).toBe(404);
  });

  it('filters by text, status and list; pages and sorts', async () => {
    const list = (await api.post('/multi-smtp/lists', { name: 'Filter list' })).body.data.documentId;
    for (let i = 1; i <= 7; i++) {
      await createSubscriber({
        email: `filter${i}@filter.test`,
        name: i === 3 ? 'Zed Needle' : `Person ${i}`,
        status: i % 2 === 0 ? 'unsubscribed' : 'subscribed',
        lists: i <= 4 ? [list] : [],
      });
    }
    const byEmail = await api.get('/multi-smtp/subscribers?q=FILTER.TEST&pageSize=3&page=2&sort=email:asc');
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.data.map((s: { email: string }) => s.email)).toEqual([
      'filter4@filter.test',
      'filter5@filter.test',
      'filter6@filter.test',
    ]);
    expect(byEmail.body.meta.pagination).toEqual({ page: 2, pageSize: 3, pageCount: 3, total: 7 });

    const byName = await api.get('/multi-smtp/subscribers?q=needle');
    expect(byName.body.data.map((s: { email: string }) => s.email)).toEqual(['filter3@filter.test']);

    const unsubscribed = await api.get('/multi-smtp/subscribers?q=filter.test&status=unsubscribed&sort=email:desc');
    expect(unsubscribed.body.data.map((s: { email: string }) => s.email)).toEqual([
      'filter6@filter.test',
      'filter4@filter.test',
      'filter2@filter.test',
    ]);

    const inList = await api.get(`/multi-smtp/subscribers?list=${list}&status=subscribed&sort=email:asc`);
    expect(inList.body.data.map((s: { email: string }) => s.email)).toEqual(['filter1@filter.test', 'filter3@filter.test']);
  });

  it('answers bad input with 400 naming the field, and writes nothing', async () => {
    const before = await subscriberCount();
    expectFieldError(await api.post('/multi-smtp/subscribers', {}), 'email', /is required/);
    expectFieldError(await api.post('/multi-smtp/subscribers', { email: 'not-an-address' }), 'email');
    expectFieldError(await api.post('/multi-smtp/subscribers', { email: 'a@b.c\r\nBcc: x@y.z' }), 'email');
    expectFieldError(await api.post('/multi-smtp/subscribers', { email: 'ok1@example.com', status: 'gone' }), 'status');
    expectFieldError(await api.post('/multi-smtp/subscribers', { email: 'ok1@example.com', attributes: 'x' }), 'attributes');
    expectFieldError(await api.post('/multi-smtp/subscribers', { email: 'ok1@example.com', attributes: [1] }), 'attributes');
    expectFieldError(
      await api.post('/multi-smtp/subscribers', { email: 'ok1@example.com', attributes: { nested: { a: 1 } } }),
      'attributes.nested'
    );
    expectFieldError(
      await api.post('/multi-smtp/subscribers', {
        email: 'ok1@example.com',
        attributes: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i])),
      }),
      'attributes'
    );
    expectFieldError(await api.post('/multi-smtp/subscribers', { email: 'ok1@example.com', name: 'x'.repeat(201) }), 'name');
    expectFieldError(await api.post('/multi-smtp/subscribers', { email: 'ok1@example.com', lists: 'nope' }), 'lists', /unknown mailing list/);
    expectFieldError(await api.post('/multi-smtp/subscribers', { email: 'ok1@example.com', lists: [newsletter, 'nope'] }), 'lists', /nope/);
    expectFieldError(await api.post('/multi-smtp/subscribers', { email: 'ok1@example.com', lists: [5] }), 'lists', /list of documentIds/);
    expectFieldError(await api.post('/multi-smtp/subscribers', { email: 'ok1@example.com', consentAt: 'yesterday' }), 'consentAt');
    expectFieldError(await api.post('/multi-smtp/subscribers', { email: 'ok1@example.com', unsubscribedAt: null }), 'unsubscribedAt');
    expect(await subscriberCount()).toBe(before);

    const subscriber = await createSubscriber({ email: 'dave@example.com', lists: [newsletter] });
    const refused = await api.put(`/multi-smtp/subscribers/${subscriber.documentId}`, { name: 'Dave', lists: [offers, 'missing'] });
    expectFieldError(refused, 'lists');
    const unchanged = await api.get(`/multi-smtp/subscribers/${subscriber.documentId}`);
    expect(unchanged.body.data).toMatchObject({ name: null, lists: [{ documentId: newsletter, name: 'Newsletter' }] });

    expectFieldError(await api.get('/multi-smtp/subscribers?status=gone'), 'status');
    expectFieldError(await api.get('/multi-smtp/subscribers?sort=attributes:asc'), 'sort');
    expectFieldError(await api.get('/multi-smtp/subscribers?pageSize=0'), 'pageSize');
  });

  describe('unsubscribe, bounce and complaint', () => {
    const service = () => app.strapi.plugin('multi-smtp').service('subscribers');
    const suppressedSet = () => `${app.redisPrefix}:suppressed`;
    const statusOf = async (email: string) =>
      (await api.get(`/multi-smtp/subscribers?q=${encodeURIComponent(email)}`)).body.data[0] as {
        status: string;
        unsubscribedAt: string | null;
      };
    const suppressionOf = async (value: string) =>
      (await api.get(`/multi-smtp/suppressions?q=${encodeURIComponent(value)}`)).body.data.find(
        (entry: { value: string }) => entry.value === value
      );

    it('unsubscribes a subscriber and suppresses the address with the campaign as source', async () => {
      await createSubscriber({ email: 'erin@example.com' });
      const result = await service().unsubscribe({ email: ' Erin@Example.com', campaignId: 'cmp123' });
      expect(result).toEqual({ subscriber: true, statusChanged: true, alreadySuppressed: false });
      const erin = await statusOf('erin@example.com');
      expect(erin.status).toBe('unsubscribed');
      expect(erin.unsubscribedAt).not.toBeNull();
      expect(await suppressionOf('erin@example.com')).toMatchObject({ kind: 'address', reason: 'unsubscribed', source: 'campaign:cmp123' });
      expect(await redis.sismember(suppressedSet(), 'erin@example.com')).toBe(1);

      // Twice is the same as once.
      expect(await service().unsubscribe({ email: 'erin@example.com' })).toEqual({ subscriber: true, statusChanged: false, alreadySuppressed: true });
    });

    it('suppresses an address that is not a subscriber', async () => {
      const result = await service().unsubscribe({ email: 'stranger@elsewhere.test' });
      expect(result).toEqual({ subscriber: false, statusChanged: false, alreadySuppressed: false });
      expect(await suppressionOf('stranger@elsewhere.test')).toMatchObject({ reason: 'unsubscribed', source: 'unsubscribe' });
      expect(await app.strapi.plugin('multi-smtp').service('suppressions').isSuppressed('STRANGER@elsewhere.test')).toBe(true);
    });

    it('marks bounces and complaints, a complaint outranking a later bounce or unsubscribe', async () => {
      await createSubscriber({ email: 'frank@example.com' });
      await service().markBounced('frank@example.com', { source: 'message:m1' });
      expect((await statusOf('frank@example.com')).status).toBe('bounced');
      expect(await suppressionOf('frank@example.com')).toMatchObject({ reason: 'hard-bounce', source: 'message:m1' });

      await createSubscriber({ email: 'gina@example.com' });
      await service().markComplained('gina@example.com', { source: 'message:m2' });
      expect(await service().markBounced('gina@example.com')).toEqual({ subscriber: true, statusChanged: false, alreadySuppressed: true });
      await service().unsubscribe({ email: 'gina@example.com' });
      expect((await statusOf('gina@example.com')).status).toBe('complained');
      expect(await suppressionOf('gina@example.com')).toMatchObject({ reason: 'complaint', source: 'message:m2' });
    });
  });
});
