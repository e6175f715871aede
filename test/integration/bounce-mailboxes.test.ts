import fs from 'node:fs';
import path from 'node:path';

import type Redis from 'ioredis';

import type { BounceMailboxesService, PollReport } from '../../server/src/services/bounce-mailboxes';
import type { InboundService } from '../../server/src/services/inbound';
import { autoReply, headerBlockOf, postfixDsn, sendAndCapture } from '../helpers/bounce-messages';
import { createSubscriber } from '../helpers/campaigns';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { startDovecot, type TestDovecot, type TestImapUser } from '../helpers/dovecot';
import { deleteKeys, redisTestPrefix, testRedis } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { startStrapiProcess, type StrapiProcess } from '../helpers/strapi-process';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

type Mailer = { sendNow(message: object, options?: object): Promise<{ id: string; status: string }> };

const CORPUS_DIR = path.resolve(__dirname, '..', 'fixtures', 'bounces', 'emails');
const SERVER_USER: TestImapUser = { user: 'bounces', password: 'imap-Secret-7f3a9c' };
const GLOBAL_USER: TestImapUser = { user: 'fbl', password: 'global-Secret-c41d' };
const KEYWORD = 'MultiSmtpProcessed';

/**
 * A real bounce or complaint from the corpus, made to be about a message this test sent: its last
 * Message-ID (the returned message's) becomes ours, the reported address ours (as in
 * inbound-bounces.test.ts).
 */
const fromCorpus = (file: string, reported: string, email: string, id: string): string => {
  const original = fs.readFileSync(path.join(CORPUS_DIR, file), 'latin1');
  const last = [...original.matchAll(/^(Message-Id:[ \t]*)<[^>\n]+>/gim)].at(-1)!;
  return `${original.slice(0, last.index)}${last[1]}<${id}@shop.example>${original.slice(last.index! + last[0].length)}`.replace(
    new RegExp(reported.replace(/[.]/g, '\\.'), 'gi'),
    email
  );
};

/** A person's reply to the bounce address: no bounce, must be left alone. */
const personalMail = (subject: string) =>
  ['From: Ann <ann@example.org>', 'To: bounces@shop.example', `Subject: ${subject}`, 'Date: Thu, 29 Apr 2025 00:00:00 GMT', 'Message-ID: <person-1@example.org>', '', 'Please call me back.', ''].join('\n');

