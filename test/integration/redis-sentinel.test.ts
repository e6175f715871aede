import { createCappedPair, midHourClockOffset, startRedisSentinel, type TestRedisSentinel } from '../helpers/redis-topologies';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { startStrapi, type TestStrapi } from '../helpers/strapi';
import { sleep, waitFor } from '../helpers/wait';

const TOTAL = 400;
const LANES = 4;
/** Between two sends of a lane: the sending lasts about 10 s, so both failovers happen during it. */
const PACE_MS = 90;
const HOURLY_LIMIT = 150;

/**
 * The plugin on Redis Sentinel (a master, a replica, three sentinels), through two failovers while
 * mail is being queued and sent: one asked of a sentinel (SENTINEL FAILOVER), one a SIGKILL of the
 * master. Every message whose send() resolved must be delivered; duplicates are bounded by the sends
 * in flight when a failover strikes.
 */
describe('Redis Sentinel', () => {
  let sentinel: TestRedisSentinel;
  let app: TestStrapi;
  let sinks: TestSmtpServer[];
  const keyPrefix = `mst-sentinel-${process.pid}`;

  beforeAll(async () => {
    [sentinel, sinks] = await Promise.all([startRedisSentinel(), Promise.all([startSmtpServer(), startSmtpServer()])]);
    app = await startStrapi({
      pluginConfig: {
        redis: { sentinels: sentinel.sentinels, name: sentinel.name, keyPrefix, waitTimeoutMs: 500 },
        // Jobs held by a worker across the failover are taken over after this.
        worker: { enabled: true, concurrency: 10, lockDurationMs: 5000 },
        clockOffsetMs: midHourClockOffset(),
      },
    });
    await createCappedPair(app, sinks, HOURLY_LIMIT);
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await Promise.all((sinks ?? []).map((sink) => sink.close()));
    await sentinel?.stop();
  });

  it('loses no accepted message through a SENTINEL FAILOVER and a SIGKILL of the master; the hourly quota overrun is reported', async () => {
    const mailer = app.strapi.plugin('multi-smtp').service('mailer');
    const started = Date.now();
    /** Message ids whose send() resolved, by message number. */
    const accepted = new Map<number, string>();
    let rejected = 0;
    /** How long each resolved send() took (Redis WAIT for the replica included). */
    const latencies: number[] = [];
    let next = 0;
    let sendingDone = false;

    // Each lane sends messages one after the other; a rejected send is retried with the same
    // idempotency key, as a caller should (the message may or may not have been queued).
    const lane = async () => {
      for (let index = next++; index < TOTAL; index = next++) {
        // A caller retries for as long as a failover can take on a loaded machine (SIGKILL detection,
        // election, reconnection), not a fixed number of times.
        const giveUpAt = Date.now() + 60_000;
        for (;;) {
          try {
            const sendStarted = Date.now();
            const queued = await mailer.send(
              { to: `m${index}@example.com`, subject: `m${index}`, text: 'x' },
              { group: 'pair', idempotencyKey: `sentinel-${index}` }
            );
            accepted.set(index, queued.id);
            latencies.push(Date.now() - sendStarted);
            break;
          } catch (error) {
            rejected += 1;
            if (Date.now() > giveUpAt) throw new Error(`send() of m${index} kept failing for 60 s: ${(error as Error).message}`);
            await sleep(100);
          }
        }
        await sleep(PACE_MS);
      }
    };
    const failovers = (async () => {
      await waitFor('100 messages accepted', () => accepted.size >= 100 || sendingDone, 60_000, 20);
      const asked = await sentinel.failover();
      await sentinel.waitForReplica();
      await waitFor('250 messages accepted', () => accepted.size >= 250 || sendingDone, 60_000, 20);
      const killed = await sentinel.killMaster();
      await sentinel.waitForReplica();
      return { asked, killed, acceptedBefore: accepted.size };
    })();
    await Promise.all(Array.from({ length: LANES }, lane));
    sendingDone = true;
    const { asked, killed } = await failovers;
    const sendMs = Date.now() - started;
    expect(accepted.size).toBe(TOTAL);

    const subjects = () => sinks.flatMap((sink) => sink.messages.map((message) => message.subject ?? ''));
    const deliveredIds = () => new Set(sinks.flatMap((sink) => sink.messages.map((message) => message.headers['x-multi-smtp-id'])));
    await waitFor('every accepted message at the sinks', () => [...accepted.values()].every((id) => deliveredIds().has(id)), 90_000, 200).catch(
      async (error: Error) => {
        // Say which messages are missing and where they stand (engine state, BullMQ job), not only that some are.
        const engine = app.strapi.plugin('multi-smtp').service('engine').get();
        const missing = [...accepted.values()].filter((id) => !deliveredIds().has(id)).slice(0, 10);
        const states = await Promise.all(
          missing.map(async (id) => `${id}: ${(await mailer.status(id))?.status ?? 'no record'}, job ${await engine.queue.getJobState(id)}`)
        );
        throw new Error(`${error.message}; ${missing.length} missing: ${states.join('; ')}`);
      }
    );
    await sleep(2000); // a late duplicate would arrive now
    const delivered = subjects();
    const distinct = new Set(delivered);
    const duplicates = delivered.length - distinct.size;
    const median = [...latencies].sort((a, b) => a - b)[Math.floor(latencies.length / 2)];
    console.log(
      `Redis Sentinel: ${TOTAL} messages accepted (${rejected} send() calls rejected during failovers and retried), ` +
        `${delivered.length} delivered, ${distinct.size} distinct, ${duplicates} duplicates; ` +
        `SENTINEL FAILOVER to ${asked.port} in ${asked.ms} ms, SIGKILL of the master then ${killed.port} promoted in ${killed.ms} ms; ` +
        `capped server ${sinks[0]!.messages.length}/${HOURLY_LIMIT}, open ${sinks[1]!.messages.length}; sending took ${sendMs} ms (send() median ${median} ms), all delivered after ${Date.now() - started} ms`
    );
    expect(distinct.size).toBe(TOTAL);
    // A duplicate can only come from a send in flight when a failover struck (its "sent" was lost).
    expect(duplicates).toBeLessThanOrEqual(2 * 10);
    // Quota reservations are not waited on for the replica (only queued mail is): those taken on the
    // old master just before a failover can be lost and counted again. The overrun is reported, not
    // bounded here (a loaded machine can add a spontaneous failover to a lagging replica); the quota
    // is exact without failovers (redis-cluster.test.ts, engine-quota.test.ts).
    expect(sinks[0]!.messages.length).toBeGreaterThanOrEqual(HOURLY_LIMIT);
  }, 150_000);
});
