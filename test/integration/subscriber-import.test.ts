import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';

import { parse } from 'csv-parse/sync';

import type { SubscriberImportReport as Report } from '../../shared/contracts/subscribers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';

interface SubscriberDto {
  documentId: string;
  email: string;
  name: string | null;
  status: string;
  attributes: Record<string, unknown>;
  lists: { documentId: string; name: string }[];
  consentAt: string | null;
}

/** A full garbage collection on demand, without starting Node with --expose-gc. */
const exposeGc = (): (() => void) => {
  if (typeof global.gc === 'function') return global.gc as () => void;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
};

const MAX_IMPORT_BYTES = 8 * 1024 * 1024;

describe('subscriber CSV import and export', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let tmpDir: string;

  const writeCsv = (name: string, content: string) => {
    const file = path.join(tmpDir, name);
    fs.writeFileSync(file, content);
    return file;
  };

  /** POST /subscribers/import as multipart/form-data. */
  const importFile = (file: string | null, fields: Record<string, string> = {}) => {
    let request = app.http().post('/multi-smtp/subscribers/import').set('Authorization', `Bearer ${app.superAdminToken}`);
    for (const [key, value] of Object.entries(fields)) request = request.field(key, value);
    return file ? request.attach('file', file) : request.field('nothing', 'here');
  };

  const createList = async (name: string) => (await api.post('/multi-smtp/lists', { name })).body.data.documentId as string;

  const find = async (q: string) =>
    (await api.get(`/multi-smtp/subscribers?q=${encodeURIComponent(q)}&pageSize=100&sort=email:asc`)).body.data as SubscriberDto[];

  const subscriberCount = () => app.strapi.db.query('plugin::multi-smtp.subscriber' as never).count({});

  beforeAll(async () => {
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'multi-smtp-import-'));
    // 8 MB: the 100,000-row file below is about 5 MB; the size tests send more.
    app = await startStrapi({ pluginConfig: { campaigns: { maxImportBytes: MAX_IMPORT_BYTES } } });
    api = asAdmin(app);
  });
  afterAll(async () => {
    await app?.stop();
    fs.rmSync(tmpDir, { recursive: true, force: true });
  });

  it('imports valid rows, reports each bad row with its number and field, and links lists', async () => {
    const list = await createList('Imported');
    await api.post('/multi-smtp/subscribers', { email: 'existing@import.test', name: 'Kept', attributes: { city: 'Lyon' } });
    const file = writeCsv(
      'mixed.csv',
      [
        'Email,Name,STATUS,city,zip,',
        'ann@import.test,Ann,,Paris,01234,', // 2: ok, zip stays a string
        'not-an-address,Bad,,,,', // 3: invalid address
        'BOB@import.test,Bob,unsubscribed,Nice,,', // 4: ok, unsubscribed
        ' ann@IMPORT.test ,Ann again,,,,', // 5: duplicate of row 2
        'carl@import.test,Carl,sleeping,,,', // 6: bad status
        '', // 7: blank line, ignored
        'dina@import.test,Dina,,,,,extra', // 8: more cells than columns
        ',No address,,,,', // 9: email missing
        'existing@import.test,Renamed,,Marseille,,', // 10: exists, left as is
        'bad"quote@import.test,x,,,,', // 11: not valid CSV
        'eve@import.test,"Eve ""E"" Evans",subscribed,Nantes,,', // 12: ok, quoted
      ].join('\n') + '\n'
    );
    const response = await importFile(file, { lists: list });
    expect(response.status).toBe(200);
    const report = response.body.data as Report;
    expect(report).toMatchObject({ rows: 10, created: 3, updated: 0, skipped: 7, invalid: 6, errorCount: 6, errorsTruncated: false, listed: 4 });
    expect(report.errors).toEqual([
      { row: 3, field: 'email', message: 'is not a valid email address' },
      { row: 5, field: 'email', message: 'repeats row 2' },
      { row: 6, field: 'status', message: 'must be one of: subscribed, unsubscribed, bounced, complained' },
      { row: 8, field: 'row', message: 'has 7 cells but the header has 6 columns' },
      { row: 9, field: 'email', message: 'is required' },
      { row: 11, field: 'row', message: expect.stringMatching(/^not valid CSV: /) },
    ]);

    const imported = await find('import.test');
    expect(imported.map((s) => [s.email, s.name, s.status, s.attributes, s.lists.map((l) => l.name)])).toEqual([
      ['ann@import.test', 'Ann', 'subscribed', { city: 'Paris', zip: '01234' }, ['Imported']],
      ['bob@import.test', 'Bob', 'unsubscribed', { city: 'Nice' }, ['Imported']],
      ['eve@import.test', 'Eve "E" Evans', 'subscribed', { city: 'Nantes' }, ['Imported']],
      ['existing@import.test', 'Kept', 'subscribed', { city: 'Lyon' }, ['Imported']],
    ]);
    const listed = await api.get(`/multi-smtp/lists/${list}`);
    expect(listed.body.data).toMatchObject({ subscriberCount: 4, subscribedCount: 3 });
  });

  it('updates existing subscribers only when asked, merging attributes', async () => {
    await api.post('/multi-smtp/subscribers', { email: 'upd@update.test', name: 'Old', attributes: { a: 'keep', b: 'old' } });
    await api.post('/multi-smtp/subscribers', { email: 'same@update.test', name: 'Same' });
    const file = writeCsv('update.csv', 'email,name,status,b,c\nupd@update.test,New,unsubscribed,new,added\nsame@update.test,,,,\nnew@update.test,,,,\n');

    const left = (await importFile(file)).body.data as Report;
    expect(left).toMatchObject({ rows: 3, created: 1, updated: 0, skipped: 2, invalid: 0 });
    expect((await find('upd@update.test'))[0]).toMatchObject({ name: 'Old', status: 'subscribed', attributes: { a: 'keep', b: 'old' } });

    const updated = (await importFile(file, { updateExisting: 'true' })).body.data as Report;
    // Rows with nothing new count as skipped: "same" has no values, "new" now exists unchanged.
    expect(updated).toMatchObject({ rows: 3, created: 0, updated: 1, skipped: 2, invalid: 0 });
    const upd = (await find('upd@update.test'))[0]!;
    expect(upd).toMatchObject({ name: 'New', status: 'unsubscribed', attributes: { a: 'keep', b: 'new', c: 'added' } });
  });

  it('applies the status option to new rows without a status of their own', async () => {
    const file = writeCsv('status.csv', 'email,status\nopt1@status.test,\nopt2@status.test,subscribed\n');
    const report = (await importFile(file, { status: 'unsubscribed' })).body.data as Report;
    expect(report).toMatchObject({ created: 2, invalid: 0 });
    expect((await find('status.test')).map((s) => [s.email, s.status])).toEqual([
      ['opt1@status.test', 'unsubscribed'],
      ['opt2@status.test', 'subscribed'],
    ]);
  });

  it('refuses a bad file or bad options with 400 naming the field, writing nothing', async () => {
    const before = await subscriberCount();
    const good = writeCsv('good.csv', 'email\nnever@refused.test\n');
    const expectField = (response: { status: number; body: { error: { message: string; details: { errors: { path: string[] }[] } } } }, field: string, message?: RegExp) => {
      expect(response.status).toBe(400);
      expect(response.body.error.details.errors.map((error) => error.path.join('.'))).toContain(field);
      if (message) expect(response.body.error.message).toMatch(message);
    };

    expectField(await importFile(null), 'file', /is required/);
    expectField(await importFile(writeCsv('noemail.csv', 'name,city\nAnn,Paris\n')), 'file', /"email" column/);
    expectField(await importFile(writeCsv('empty.csv', '')), 'file', /empty/);
    expectField(await importFile(writeCsv('blank.csv', '\n\n')), 'file', /empty/);
    expectField(await importFile(writeCsv('twice.csv', 'email,city,City,city\na@b.test,1,2,3\n')), 'file', /"city" appears twice/);
    expectField(
      await importFile(writeCsv('wide.csv', `email,${Array.from({ length: 101 }, (_, i) => `c${i}`).join(',')}\n`)),
      'file',
      /at most 100/
    );
    expectField(await importFile(good, { lists: 'nope,other' }), 'lists', /nope, other/);
    expectField(await importFile(good, { status: 'asleep' }), 'status');
    expectField(await importFile(good, { updateExisting: 'perhaps' }), 'updateExisting');
    expect(await subscriberCount()).toBe(before);
  });

  it('also takes a text/csv body or a raw streamed body, with options in the query', async () => {
    const list = await createList('Raw bodies');
    const text = await app
      .http()
      .post(`/multi-smtp/subscribers/import?lists=${list}`)
      .set('Authorization', `Bearer ${app.superAdminToken}`)
      .set('Content-Type', 'text/csv')
      .send('email,name\ntext1@raw.test,Text One\ntext2@raw.test,Text Two\n');
    expect(text.status).toBe(200);
    expect(text.body.data).toMatchObject({ rows: 2, created: 2, listed: 2 });

    const raw = await app
      .http()
      .post(`/multi-smtp/subscribers/import?lists=${list}&status=unsubscribed`)
      .set('Authorization', `Bearer ${app.superAdminToken}`)
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.from('\ufeffemail\r\nraw1@raw.test\r\n'));
    expect(raw.status).toBe(200);
    expect(raw.body.data).toMatchObject({ rows: 1, created: 1, listed: 1 });
    expect((await find('raw1@raw.test'))[0]).toMatchObject({ status: 'unsubscribed', lists: [{ name: 'Raw bodies' }] });
  });

  it('answers 413 for a file over campaigns.maxImportBytes, in every body form', async () => {
    const row = 'someone@too-big.test,Some One\n';
    const oversized = `email,name\n${row.repeat(Math.ceil((MAX_IMPORT_BYTES + 1024) / row.length))}`;
    const before = await subscriberCount();

    const multipart = await importFile(writeCsv('too-big.csv', oversized));
    expect(multipart.status).toBe(413);
    expect(multipart.body.error.message).toMatch(/larger than 8388608 bytes/);
    const declared = await app
      .http()
      .post('/multi-smtp/subscribers/import')
      .set('Authorization', `Bearer ${app.superAdminToken}`)
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.from(oversized));
    expect(declared.status).toBe(413);
    expect(await subscriberCount()).toBe(before);

    // A chunked body says no length: it is cut off at the limit, and the rest is never read.
    const server = app.strapi.server.httpServer;
    if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/multi-smtp/subscribers/import',
          headers: { Authorization: `Bearer ${app.superAdminToken}`, 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' },
        },
        (response) => {
          let body = '';
          response.on('data', (chunk) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        }
      );
      request.on('error', reject);
      request.write('email\n');
      const lines = 'x@chunked.test\n'.repeat(10_000); // the same address: one subscriber at most
      for (let sent = 0; sent <= MAX_IMPORT_BYTES + lines.length; sent += lines.length) request.write(lines);
      request.end();
    });
    expect(chunked.status).toBe(413);
    expect(chunked.body).toMatch(/maxImportBytes/);
  });

  it('returns at most 1000 error rows and says how many there were', async () => {
    const lines = ['email'];
    for (let i = 0; i < 1500; i++) lines.push(`broken-${i}`);
    lines.push('fine@cap.test');
    const report = (await importFile(writeCsv('errors.csv', lines.join('\n')))).body.data as Report;
    expect(report).toMatchObject({ rows: 1501, created: 1, invalid: 1500, errorCount: 1500, errorsTruncated: true });
    expect(report.errors).toHaveLength(1000);
    expect(report.errors[999]).toEqual({ row: 1001, field: 'email', message: 'is not a valid email address' });
  });

  it('exports subscribers as CSV that imports back to the same subscribers', async () => {
    const vip = await createList('VIP');
    const originals = [
      // An attribute name is a header cell of the export: escaped against formulas like any cell.
      { email: 'rt1@roundtrip.test', name: 'Round One', attributes: { city: 'Paris', status: 'gold', formula: '=1+1', '=cmd|calc': 'x' }, lists: [vip] },
      { email: 'rt2@roundtrip.test', name: '-dash, comma "quote"', attributes: { city: 'Lille\nNord' }, status: 'unsubscribed' },
      { email: 'rt3@roundtrip.test', name: null, attributes: {}, consentAt: '2024-02-03T04:05:06.000Z' },
    ];
    for (const body of originals) expect((await api.post('/multi-smtp/subscribers', body)).status).toBe(201);
    const before = await find('roundtrip.test');

    const exported = await api.get('/multi-smtp/subscribers/export?q=roundtrip.test');
    expect(exported.status).toBe(200);
    expect(exported.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(exported.headers['content-disposition']).toMatch(/^attachment; filename="subscribers-\d{4}-\d{2}-\d{2}\.csv"$/);
    const rows = parse(exported.text, { bom: true, columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([
      'email',
      'name',
      'status',
      'lists',
      'consentAt',
      'unsubscribedAt',
      'createdAt',
      "'=cmd|calc",
      'city',
      'formula',
      'attributes.status',
    ]);
    expect(rows.map((row) => row.email)).toEqual(['rt1@roundtrip.test', 'rt2@roundtrip.test', 'rt3@roundtrip.test']);
    expect(rows[0]).toMatchObject({ lists: 'VIP', formula: "'=1+1", 'attributes.status': 'gold' });
    expect(rows[1]!.name).toBe(`'-dash, comma "quote"`);

    // Filters as in the list.
    const unsubscribed = parse((await api.get('/multi-smtp/subscribers/export?q=roundtrip.test&status=unsubscribed')).text, {
      bom: true,
      columns: true,
    }) as Record<string, string>[];
    expect(unsubscribed.map((row) => row.email)).toEqual(['rt2@roundtrip.test']);
    const inList = parse((await api.get(`/multi-smtp/subscribers/export?list=${vip}`)).text, { bom: true, columns: true }) as Record<string, string>[];
    expect(inList.map((row) => row.email)).toEqual(['rt1@roundtrip.test']);
    expect((await api.get('/multi-smtp/subscribers/export?status=nope')).status).toBe(400);

    for (const subscriber of before) expect((await api.delete(`/multi-smtp/subscribers/${subscriber.documentId}`)).status).toBe(204);
    const report = (await importFile(writeCsv('roundtrip.csv', exported.text), { lists: vip })).body.data as Report;
    expect(report).toMatchObject({ rows: 3, created: 3, invalid: 0 });
    const after = await find('roundtrip.test');
    const comparable = (list: SubscriberDto[]) =>
      list.map(({ email, name, status, attributes, consentAt }) => ({ email, name, status, attributes, consentAt }));
    expect(comparable(after)).toEqual(comparable(before));
  });

  it('imports a 100,000-row file with bounded memory', async () => {
    const list = await createList('Big import');
    const file = path.join(tmpDir, 'big.csv');
    const out = fs.createWriteStream(file);
    out.write('email,name,city,plan\n');
    for (let i = 0; i < 100_000; i++) out.write(`user${i}@big-import.test,User ${i},City ${i % 97},plan-${i % 3}\n`);
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));

    const before = await subscriberCount();
    // Live heap (after a full collection) is what an import holding rows would grow; the raw peak
    // also counts garbage not yet collected, so it is printed, not asserted.
    const gc = exposeGc();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    let rawPeak = heapBefore;
    let livePeak = heapBefore;
    let liveSamples = 0;
    const rawSampler = setInterval(() => {
      rawPeak = Math.max(rawPeak, process.memoryUsage().heapUsed);
    }, 20);
    const liveSampler = setInterval(() => {
      gc();
      liveSamples += 1;
      livePeak = Math.max(livePeak, process.memoryUsage().heapUsed);
    }, 2000);
    const started = Date.now();
    let response;
    try {
      response = await importFile(file, { lists: list });
    } finally {
      clearInterval(rawSampler);
      clearInterval(liveSampler);
    }
    const elapsedMs = Date.now() - started;
    gc();
    const heapAfter = process.memoryUsage().heapUsed;

    expect(response.status).toBe(200);
    expect(response.body.data).toMatchObject({ rows: 100_000, created: 100_000, invalid: 0, listed: 100_000 });
    expect((await subscriberCount()) - before).toBe(100_000);
    expect((await api.get(`/multi-smtp/lists/${list}`)).body.data.subscriberCount).toBe(100_000);
    const sample = (await find('user99999@big-import.test'))[0];
    expect(sample).toMatchObject({ name: 'User 99999', attributes: { city: 'City 89', plan: 'plan-0' } });

    const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
    console.log(
      `100,000-row import: ${elapsedMs} ms (${Math.round(100_000 / (elapsedMs / 1000))} rows/s), file ${mb(fs.statSync(file).size)} MB; ` +
        `heap before ${mb(heapBefore)} MB, live peak +${mb(livePeak - heapBefore)} MB (${liveSamples} samples), raw peak +${mb(rawPeak - heapBefore)} MB, ` +
        `after ${mb(heapAfter)} MB (${mb(heapAfter - heapBefore) >= 0 ? '+' : ''}${mb(heapAfter - heapBefore)} MB)`
    );
    expect(livePeak - heapBefore).toBeLessThan(150 * 1024 * 1024);
    expect(heapAfter - heapBefore).toBeLessThan(50 * 1024 * 1024);

    // And out again, streamed.
    const exportStarted = Date.now();
    const exported = await api.get(`/multi-smtp/subscribers/export?list=${list}`);
    expect(exported.status).toBe(200);
    const lines = exported.text.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(100_001);
    console.log(`100,000-row export: ${Date.now() - exportStarted} ms`);
  }, 600_000);
});
