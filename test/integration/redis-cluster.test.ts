import { Cluster } from 'ioredis';

import { createCappedPair, midHourClockOffset, redisCli, startRedisCluster, type TestRedisCluster } from '../helpers/redis-topologies';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { startStrapi, type TestStrapi } from '../helpers/strapi';
import { sleep, waitFor } from '../helpers/wait';

const SINGLE = 150;
const BULK = 250;
const TOTAL = SINGLE + BULK;
const HOURLY_LIMIT = 120;

/**
 * The plugin on a real 6-node Redis Cluster (3 masters, 3 replicas): BullMQ's keys and the plugin's
 * own (quota and health scripts, MULTI of a finished message, the suppression set's RENAME) must
 * each stay in one hash slot, or Redis refuses them with CROSSSLOT.
 */
describe('Redis Cluster', () => {
  let cluster: TestRedisCluster;
  let app: TestStrapi;
  let sinks: TestSmtpServer[];
  const keyPrefix = `mst-cluster-${process.pid}`;

  beforeAll(async () => {
    [cluster, sinks] = await Promise.all([startRedisCluster(), Promise.all([startSmtpServer(), startSmtpServer()])]);
    app = await startStrapi({
      pluginConfig: {
        redis: { nodes: cluster.nodes.slice(0, 2), keyPrefix },
        worker: { enabled: true, concurrency: 10 },
        clockOffsetMs: midHourClockOffset(),
      },
    });
    await createCappedPair(app, sinks, HOURLY_LIMIT);
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await Promise.all((sinks ?? []).map((sink) => sink.close()));
    await cluster?.stop();
  });

  it('delivers send() and sendBulk() mail once each, with the hourly quota exact, every key in one slot', async () => {
    const mailer = app.strapi.plugin('multi-smtp').service('mailer');
    const errors: string[] = [];
    const logError = app.strapi.log.error.bind(app.strapi.log);
    app.strapi.log.error = ((message: string, ...rest: unknown[]) => {
      errors.push(String(message));
      return logError(message, ...rest);
    }) as typeof app.strapi.log.error;

    const started = Date.now();
    const ids: string[] = [];
    for (let index = 0; index < SINGLE; index += 1) {
      ids.push((await mailer.send({ to: `s${index}@example.com`, subject: `s${index}`, text: 'x' }, { group: 'pair' })).id);
    }
    const bulk = await mailer.sendBulk(
      Array.from({ length: BULK }, (_, index) => ({ to: `b${index}@example.com`, subject: `b${index}`, text: 'x' })),
      { group: 'pair' }
    );
    ids.push(...bulk.map((message: { id: string }) => message.id));

    const received = () => sinks.flatMap((sink) => sink.messages.map((message) => message.headers['x-multi-smtp-id']));
    await waitFor(`${TOTAL} messages at the sinks`, () => received().length >= TOTAL, 90_000, 100);
    await sleep(1000); // a duplicate would arrive now
    const delivered = received();
    expect(new Set(delivered).size).toBe(TOTAL);
    expect([...new Set(delivered)].sort()).toEqual([...ids].sort());
    expect(delivered).toHaveLength(TOTAL);
    expect(sinks[0]!.messages).toHaveLength(HOURLY_LIMIT);
    expect(sinks[1]!.messages).toHaveLength(TOTAL - HOURLY_LIMIT);
    const statuses = await Promise.all(ids.map((id) => mailer.status(id)));
    expect(statuses.filter((entry: { status: string } | null) => entry?.status === 'sent')).toHaveLength(TOTAL);
    expect(errors.filter((message) => /CROSSSLOT|MOVED|ASK/.test(message))).toEqual([]);

    // The plugin's keys and BullMQ's all hash to the slot of {keyPrefix}, on one master.
    const client = new Cluster(cluster.nodes);
    try {
      const slot = Number(await redisCli(cluster.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', `{${keyPrefix}}`));
      // Each master scanned on its own (redis-cli), not through client.nodes(): those are the cluster
      // client's own node connections, which it may close and replace as it (re)loads the slot map;
      // a scan on one failed once in CI with "Connection is closed".
      const keys: string[] = [];
      for (const { port } of cluster.nodes) {
        if ((await redisCli(port, 'ROLE')).split('\n')[0] !== 'master') continue;
        const found = await redisCli(port, '--scan', '--pattern', `*${keyPrefix}*`);
        keys.push(...found.split('\n').filter((key) => key.length > 0));
      }
      const slots = new Set(await Promise.all(keys.map(async (key) => Number(await client.call('CLUSTER', 'KEYSLOT', key)))));
      expect(keys.some((key) => key.startsWith(`{${keyPrefix}}:send:`))).toBe(true);
      expect(keys.some((key) => key.startsWith(`{${keyPrefix}}:quota:`))).toBe(true);
      expect([...slots]).toEqual([slot]);
      console.log(
        `Redis Cluster: ${TOTAL} messages (${SINGLE} send, ${BULK} sendBulk) delivered once each in ${Date.now() - started} ms; ` +
          `capped server ${sinks[0]!.messages.length}/${HOURLY_LIMIT}, open ${sinks[1]!.messages.length}; ${keys.length} keys, all in slot ${slot}`
      );
    } finally {
      client.disconnect();
    }
  }, 120_000);
});