describe('bounce mailboxes over IMAP (a real dovecot on loopback)', () => {
  let dovecot: TestDovecot;
  let sink: TestSmtpServer;
  let database: TestDatabase;
  let redisPrefix: string;
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let redis: Redis;
  let mailer: Mailer;
  let serverId: string;
  let otherNode: StrapiProcess | null = null;

  const service = () => app.strapi.plugin('multi-smtp').service('bounceMailboxes') as BounceMailboxesService;
  const pollNow = async (): Promise<PollReport> => {
    const response = await api.post('/multi-smtp/bounce-mailboxes/poll', {});
    if (response.status !== 200) throw new Error(`poll answered ${response.status}: ${response.text}`);
    return response.body.data as PollReport;
  };
  const resultFor = (report: PollReport, user: string) => report.mailboxes.find((mailbox) => mailbox.username === user)!;
  const logEntry = async (id: string) => (await api.get(`/multi-smtp/messages/${id}`)).body.data as { status: string; lastReply: string | null };
  const suppressionsOf = async (email: string) =>
    ((await api.get(`/multi-smtp/suppressions?q=${encodeURIComponent(email)}`)).body.data as { value: string; reason: string; source: string }[]).filter(
      (suppression) => suppression.value === email
    );
  const sendTo = (email: string) => sendAndCapture(mailer, sink, email);
  const imapSettings = (overrides: Record<string, unknown> = {}) => ({
    host: dovecot.host,
    port: dovecot.port,
    security: 'none',
    username: SERVER_USER.user,
    password: SERVER_USER.password,
    ...overrides,
  });
  const globalConfig = () => ({
    imap: {
      host: dovecot.host,
      port: dovecot.port,
      security: 'none',
      auth: { user: GLOBAL_USER.user, pass: GLOBAL_USER.password },
      processed: { flag: 'Done' },
      timeoutMs: 5000,
    },
  });

  beforeAll(async () => {
    dovecot = await startDovecot([SERVER_USER, GLOBAL_USER]);
    sink = await startSmtpServer();
    redis = testRedis();
    database = await createTestDatabase();
    redisPrefix = redisTestPrefix();
    // No background polls here (one interval is an hour): every poll is the test's own.
    app = await startStrapi({ reuse: { database, redisPrefix }, pluginConfig: { bounces: { imap: { ...globalConfig().imap, pollIntervalSec: 3600 } } } });
    api = asAdmin(app);
    mailer = app.strapi.plugin('multi-smtp').service('mailer') as Mailer;
    const defaultGroup = (await api.get('/multi-smtp/groups')).body.data[0].documentId;
    const created = await api.post('/multi-smtp/servers', { name: 'sink', host: '127.0.0.1', port: sink.port, security: 'none', fromAddress: 'news@shop.example', group: defaultGroup });
    expect(created.status).toBe(201);
    serverId = created.body.data.documentId;
  }, 90_000);

  afterAll(async () => {
    if (otherNode) await otherNode.kill();
    await app?.stop();
    await deleteKeys(redis, redisPrefix);
    redis.disconnect();
    await database?.drop();
    await sink?.close();
    await dovecot?.stop();
  }, 60_000);

  it("keeps a server's IMAP password write-only and encrypted; it goes only to the host it was entered for", async () => {
    const saved = await api.put(`/multi-smtp/servers/${serverId}`, { imap: imapSettings() });
    expect(saved.status).toBe(200);
    expect(saved.body.data.imap).toEqual({
      host: dovecot.host,
      port: dovecot.port,
      security: 'none',
      username: SERVER_USER.user,
      hasPassword: true,
      mailbox: 'INBOX',
      processed: { moveTo: 'Processed' },
    });
    const responses = [saved, await api.get(`/multi-smtp/servers/${serverId}`), await api.get('/multi-smtp/servers'), await api.get('/multi-smtp/bounce-mailboxes')];
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(response.text).not.toContain(SERVER_USER.password);
      expect(response.text).not.toContain(GLOBAL_USER.password);
      expect(response.text).not.toMatch(/imapPasswordEncrypted|"password"/);
    }
    const row = await app.strapi.db.query('plugin::multi-smtp.server').findOne({ where: { documentId: serverId } });
    expect(row.imapPasswordEncrypted).toMatch(/^v1:/);
    expect(JSON.stringify(row)).not.toContain(SERVER_USER.password);
    const secrets = app.strapi.plugin('multi-smtp').service('runtime').secrets() as { decrypt(value: string): string };
    expect(secrets.decrypt(row.imapPasswordEncrypted)).toBe(SERVER_USER.password);

    // Another host without the password again: refused, naming the field; the stored one stays.
    const moved = await api.put(`/multi-smtp/servers/${serverId}`, { imap: { ...imapSettings(), host: 'imap.attacker.example', password: undefined } });
    expect(moved.status).toBe(400);
    expect(moved.body.error.message).toMatch(/imap\.password: must be entered again when host change/);
    // The same destination without the password keeps it (an edit of the folder, say).
    const kept = await api.put(`/multi-smtp/servers/${serverId}`, { imap: { ...imapSettings(), password: undefined } });
    expect(kept.body.data.imap.hasPassword).toBe(true);
    // A mailbox without any password is refused.
    const bare = await api.post('/multi-smtp/servers', { name: 'bare', host: '127.0.0.1', port: sink.port, imap: { host: dovecot.host, username: 'x' } });
    expect(bare.status).toBe(400);
    expect(bare.body.error.message).toMatch(/imap\.password: is required/);
  });

  it('fetches bounces and complaints once, links each to its message, moves them to Processed and leaves other mail alone', async () => {
    const hardEmail = 'gone-imap@example.org';
    const subscriber = await createSubscriber(api, { email: hardEmail });
    const hard = await sendTo(hardEmail);
    const gmail = await sendTo('gone-gmail-imap@example.org');
    const complained = await sendTo('angry-imap@example.org');
    const soft = await sendTo('full-imap@example.org');
    const uids = await dovecot.append(SERVER_USER, 'INBOX', [
      fromCorpus('lhost-exim-05.eml', 'kijitora@neko.example.co.jp', hardEmail, hard.id),
      personalMail('About my order'),
      fromCorpus('lhost-gmail-18.eml', 'kijitora@example.or.jp', 'gone-gmail-imap@example.org', gmail.id),
      fromCorpus('arf-02.eml', 'this-local-part-does-not-exist-on-yahoo@yahoo.com', 'angry-imap@example.org', complained.id),
      postfixDsn({ to: 'bounces@shop.example', recipient: 'full-imap@example.org', status: '4.2.2', diagnostic: 'smtp; 452 4.2.2 Mailbox full', returnedHeaders: headerBlockOf(soft.captured.raw) }),
      autoReply('news@shop.example'),
    ]);
    expect(uids).toHaveLength(6);

    const first = resultFor(await pollNow(), SERVER_USER.user);
    expect(first).toMatchObject({ status: 'ok', error: null, source: 'servers', servers: [{ documentId: serverId, name: 'sink' }] });
    expect(first.counts).toMatchObject({ found: 6, processed: 6, reports: 4, other: 2, moved: 4, remaining: 0 });
    expect(first.summary).toMatchObject({ messages: 6, bounces: 3, complaints: 1, autoReplies: 1, other: 1, hardBounces: 2, softBounces: 1, suppressed: 3, duplicates: 0, unlinked: 0 });

    // Linked: the log rows of the hard bounces say bounced, their recipients are suppressed.
    expect((await logEntry(hard.id)).status).toBe('bounced');
    expect((await logEntry(gmail.id)).status).toBe('bounced');
    expect((await logEntry(soft.id)).status).toBe('sent');
    expect((await logEntry(complained.id)).status).toBe('sent');
    expect(await suppressionsOf(hardEmail)).toEqual([expect.objectContaining({ reason: 'hard-bounce', source: `message:${hard.id}` })]);
    expect(await suppressionsOf('gone-gmail-imap@example.org')).toEqual([expect.objectContaining({ reason: 'hard-bounce', source: `message:${gmail.id}` })]);
    expect(await suppressionsOf('angry-imap@example.org')).toEqual([expect.objectContaining({ reason: 'complaint', source: `message:${complained.id}` })]);
    expect((await api.get(`/multi-smtp/subscribers/${subscriber.documentId}`)).body.data.status).toBe('bounced');

    // The reports went to Processed; the person's mail and the auto-reply stay, unread, with the keyword only.
    const inbox = await dovecot.list(SERVER_USER, 'INBOX');
    expect(inbox.map((message) => [message.subject, message.flags])).toEqual([
      ['About my order', [KEYWORD]],
      [expect.stringMatching(/^Out of office/), [KEYWORD]],
    ]);
    const processed = await dovecot.list(SERVER_USER, 'Processed');
    expect(processed).toHaveLength(4);
    for (const message of processed) expect(message.flags).toContain(KEYWORD);

    // Fetched once: the next poll finds nothing new.
    const second = resultFor(await pollNow(), SERVER_USER.user);
    expect(second.counts).toMatchObject({ found: 0, processed: 0, reports: 0 });
    expect(second.summary).toBeNull();

    // The last poll of each mailbox is kept, for any node to show.
    const status = (await api.get('/multi-smtp/bounce-mailboxes')).body.data as Array<{ username: string; lastPoll: { status: string; counts: { found: number } } | null }>;
    expect(status.find((mailbox) => mailbox.username === SERVER_USER.user)!.lastPoll).toMatchObject({ status: 'ok', counts: { found: 0 } });
  });

  it('the global mailbox of the config: flagged \\Seen and its keyword, left in place, linked the same way', async () => {
    const sent = await sendTo('gone-global@example.org');
    await dovecot.append(GLOBAL_USER, 'INBOX', [
      postfixDsn({ to: 'bounces@shop.example', recipient: 'gone-global@example.org', status: '5.1.1', returnedHeaders: headerBlockOf(sent.captured.raw) }),
      personalMail('Hello'),
    ]);
    const result = resultFor(await pollNow(), GLOBAL_USER.user);
    expect(result).toMatchObject({ status: 'ok', source: 'config', servers: [] });
    expect(result.counts).toMatchObject({ processed: 2, reports: 1, other: 1, flagged: 1, moved: 0 });
    expect((await logEntry(sent.id)).status).toBe('bounced');
    const inbox = await dovecot.list(GLOBAL_USER, 'INBOX');
    expect(inbox.map((message) => [message.subject, message.flags])).toEqual([
      ['Undelivered Mail Returned to Sender', ['Done', '\\Seen']],
      ['Hello', ['Done']],
    ]);
    expect(resultFor(await pollNow(), GLOBAL_USER.user).counts.processed).toBe(0);
  });

  it('applied but not yet recorded (a crash): read again, counted once; recorded but not yet moved: only moved', async () => {
    const first = await sendTo('crash-a@example.org');
    const second = await sendTo('crash-b@example.org');
    const dsnA = postfixDsn({ to: 'bounces@shop.example', recipient: 'crash-a@example.org', status: '5.1.1', returnedHeaders: headerBlockOf(first.captured.raw) });
    const dsnB = postfixDsn({ to: 'bounces@shop.example', recipient: 'crash-b@example.org', status: '5.1.1', returnedHeaders: headerBlockOf(second.captured.raw) });
    const [uidA, uidB] = await dovecot.append(SERVER_USER, 'INBOX', [dsnA, dsnB]);

    // A: a poll applied it and died before recording it (the same processing the poll runs).
    const inbound = app.strapi.plugin('multi-smtp').service('inbound') as InboundService;
    expect((await inbound.processBody(Buffer.from(dsnA, 'latin1'), 'message/rfc822')).summary).toMatchObject({ hardBounces: 1, duplicates: 0 });
    // B: a poll applied and recorded it, then died before moving it.
    expect((await inbound.processBody(Buffer.from(dsnB, 'latin1'), 'message/rfc822')).summary.hardBounces).toBe(1);
    const mailboxId = (await service().status()).find((mailbox) => mailbox.username === SERVER_USER.user)!.id;
    const uidValidity = await dovecot.uidValidity(SERVER_USER, 'INBOX');
    await redis.zadd(`${redisPrefix}:imap:${mailboxId}:done:${uidValidity}`, uidB!, `${uidB}:report`);

    const result = resultFor(await pollNow(), SERVER_USER.user);
    expect(result.counts).toMatchObject({ processed: 1, remarked: 1, moved: 2, reports: 1 });
    // A was applied again: a duplicate, nothing counted twice.
    expect(result.summary).toMatchObject({ messages: 1, hardBounces: 0, duplicates: 1 });
    expect((await dovecot.list(SERVER_USER, 'INBOX')).map((message) => message.uid)).not.toEqual(expect.arrayContaining([uidA, uidB]));
    expect((await logEntry(first.id)).status).toBe('bounced');
  });

  it('another process polling a mailbox (its lock held): this one skips it and processes nothing', async () => {
    const sent = await sendTo('locked@example.org');
    await dovecot.append(SERVER_USER, 'INBOX', [
      postfixDsn({ to: 'bounces@shop.example', recipient: 'locked@example.org', status: '5.1.1', returnedHeaders: headerBlockOf(sent.captured.raw) }),
    ]);
    const mailboxId = (await service().status()).find((mailbox) => mailbox.username === SERVER_USER.user)!.id;
    await redis.set(`${redisPrefix}:imap:${mailboxId}:lock`, 'another-node', 'PX', 30_000);
    const busy = resultFor(await pollNow(), SERVER_USER.user);
    expect(busy.status).toBe('busy');
    expect(busy.counts.processed).toBe(0);
    expect((await logEntry(sent.id)).status).toBe('sent');
    await redis.del(`${redisPrefix}:imap:${mailboxId}:lock`);
    expect(resultFor(await pollNow(), SERVER_USER.user).counts.processed).toBe(1);
    expect((await logEntry(sent.id)).status).toBe('bounced');
  });

  it('a wrong password: a clear error in the log and the status, no secret in either, no crash; other mailboxes still polled', async () => {
    const wrongPassword = 'Wrong-Secret-19ab';
    const other = await api.post('/multi-smtp/servers', {
      name: 'wrong-login',
      host: '127.0.0.1',
      port: sink.port,
      security: 'none',
      imap: imapSettings({ username: GLOBAL_USER.user, password: wrongPassword, mailbox: 'Elsewhere' }),
    });
    expect(other.status).toBe(201);
    const errors: string[] = [];
    const spy = jest.spyOn(app.strapi.log, 'error').mockImplementation((...args: unknown[]) => {
      errors.push(args.map(String).join(' '));
      return app.strapi.log;
    });
    try {
      const report = await pollNow();
      const failed = report.mailboxes.find((mailbox) => mailbox.servers.some((server) => server.name === 'wrong-login'))!;
      expect(failed.status).toBe('error');
      expect(failed.error).toMatch(/IMAP login refused for fbl: authentication failed/i);
      expect(report.totals.errors).toBe(1);
      expect(resultFor(report, SERVER_USER.user).status).toBe('ok');
      expect(JSON.stringify(report)).not.toContain(wrongPassword);
      expect(errors.some((line) => /bounce mailbox fbl@127\.0\.0\.1:\d+\/Elsewhere \(server wrong-login\): poll failed: IMAP login refused/.test(line))).toBe(true);
      expect(errors.join('\n')).not.toContain(wrongPassword);
    } finally {
      spy.mockRestore();
      await api.delete(`/multi-smtp/servers/${other.body.data.documentId}`);
    }
    // Still serving.
    expect((await api.get('/multi-smtp/servers')).status).toBe(200);
  });

  it('a port nobody answers on: a timeout-bounded error, not a hang', async () => {
    const other = await api.post('/multi-smtp/servers', { name: 'no-imap', host: '127.0.0.1', port: sink.port, security: 'none', imap: imapSettings({ port: 1 }) });
    const spy = jest.spyOn(app.strapi.log, 'error').mockImplementation(() => app.strapi.log);
    try {
      const started = Date.now();
      const report = await pollNow();
      expect(Date.now() - started).toBeLessThan(15_000);
      const failed = report.mailboxes.find((mailbox) => mailbox.servers.some((server) => server.name === 'no-imap'))!;
      expect(failed).toMatchObject({ status: 'error', error: expect.stringMatching(/ECONNREFUSED|connect/i) });
    } finally {
      spy.mockRestore();
      await api.delete(`/multi-smtp/servers/${other.body.data.documentId}`);
    }
  });

  it('two nodes polling the same mailboxes (one every second, one on demand): each report applied once', async () => {
    otherNode = await startStrapiProcess({ database, redisPrefix, pluginConfig: { bounces: { imap: { ...globalConfig().imap, pollIntervalSec: 1 } } } });
    const emails = Array.from({ length: 6 }, (_, index) => `twice-${index}@example.org`);
    const sent = [];
    for (const email of emails) sent.push(await sendTo(email));
    await dovecot.append(
      SERVER_USER,
      'INBOX',
      sent.map(({ captured }, index) => postfixDsn({ to: 'bounces@shop.example', recipient: emails[index]!, status: '5.1.1', returnedHeaders: headerBlockOf(captured.raw) }))
    );
    const summaries: PollReport[] = [];
    await waitFor(
      'every bounce moved',
      async () => {
        summaries.push(await pollNow());
        return (await dovecot.list(SERVER_USER, 'Processed')).length >= 4 + 2 + 1 + emails.length;
      },
      30_000,
      200
    );
    for (const [index, email] of emails.entries()) {
      expect(await suppressionsOf(email)).toEqual([expect.objectContaining({ reason: 'hard-bounce', source: `message:${sent[index]!.id}` })]);
      expect((await logEntry(sent[index]!.id)).status).toBe('bounced');
    }
    // Whatever this node processed, it processed each once; the rest the other node did.
    const here = summaries.reduce((sum, report) => sum + (resultFor(report, SERVER_USER.user).summary?.hardBounces ?? 0), 0);
    const duplicates = summaries.reduce((sum, report) => sum + (resultFor(report, SERVER_USER.user).summary?.duplicates ?? 0), 0);
    expect(here).toBeLessThanOrEqual(emails.length);
    expect(duplicates).toBe(0);
    expect(await dovecot.list(SERVER_USER, 'INBOX')).toHaveLength(2);
    await otherNode.stop();
    otherNode = null;
  }, 90_000);
});
