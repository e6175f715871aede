import { randomUUID } from 'node:crypto';

import type { Redis } from 'ioredis';

import type { MessageMeta } from '../../server/src/engine/message-store';
import type { GateDecision, SendingEngine } from '../../server/src/engine/sending-engine';
import { createBareEngine, sinkServer, type BareEngine } from '../helpers/bare-engine';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { sleep, waitFor } from '../helpers/wait';

/**
 * Campaign batches through the real sending engine (no Strapi: the engine is plain TypeScript),
 * with real Redis and a real SMTP sink: a batch is sent once however often it is handed in, the
 * gate skips or holds messages, and finished campaign messages leave nothing behind in Redis.
 */
describe('campaign batches in the sending engine', () => {
  let sink: TestSmtpServer;
  let redis: Redis;
  let engine: SendingEngine;
  let bare: BareEngine;
  let prefix: string;
  let gate: (meta: MessageMeta) => Promise<GateDecision> = async () => ({ kind: 'send' });

  const batch = (campaignId: string, seq: number, recipients: string[]) => ({
    batchId: `${campaignId}:${seq}`,
    campaignId,
    group: 'news',
    messages: recipients.map((to) => ({ id: randomUUID(), subscriberId: `sub-${to}`, message: { to, subject: `Hello ${to}`, text: 'Hi' } })),
  });
  const deliveredTo = () => sink.messages.map((message) => message.to[0]!);

  beforeAll(async () => {
    sink = await startSmtpServer();
    bare = createBareEngine([sinkServer('sink', sink.port, { fromAddress: 'news@example.com' })], {
      slug: 'news',
      gate: (meta) => gate(meta),
      // Campaign mail queued as recipients is rendered here, when a worker sends it.
      renderCampaignMessage: async ({ campaignId, recipient }) => {
        if (recipient.email.startsWith('broken')) throw new Error('template limit hit');
        return { to: recipient.email, subject: `${campaignId} for ${recipient.name}`, text: `Plan: ${String(recipient.attributes.plan)}` };
      },
    });
    ({ engine, redis, prefix } = bare);
    engine.start();
  });

  afterAll(async () => {
    await bare?.stop();
    await sink?.close();
  });

  beforeEach(() => {
    sink.messages.length = 0;
    gate = async () => ({ kind: 'send' });
  });

  it('sends a batch once however often it is handed in, and counts it once', async () => {
    const first = batch('c1', 0, ['a@example.com', 'b@example.com', 'c@example.com']);
    expect(await engine.queueCampaignBatch(first)).toEqual({ queued: true });
    // Handed in again while it may still be running (a fan-out resuming after a crash)...
    expect(await engine.queueCampaignBatch(first)).toEqual({ queued: false });
    await waitFor('3 delivered', () => sink.messages.length >= 3);
    // ...and again after it ran, with other message ids even: nothing new is stored or sent.
    expect(await engine.queueCampaignBatch({ ...first, messages: first.messages.map((entry) => ({ ...entry, id: randomUUID() })) })).toEqual({ queued: false });
    await sleep(500);
    expect(deliveredTo().sort()).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
    expect(await engine.campaignCounts('c1')).toEqual({ queued: 3, sent: 3, failed: 0, bounced: 0, skipped: 0, inFlight: 0 });
    // Finished campaign messages are removed from Redis (the delivery log keeps them).
    expect(await redis.exists(...first.messages.map((entry) => `${prefix}:msg:${entry.id}`))).toBe(0);
    // Their headers tie them to the campaign run.
    expect(sink.messages[0]!.headers['x-multi-smtp-id']).toBeDefined();
  });

  it("stores each message with its whole meta, the batch's shared fields sent once and completed per message", async () => {
    let held = true;
    gate = async () => (held ? { kind: 'hold', untilMs: Date.now() + 200, reason: 'paused' } : { kind: 'send' });
    const rendered = { id: randomUUID(), subscriberId: 'sub-r', message: { from: 'Shop <shop@example.com>', to: 'rendered@example.com', subject: 'Sale', text: 'Hi' } };
    const asRecipient = { id: randomUUID(), subscriberId: 'sub-q', recipient: { email: 'queued@example.com', name: 'Q', attributes: { plan: 'gold' } } };
    expect(await engine.queueCampaignBatch({ batchId: 'c9:0', campaignId: 'c9', group: 'news', messages: [rendered, asRecipient] })).toEqual({ queued: true });
    const metaOf = async (id: string) => JSON.parse((await redis.hget(`${prefix}:msg:${id}`, 'meta'))!) as MessageMeta;
    const shared = { groupId: 'g1', groupSlug: 'news', serverId: null, source: 'campaign', idempotencyKey: null, queuedAt: expect.any(Number), campaignId: 'c9', route: { via: 'group' } };
    expect(await metaOf(rendered.id)).toEqual({ ...shared, from: 'shop@example.com', recipients: ['rendered@example.com'], subject: 'Sale', subscriberId: 'sub-r' });
    expect(await metaOf(asRecipient.id)).toEqual({ ...shared, from: null, recipients: ['queued@example.com'], subject: '', subscriberId: 'sub-q' });
    held = false;
    await waitFor('both delivered', () => sink.messages.length >= 2, 10_000);
    expect(deliveredTo().sort()).toEqual(['queued@example.com', 'rendered@example.com']);
  });

  it('skips what the gate says to skip, counting it, and sends the rest', async () => {
    gate = async (meta) => (meta.recipients.includes('gone@example.com') ? { kind: 'skip', reason: 'suppressed' } : { kind: 'send' });
    const skipped = batch('c2', 0, ['keep1@example.com', 'gone@example.com', 'keep2@example.com']);
    await engine.queueCampaignBatch(skipped);
    await waitFor('counted', async () => (await engine.campaignCounts('c2')).inFlight === 0);
    expect(deliveredTo().sort()).toEqual(['keep1@example.com', 'keep2@example.com']);
    expect(await engine.campaignCounts('c2')).toMatchObject({ queued: 3, sent: 2, skipped: 1 });
    const status = await engine.status(skipped.messages[1]!.id);
    // Gone from Redis once finished; the Strapi layer answers from the delivery log then.
    expect(status).toBeNull();
  });

  it('holds a paused campaign without using attempts, and sends every message once after', async () => {
    let paused = true;
    gate = async () => (paused ? { kind: 'hold', untilMs: Date.now() + 300, reason: 'paused' } : { kind: 'send' });
    const recipients = Array.from({ length: 12 }, (_, index) => `p${index}@example.com`);
    await engine.queueCampaignBatch(batch('c3', 0, recipients.slice(0, 6)));
    await engine.queueCampaignBatch(batch('c3', 1, recipients.slice(6)));
    // Held for longer than the retry attempts (3 x 100 ms backoff) would last.
    await sleep(1500);
    expect(sink.messages).toHaveLength(0);
    expect((await engine.campaignCounts('c3')).inFlight).toBe(12);
    paused = false;
    await waitFor('12 delivered', () => sink.messages.length >= 12, 10_000);
    await sleep(300);
    expect(deliveredTo().sort()).toEqual([...recipients].sort());
    expect(await engine.campaignCounts('c3')).toMatchObject({ queued: 12, sent: 12, failed: 0, inFlight: 0 });
  });

  it('refuses a batch with a bad message before storing any of it', async () => {
    const bad = batch('c4', 0, ['ok@example.com', 'not an address']);
    await expect(engine.queueCampaignBatch(bad)).rejects.toMatchObject({ errors: [expect.objectContaining({ path: ['messages', '1', 'message', 'to'] })] });
    expect(await engine.campaignCounts('c4')).toMatchObject({ queued: 0 });
    expect(await engine.queueCampaignBatch(batch('c4', 0, ['ok@example.com']))).toEqual({ queued: true });
    await waitFor('delivered', () => sink.messages.length >= 1);
  });

  it('renders a campaign message queued as its recipient when it is sent, and fails one that cannot be rendered', async () => {
    const queued = await engine.queueCampaignBatch({
      batchId: 'c5:0',
      campaignId: 'c5',
      group: 'news',
      messages: [
        { id: randomUUID(), subscriberId: 's1', recipient: { email: 'ann@example.com', name: 'Ann', attributes: { plan: 'gold' } } },
        { id: randomUUID(), subscriberId: 's2', recipient: { email: 'broken@example.com', name: null, attributes: {} } },
      ],
    });
    expect(queued).toEqual({ queued: true });
    await waitFor('finished', async () => (await engine.campaignCounts('c5')).inFlight === 0);
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0]).toMatchObject({ to: ['ann@example.com'], subject: 'c5 for Ann' });
    expect(sink.messages[0]!.text?.trim()).toBe('Plan: gold');
    expect(await engine.campaignCounts('c5')).toMatchObject({ queued: 2, sent: 1, failed: 1 });
  });

  it('stores a page of batches in one script call: a replayed page queues nothing twice, a page partly stored before stores the rest', async () => {
    const recipients = (seq: number, part: number) => Array.from({ length: 4 }, (_, index) => `pg${seq}-${part}-${index}@example.com`);
    const page = (seq: number) =>
      [0, 1, 2].map((part) => ({
        batchId: `c6:${seq}:${part}`,
        campaignId: 'c6',
        group: 'news',
        messages: recipients(seq, part).map((email) => ({ id: randomUUID(), subscriberId: null, recipient: { email, name: null, attributes: { plan: 'x' } } })),
      }));
    const first = page(0);
    expect(await engine.queueCampaignBatches(first)).toEqual([{ queued: true }, { queued: true }, { queued: true }]);
    // The same page again (a fan-out replaying it after a crash): nothing stored, counted or sent twice.
    expect(await engine.queueCampaignBatches(first)).toEqual([{ queued: false }, { queued: false }, { queued: false }]);
    // A page whose first batch was stored alone before (the per-batch path): only the others are stored.
    const second = page(1);
    expect(await engine.queueCampaignBatch(second[0]!)).toEqual({ queued: true });
    expect(await engine.queueCampaignBatches(second)).toEqual([{ queued: false }, { queued: true }, { queued: true }]);
    expect(await engine.queueCampaignBatches([])).toEqual([]);
    await waitFor('24 delivered', async () => (await engine.campaignCounts('c6')).inFlight === 0 && sink.messages.length >= 24, 15_000);
    await sleep(300);
    const expected = [0, 1].flatMap((seq) => [0, 1, 2].flatMap((part) => recipients(seq, part)));
    expect(deliveredTo().sort()).toEqual(expected.sort());
    expect(await engine.campaignCounts('c6')).toEqual({ queued: 24, sent: 24, failed: 0, bounced: 0, skipped: 0, inFlight: 0 });
    expect(await redis.exists(...first.map((batch) => `${prefix}:batch:${batch.batchId}`))).toBe(3);
    expect(await redis.exists(...[...first, ...second].flatMap((batch) => batch.messages.map((entry) => `${prefix}:msg:${entry.id}`)))).toBe(0);
  });

  it('refuses a page with a bad message before storing any of its batches', async () => {
    const good = batch('c7', 0, ['fine@example.com']);
    const bad = { ...batch('c7', 1, ['also-fine@example.com', 'not an address']) };
    await expect(engine.queueCampaignBatches([good, bad])).rejects.toMatchObject({
      errors: [expect.objectContaining({ path: ['batches', '1', 'messages', '1', 'message', 'to'] })],
    });
    expect(await engine.campaignCounts('c7')).toMatchObject({ queued: 0 });
    expect(await redis.exists(`${prefix}:batch:c7:0`)).toBe(0);
  });

  it('queues sendBulk in batches, each message still delivered once', async () => {
    const queued = await engine.sendBulk(Array.from({ length: 60 }, (_, index) => ({ to: `bulk${index}@example.com`, subject: 's', text: 't' })), { group: 'news' });
    await waitFor('60 delivered', () => sink.messages.length >= 60, 15_000);
    await sleep(300);
    const ids = sink.messages.map((message) => message.headers['x-multi-smtp-id']);
    expect(new Set(ids)).toEqual(new Set(queued.map((entry) => entry.id)));
    expect(ids).toHaveLength(60);
    const jobCounts = await engine.queue.getJobCounts('completed', 'waiting', 'active', 'delayed');
    expect(jobCounts).toMatchObject({ waiting: 0, active: 0, delayed: 0 });
  });
});
