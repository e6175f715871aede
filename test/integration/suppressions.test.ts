import type Redis from 'ioredis';
import { parse } from 'csv-parse/sync';

import { deleteKeys, testRedis } from '../helpers/redis';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';

type ErrorBody = { error: { details: { errors: { path: string[]; message: string }[] } } };

describe('suppression list', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let redis: Redis;

  const setKey = () => `${app.redisPrefix}:suppressed`;
  const service = () => app.strapi.plugin('multi-smtp').service('suppressions');
  const members = async () => (await redis.smembers(setKey())).sort();

  const add = async (body: object, status = 201) => {
    const response = await api.post('/multi-smtp/suppressions', body);
    expect(response.status).toBe(status);
    return response.body.data as { documentId: string; value: string; kind: string };
  };

  const expectFieldError = (response: { status: number; body: ErrorBody }, field: string) => {
    expect(response.status).toBe(400);
    expect(response.body.error.details.errors.map((error) => error.path.join('.'))).toContain(field);
  };

  beforeAll(async () => {
    app = await startStrapi();
    api = asAdmin(app);
    redis = testRedis();
  });
  afterAll(async () => {
    await app?.stop();
    if (redis) {
      await deleteKeys(redis, app.redisPrefix);
      redis.disconnect();
    }
  });

  it('adds addresses and domains, infers the kind, normalises, and mirrors them in Redis', async () => {
    const address = await add({ value: '  Spam.Trap@Example.COM ', reason: 'manual', note: 'seen in logs' });
    expect(address).toMatchObject({ value: 'spam.trap@example.com', kind: 'address', reason: 'manual', source: null, note: 'seen in logs' });
    const domain = await add({ value: 'Blocked.Example', reason: 'complaint', source: 'admin' });
    expect(domain).toMatchObject({ value: 'blocked.example', kind: 'domain', reason: 'complaint', source: 'admin' });
    const atDomain = await add({ value: '@other.example' });
    expect(atDomain).toMatchObject({ value: 'other.example', kind: 'domain', reason: 'manual' });

    expect(await members()).toEqual(['@blocked.example', '@other.example', 'spam.trap@example.com']);
  });

  it('is idempotent: adding a suppressed value again returns the first entry with 200', async () => {
    const first = await add({ value: 'twice@example.com', reason: 'hard-bounce', source: 'message:1' });
    const again = await api.post('/multi-smtp/suppressions', { value: 'TWICE@example.com', reason: 'manual' });
    expect(again.status).toBe(200);
    expect(again.body.data).toMatchObject({ documentId: first.documentId, reason: 'hard-bounce', source: 'message:1' });
    expect(again.body.meta).toEqual({ created: false });

    // Many adds of one value at once leave one row.
    const results = await Promise.all(
      Array.from({ length: 8 }, () => service().add({ value: 'race@example.com', reason: 'unsubscribed' }))
    );
    expect(new Set(results.map((result: { suppression: { documentId: string } }) => result.suppression.documentId)).size).toBe(1);
    expect(results.filter((result: { created: boolean }) => result.created)).toHaveLength(1);
    expect(await redis.sismember(setKey(), 'race@example.com')).toBe(1);
  });

  it('matches an address by itself or by its domain, in one round trip for many', async () => {
    await add({ value: 'one@match.test' });
    await add({ value: 'whole-domain.test' });
    expect(await service().isSuppressed('ONE@match.test ')).toBe(true);
    expect(await service().isSuppressed('two@match.test')).toBe(false);
    expect(await service().isSuppressed('anyone@whole-domain.test')).toBe(true);
    expect(await service().isSuppressed('anyone@sub.whole-domain.test')).toBe(false);

    const emails = ['one@match.test', 'Two@match.test', 'X@Whole-Domain.test', 'y@whole-domain.test', 'free@ok.test'];
    const suppressed: Set<string> = await service().filterSuppressed(emails);
    expect(emails.filter((email) => suppressed.has(email))).toEqual(['one@match.test', 'X@Whole-Domain.test', 'y@whole-domain.test']);
    expect(suppressed.has('x@whole-domain.test')).toBe(true);
    expect(await service().filterSuppressed([])).toEqual(new Set());

    // One command for the whole batch.
    const monitor = await redis.monitor();
    // MONITOR sees every client of the shared Redis: on a busy machine replies still arrive while it
    // disconnects, which ioredis reports as an error on this connection, not a fault of the code tested.
    monitor.on('error', () => undefined);
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[1] === setKey()) commands.push(args[0]!);
    });
    await service().filterSuppressed(Array.from({ length: 500 }, (_, i) => `user${i}@domain${i % 50}.test`));
    await new Promise((resolve) => setTimeout(resolve, 100));
    monitor.disconnect();
    expect(commands).toEqual(['smismember']);
  });

  it('removes an entry from the database and from Redis', async () => {
    const entry = await add({ value: 'removable@example.com' });
    expect(await redis.sismember(setKey(), 'removable@example.com')).toBe(1);
    expect((await api.delete(`/multi-smtp/suppressions/${entry.documentId}`)).status).toBe(204);
    expect(await redis.sismember(setKey(), 'removable@example.com')).toBe(0);
    expect(await service().isSuppressed('removable@example.com')).toBe(false);
    expect((await api.delete(`/multi-smtp/suppressions/${entry.documentId}`)).status).toBe(404);
    expect((await api.get(`/multi-smtp/suppressions/${entry.documentId}`)).status).toBe(404);

    const domain = await add({ value: 'gone-domain.test' });
    expect((await api.delete(`/multi-smtp/suppressions/${domain.documentId}`)).status).toBe(204);
    expect(await redis.sismember(setKey(), '@gone-domain.test')).toBe(0);
  });

  it('searches, filters and pages', async () => {
    await add({ value: 'needle-1@search.test', reason: 'complaint' });
    await add({ value: 'needle-2@search.test', reason: 'manual', note: 'from the help desk' });
    await add({ value: 'search.test', reason: 'manual', source: 'needle-source' });
    const byText = await api.get('/multi-smtp/suppressions?q=NEEDLE&sort=value:asc');
    expect(byText.status).toBe(200);
    expect(byText.body.data.map((entry: { value: string }) => entry.value)).toEqual([
      'needle-1@search.test',
      'needle-2@search.test',
      'search.test',
    ]);
    const byNote = await api.get('/multi-smtp/suppressions?q=help%20desk');
    expect(byNote.body.data.map((entry: { value: string }) => entry.value)).toEqual(['needle-2@search.test']);
    const domains = await api.get('/multi-smtp/suppressions?q=search.test&kind=domain');
    expect(domains.body.data.map((entry: { value: string }) => entry.value)).toEqual(['search.test']);
    const complaints = await api.get('/multi-smtp/suppressions?q=search.test&reason=complaint');
    expect(complaints.body.data.map((entry: { value: string }) => entry.value)).toEqual(['needle-1@search.test']);
    const paged = await api.get('/multi-smtp/suppressions?q=search.test&pageSize=2&page=2&sort=value:asc');
    expect(paged.body.data.map((entry: { value: string }) => entry.value)).toEqual(['search.test']);
    expect(paged.body.meta.pagination).toEqual({ page: 2, pageSize: 2, pageCount: 2, total: 3 });
  });

  it('answers bad input with 400 naming the field', async () => {
    expectFieldError(await api.post('/multi-smtp/suppressions', {}), 'value');
    expectFieldError(await api.post('/multi-smtp/suppressions', { value: '' }), 'value');
    expectFieldError(await api.post('/multi-smtp/suppressions', { value: 'not a domain' }), 'value');
    expectFieldError(await api.post('/multi-smtp/suppressions', { value: 'a@@b.c' }), 'value');
    expectFieldError(await api.post('/multi-smtp/suppressions', { value: 'localhost' }), 'value');
    expectFieldError(await api.post('/multi-smtp/suppressions', { value: 'x@y.test\r\n' + 'z' }), 'value');
    expectFieldError(await api.post('/multi-smtp/suppressions', { value: 'ok@ok.test', reason: 'because' }), 'reason');
    expectFieldError(await api.post('/multi-smtp/suppressions', { value: 'ok@ok.test', kind: 'domain' }), 'kind');
    expectFieldError(await api.post('/multi-smtp/suppressions', { value: 'ok@ok.test', source: 'a\nb' }), 'source');
    expectFieldError(await api.post('/multi-smtp/suppressions', { value: 'ok@ok.test', note: 'x'.repeat(2001) }), 'note');
    expectFieldError(await api.get('/multi-smtp/suppressions?kind=ip'), 'kind');
    expectFieldError(await api.get('/multi-smtp/suppressions?reason=x'), 'reason');
    expectFieldError(await api.get('/multi-smtp/suppressions?sort=note:asc'), 'sort');
    expect(await service().isSuppressed('ok@ok.test')).toBe(false);
  });

  it('rebuilds the Redis set from the database: missing members back, stale ones gone', async () => {
    const expected = (
      (await app.strapi.db.query('plugin::multi-smtp.suppression' as never).findMany({ select: ['value', 'kind'] })) as {
        value: string;
        kind: string;
      }[]
    )
      .map((row) => (row.kind === 'domain' ? `@${row.value}` : row.value))
      .sort();
    expect(expected.length).toBeGreaterThanOrEqual(10);

    await redis.del(setKey());
    await redis.sadd(setKey(), 'stale@example.com', '@stale.example');
    const result = await service().syncToRedis();
    expect(result.members).toBe(expected.length);
    expect(await members()).toEqual(expected);

    // Also from nothing at all, and over more than one page.
    const many = Array.from({ length: 2500 }, (_, i) => ({ value: `bulk${i}@bulk.test`, kind: 'address', reason: 'manual', publishedAt: new Date() }));
    await app.strapi.db.query('plugin::multi-smtp.suppression' as never).createMany({ data: many });
    await redis.del(setKey());
    const bulk = await service().syncToRedis();
    expect(bulk.members).toBe(expected.length + 2500);
    expect(await redis.scard(setKey())).toBe(expected.length + 2500);
    expect(await service().isSuppressed('bulk2499@bulk.test')).toBe(true);
  });

  it('exports the suppressions as CSV', async () => {
    await add({ value: 'export@csv.test', reason: 'complaint', source: 'message:9', note: '=HYPERLINK("x")' });
    const response = await api.get('/multi-smtp/suppressions/export?q=csv.test');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename="suppressions-\d{4}-\d{2}-\d{2}\.csv"$/);
    const rows = parse(response.text, { bom: true, columns: true }) as Record<string, string>[];
    expect(rows).toEqual([
      {
        value: 'export@csv.test',
        kind: 'address',
        reason: 'complaint',
        source: 'message:9',
        note: `'=HYPERLINK("x")`,
        createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      },
    ]);
    expect((await api.get('/multi-smtp/suppressions/export?kind=nope')).status).toBe(400);
  });
});
