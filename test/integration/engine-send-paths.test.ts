import { randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';

import { createDirectoryCache, type GroupConfig, type ServerConfig } from '../../server/src/engine/directory';
import { createMessageStore, type MessageRecord } from '../../server/src/engine/message-store';
import { createSendingEngine, type SendingEngine } from '../../server/src/engine/sending-engine';
import { deleteKeys, redisTestPrefix, TEST_REDIS_URL, testRedis } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { waitFor } from '../helpers/wait';

/**
 * The sending paths made for throughput (issue 11), through the real engine, real Redis and a real
 * SMTP sink: send() calls of one tick share a job, a job's messages are sent side by side, and a
 * final state is counted once however often it is written.
 */
describe('sending paths', () => {
  let sink: TestSmtpServer;
  let redis: Redis;
  let bull: Redis;
  let engine: SendingEngine;
  const prefix = redisTestPrefix();
  const CONCURRENCY = 4;

  const server = (port: number): ServerConfig => ({
    id: 'slow-sink',
    name: 'slow sink',
    groupId: 'g1',
    weight: 1,
    priority: 0,
    enabled: true,
    ratePerSecond: null,
    hourlyLimit: null,
    dailyLimit: null,
    maxConnections: CONCURRENCY,
    warmup: null,
    fromAddress: 'app@example.com',
    fromName: null,
    endpoint: { host: '127.0.0.1', port, security: 'none', tlsRejectUnauthorized: true, username: null, password: null },
    version: '1',
  });
  const group: GroupConfig = { id: 'g1', slug: 'app', name: 'App', strategy: 'weighted', fallbackGroupId: null, isDefault: true, serverIds: ['slow-sink'] };

  beforeAll(async () => {
    // Slow to accept each message, so sends that overlap are seen to overlap.
    sink = await startSmtpServer({ delayMs: { data: 300 } });
    redis = testRedis();
    bull = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const directory = createDirectoryCache({ load: async () => ({ servers: [server(sink.port)], groups: [group] }) }, { maxAgeMs: 60_000 });
    engine = createSendingEngine({
      redis,
      bullConnection: bull,
      keyPrefix: prefix,
      timeZone: 'UTC',
      directory,
      timeouts: { connectionTimeoutMs: 5000, greetingTimeoutMs: 5000, socketTimeoutMs: 10000 },
      worker: { enabled: true, concurrency: CONCURRENCY },
      retry: { attempts: 3, backoffMs: 100 },
    });
    // The worker starts in the tests, once what they look at in the queue is there.
  });

  afterAll(async () => {
    await engine?.stop();
    await deleteKeys(redis, prefix);
    await deleteKeys(redis, `{${prefix}}`);
    await Promise.all([redis?.quit(), bull?.quit()]);
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
});
