import type Redis from 'ioredis';

import { deliveriesOf, repeated } from '../helpers/campaign-sending';
import { readyCampaign } from '../helpers/campaigns';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { deleteKeys, redisTestPrefix, testRedis } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { startStrapiProcess, startWorkerCommand, type StrapiProcess, type WorkerCommand } from '../helpers/strapi-process';
import { sleep, waitFor } from '../helpers/wait';

/**
 * A production layout on one machine: two Strapi web nodes that serve HTTP with
 * `worker.enabled: false`, and the standalone worker started through the shipped command
 * (`multi-smtp-worker`, run from the app's folder), all on one Postgres database and one Redis
 * prefix. Everything is driven over HTTP, to both web nodes; what was sent is counted at real
 * SMTP sinks.
 */

const WEIGHTED_MESSAGES = 3000;
const CAMPAIGN_RECIPIENTS = 300;
/** The bound asserted on every propagation measured below (pub/sub: tens of ms; the 5 s snapshot age alone: up to 5 s). */
const PROPAGATION_BOUND_MS = 2000;
const ADMIN = { email: 'super@example.com', password: 'Sup3rSecret!' };

interface Reply {
  status: number;
  body: { data?: unknown; error?: { message?: string } } & Record<string, unknown>;
}

/** fetch with JSON in and out; a text/csv body when `contentType` says so. */
const call = async (url: string, init: { method?: string; token?: string; body?: unknown; contentType?: string } = {}): Promise<Reply> => {
  const headers: Record<string, string> = {};
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    headers['Content-Type'] = init.contentType ?? 'application/json';
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  }
  const response = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
};

