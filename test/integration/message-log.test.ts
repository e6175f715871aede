import { ACTIONS } from '../../shared/permissions';
import { MESSAGE_STATUSES, type MessageLogEntry } from '../../shared/contracts/messages';
import { ensureMessageIndexes } from '../../server/src/repositories/messages';
import type { MessageLogService } from '../../server/src/services/message-log';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';

const MESSAGE_UID = 'plugin::multi-smtp.message';
const TABLE = 'multi_smtp_messages';
const BASE = Date.parse('2026-01-01T00:00:00.000Z');
const MINUTE = 60_000;
const SERVERS = ['srv-a', 'srv-b', 'srv-c', 'srv-d'];
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * 2,000 messages, one a minute from BASE: statuses, servers and groups cycle with different
 * periods so filters combine; every 10th also goes to a shared mixed-case address; every 7th was
 * pinned to a server (no group).
 */
const fixture: MessageLogEntry[] = Array.from({ length: 2000 }, (_, i) => {
  const status = MESSAGE_STATUSES[i % MESSAGE_STATUSES.length]!;
  const serverId = SERVERS[i % SERVERS.length]!;
  const attempted = status !== 'queued';
  return {
    id: `fx-${String(i).padStart(4, '0')}`,
    status,
    from: 'shop@example.com',
    recipients: i % 10 === 0 ? [`User${i}@Example.com`, 'Team@Shop.example'] : [`user${i}@example.com`],
    subject: `Order ${i}`,
    group: i % 7 === 0 ? null : i % 3 === 0 ? 'marketing' : 'transactional',
    serverId: attempted ? serverId : null,
    serverName: attempted ? `Server ${serverId}` : null,
    attempts: attempted
      ? [{ at: BASE + i * MINUTE + 1000, serverId, serverName: `Server ${serverId}`, outcome: 'accepted', reply: '250 2.0.0 Ok', latencyMs: 20 + (i % 50) }]
      : [],
    lastReply: attempted ? '250 2.0.0 Ok' : null,
    smtpMessageId: attempted ? `<fx-${i}@example.com>` : null,
    idempotencyKey: i % 100 === 0 ? `order-${i}` : null,
    source: i % 2 === 0 ? 'api' : 'email-plugin',
    campaignId: i % 5 === 0 ? `campaign-${i % 3}` : null,
    subscriberId: i % 5 === 0 ? `subscriber-${i}` : null,
    queuedAt: BASE + i * MINUTE,
    sentAt: status === 'sent' || status === 'bounced' ? BASE + i * MINUTE + 1500 : null,
    finishedAt: ['sent', 'failed', 'bounced', 'skipped'].includes(status) ? BASE + i * MINUTE + 1500 : null,
    // Why it went where it went (a JSON column): some rows have it, older ones not.
    decision:
      i % 4 === 0
        ? { route: { via: 'rule', ruleId: 'rule-1', ruleName: "Gmail via 'pool B'" }, skips: [{ server: 'Server srv-a', reason: 'From domain not allowed' }] }
        : i % 4 === 1
          ? { route: { via: 'default' }, skips: [] }
          : null,
  };
});

const count = (predicate: (entry: MessageLogEntry) => boolean) => fixture.filter(predicate).length;

/** A message outside the fixture's time span, for the tests that change rows. */
const single = (id: string, patch: Partial<MessageLogEntry> = {}): MessageLogEntry => ({
  id,
  status: 'queued',
  from: 'app@example.com',
  recipients: [`${id}@example.net`],
  subject: `About ${id}`,
  group: 'transactional',
  serverId: null,
  serverName: null,
  attempts: [],
  lastReply: null,
  smtpMessageId: null,
  idempotencyKey: null,
  source: 'api',
  campaignId: null,
  subscriberId: null,
  queuedAt: Date.parse('2027-06-01T12:00:00.000Z'),
  sentAt: null,
  finishedAt: null,
  ...patch,
});

