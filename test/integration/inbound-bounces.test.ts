import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import type Redis from 'ioredis';

import { configureBounceParsePool } from '../../server/src/engine/bounce-parse-pool';
import type { BouncesService } from '../../server/src/services/bounces';
import { arfReport, autoReply, headerBlockOf, mbox, postfixDsn, sendAndCapture, startWithSink, withoutHeaders } from '../helpers/bounce-messages';
import { createSubscriber } from '../helpers/campaigns';
import { deleteKeys, testRedis } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

type Mailer = { sendNow(message: object, options?: object): Promise<{ id: string; status: string }> };
type RecipientResult = { recipient: string; outcome: string; messageId: string | null; actions: string[]; status: string | null };
type MessageResult = { index: number; kind: string; linkedBy: string | null; linkedMessageIds: string[]; recipients: RecipientResult[]; actions: string[] };
type InboundBody = { data: { messages: MessageResult[]; summary: Record<string, number> } };

const TOKEN = 'inbound-token-0123456789abcdef';
const VERP_DOMAIN = 'bounces.shop.example';
const MAX_BYTES = 256 * 1024;
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const CORPUS_DIR = path.resolve(REPO_ROOT, 'test', 'fixtures', 'bounces', 'emails');

describe('asynchronous bounces and complaints through the inbound endpoint', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let sink: TestSmtpServer;
  let redis: Redis;
  let mailer: Mailer;
  let baseUrl: string;
  const events: Array<{ name: string; payload: { messageId: string | null; recipient: string; bounce: { outcome: string } } }> = [];

  const bounces = () => app.strapi.plugin('multi-smtp').service('bounces') as BouncesService;

  const sendTo = (email: string) => sendAndCapture(mailer, sink, email);

  const post = (body: string | Buffer, type = 'message/rfc822', token: string | null = TOKEN) => {
    const request = app.http().post('/api/multi-smtp/inbound').set('Content-Type', type);
    if (token !== null) request.set('Authorization', `Bearer ${token}`);
    return request.send(Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1'));
  };

  const postOk = async (body: string, type?: string): Promise<InboundBody['data']> => {
    const response = await post(body, type);
    if (response.status !== 200) throw new Error(`inbound answered ${response.status}: ${response.text}`);
    return (response.body as InboundBody).data;
  };

  const logEntry = async (id: string) => (await api.get(`/multi-smtp/messages/${id}`)).body.data as { status: string; lastReply: string | null };
  const suppressionsOf = async (email: string) =>
    ((await api.get(`/multi-smtp/suppressions?q=${encodeURIComponent(email)}`)).body.data as { value: string; reason: string; source: string; note: string | null }[]).filter(
      (suppression) => suppression.value === email
    );
  const subscriberStatus = async (id: string) => (await api.get(`/multi-smtp/subscribers/${id}`)).body.data.status as string;

  beforeAll(async () => {
    redis = testRedis();
    sink = await startSmtpServer();
    app = await startWithSink(sink, {
      bounces: { inboundToken: TOKEN, verpDomain: VERP_DOMAIN, maxInboundBytes: MAX_BYTES, rateLimitPerMinute: 40, softBounceLimit: 3, softBounceWindowDays: 7 },
    });
    api = asAdmin(app);
    mailer = app.strapi.plugin('multi-smtp').service('mailer') as Mailer;
    for (const name of ['bounced', 'complained']) {
      app.strapi.eventHub.on(`multi-smtp.message.${name}`, async (payload: (typeof events)[number]['payload']) => {
        events.push({ name, payload });
      });
    }
    // The command test needs a real port.
    await new Promise<void>((resolve) => app.strapi.server.httpServer.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(app.strapi.server.httpServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app?.stop();
    if (app) await deleteKeys(redis, app.redisPrefix);
    await sink?.close();
    redis.disconnect();
  });
  beforeEach(() => deleteKeys(redis, `${app.redisPrefix}:ratelimit:`));

  it('sends with a signed per-message VERP address as MAIL FROM, the From header and recipients unchanged', async () => {
    const { id, captured } = await sendTo('verp-check@example.org');
    expect(captured.from).toBe(bounces().envelopeFrom(id, captured.to));
    expect(captured.from).toMatch(new RegExp(`^bounce\\+r${id.replace(/-/g, '')}\\.[0-9a-f]{16}@${VERP_DOMAIN.replace(/\./g, '\\.')}$`));
    expect(bounces().verifyVerp(captured.from, captured.to)).toBe(id);
    expect(captured.to).toEqual(['verp-check@example.org']);
    expect(captured.headers.from).toBe('news@shop.example');
  });

  it('a DSN delivered to the VERP address marks that message bounced and suppresses the recipient and its subscriber', async () => {
    const email = 'gone-verp@example.org';
    const subscriber = await createSubscriber(api, { email });
    const { id, captured } = await sendTo(email);
    // Only the VERP address can link it: the returned headers lose Message-ID and the plugin's header.
    const returnedHeaders = withoutHeaders(headerBlockOf(captured.raw), ['message-id', 'x-multi-smtp-id']);
    const data = await postOk(postfixDsn({ to: captured.from, recipient: email, status: '5.1.1', returnedHeaders }));

    expect(data.messages).toHaveLength(1);
    const [result] = data.messages;
    expect(result).toMatchObject({ kind: 'bounce', linkedBy: 'verp', linkedMessageIds: [id] });
    expect(result!.recipients).toEqual([
      expect.objectContaining({ recipient: email, outcome: 'hard', messageId: id, status: '5.1.1', actions: ['marked-bounced', 'suppressed', 'subscriber-updated'] }),
    ]);
    expect(data.summary).toMatchObject({ messages: 1, bounces: 1, hardBounces: 1, suppressed: 1, duplicates: 0 });

    const entry = await logEntry(id);
    expect(entry.status).toBe('bounced');
    expect(entry.lastReply).toMatch(/550 5\.1\.1/);
    expect(await suppressionsOf(email)).toEqual([expect.objectContaining({ reason: 'hard-bounce', source: `message:${id}`, note: expect.stringMatching(/^5\.1\.1/) })]);
    expect(await redis.sismember(`${app.redisPrefix}:suppressed`, email)).toBe(1);
    expect(await subscriberStatus(subscriber.documentId)).toBe('bounced');
    await waitFor('the bounced event', () => events.some((event) => event.name === 'bounced' && event.payload.messageId === id));
  });

  it("a recipient's forged DSN, to their own VERP address, suppresses no one else, even after the log row is pruned", async () => {
    const attacker = 'mallory@example.org';
    const victim = 'victim@example.org';
    const { id, captured } = await sendTo(attacker);
    await waitFor('the log row', async () => (await logEntry(id))?.status === 'sent');
    // Retention pruned the row: only the VERP token is left to link a report.
    await app.strapi.plugin('multi-smtp').service('messageLog').flush();
    await app.strapi.db.query('plugin::multi-smtp.message').deleteMany({ where: { messageId: id } });
    const returnedHeaders = withoutHeaders(headerBlockOf(captured.raw), ['message-id', 'x-multi-smtp-id']);

    const forged = await postOk(postfixDsn({ to: captured.from, recipient: victim, status: '5.1.1', returnedHeaders }));
    expect(forged.messages[0]!.recipients).toEqual([expect.objectContaining({ recipient: victim, actions: expect.arrayContaining(['not-suppressed']) })]);
    expect(forged.summary.suppressed).toBe(0);
    expect(await suppressionsOf(victim)).toEqual([]);

    // The token is bound to the address the message went to: a real bounce of it still acts.
    const genuine = await postOk(postfixDsn({ to: captured.from, recipient: attacker, status: '5.1.1', returnedHeaders }));
    expect(genuine.messages[0]).toMatchObject({ linkedBy: 'verp', linkedMessageIds: [id] });
    expect(await suppressionsOf(attacker)).toEqual([expect.objectContaining({ reason: 'hard-bounce' })]);
  });

  it('mailed-in complaints move a server\'s protection rates only once three distinct recipients have reported', async () => {
    // A server of its own, so the other tests' reports do not count here.
    const group = (await api.post('/multi-smtp/groups', { name: 'Feedback', slug: 'feedback' })).body.data.documentId;
    const server = (
      await api.post('/multi-smtp/servers', { name: 'feedback-sink', host: sink.host, port: sink.port, security: 'none', fromAddress: 'news@shop.example', group })
    ).body.data.documentId as string;
    const protection = app.strapi.plugin('multi-smtp').service('protection') as { window(id: string): Promise<{ counts: { complaint: number } }> };
    const complaintsCounted = async () => (await protection.window(server)).counts.complaint;
    const complainAbout = async (email: string) => {
      const sent = await mailer.sendNow({ to: email, subject: 'News', text: 'Hi' }, { group: 'feedback' });
      const captured = await waitFor('the sink got it', () => sink.messages.find((message) => message.headers['x-multi-smtp-id'] === sent.id));
      return postOk(arfReport({ recipient: email, returnedHeaders: headerBlockOf(captured!.raw) }));
    };

    // One recipient mails in a handful of complaints (each about a message they really got): nothing moves.
    for (let index = 0; index < 4; index += 1) expect((await complainAbout('grumpy@example.org')).summary.complaints).toBe(1);
    await complainAbout('second@example.org');
    expect(await complaintsCounted()).toBe(0);
    // The third distinct recipient: from now on mailed-in reports count.
    await complainAbout('third@example.org');
    expect(await complaintsCounted()).toBe(1);
    await complainAbout('grumpy@example.org');
    expect(await complaintsCounted()).toBe(2);
  });

  it('links by the returned Message-ID when the bounce went to a plain mailbox, and by X-Multi-SMTP-ID alone', async () => {
    const first = await sendTo('gone-mid@example.org');
    const byMessageId = await postOk(
      postfixDsn({
        to: 'bounces@shop.example',
        recipient: 'gone-mid@example.org',
        status: '5.1.1',
        returnedHeaders: withoutHeaders(headerBlockOf(first.captured.raw), ['x-multi-smtp-id']),
      })
    );
    expect(byMessageId.messages[0]).toMatchObject({ linkedBy: 'header', linkedMessageIds: [first.id] });
    expect(headerBlockOf(first.captured.raw)).toMatch(new RegExp(`Message-ID: <${first.id}@shop\\.example>`, 'i'));
    expect((await logEntry(first.id)).status).toBe('bounced');

    const second = await sendTo('gone-header@example.org');
    const byHeader = await postOk(
      postfixDsn({
        to: 'bounces@shop.example',
        recipient: 'gone-header@example.org',
        status: '5.1.1',
        returnedHeaders: withoutHeaders(headerBlockOf(second.captured.raw), ['message-id']),
      })
    );
    expect(byHeader.messages[0]).toMatchObject({ linkedBy: 'header', linkedMessageIds: [second.id] });
    expect(await suppressionsOf('gone-header@example.org')).toEqual([expect.objectContaining({ reason: 'hard-bounce', source: `message:${second.id}` })]);
  });

  it('an ARF report suppresses the complained recipient and marks the subscriber complained', async () => {
    const email = 'angry@example.org';
    const subscriber = await createSubscriber(api, { email });
    const { id, captured } = await sendTo(email);
    const data = await postOk(arfReport({ recipient: email, returnedHeaders: headerBlockOf(captured.raw) }));
    expect(data.messages[0]).toMatchObject({ kind: 'complaint', linkedMessageIds: [id] });
    expect(data.messages[0]!.recipients).toEqual([expect.objectContaining({ recipient: email, outcome: 'complaint', actions: ['suppressed', 'subscriber-updated'] })]);
    expect(data.summary).toMatchObject({ complaints: 1, suppressed: 1 });
    expect(await suppressionsOf(email)).toEqual([expect.objectContaining({ reason: 'complaint', source: `message:${id}` })]);
    expect(await subscriberStatus(subscriber.documentId)).toBe('complained');
    // A complaint does not change the delivery status.
    expect((await logEntry(id)).status).toBe('sent');
    await waitFor('the complained event', () => events.some((event) => event.name === 'complained' && event.payload.messageId === id));
  });

  it('soft bounces are counted; the third within the window suppresses the address', async () => {
    const email = 'full-mailbox@example.org';
    const subscriber = await createSubscriber(api, { email });
    const outcomes: string[][] = [];
    for (let round = 0; round < 3; round += 1) {
      const { id, captured } = await sendTo(email);
      const data = await postOk(
        postfixDsn({ to: captured.from, recipient: email, status: '4.2.2', diagnostic: 'smtp; 452 4.2.2 Mailbox full', returnedHeaders: headerBlockOf(captured.raw) })
      );
      expect(data.messages[0]!.recipients[0]).toMatchObject({ outcome: 'soft', messageId: id });
      outcomes.push(data.messages[0]!.recipients[0]!.actions);
      // A soft bounce leaves the delivery status alone.
      expect((await logEntry(id)).status).toBe('sent');
      if (round < 2) expect(await suppressionsOf(email)).toEqual([]);
    }
    expect(outcomes).toEqual([['soft-counted'], ['soft-counted'], ['soft-counted', 'soft-limit-reached', 'suppressed', 'subscriber-updated']]);
    expect(await suppressionsOf(email)).toEqual([expect.objectContaining({ reason: 'soft-bounces' })]);
    expect(await subscriberStatus(subscriber.documentId)).toBe('bounced');
  });

  it('soft bounces older than the window do not count', async () => {
    const email = 'slowly-full@example.org';
    const day = 24 * 3600 * 1000;
    const soft = (messageId: string) => ({
      kind: 'bounce' as const,
      recipients: [{ recipient: email, status: '4.2.2', replyCode: '452', hardBounce: false, reason: 'mailboxfull', feedbackType: null, diagnostic: 'Mailbox full' }],
      originalMessageId: null,
      originalHeaders: { 'x-multi-smtp-id': messageId },
      verpAddress: null,
    });
    const ids: string[] = [];
    for (let index = 0; index < 3; index += 1) ids.push((await sendTo(email)).id);
    await bounces().process(soft(ids[0]!), { source: 'test', at: Date.now() - 9 * day });
    await bounces().process(soft(ids[1]!), { source: 'test', at: Date.now() - 8 * day });
    const latest = await bounces().process(soft(ids[2]!), { source: 'test' });
    expect(latest.recipients[0]!.actions).toEqual(['soft-counted']);
    expect(await suppressionsOf(email)).toEqual([]);
  });

  it('the same DSN posted twice counts once', async () => {
    const email = 'twice@example.org';
    const { id, captured } = await sendTo(email);
    const dsn = postfixDsn({ to: captured.from, recipient: email, status: '5.1.1', returnedHeaders: headerBlockOf(captured.raw) });
    const before = events.filter((event) => event.payload.messageId === id).length;
    const first = await postOk(dsn);
    const second = await postOk(dsn);
    expect(first.summary).toMatchObject({ hardBounces: 1, duplicates: 0 });
    expect(second.summary).toMatchObject({ hardBounces: 0, duplicates: 1, suppressed: 0 });
    expect(second.messages[0]!.recipients[0]!.actions).toEqual(['duplicate']);
    await waitFor('one event', () => events.filter((event) => event.payload.messageId === id).length === before + 1);
    expect(await suppressionsOf(email)).toHaveLength(1);
  });

  it('an mbox of many messages: bounces applied, auto-replies and other mail ignored, ">From " unquoted', async () => {
    const a = await sendTo('mbox-a@example.org');
    const b = await sendTo('mbox-b@example.org');
    const body = mbox([
      postfixDsn({ to: a.captured.from, recipient: 'mbox-a@example.org', status: '5.1.1', returnedHeaders: headerBlockOf(a.captured.raw) }),
      autoReply('news@shop.example'),
      'Subject: hello\n\nFrom here on, this is just a letter.\n',
      postfixDsn({ to: b.captured.from, recipient: 'mbox-b@example.org', status: '5.1.1', returnedHeaders: headerBlockOf(b.captured.raw) }),
    ]);
    expect(body).toContain('\n>From here on');
    const data = await postOk(body, 'application/mbox');
    expect(data.messages.map((message) => message.kind)).toEqual(['bounce', 'auto-reply', 'other', 'bounce']);
    expect(data.messages.map((message) => message.linkedMessageIds)).toEqual([[a.id], [], [], [b.id]]);
    expect(data.summary).toMatchObject({ messages: 4, bounces: 2, autoReplies: 1, other: 1, hardBounces: 2, suppressed: 2 });
    expect((await logEntry(a.id)).status).toBe('bounced');
    expect((await logEntry(b.id)).status).toBe('bounced');
  });

  it('real bounces from the corpus (Exim, Gmail, Office 365, Exchange 2007), about a message of ours, mark it bounced and suppress its recipient', async () => {
    const corpus: Array<[string, string]> = [
      ['lhost-exim-05.eml', 'kijitora@neko.example.co.jp'],
      ['lhost-gmail-18.eml', 'kijitora@example.or.jp'],
      ['lhost-office365-02.eml', 'kijitora@example.onmicrosoft.com'],
      ['lhost-exchange2007-07.eml', 'kijitora@example.jp'],
    ];
    for (const [file, reported] of corpus) {
      const email = `corpus-${file.replace(/\W+/g, '-')}@example.org`;
      const { id } = await sendTo(email);
      const original = fs.readFileSync(path.join(CORPUS_DIR, file), 'latin1');
      // The returned message's Message-ID (the last one in the file) becomes ours; the bounced address ours too.
      const lastMessageId = [...original.matchAll(/^(Message-Id:[ \t]*)<[^>\n]+>/gim)].at(-1)!;
      const rewritten = `${original.slice(0, lastMessageId.index)}${lastMessageId[1]}<${id}@shop.example>${original.slice(lastMessageId.index! + lastMessageId[0].length)}`.replace(
        new RegExp(reported.replace(/[.]/g, '\\.'), 'gi'),
        email
      );
      const data = await postOk(rewritten);
      expect([file, data.messages[0]]).toEqual([file, expect.objectContaining({ kind: 'bounce', linkedBy: 'header', linkedMessageIds: [id] })]);
      expect(data.messages[0]!.recipients).toEqual([expect.objectContaining({ recipient: email, outcome: 'hard', actions: expect.arrayContaining(['marked-bounced', 'suppressed']) })]);
      expect((await logEntry(id)).status).toBe('bounced');
      expect(await suppressionsOf(email)).toEqual([expect.objectContaining({ reason: 'hard-bounce', source: `message:${id}` })]);
    }
  });

  it('a bounce that names no message of ours is reported but suppresses nothing', async () => {
    const data = await postOk(
      postfixDsn({ to: 'bounces@shop.example', recipient: 'stranger@example.org', status: '5.1.1', returnedHeaders: 'From: someone@else.example\nSubject: not ours\nMessage-ID: <abc@else.example>' })
    );
    expect(data.messages[0]).toMatchObject({ kind: 'bounce', linkedBy: null, linkedMessageIds: [] });
    expect(data.messages[0]!.recipients[0]!.actions).toEqual(['unlinked', 'not-suppressed']);
    expect(data.summary.unlinked).toBe(1);
    expect(await suppressionsOf('stranger@example.org')).toEqual([]);
  });

  it('a forged VERP address links nothing', async () => {
    const { id, captured } = await sendTo('forged-verp@example.org');
    const forged = captured.from.replace(/\.([0-9a-f])/, (_, digit: string) => `.${digit === '0' ? '1' : '0'}`);
    const returnedHeaders = withoutHeaders(headerBlockOf(captured.raw), ['message-id', 'x-multi-smtp-id']);
    const data = await postOk(postfixDsn({ to: forged, recipient: 'forged-verp@example.org', status: '5.1.1', returnedHeaders }));
    expect(data.messages[0]!.linkedMessageIds).toEqual([]);
    expect((await logEntry(id)).status).toBe('sent');
    expect(await suppressionsOf('forged-verp@example.org')).toEqual([]);
  });

  it('takes text/plain bodies larger than Strapi\'s 56 kB text limit; 413 over the configured limit', async () => {
    const { id, captured } = await sendTo('big@example.org');
    const padding = `X-Padding: ${'p'.repeat(100)}\n`.repeat(800);
    const dsn = postfixDsn({ to: captured.from, recipient: 'big@example.org', status: '5.1.1', returnedHeaders: `${headerBlockOf(captured.raw)}\n${padding.trimEnd()}` });
    expect(dsn.length).toBeGreaterThan(60 * 1024);
    const data = await postOk(dsn, 'text/plain');
    expect(data.messages[0]!.linkedMessageIds).toEqual([id]);

    const tooLarge = await post('x'.repeat(MAX_BYTES + 1), 'message/rfc822');
    expect(tooLarge.status).toBe(413);

    // Without a Content-Length (chunked), reading stops at the limit and the answer is still 413.
    const chunked = await new Promise<number>((resolve, reject) => {
      const request = http.request(
        `${baseUrl}/api/multi-smtp/inbound`,
        { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'message/rfc822', 'Transfer-Encoding': 'chunked' } },
        (response) => {
          response.resume();
          resolve(response.statusCode!);
        }
      );
      request.on('error', reject);
      for (let sent = 0; sent <= MAX_BYTES; sent += 16 * 1024) request.write('x'.repeat(16 * 1024));
      request.end();
    });
    expect(chunked).toBe(413);
  });

  it('garbage gets 200 with kind "other", an empty body 400, never a 5xx', async () => {
    const bodies: Array<[string | Buffer, string]> = [
      [Buffer.from([0, 1, 2, 255, 254, 10, 13, 10, 0]), 'application/octet-stream'],
      ['{"not": "a message"}', 'application/json'],
      ['Content-Type: multipart/report; boundary="x"\n\n--x\n--x--', 'message/rfc822'],
      ['From \n\n\n', 'application/mbox'],
    ];
    for (const [body, type] of bodies) {
      const response = await post(body, type);
      expect(response.status).toBeLessThan(500);
      if (response.status === 200) expect((response.body as InboundBody).data.messages.every((message) => message.kind === 'other')).toBe(true);
    }
    expect((await post('', 'message/rfc822')).status).toBe(400);
  });

  it('a message whose parse runs past the time limit is unparsed (422 alone, in an mbox beside the others), never a 5xx', async () => {
    const slowMarker = 'X-Test-Never-Ending-Parse';
    const pool = await configureBounceParsePool({ size: 1, timeLimitMs: 500, testSlowMarker: slowMarker });
    try {
      const a = await sendTo('slow-a@example.org');
      const b = await sendTo('slow-b@example.org');
      const dsnOf = (sent: typeof a, email: string) =>
        postfixDsn({ to: sent.captured.from, recipient: email, status: '5.1.1', returnedHeaders: headerBlockOf(sent.captured.raw) });
      const slow = `${slowMarker}: 1
${dsnOf(a, 'slow-a@example.org')}`;

      const started = Date.now();
      const alone = await post(slow);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(alone.status).toBe(422);
      expect(alone.body.error.details.messages).toEqual([expect.objectContaining({ index: 0, kind: 'unparsed', error: 'the parse took longer than 500 ms', recipients: [] })]);
      expect((await logEntry(a.id)).status).toBe('sent');

      const data = await postOk(mbox([dsnOf(b, 'slow-b@example.org'), slow, autoReply('news@shop.example')]), 'application/mbox');
      expect(data.messages.map((message) => message.kind)).toEqual(['bounce', 'unparsed', 'auto-reply']);
      expect(data.summary).toMatchObject({ messages: 3, bounces: 1, unparsed: 1, hardBounces: 1 });
      expect((await logEntry(b.id)).status).toBe('bounced');
      expect((await logEntry(a.id)).status).toBe('sent');
      expect(pool.stats.timeouts).toBe(2);
    } finally {
      await configureBounceParsePool({});
    }
  });

  it('refuses a missing or wrong token with 401 and records nothing; 429 over the per-IP limit', async () => {
    const { captured } = await sendTo('auth-check@example.org');
    const dsn = postfixDsn({ to: captured.from, recipient: 'auth-check@example.org', status: '5.1.1', returnedHeaders: headerBlockOf(captured.raw) });
    expect((await post(dsn, 'message/rfc822', null)).status).toBe(401);
    expect((await post(dsn, 'message/rfc822', `${TOKEN}x`)).status).toBe(401);
    expect((await post(dsn, 'message/rfc822', 'short')).status).toBe(401);
    const basic = await app.http().post('/api/multi-smtp/inbound').set('Authorization', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`).type('message/rfc822').send(dsn);
    expect(basic.status).toBe(401);
    expect(await suppressionsOf('auth-check@example.org')).toEqual([]);

    await deleteKeys(redis, `${app.redisPrefix}:ratelimit:`);
    const statuses: number[] = [];
    for (let index = 0; index < 41; index += 1) statuses.push((await post('Subject: x\n\nx', 'message/rfc822', `${TOKEN}x`)).status);
    expect(statuses.slice(0, 40).every((status) => status === 401)).toBe(true);
    expect(statuses[40]).toBe(429);
  });

  it('a synchronous hard bounce from the engine suppresses at once and marks the subscriber bounced', async () => {
    const email = 'refused-now@example.org';
    const subscriber = await createSubscriber(api, { email });
    sink.setFaults([{ stage: 'rcpt', code: 550, enhanced: '5.1.1', recipients: [email] }]);
    try {
      const result = await mailer.sendNow({ to: email, subject: 'x', text: 'x' });
      expect(result.status).toBe('bounced');
      const found = await waitFor('suppressed', async () => {
        const rows = await suppressionsOf(email);
        return rows.length > 0 ? rows : null;
      });
      const suppression = found![0];
      expect(suppression).toMatchObject({ reason: 'hard-bounce', source: `message:${result.id}`, note: expect.stringMatching(/550/) });
      expect(await subscriberStatus(subscriber.documentId)).toBe('bounced');
    } finally {
      sink.setFaults([]);
    }
  });

  it('counts hard bounces, soft bounces and complaints against the server that sent the original', async () => {
    const stats = app.strapi.plugin('multi-smtp').service('stats') as { flush(): Promise<void> };
    const range = `from=${new Date(Date.now() - 3600_000).toISOString()}&to=${new Date(Date.now() + 3600_000).toISOString()}`;
    const totals = async () => {
      await stats.flush();
      const response = await api.get(`/multi-smtp/reports/servers?${range}`);
      expect(response.status).toBe(200);
      const row = (response.body.data.servers as { name: string; totals: Record<string, number> }[]).find((server) => server.name === 'sink');
      return row!.totals;
    };
    const before = await totals();
    const hard = await sendTo('count-hard@example.org');
    const soft = await sendTo('count-soft@example.org');
    const complained = await sendTo('count-complaint@example.org');
    await postOk(
      mbox([
        postfixDsn({ to: hard.captured.from, recipient: 'count-hard@example.org', status: '5.1.1', returnedHeaders: headerBlockOf(hard.captured.raw) }),
        postfixDsn({ to: soft.captured.from, recipient: 'count-soft@example.org', status: '4.2.2', diagnostic: 'smtp; 452 4.2.2 Mailbox full', returnedHeaders: headerBlockOf(soft.captured.raw) }),
        arfReport({ recipient: 'count-complaint@example.org', returnedHeaders: headerBlockOf(complained.captured.raw) }),
      ]),
      'application/mbox'
    );
    const after = await totals();
    expect({ hard: after.hardBounce! - before.hardBounce!, soft: after.softBounce! - before.softBounce!, complaints: after.complaint! - before.complaint! }).toEqual({
      hard: 1,
      soft: 1,
      complaints: 1,
    });
  });

  it('the webhook endpoints answer 404 while their providers are not configured', async () => {
    expect((await app.http().post('/api/multi-smtp/webhooks/ses').type('text/plain').send('{}')).status).toBe(404);
    expect((await app.http().post('/api/multi-smtp/webhooks/sendgrid').type('application/json').send('[]')).status).toBe(404);
  });

  it('npm run process-bounces: reads an mbox from stdin, posts it, prints one JSON line per message', async () => {
    const a = await sendTo('piped-a@example.org');
    const b = await sendTo('piped-b@example.org');
    const input = mbox([
      postfixDsn({ to: a.captured.from, recipient: 'piped-a@example.org', status: '5.1.1', returnedHeaders: headerBlockOf(a.captured.raw) }),
      arfReport({ recipient: 'piped-b@example.org', returnedHeaders: headerBlockOf(b.captured.raw) }),
    ]);
    const run = (env: Record<string, string>, stdin: string, args: string[] = []) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts', 'process-bounces.js'), ...args], {
          env: { PATH: process.env.PATH ?? '', ...env },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => (stdout += chunk));
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
        child.stdin.end(stdin);
      });

    const ok = await run({ MULTI_SMTP_URL: baseUrl, MULTI_SMTP_INBOUND_TOKEN: TOKEN }, input);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const lines = ok.stdout.trim().split('\n').map((line) => JSON.parse(line) as MessageResult);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ kind: 'bounce', linkedMessageIds: [a.id] });
    expect(lines[1]).toMatchObject({ kind: 'complaint', linkedMessageIds: [b.id] });
    expect(await suppressionsOf('piped-a@example.org')).toEqual([expect.objectContaining({ reason: 'hard-bounce' })]);
    expect(await suppressionsOf('piped-b@example.org')).toEqual([expect.objectContaining({ reason: 'complaint' })]);

    // One message, URL and token as arguments.
    const c = await sendTo('piped-c@example.org');
    const single = await run({}, postfixDsn({ to: c.captured.from, recipient: 'piped-c@example.org', status: '5.1.1', returnedHeaders: headerBlockOf(c.captured.raw) }), [
      '--url',
      `${baseUrl}/api/multi-smtp/inbound`,
      '--token',
      TOKEN,
    ]);
    expect(single.code).toBe(0);
    expect(JSON.parse(single.stdout.trim())).toMatchObject({ kind: 'bounce', linkedMessageIds: [c.id] });

    // A wrong token: a temporary failure for the MTA (EX_TEMPFAIL), so the bounce is not lost.
    const refused = await run({ MULTI_SMTP_URL: baseUrl, MULTI_SMTP_INBOUND_TOKEN: 'wrong-token-0000000000' }, input);
    expect(refused.code).toBe(75);
    expect(refused.stderr).toMatch(/401/);

    // Nothing to read: a usage error.
    const empty = await run({ MULTI_SMTP_URL: baseUrl, MULTI_SMTP_INBOUND_TOKEN: TOKEN }, '');
    expect(empty.code).toBe(65);
  });
});