const dataOf = <T = Record<string, unknown> & { documentId: string }>(what: string, reply: Reply): T => {
  if (reply.status >= 300) throw new Error(`${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.data as T;
};

/** Runs `work` over the items, `concurrency` at a time. */
const inParallel = async <T>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<void>) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    })
  );
};

/** Engine clock shift so that no quota window ends during the test (an hour that ends mid-test would let more through). */
const clockOffsetForQuotaTests = () => {
  const intoHour = Date.now() % 3_600_000;
  return intoHour > 45 * 60_000 ? 3_600_000 - intoHour + 60_000 : 0;
};

describe('several nodes: two web nodes and a standalone worker on one database and Redis', () => {
  let database: TestDatabase;
  let redisPrefix: string;
  let redis: Redis;
  let nodeA: StrapiProcess | undefined;
  let nodeB: StrapiProcess | undefined;
  let worker: WorkerCommand | undefined;
  let secondWorker: WorkerCommand | undefined;
  let urlA: string;
  let urlB: string;
  let tokenA: string;
  let tokenB: string;
  let apiToken: string;
  let pluginConfig: Record<string, unknown>;
  const sinks: TestSmtpServer[] = [];
  const sink = async (options?: Parameters<typeof startSmtpServer>[0]) => {
    const started = await startSmtpServer(options);
    sinks.push(started);
    return started;
  };

  const admin = (url: string, token: string) => ({
    get: (path: string) => call(`${url}${path}`, { token }),
    post: (path: string, body: unknown = {}) => call(`${url}${path}`, { token, body }),
    put: (path: string, body: unknown) => call(`${url}${path}`, { method: 'PUT', token, body }),
  });
  const onA = () => admin(urlA, tokenA);
  const onB = () => admin(urlB, tokenB);
  /** Queues one message through a node's content API (API token), as another service would. */
  const queue = (url: string, message: Record<string, unknown>, options: Record<string, unknown>) =>
    call(`${url}/api/multi-smtp/messages`, { token: apiToken, body: { message, options } });

  const addGroup = async (slug: string, strategy = 'weighted') =>
    dataOf('creating a group', await onA().post('/multi-smtp/groups', { name: slug, slug, strategy })).documentId;
  const addServer = async (name: string, server: TestSmtpServer, fields: Record<string, unknown>) =>
    dataOf(
      `creating server ${name}`,
      await onA().post('/multi-smtp/servers', {
        name,
        host: server.host,
        port: server.port,
        security: 'none',
        fromAddress: 'nodes@example.com',
        maxConnections: 10,
        ...fields,
      })
    ).documentId;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    redisPrefix = redisTestPrefix();
    redis = testRedis();
    pluginConfig = {
      // The same config on every node, as in production: web nodes run no workers; the command turns its own on.
      worker: { enabled: false, concurrency: 16, lockDurationMs: 3000 },
      campaigns: { pageSize: 10, maxInFlight: 40, batchSize: 5 },
      publicUrl: 'https://nodes.example.test',
      clockOffsetMs: clockOffsetForQuotaTests(),
    };
    // Node A first: it creates the schema and the default group; then B and the worker together.
    nodeA = await startStrapiProcess({ database, redisPrefix, pluginConfig, listen: true });
    [nodeB, worker] = await Promise.all([
      startStrapiProcess({ database, redisPrefix, pluginConfig, listen: true }),
      startWorkerCommand({ database, redisPrefix, pluginConfig }),
    ]);
    urlA = nodeA.url!;
    urlB = nodeB.url!;

    // The first admin is registered once (the database is shared); node B logs in with it.
    tokenA = dataOf<{ token: string }>('registering the admin', await call(`${urlA}/admin/register-admin`, { body: { firstname: 'Super', lastname: 'Admin', ...ADMIN } })).token;
    tokenB = dataOf<{ token: string }>('logging in on B', await call(`${urlB}/admin/login`, { body: ADMIN })).token;
    apiToken = dataOf<{ accessKey: string }>(
      'creating an API token',
      await onA().post('/admin/api-tokens', { name: 'multi-node', description: '', type: 'full-access', lifespan: null })
    ).accessKey;
  }, 150_000);

  afterAll(async () => {
    await Promise.all(
      [worker, secondWorker].map((command) => (command && command.child.exitCode === null && command.child.signalCode === null ? command.kill() : undefined))
    );
    await Promise.all([nodeA, nodeB].map((node) => node?.stop().catch(() => node.kill())));
    await Promise.all(sinks.map((server) => server.close()));
    if (redis) {
      await deleteKeys(redis, redisPrefix);
      redis.disconnect();
    }
    await database?.drop();
  }, 60_000);

  it('the worker command exits non-zero with a clear message when the app does not load', async () => {
    const broken = await startWorkerCommand({ database, redisPrefix, pluginConfig: { ...pluginConfig, worker: { concurrency: 0 } }, waitForReady: false });
    expect(await broken.exited).toBe(1);
    expect(broken.output()).toMatch(/multi-smtp-worker: the Strapi app in .* failed to load/);
    expect(broken.output()).toContain('worker.concurrency');
  }, 60_000);

  it(`splits ${WEIGHTED_MESSAGES} messages queued over HTTP on both web nodes 5/3/2 within 1 %, each sent once, by the worker`, async () => {
    const weighted = await Promise.all([sink(), sink(), sink()]);
    const group = await addGroup('weighted');
    for (const [index, weight] of [5, 3, 2].entries()) await addServer(`w${weight}`, weighted[index]!, { weight, maxConnections: 20, group });

    const indexes = Array.from({ length: WEIGHTED_MESSAGES }, (_, index) => index);
    await inParallel(indexes, 24, async (index) => {
      const reply = await queue(index % 2 === 0 ? urlA : urlB, { to: `w${index}@example.com`, subject: `w${index}`, text: 'x' }, { group: 'weighted' });
      if (reply.status !== 202) throw new Error(`queueing w${index}: ${reply.status} ${JSON.stringify(reply.body)}`);
    });
    const total = () => weighted.reduce((sum, server) => sum + server.messages.length, 0);
    await waitFor(`${WEIGHTED_MESSAGES} messages at the sinks`, () => total() >= WEIGHTED_MESSAGES, 120_000, 200);
    await sleep(300);

    const counts = weighted.map((server) => server.messages.length);
    const shares = counts.map((count) => count / WEIGHTED_MESSAGES);
    console.log(`multi-node weights 5/3/2: received ${counts.join(' / ')} = ${shares.map((share) => `${(share * 100).toFixed(2)} %`).join(' / ')}`);
    [0.5, 0.3, 0.2].forEach((expected, index) => expect(Math.abs(shares[index]! - expected)).toBeLessThanOrEqual(0.01));
    const ids = weighted.flatMap((server) => server.messages.map((message) => message.headers['x-multi-smtp-id']));
    expect(total()).toBe(WEIGHTED_MESSAGES);
    expect(new Set(ids).size).toBe(WEIGHTED_MESSAGES);
  }, 150_000);

  let capped: TestSmtpServer[] = [];
  it('never goes over an hourly limit: servers capped at 30 and 20 receive exactly 30 and 20 of 70 queued on both nodes', async () => {
    capped = await Promise.all([sink(), sink()]);
    const group = await addGroup('capped');
    await addServer('hourly-30', capped[0]!, { hourlyLimit: 30, group });
    await addServer('hourly-20', capped[1]!, { hourlyLimit: 20, group });
    await inParallel(
      Array.from({ length: 70 }, (_, index) => index),
      10,
      async (index) => {
        const reply = await queue(index % 2 === 0 ? urlA : urlB, { to: `q${index}@example.com`, subject: `q${index}`, text: 'x' }, { group: 'capped' });
        expect(reply.status).toBe(202);
      }
    );
    await waitFor('50 messages at the capped sinks', () => capped[0]!.messages.length + capped[1]!.messages.length >= 50, 30_000, 100);
    // The other 20 wait for the next hour; give them every chance to overshoot.
    await sleep(2000);
    console.log(`multi-node quotas: hourlyLimit 30 received ${capped[0]!.messages.length}, hourlyLimit 20 received ${capped[1]!.messages.length} (70 queued)`);
    expect(capped.map((server) => server.messages.length)).toEqual([30, 20]);
  }, 60_000);

  it('shows the same live status on both web nodes', async () => {
    type Overview = { servers: { name: string; quota: { hour: { used: number; cap: number | null } } }[]; groups: unknown[]; pinnedDepth: number; at?: number };
    const overviewOf = async (api: ReturnType<typeof onA>) => {
      const overview = dataOf<Overview>('reading the status', await api.get('/multi-smtp/status'));
      delete overview.at; // the moment each node answered
      return overview;
    };
    // Read close together; retried while the state moves between the reads (messages waking for
    // their quota re-wait, connections closing), which on a loaded machine can take a while.
    let lastPair: [Overview, Overview] | null = null;
    const found = await waitFor(
      'the same status on both nodes',
      async () => {
        const pair = (await Promise.all([overviewOf(onA()), overviewOf(onB())])) as [Overview, Overview];
        lastPair = pair;
        return JSON.stringify(pair[0]) === JSON.stringify(pair[1]) ? pair : null;
      },
      25_000,
      200
    ).catch((error: Error) => {
      // Say what differed, not only that it did.
      throw new Error(`${error.message}; last reads: A ${JSON.stringify(lastPair?.[0])} B ${JSON.stringify(lastPair?.[1])}`);
    });
    const [fromA, fromB] = found!;
    expect(fromB).toEqual(fromA);
    const hourUsed = Object.fromEntries(fromA.servers.map((server) => [server.name, server.quota.hour.used]));
    expect(hourUsed).toMatchObject({ 'hourly-30': 30, 'hourly-20': 20 });
    expect(fromA.servers.find((server) => server.name === 'hourly-30')?.quota.hour.cap).toBe(30);
    console.log(`multi-node status: identical on A and B (${fromA.servers.length} servers, ${fromA.groups.length} groups; hour used ${JSON.stringify(hourUsed)})`);
  }, 60_000);

  it(`an edit or a suspension made on node A is honoured by the worker and node B within ${PROPAGATION_BOUND_MS} ms`, async () => {
    const [first, second] = await Promise.all([sink(), sink()]);
    const group = await addGroup('switch', 'priority');
    const primary = await addServer('primary', first, { priority: 0, group });
    await addServer('secondary', second, { priority: 1, group });

    // What the nodes hear: every change is announced on the plugin's channel.
    const listener = testRedis();
    const announcements: number[] = [];
    listener.on('message', () => announcements.push(Date.now()));
    await listener.subscribe(`${redisPrefix}:directory:changed`);

    // A steady trickle of mail queued on node B, routed by the worker when it sends.
    let trickling = true;
    let sent = 0;
    const trickle = (async () => {
      while (trickling) {
        await queue(urlB, { to: `t${sent}@example.com`, subject: `t${sent}`, text: 'x' }, { group: 'switch' });
        sent += 1;
        await sleep(20);
      }
    })();
    const firstAfter = (server: TestSmtpServer, since: number, what: string) =>
      waitFor(what, () => server.messages.find((message) => message.receivedAt >= since), 10_000, 10).then((message) => message!.receivedAt - since);

    try {
      await firstAfter(first, Date.now(), 'mail at the primary');
      const measured: Record<string, number> = {};

      // Disabled on A: the worker must route to the secondary.
      let since = Date.now();
      dataOf('disabling the primary', await onA().put(`/multi-smtp/servers/${primary}`, { enabled: false }));
      measured['disable (edit)'] = await firstAfter(second, since, 'mail at the secondary after the primary was disabled');
      const disabledAt = since + measured['disable (edit)'];
      await sleep(500);
      // Sends already under way to the primary when the change arrived may land just after it; none later.
      expect(first.messages.filter((message) => message.receivedAt > disabledAt + 250)).toEqual([]);

      since = Date.now();
      dataOf('enabling the primary', await onA().put(`/multi-smtp/servers/${primary}`, { enabled: true }));
      measured['enable (edit)'] = await firstAfter(first, since, 'mail at the primary after it was enabled again');

      // Suspended on A (a Redis state, no database row): announced too, the worker's health cache drops.
      since = Date.now();
      dataOf('suspending the primary', await onA().post(`/multi-smtp/servers/${primary}/suspend`, { minutes: 30, reason: 'multi-node test' }));
      measured.suspend = await firstAfter(second, since, 'mail at the secondary after the primary was suspended');
      since = Date.now();
      dataOf('resuming the primary', await onA().post(`/multi-smtp/servers/${primary}/resume`));
      measured.resume = await firstAfter(first, since, 'mail at the primary after it was resumed');

      // A group made on A: node B refuses mail for it until its snapshot knows it, then takes it.
      since = Date.now();
      const late = await addGroup('late');
      await addServer('late-server', second, { group: late });
      const createdIn = Date.now() - since;
      const accepted = await waitFor(
        'node B to take mail for the new group',
        async () => ((await queue(urlB, { to: 'late@example.com', subject: 'late', text: 'x' }, { group: 'late' })).status === 202 ? Date.now() : null),
        10_000,
        10
      );
      measured['new group known to node B'] = accepted! - since - createdIn;

      console.log(
        `multi-node propagation (change made on A, first effect seen; bound ${PROPAGATION_BOUND_MS} ms): ${Object.entries(measured)
          .map(([what, ms]) => `${what} ${ms} ms`)
          .join(', ')}; ${announcements.length} announcements heard`
      );
      for (const ms of Object.values(measured)) expect(ms).toBeLessThan(PROPAGATION_BOUND_MS);
      expect(announcements.length).toBeGreaterThanOrEqual(5);
    } finally {
      trickling = false;
      await trickle;
      listener.disconnect();
    }
  }, 90_000);

  it('sends a campaign started on a web node exactly once to everyone although its worker is killed mid-fan-out; web nodes pause and resume but neither fan out nor schedule', async () => {
    const news = await sink({ delayMs: { rcpt: 40 } });
    const group = await addGroup('news');
    await addServer('news-sink', news, { maxConnections: 2, group });
    const list = dataOf('creating a list', await onA().post('/multi-smtp/lists', { name: 'Everyone' })).documentId;
    const expected = Array.from({ length: CAMPAIGN_RECIPIENTS }, (_, index) => `reader${index}@example.com`);
    const imported = await call(`${urlB}/multi-smtp/subscribers/import?lists=${list}`, {
      token: tokenB,
      contentType: 'text/csv',
      body: `email,name\n${expected.map((email, index) => `${email},Reader ${index}`).join('\n')}\n`,
    });
    expect(dataOf<{ created: number }>('importing subscribers', imported).created).toBe(CAMPAIGN_RECIPIENTS);
    const smallList = dataOf('creating a list', await onA().post('/multi-smtp/lists', { name: 'Few' })).documentId;
    const few = ['few0@example.com', 'few1@example.com', 'few2@example.com'];
    for (const email of few) dataOf('adding a subscriber', await onB().post('/multi-smtp/subscribers', { email, lists: [smallList] }));

    const campaign = dataOf('creating the campaign', await onA().post('/multi-smtp/campaigns', readyCampaign([list], { name: 'Big', group }))).documentId;
    const later = dataOf('creating the scheduled campaign', await onA().post('/multi-smtp/campaigns', readyCampaign([smallList], { name: 'Later', group }))).documentId;
    // Started on node B, a web node: the worker fans it out.
    dataOf('starting the campaign on B', await onB().post(`/multi-smtp/campaigns/${campaign}/start`));
    await waitFor('80 deliveries', () => deliveriesOf([news], campaign).size >= 80, 60_000, 50);

    // Hold every new SMTP transaction before its DATA (none is half-accepted), let those past it
    // finish, then kill the worker mid-campaign.
    news.setDelay({ rcpt: 60_000 });
    await sleep(500);
    const cursorKey = `${redisPrefix}:campaign:${campaign}:cursor`;
    const cursorAtKill = await redis.get(cursorKey);
    await worker!.kill();
    const beforeCrash = deliveriesOf([news], campaign).size;
    expect(beforeCrash).toBeLessThan(CAMPAIGN_RECIPIENTS);
    expect(JSON.parse(cursorAtKill ?? 'null')).toMatchObject({ done: false });
    news.setDelay(0);

    // Only web nodes now: due schedules stay put, the campaign's lock lapses (3 s) and no one takes it.
    const dueAt = Date.now() + 1000;
    dataOf('scheduling on A', await onA().post(`/multi-smtp/campaigns/${later}/schedule`, { scheduledAt: new Date(dueAt).toISOString() }));
    await sleep(4500);
    expect(deliveriesOf([news], campaign).size).toBe(beforeCrash);
    expect(await redis.get(cursorKey)).toBe(cursorAtKill);
    expect(await redis.exists(`${redisPrefix}:campaign:${campaign}:lock`)).toBe(0);
    for (const api of [onA(), onB()]) {
      expect(dataOf<{ status: string }>('reading the campaign', await api.get(`/multi-smtp/campaigns/${campaign}`)).status).toBe('sending');
      expect(dataOf<{ status: string }>('reading the scheduled campaign', await api.get(`/multi-smtp/campaigns/${later}`)).status).toBe('scheduled');
    }
    // Web nodes still pause and resume it (a status and a Redis state; the next worker goes on from the cursor).
    expect(dataOf<{ status: string }>('pausing on A', await onA().post(`/multi-smtp/campaigns/${campaign}/pause`)).status).toBe('paused');
    expect(dataOf<{ status: string }>('reading on B', await onB().get(`/multi-smtp/campaigns/${campaign}`)).status).toBe('paused');
    expect(dataOf<{ status: string }>('resuming on B', await onB().post(`/multi-smtp/campaigns/${campaign}/resume`)).status).toBe('sending');

    // A second standalone worker takes over: the dead one's lock and jobs are taken back.
    const takeoverAt = Date.now();
    secondWorker = await startWorkerCommand({ database, redisPrefix, pluginConfig });
    type Row = { status: string; lastError: string | null; sentCount: number; startedAt: string };
    const waitCompleted = async (documentId: string): Promise<Row> =>
      (await waitFor<Row | null>(
        `campaign ${documentId} to complete`,
        async () => {
          const row = dataOf<Row>('reading', await onB().get(`/multi-smtp/campaigns/${documentId}`));
          if (row.status === 'failed') throw new Error(`the campaign failed: ${row.lastError}`);
          return row.status === 'completed' ? row : null;
        },
        90_000,
        250
      ))!;
    const [big, small] = await Promise.all([waitCompleted(campaign), waitCompleted(later)]);

    const deliveries = deliveriesOf([news], campaign);
    console.log(
      `multi-node campaign: ${deliveries.size} of ${CAMPAIGN_RECIPIENTS} recipients received it (${beforeCrash} before the worker was killed, the rest after a second worker took over ${Date.now() - takeoverAt} ms later), ${repeated(deliveries).length} twice; the scheduled one went out from the second worker (${small.sentCount} sent)`
    );
    expect(repeated(deliveries)).toEqual([]);
    expect([...deliveries.keys()].sort()).toEqual([...expected].sort());
    expect(big.sentCount).toBe(CAMPAIGN_RECIPIENTS);
    expect([...deliveriesOf([news], later).keys()].sort()).toEqual(few);
    expect(Date.parse(small.startedAt)).toBeGreaterThanOrEqual(takeoverAt);
  }, 150_000);

  it('SIGTERM stops the worker cleanly: the sends under way finish, it exits 0', async () => {
    const slow = await sink({ delayMs: { data: 1500 } });
    const group = await addGroup('slow');
    await addServer('slow-sink', slow, { group });
    const ids: string[] = [];
    for (let index = 0; index < 3; index += 1) {
      ids.push(dataOf<{ id: string }>('queueing', await queue(urlA, { to: `s${index}@example.com`, subject: `s${index}`, text: 'x' }, { group: 'slow' })).id);
    }
    // The worker has taken all three (concurrency 16) and the sink is holding their DATA.
    await waitFor('sends under way', () => slow.openConnections >= 1, 10_000, 20);
    await sleep(300);
    const stoppedAt = Date.now();
    expect(await secondWorker!.stop('SIGTERM')).toBe(0);
    console.log(`multi-node shutdown: SIGTERM to exit 0 in ${Date.now() - stoppedAt} ms with 3 sends under way`);
    expect(secondWorker!.output()).toContain('multi-smtp-worker: stopped');
    expect(slow.messages.map((message) => message.to[0]).sort()).toEqual(['s0@example.com', 's1@example.com', 's2@example.com']);
    for (const id of ids) {
      const reply = await call(`${urlB}/api/multi-smtp/messages/${id}`, { token: apiToken });
      expect(dataOf<{ status: string }>('reading a message', reply).status).toBe('sent');
    }
  }, 60_000);
});
