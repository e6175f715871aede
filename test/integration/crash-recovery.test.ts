import type Redis from 'ioredis';

import { groupWithSink } from '../helpers/campaign-sending';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { deleteKeys, redisTestPrefix, testRedis } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { startStrapiProcess, type StrapiProcess } from '../helpers/strapi-process';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

type Mailer = {
  send(message: object, options?: object): Promise<{ id: string; status: string }>;
  status(id: string): Promise<{ status: string } | null>;
};

/**
 * A worker process killed with SIGKILL while sending plain send() mail: nothing is lost, and only
 * the sends in flight at the kill may go out twice (the server may have accepted one just before
 * the process died, before it could record the accept). The web node here queues the mail and runs
 * no worker; the mail goes out from Strapi processes started beside it on the same database and
 * Redis, the first killed mid-way.
 */
describe('crash recovery of plain send() mail', () => {
  const LOCK_MS = 2000;
  const CONCURRENCY = 4;
  const TOTAL = 150;

  let sink: TestSmtpServer;
  let redis: Redis;
  let database: TestDatabase;
  let redisPrefix: string;
  let web: TestStrapi | null = null;
  const workers: StrapiProcess[] = [];

  beforeAll(async () => {
    sink = await startSmtpServer();
    redis = testRedis();
    database = await createTestDatabase();
    redisPrefix = redisTestPrefix();
    web = await startStrapi({ reuse: { database, redisPrefix }, pluginConfig: { worker: { enabled: false } } });
  });

  afterAll(async () => {
    for (const worker of workers) await worker.kill().catch(() => undefined);
    await web?.stop();
    await sink?.close();
    await deleteKeys(redis, redisPrefix);
    redis.disconnect();
    await database?.drop();
  });

  it('a send() retried with its idempotency key after its job was lost queues the message again, once', async () => {
    // The first call stored the message, but its job never made it (a Redis error or failover after
    // the store write): the caller retries with the same key, as it should.
    const queue = web!.strapi.plugin('multi-smtp').service('engine').get().queue as {
      getJob(id: string): Promise<unknown>;
      remove(id: string): Promise<number>;
    };
    const mailer = web!.strapi.plugin('multi-smtp').service('mailer') as Mailer & {
      send(message: object, options?: object): Promise<{ id: string; status: string; duplicate?: boolean }>;
    };
    const first = await mailer.send({ to: 'retry@example.com', subject: 'Once', text: 'x' }, { idempotencyKey: 'order-lost-job' });
    expect(await queue.getJob(first.id)).not.toBeNull();
    expect(await queue.remove(first.id)).toBe(1);
    expect(await queue.getJob(first.id)).toBeFalsy();

    const retried = await mailer.send({ to: 'retry@example.com', subject: 'Once', text: 'x' }, { idempotencyKey: 'order-lost-job' });
    expect(retried).toMatchObject({ id: first.id, duplicate: true });
    expect(await queue.getJob(first.id)).toBeTruthy();
    // A third call finds the job there and adds none.
    await mailer.send({ to: 'retry@example.com', subject: 'Once', text: 'x' }, { idempotencyKey: 'order-lost-job' });
    expect(await queue.getJob(first.id)).toBeTruthy();
  });

  it('loses nothing and repeats at most the sends in flight at the kill', async () => {
    const api = asAdmin(web!);
    await groupWithSink(api, sink, 'transactional', { maxConnections: CONCURRENCY });
    const mailer = web!.strapi.plugin('multi-smtp').service('mailer') as Mailer;
    // Slow enough DATA that sends are in flight at any moment.
    sink.setDelay({ data: 40 });

    const settings = { worker: { enabled: true, concurrency: CONCURRENCY, lockDurationMs: LOCK_MS } };
    workers.push(await startStrapiProcess({ database, redisPrefix, pluginConfig: settings }));
    const ids: string[] = [];
    for (let index = 0; index < TOTAL; index += 1) {
      const queued = await mailer.send(
        { to: `person${index}@example.com`, subject: `Order ${index}`, text: 'Your order is on its way.' },
        { group: 'transactional' }
      );
      expect(queued.status).toBe('queued');
      ids.push(queued.id);
    }

    const deliveredIds = () => sink.messages.map((message) => message.headers['x-multi-smtp-id']!);
    await waitFor('a third delivered', () => deliveredIds().length >= TOTAL / 3, 60_000);
    await workers[0]!.kill();
    const killedAt = Date.now();
    // The jobs the dead process was running: BullMQ takes them back once their locks lapse.
    const inFlight = await redis.lrange(`{${redisPrefix}}:send:active`, 0, -1);
    const deliveredAtKill = deliveredIds().length;
    expect(deliveredAtKill).toBeLessThan(TOTAL);
    expect(inFlight.length).toBeGreaterThan(0);
    expect(inFlight.length).toBeLessThanOrEqual(CONCURRENCY);

    workers.push(await startStrapiProcess({ database, redisPrefix, pluginConfig: settings }));
    const restartedAt = Date.now();
    await waitFor('every message delivered', () => new Set(deliveredIds()).size === TOTAL, 60_000);
    const allDeliveredAt = Date.now();
    const lastInFlightDelivery = Math.max(
      ...sink.messages.filter((message) => inFlight.includes(message.headers['x-multi-smtp-id']!)).map((message) => message.receivedAt)
    );

    const counts = new Map<string, number>();
    for (const id of deliveredIds()) counts.set(id, (counts.get(id) ?? 0) + 1);
    const repeated = [...counts].filter(([, count]) => count > 1).map(([id]) => id);
    expect([...counts.keys()].sort()).toEqual([...ids].sort());
    // Only a send in flight at the kill can go out twice.
    for (const id of repeated) expect(inFlight).toContain(id);
    for (const id of ids) {
      const status = await waitFor(`status of ${id}`, async () => {
        const current = await mailer.status(id);
        return current?.status === 'sent' ? current : null;
      });
      expect(status!.status).toBe('sent');
    }
    console.log(
      `crash recovery (send): ${TOTAL} queued, ${deliveredAtKill} delivered before the kill, ${inFlight.length} in flight at the kill, ` +
        `${repeated.length} delivered twice, lost 0; new process ready ${restartedAt - killedAt} ms after the kill, ` +
        `in-flight mail delivered ${lastInFlightDelivery - killedAt} ms after the kill (lock ${LOCK_MS} ms), all delivered after ${allDeliveredAt - killedAt} ms`
    );
  }, 180_000);
});