describe('delivery log', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let log: MessageLogService;

  const search = async (query: string) => {
    const response = await api.get(`/multi-smtp/messages?${query}`);
    expect(response.status).toBe(200);
    return response.body as { data: MessageLogEntry[]; meta: { pagination: { page: number; pageSize: number; pageCount: number; total: number } } };
  };
  const total = async (query: string) => (await search(query)).meta.pagination.total;
  const rowCount = (messageId: string) => app.strapi.db.query(MESSAGE_UID).count({ where: { messageId } });

  beforeAll(async () => {
    // The fixture's dates lie months back: kept from the retention run soon after boot, which would
    // otherwise prune them mid-file (whenever it happens to run after the fixture is written).
    app = await startStrapi({ pluginConfig: { retention: { messageLogDays: 3650 } } });
    api = asAdmin(app);
    log = app.strapi.plugin('multi-smtp').service('messageLog') as MessageLogService;
    for (const entry of fixture) log.record(entry);
    await log.flush();
  });
  afterAll(async () => {
    await app?.stop();
  });

  describe('search', () => {
    it('holds every recorded message, newest first, paginated', async () => {
      const first = await search('pageSize=100');
      expect(first.meta.pagination).toEqual({ page: 1, pageSize: 100, pageCount: 20, total: 2000 });
      expect(first.data[0]!.id).toBe('fx-1999');
      expect(first.data[99]!.id).toBe('fx-1900');

      const third = await search('pageSize=100&page=3&sort=queuedAt:asc');
      expect(third.data.map((entry) => entry.id)).toEqual(fixture.slice(200, 300).map((entry) => entry.id));

      const past = await search('pageSize=100&page=21');
      expect(past.data).toEqual([]);
      expect(past.meta.pagination.total).toBe(2000);
    });

    it('answers 25 a page by default', async () => {
      const page = await search('');
      expect(page.meta.pagination).toEqual({ page: 1, pageSize: 25, pageCount: 80, total: 2000 });
      expect(page.data).toHaveLength(25);
    });

    it('filters by recipient: part of an address, any case, any of the recipients', async () => {
      expect(await total('recipient=TEAM@shop')).toBe(200);
      expect(await total('recipient=team@shop.example')).toBe(count((entry) => entry.recipients.includes('Team@Shop.example')));
      const one = await search('recipient=user123@');
      expect(one.data.map((entry) => entry.id)).toEqual(['fx-0123']);
      expect(await total('recipient=user12')).toBe(count((entry) => entry.recipients.some((address) => address.toLowerCase().startsWith('user12'))));
      expect(await total('recipient=nobody@nowhere')).toBe(0);
    });

    it("filters by campaign", async () => {
      expect(await total('campaign=campaign-1')).toBe(count((entry) => entry.campaignId === 'campaign-1'));
      expect(await total('campaign=campaign-1')).toBeGreaterThan(0);
    });

    it.each(MESSAGE_STATUSES)('filters by status %s', async (status) => {
      expect(await total(`status=${status}`)).toBe(count((entry) => entry.status === status));
    });

    it('filters by server and by group', async () => {
      for (const server of SERVERS) {
        expect(await total(`server=${server}`)).toBe(count((entry) => entry.serverId === server));
      }
      expect(await total('group=marketing')).toBe(count((entry) => entry.group === 'marketing'));
      expect(await total('group=transactional')).toBe(count((entry) => entry.group === 'transactional'));
      expect(await total('group=nope')).toBe(0);
    });

    it('filters by time range: from inclusive, to exclusive', async () => {
      const from = BASE + 100 * MINUTE;
      const to = BASE + 200 * MINUTE;
      const window = await search(`from=${iso(from)}&to=${iso(to)}&pageSize=100&sort=queuedAt:asc`);
      expect(window.meta.pagination.total).toBe(100);
      expect(window.data[0]!.id).toBe('fx-0100');
      expect(window.data[99]!.id).toBe('fx-0199');
      expect(await total(`from=${iso(BASE + 1990 * MINUTE)}`)).toBe(10);
      expect(await total(`to=${iso(BASE + 10 * MINUTE)}`)).toBe(10);
      // An offset is honoured: 01:40 at +01:00 is 00:40 UTC.
      expect(await total(`to=${encodeURIComponent('2026-01-01T01:40:00+01:00')}`)).toBe(40);
    });

    it('combines filters, and pages through a filtered result without gaps or repeats', async () => {
      const from = BASE + 300 * MINUTE;
      const to = BASE + 1500 * MINUTE;
      const matches = (entry: MessageLogEntry) =>
        entry.status === 'failed' && entry.group === 'transactional' && entry.serverId === 'srv-c' && entry.queuedAt >= from && entry.queuedAt < to;
      const query = `status=failed&group=transactional&server=srv-c&from=${iso(from)}&to=${iso(to)}`;
      const expected = fixture.filter(matches).map((entry) => entry.id).reverse();
      expect(expected.length).toBeGreaterThan(10);

      const seen: string[] = [];
      const first = await search(`${query}&pageSize=7`);
      expect(first.meta.pagination.total).toBe(expected.length);
      expect(first.meta.pagination.pageCount).toBe(Math.ceil(expected.length / 7));
      for (let page = 1; page <= first.meta.pagination.pageCount; page += 1) {
        seen.push(...(await search(`${query}&pageSize=7&page=${page}`)).data.map((entry) => entry.id));
      }
      expect(seen).toEqual(expected);
    });

    it('returns each message in the contract shape, dates as epoch ms', async () => {
      const page = await search(`recipient=user1234@`);
      expect(page.data).toHaveLength(1);
      const original = fixture[1234]!;
      expect(page.data[0]).toEqual({ ...original, recipients: ['user1234@example.com'] });

      const pinned = (await search('recipient=user1260@')).data[0]!;
      expect(pinned.recipients).toEqual(['user1260@example.com', 'team@shop.example']);
      expect(pinned.group).toBeNull();
      expect(pinned.idempotencyKey).toBeNull();
      expect(typeof pinned.queuedAt).toBe('number');
    });
  });

  describe('one message', () => {
    it('answers GET /messages/:id with the message, and 404 for an unknown id', async () => {
      const found = await api.get('/multi-smtp/messages/fx-0042');
      expect(found.status).toBe(200);
      expect(found.body.data).toEqual(fixture[42]);

      const missing = await api.get('/multi-smtp/messages/no-such-message');
      expect(missing.status).toBe(404);
    });
  });

  describe('writing', () => {
    it('coalesces states recorded between flushes into one row with the final state', async () => {
      log.record(single('coalesced'));
      log.record(single('coalesced', { status: 'sending', serverId: 'srv-a', serverName: 'Server srv-a' }));
      log.record(
        single('coalesced', {
          status: 'sent',
          serverId: 'srv-a',
          serverName: 'Server srv-a',
          attempts: [{ at: 1, serverId: 'srv-a', serverName: 'Server srv-a', outcome: 'accepted', reply: '250 ok', latencyMs: 12 }],
          lastReply: '250 ok',
          sentAt: Date.parse('2027-06-01T12:00:01.000Z'),
          finishedAt: Date.parse('2027-06-01T12:00:01.000Z'),
        })
      );
      await log.flush();
      expect(await rowCount('coalesced')).toBe(1);
      const entry = (await api.get('/multi-smtp/messages/coalesced')).body.data;
      expect(entry).toMatchObject({ status: 'sent', serverId: 'srv-a', lastReply: '250 ok', sentAt: Date.parse('2027-06-01T12:00:01.000Z') });
      expect(entry.attempts).toHaveLength(1);
    });

    it('updates the row of a message written by an earlier flush, keeping when it was first written', async () => {
      log.record(single('updated'));
      await log.flush();
      const before = await app.strapi.db.query(MESSAGE_UID).findOne({ where: { messageId: 'updated' } });
      expect(before.status).toBe('queued');

      const attempts = [
        { at: 10, serverId: 'srv-b', serverName: 'Server srv-b', outcome: 'server-transient' as const, reply: '451 4.3.0 try later', latencyMs: 30 },
        { at: 20, serverId: 'srv-c', serverName: 'Server srv-c', outcome: 'recipient-hard' as const, reply: '550 5.1.1 User unknown', latencyMs: 40 },
      ];
      log.record(single('updated', { status: 'failed', serverId: 'srv-c', serverName: 'Server srv-c', attempts, lastReply: '550 5.1.1 User unknown', finishedAt: 99 }));
      await log.flush();

      expect(await rowCount('updated')).toBe(1);
      const after = await app.strapi.db.query(MESSAGE_UID).findOne({ where: { messageId: 'updated' } });
      expect(after).toMatchObject({ id: before.id, documentId: 'updated', status: 'failed', attemptCount: 2, createdAt: before.createdAt });
      expect((await api.get('/multi-smtp/messages/updated')).body.data).toMatchObject({ status: 'failed', attempts, finishedAt: 99 });
      expect(await total('status=failed&server=srv-c&recipient=updated@')).toBe(1);
    });

    it('shows a recorded state through get() before it is written', async () => {
      log.record(single('buffered', { status: 'sending' }));
      expect(await log.get('buffered')).toMatchObject({ id: 'buffered', status: 'sending' });
      await log.flush();
      expect(await log.get('buffered')).toMatchObject({ id: 'buffered', status: 'sending' });
    });

    it('keeps entries whose write failed, writes them on the next flush, and never logs their content', async () => {
      // Each database names a missing table its own way: SQLite, Postgres, MySQL/MariaDB.
      const MISSING_TABLE = /no such table|relation .* does not exist|Table .* doesn't exist/;
      const errors = jest.spyOn(app.strapi.log, 'error').mockImplementation(() => app.strapi.log);
      const knex = app.strapi.db.connection;
      await knex.schema.renameTable(TABLE, `${TABLE}_away`);
      try {
        log.record(single('survivor', { recipients: ['secret.person@example.org'], subject: 'Private subject' }));
        // Matched by shape: better-sqlite3's SqliteError is not always `instanceof Error` in Jest's sandbox.
        await expect(log.flush()).rejects.toMatchObject({ message: expect.stringMatching(MISSING_TABLE) });
      } finally {
        await knex.schema.renameTable(`${TABLE}_away`, TABLE);
      }
      const logged = errors.mock.calls.map((call) => String(call[0])).join('\n');
      errors.mockRestore();
      expect(logged).toMatch(/delivery log failed; 1 entries are kept/);
      expect(logged).toMatch(MISSING_TABLE);
      expect(logged).not.toContain('secret.person');
      expect(logged).not.toContain('Private subject');

      await log.flush();
      expect(await rowCount('survivor')).toBe(1);
    });
  });

  describe('indexes', () => {
    it('every index a plugin content type declares exists in this database, unique ones unique', async () => {
      const declared = Object.values(app.strapi.contentTypes).filter((contentType) => contentType.uid.startsWith('plugin::multi-smtp.'));
      let checked = 0;
      for (const contentType of declared) {
        const indexes = ((contentType as unknown as { indexes?: { name: string; type?: string }[] }).indexes ?? []);
        if (indexes.length === 0) continue;
        const { tableName } = app.strapi.db.metadata.get(contentType.uid as never);
        const actual = await app.strapi.db.dialect.schemaInspector.getIndexes(tableName);
        for (const index of indexes) {
          const found = actual.find((candidate) => candidate.name === index.name);
          expect({ table: tableName, index: index.name, found: Boolean(found) }).toEqual({ table: tableName, index: index.name, found: true });
          if (index.type === 'unique') expect(found!.type).toBe('unique');
          checked += 1;
        }
      }
      // alert, message, stat-bucket, subscriber, suppression and tracking-event declare indexes.
      expect(checked).toBeGreaterThanOrEqual(6);
    });

    it('has the unique and search indexes, and ensureMessageIndexes re-creates a missing one idempotently', async () => {
      const indexNames = async () => (await app.strapi.db.dialect.schemaInspector.getIndexes(TABLE)).map((index) => index.name);
      const expected = [
        'multi_smtp_messages_message_id_unique',
        'multi_smtp_messages_status_queued_at_idx',
        'multi_smtp_messages_server_id_queued_at_idx',
        'multi_smtp_messages_group_slug_queued_at_idx',
        'multi_smtp_messages_queued_at_idx',
      ];
      expect(await indexNames()).toEqual(expect.arrayContaining(expected));

      await app.strapi.db.connection.schema.alterTable(TABLE, (table) => {
        table.dropUnique(['message_id'], 'multi_smtp_messages_message_id_unique');
        table.dropIndex(['status', 'queued_at'], 'multi_smtp_messages_status_queued_at_idx');
      });
      expect(await indexNames()).not.toContain('multi_smtp_messages_message_id_unique');

      const info = jest.spyOn(app.strapi.log, 'info').mockImplementation(() => app.strapi.log);
      await ensureMessageIndexes(app.strapi);
      await ensureMessageIndexes(app.strapi);
      info.mockRestore();
      expect(await indexNames()).toEqual(expect.arrayContaining(expected));

      // The upsert depends on the unique index: a later state still updates the one row.
      log.record(single('after-repair'));
      await log.flush();
      log.record(single('after-repair', { status: 'sent' }));
      await log.flush();
      expect(await rowCount('after-repair')).toBe(1);
    });
  });

  describe('input and access', () => {
    it.each([
      ['status=nope', 'status', /must be one of: queued, sending/],
      ['from=yesterday', 'from', /ISO date-time/],
      ['to=2026-13-45', 'to', /ISO date-time/],
      ['pageSize=1000', 'pageSize', /at most 100/],
      ['page=0', 'page', /1 or more/],
      ['sort=subject:asc', 'sort', /queuedAt:desc or queuedAt:asc/],
      [`from=${iso(BASE + MINUTE)}&to=${iso(BASE)}`, 'to', /not be before from/],
    ])('answers 400 for %s, naming the field', async (query, field, reason) => {
      const response = await api.get(`/multi-smtp/messages?${query}`);
      expect(response.status).toBe(400);
      expect(response.body.error.name).toBe('ValidationError');
      const fieldError = response.body.error.details.errors.find((error: { path: string[] }) => error.path[0] === field);
      expect(fieldError?.message).toMatch(reason);
      expect(response.body.error.message).toContain(field);
    });

    it('needs reports.read: 403 without it, 200 with it', async () => {
      const withoutReports = asAdmin(app, await app.createAdmin([ACTIONS.serversRead, ACTIONS.serversManage, ACTIONS.campaignsRead]));
      expect((await withoutReports.get('/multi-smtp/messages')).status).toBe(403);
      expect((await withoutReports.get('/multi-smtp/messages/fx-0001')).status).toBe(403);

      const reader = asAdmin(app, await app.createAdmin([ACTIONS.reportsRead]));
      expect((await reader.get('/multi-smtp/messages?pageSize=1')).status).toBe(200);
      expect((await reader.get('/multi-smtp/messages/fx-0001')).body.data.id).toBe('fx-0001');
    });
  });
});
