import { randomUUID } from 'node:crypto';

import type { Redis } from 'ioredis';

import { createMessageStore, type MessageRecord } from '../../server/src/engine/message-store';
import type { SendingEngine } from '../../server/src/engine/sending-engine';
import { createBareEngine, sinkServer, type BareEngine } from '../helpers/bare-engine';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { waitFor } from '../helpers/wait';

/** A message record as the engine stores it, to the recipient a@example.com in group g1. */
const record = (id: string, campaignId: string | null): MessageRecord => ({
  id,
  message: { to: [{ name: '', address: 'a@example.com' }], subject: 's', text: 't' },
  meta: { groupId: 'g1', groupSlug: 'app', serverId: null, source: 'api', idempotencyKey: null, queuedAt: 1, from: null, recipients: ['a@example.com'], subject: 's', campaignId },
  status: 'queued',
  attempts: [],
  serverId: null,
  serverName: null,
  lastReply: null,
  smtpMessageId: null,
  sentAt: null,
  finishedAt: null,
});

/**
 * The sending paths made for throughput (issue 11), through the real engine, real Redis and a real
 * SMTP sink: send() calls of one tick share a job, a job's messages are sent side by side, and a
 * final state is counted once however often it is written.
 */
describe('sending paths', () => {
  let sink: TestSmtpServer;
  let redis: Redis;
  let engine: SendingEngine;
  let bare: BareEngine;
  let prefix: string;
  const CONCURRENCY = 4;

  beforeAll(async () => {
    // Slow to accept each message, so sends that overlap are seen to overlap.
    sink = await startSmtpServer({ delayMs: { data: 300 } });
    bare = createBareEngine([sinkServer('slow-sink', sink.port, { maxConnections: CONCURRENCY })], {
      slug: 'app',
      worker: { enabled: true, concurrency: CONCURRENCY },
    });
    ({ engine, redis, prefix } = bare);
    // The worker starts in the tests, once what they look at in the queue is there.
  });

  afterAll(async () => {
    await bare?.stop();
    await sink?.close();
  });

  it('stores and queues the send() calls of one tick together, and sends each once, side by side', async () => {
    const queued = await Promise.all(
      Array.from({ length: 12 }, (_, index) => engine.send({ to: `tick${index}@example.com`, subject: `tick ${index}`, text: 'x' }, { group: 'app' }))
    );
    expect(new Set(queued.map((message) => message.id)).size).toBe(12);
    // One job carries all twelve (one store write, one queue add), not one job per call.
    const jobs = await engine.queue.getJobs(['waiting', 'prioritized']);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.data).toEqual({ ids: queued.map((message) => message.id) });

    engine.start({ force: true });
    await waitFor('12 delivered', () => sink.messages.length >= 12, 20_000);
    const delivered = sink.messages.map((message) => message.headers['x-multi-smtp-id']);
    expect(new Set(delivered)).toEqual(new Set(queued.map((message) => message.id)));
    expect(delivered).toHaveLength(12);
    // One job, yet its messages went over several connections at once (the worker's send slots),
    // never more than the server's maxConnections.
    const connections = new Set(sink.messages.map((message) => message.session.remotePort));
    expect(connections.size).toBeGreaterThan(1);
    expect(connections.size).toBeLessThanOrEqual(CONCURRENCY);
    await waitFor('depth back to 0', async () => ((await engine.queueDepth()).g1 ?? 0) === 0);
  }, 40_000);

  it('counts a final state once, however often it is written (a job that ran twice)', async () => {
    const store = createMessageStore(redis, { keyPrefix: `${prefix}:once`, retentionSec: 60, idempotencySec: 60 });
    const depthKey = `${prefix}:once:depth`;
    const campaignCountsKey = `${prefix}:once:campaign:c1:counts`;
    const plain = randomUUID();
    const campaign = randomUUID();
    await store.createMany([record(plain, null), record(campaign, 'c1')]);
    await redis.hset(depthKey, 'g1', 2);

    for (let run = 0; run < 3; run += 1) {
      await store.update(plain, { status: 'sent', sentAt: 5, finishedAt: 5 }, { depthKey, depthField: 'g1' });
      await store.update(campaign, { status: 'failed', finishedAt: 5 }, { depthKey, depthField: 'g1', campaignCountsKey });
    }
    expect(await redis.hget(depthKey, 'g1')).toBe('0');
    expect(await redis.hgetall(campaignCountsKey)).toEqual({ failed: '1' });
    // The plain message keeps its final state (without its body); the campaign message is gone.
    expect(await redis.hget(`${prefix}:once:msg:${plain}`, 'status')).toBe('sent');
    expect(await redis.hexists(`${prefix}:once:msg:${plain}`, 'body')).toBe(0);
    expect(await redis.exists(`${prefix}:once:msg:${campaign}`)).toBe(0);
    // A late write for a message that is gone does not bring it back.
    await store.update(campaign, { lastReply: 'late' });
    expect(await redis.exists(`${prefix}:once:msg:${campaign}`)).toBe(0);
  });

  it('stores messages and counts them on their depth in one call, and throws when a write fails', async () => {
    const store = createMessageStore(redis, { keyPrefix: `${prefix}:create`, retentionSec: 60, idempotencySec: 60 });
    const depthKey = `${prefix}:create:depth`;
    const [first, second] = [randomUUID(), randomUUID()];
    await store.createMany([record(first, null), record(second, null)], { key: depthKey, counts: new Map([['g1', 2]]) });
    expect(await redis.hget(store.messageKey(first), 'status')).toBe('queued');
    expect(await redis.hget(store.messageKey(second), 'status')).toBe('queued');
    expect(await redis.hget(depthKey, 'g1')).toBe('2');

    // A write Redis refuses (here: the key holds a string) is an error, never a message taken as stored.
    const taken = randomUUID();
    await redis.set(store.messageKey(taken), 'not a hash');
    await expect(store.createMany([record(taken, null)])).rejects.toThrow(/WRONGTYPE/);
  });
});
