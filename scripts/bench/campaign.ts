/**
 * The campaign benchmark (started by scripts/bench-campaign.js, which lets Node load TypeScript
 * and starts a private Redis).
 *
 * The layout is the production one with the fan-out on a node of its own (README, Production):
 *
 *   - one Strapi (SQLite in a temp dir, in this process) with `worker: { enabled: false }` and
 *     `campaigns.fanOut: true`: it serves the admin API, queues mail and fans campaigns out, and
 *     sends nothing;
 *   - BENCH_WORKERS standalone workers, the shipped `multi-smtp-worker` command on the same database
 *     and Redis prefix (`campaigns.fanOut: false`: they only render and send);
 *   - four counting SMTP sinks in a child process (sink-process.js), one server per sink in group "bench".
 *
 * In one run, with the same workers and sinks:
 *
 *   1. warm-up (not measured): a few hundred messages through sendBulk(), so the workers' JIT has
 *      compiled the sending path;
 *   2. the campaign: BENCH_RECIPIENTS subscribers (default 200,000) in one mailing list (inserted
 *      in bulk straight into the subscriber and list-link tables), a campaign to that list started
 *      through the admin API. The fan-out node reads pages of `pageSize` recipients and queues them
 *      (never more than `maxInFlight` queued and unsent); the workers render each message (liquid,
 *      unsubscribe link) and send it. It ends when the campaign is completed;
 *   3. bulk: BENCH_BULK_MESSAGES messages (default min(recipients, 20,000)) of the newsletter's size
 *      (its HTML and text with the merge tags filled in once) queued with sendBulk() in chunks of
 *      1,000 on the fan-out node and sent by the same workers. bulkMsgsPerSec = messages at the
 *      sinks / (last at a sink - first sendBulk call). After the campaign, so that the campaign's
 *      Redis figures are its own.
 *
 * Measured:
 *   - sendPerSec: campaign messages at the sinks / (last at a sink - the start call), and its ratio
 *     to bulkMsgsPerSec (goal >= 0.9: a campaign sends as fast as the same mail queued in bulk);
 *   - peakRedisMB: the largest INFO memory used_memory sampled every 150 ms from the start of the
 *     campaign to its completion (the whole Redis server: with the private Redis, only this run);
 *   - enqueuePerSec: recipients queued / time the fan-out spent reading, rendering, queueing and
 *     checkpointing, i.e. excluding the time it waited for room under maxInFlight (back-pressure).
 *     That is what the fan-out can do; enqueueWallPerSec is the same count over the fan-out's
 *     wall-clock time, waits included, which the sending rate bounds;
 *   - delivered: messages counted at the sinks (and duplicates: a message id seen twice);
 *   - peak SMTP connections per server in each phase (like for like).
 *
 * Settings (environment):
 *   BENCH_RECIPIENTS        subscribers in the list (default 200000)
 *   BENCH_BULK_MESSAGES     messages of the bulk phase (default min(BENCH_RECIPIENTS, 20000)); 0 skips it
 *   BENCH_MAX_IN_FLIGHT     campaigns.maxInFlight (default: the plugin's, 2000)
 *   BENCH_PAGE_SIZE         campaigns.pageSize (default: the plugin's, 1000)
 *   BENCH_WORKERS           standalone worker processes (multi-smtp-worker; default 2: see WORKERS)
 *   BENCH_CONCURRENCY       sends at once per worker process (default 25)
 *   BENCH_TEXT=auto         leave the text part empty, so it is generated from the HTML for each recipient
 *   BENCH_CPU_PROFILE=<dir> write a .cpuprofile of this process (the fan-out node) over the campaign
 *                           into <dir>, and one per worker process (whole life) into <dir>/workers
 *                           (summarize one with `node scripts/bench/profile-summary.js <file>`)
 *   BENCH_PRIVATE_REDIS=0   use REDIS_URL (default redis://127.0.0.1:6379) instead of a private Redis
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

import type { Knex } from 'knex';

import type { Redis } from 'ioredis';

import { pluginConfigSchema } from '../../server/src/config/schema';
import { emptyFanOutStats } from '../../server/src/engine/fan-out';
import type { FanOutReport } from '../../server/src/services/campaign-runner';
import type { MailerService } from '../../server/src/services/mailer';
import { listLinkTable, tableOf } from '../../server/src/repositories/subscribers';
import { MAILING_LIST_UID, SUBSCRIBER_UID } from '../../server/src/utils/uids';
import { createCampaign, createList } from '../../test/helpers/campaigns';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database';
import { deleteKeys, redisTestPrefix, TEST_REDIS_URL, testRedis } from '../../test/helpers/redis';
import { startWorkerCommand, type WorkerCommand } from '../../test/helpers/strapi-process';
import { asAdmin, startStrapi, type TestStrapi } from '../../test/helpers/strapi';
import type { PrivateRedis } from './private-redis';
import { startCountingSinks, type CountingSinks } from './sinks';
import { perSecond, round, sleep } from './stats';
import { startProfile } from './usage';

const numberFromEnv = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : fallback;
};

const RECIPIENTS = numberFromEnv('BENCH_RECIPIENTS', 200_000);
const BULK_MESSAGES = process.env.BENCH_BULK_MESSAGES === '0' ? 0 : numberFromEnv('BENCH_BULK_MESSAGES', Math.min(RECIPIENTS, 20_000));
const pluginDefaults = pluginConfigSchema.shape.campaigns.parse({});
const MAX_IN_FLIGHT = numberFromEnv('BENCH_MAX_IN_FLIGHT', pluginDefaults.maxInFlight);
const PAGE_SIZE = numberFromEnv('BENCH_PAGE_SIZE', pluginDefaults.pageSize);
/**
 * Two workers on two cores: each Strapi worker process sends from one event loop (rendering, SMTP,
 * delivery log), and in the profiles the workers are what is busy (the fan-out node used about 3 s
 * of CPU over a 60 s campaign), so one worker per core; more only take turns on the same cores
 * (and add about 300 MB each). 1 and 3 were not compared in a measured run.
 */
const WORKERS = numberFromEnv('BENCH_WORKERS', 2);
const CONCURRENCY = numberFromEnv('BENCH_CONCURRENCY', 25);
const AUTO_TEXT = process.env.BENCH_TEXT === 'auto';
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE;
const SINKS = 4;
const SAMPLE_MS = 150;
/** Rows per INSERT: 8 columns x 2000 stays under SQLite's 32,766 bound parameters. */
const INSERT_CHUNK = 2000;
/** The run is given up when the sinks see nothing new for this long. */
const STALL_MS = 120_000;
const WARMUP_MESSAGES = 400;
const BULK_CHUNK = 1000;
/** Idle SMTP connections close after 2 s: each phase starts cold, as the other. */
const BETWEEN_PHASES_MS = 2500;
const PUBLIC_URL = 'https://bench.example';

const say = (line = '') => process.stdout.write(`${line}\n`);
const mb = (bytes: number) => round(bytes / (1024 * 1024), 1);

const CITIES = ['Paris', 'Lyon', 'Berlin', 'Madrid', 'Oslo'];

/** A newsletter of usual size (~2 kB of HTML) with a few merge tags per recipient. */
const campaignContent = {
  subject: 'Spring news for {{ recipient.name | default: "you" }}',
  preheader: 'What is new in {{ recipient.attributes.city }} this month',
  html: [
    '<html><body style="font-family: sans-serif">',
    '<h1>Hello {{ recipient.name | default: "friend" }}</h1>',
    '<p>Here is what happened this month in {{ recipient.attributes.city | default: "your city" }}.</p>',
    ...Array.from(
      { length: 8 },
      (_, index) =>
        `<h2>Story ${index + 1}</h2><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. <a href="https://example.com/story/${index + 1}">Read more</a></p>`
    ),
    '{% if recipient.attributes.plan == "pro" %}<p>Thank you for being a Pro member.</p>{% endif %}',
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    '</body></html>',
  ].join('\n'),
  text: AUTO_TEXT
    ? undefined
    : 'Hello {{ recipient.name | default: "friend" }},\n\nThis month in {{ recipient.attributes.city }}: eight stories at https://example.com/stories\n\nUnsubscribe: {{ unsubscribe_url }}\n',
};

/** Multi-row INSERT ... VALUES statements (far fewer and faster than the query engine's batches). */
const insertRows = async (knex: Knex | Knex.Transaction, table: string, columns: string[], rows: unknown[][]) => {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  await knex.raw(`insert into ?? (${columns.map(() => '??').join(', ')}) values ${rows.map(() => tuple).join(', ')}`, [
    table,
    ...columns,
    ...rows.flat(),
  ]);
};

/**
 * Inserts the subscribers and links them to the list straight into their tables, in one
 * transaction: what a bulk import of this size would do. Timestamps are written in the form the
 * list's own row (made through the API) has in this database.
 */
const insertSubscribers = async (app: TestStrapi, listDocumentId: string, count: number) => {
  const { strapi } = app;
  const knex = strapi.db.connection;
  const lists = tableOf(strapi, MAILING_LIST_UID);
  const listRow = (await knex(lists.name)
    .where(lists.column('documentId'), listDocumentId)
    .first('id', `${lists.column('createdAt')} as createdAt`)) as { id: number; createdAt: unknown };
  const now = typeof listRow.createdAt === 'number' ? Date.now() : new Date().toISOString();
  const subscribers = tableOf(strapi, SUBSCRIBER_UID);
  const columns = ['documentId', 'email', 'name', 'attributes', 'status', 'createdAt', 'updatedAt', 'publishedAt'].map((name) => subscribers.column(name));
  const link = listLinkTable(strapi);
  const linkColumns = [link.subscriberColumn, link.listColumn, link.listOrderColumn, link.subscriberOrderColumn].filter(
    (column): column is string => !!column
  );
  await knex.transaction(async (trx) => {
    const first = Number(((await trx(subscribers.name).max('id as max').first()) as { max: number | null } | undefined)?.max ?? 0) + 1;
    for (let start = 0; start < count; start += INSERT_CHUNK) {
      const rows: unknown[][] = [];
      for (let index = start; index < Math.min(count, start + INSERT_CHUNK); index += 1) {
        const attributes = JSON.stringify({ city: CITIES[index % CITIES.length], plan: index % 3 === 0 ? 'pro' : 'free' });
        rows.push([randomBytes(12).toString('hex'), `subscriber${index}@bench${index % 97}.example`, `Subscriber ${index}`, attributes, 'subscribed', now, now, now]);
      }
      await insertRows(trx, subscribers.name, columns, rows);
    }
    const ids = ((await trx(subscribers.name).select('id').where('id', '>=', first).orderBy('id')) as { id: number }[]).map((row) => row.id);
    for (let start = 0; start < ids.length; start += INSERT_CHUNK) {
      const rows = ids.slice(start, start + INSERT_CHUNK).map((id, offset) => {
        const row: unknown[] = [id, listRow.id];
        if (link.listOrderColumn) row.push(1);
        if (link.subscriberOrderColumn) row.push(start + offset + 1);
        return row;
      });
      await insertRows(trx, link.name, linkColumns, rows);
    }
  });
};

/** Samples Redis's used_memory until stopped; returns the peak and the first sample. */
const sampleRedisMemory = (redis: Redis) => {
  let peak = 0;
  let first: number | null = null;
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const info = await redis.info('memory').catch(() => '');
      const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
      if (used > 0) {
        first ??= used;
        peak = Math.max(peak, used);
        samples += 1;
      }
      await sleep(SAMPLE_MS);
    }
  })();
  return {
    current: () => ({ peak, first: first ?? 0, samples }),
    async stop() {
      stopped = true;
      await loop;
      return { peak, first: first ?? 0, samples };
    },
  };
};

/** The newsletter with its merge tags filled in once: the bulk phase's message, of the campaign's size. */
const staticNewsletter = (index: number) => {
  const fill = (template: string) =>
    template
      .replace(/\{%[^%]*%\}/g, '')
      .replace(/\{\{\s*recipient\.name[^}]*\}\}/g, `Subscriber ${index}`)
      .replace(/\{\{\s*recipient\.attributes\.city[^}]*\}\}/g, CITIES[index % CITIES.length]!)
      .replace(/\{\{\s*unsubscribe_url\s*\}\}/g, `${PUBLIC_URL}/unsubscribe/${randomBytes(24).toString('base64url')}`);
  return {
    from: { name: 'Bench News', address: 'news@bench.example' },
    to: `bulk${index}@bench${index % 97}.example`,
    subject: fill(campaignContent.subject),
    html: fill(campaignContent.html),
    ...(campaignContent.text ? { text: fill(campaignContent.text) } : {}),
  };
};

/** Waits until the sinks hold `expected` messages; throws when nothing new arrived for STALL_MS. */
const waitForSinks = async (sinks: CountingSinks, expected: number, what: string) => {
  let last = -1;
  let lastProgressAt = Date.now();
  for (;;) {
    const snapshot = await sinks.counts();
    if (snapshot.total >= expected) return snapshot;
    if (snapshot.total !== last) {
      last = snapshot.total;
      lastProgressAt = Date.now();
    } else if (Date.now() - lastProgressAt > STALL_MS) {
      throw new Error(`${what} stalled: nothing reached the sinks for ${STALL_MS / 1000} s (${snapshot.total} of ${expected})`);
    }
    await sleep(100);
  }
};

export const main = async (privateRedis: PrivateRedis | null) => {
  say(
    `multi-smtp campaign benchmark: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), load ${os
      .loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')}, Node ${process.version}`
  );
  say(
    `${RECIPIENTS} recipients, ${BULK_MESSAGES} bulk messages; maxInFlight ${MAX_IN_FLIGHT}, pageSize ${PAGE_SIZE}; fan-out on a node without queue workers, ${WORKERS} multi-smtp-worker processes x ${CONCURRENCY}; Redis ${TEST_REDIS_URL} (${privateRedis ? 'private to this run' : 'shared: memory figures include other clients'})`
  );

  const redis = testRedis();
  let sinks: CountingSinks | undefined;
  let app: TestStrapi | undefined;
  let database: TestDatabase | undefined;
  const redisPrefix = redisTestPrefix();
  let workers: WorkerCommand[] = [];
  const results: Record<string, unknown> = {};
  let failure: unknown;

  try {
    const liveSinks = await startCountingSinks(SINKS);
    sinks = liveSinks;
    database = await createTestDatabase('sqlite');
    const campaigns = { maxInFlight: MAX_IN_FLIGHT, pageSize: PAGE_SIZE };
    const bootStarted = Date.now();
    const liveApp = await startStrapi({
      reuse: { database, redisPrefix },
      pluginConfig: { worker: { enabled: false }, campaigns: { ...campaigns, fanOut: true }, publicUrl: PUBLIC_URL },
    });
    app = liveApp;
    say(`fan-out node booted in ${Date.now() - bootStarted} ms (Redis key prefix ${redisPrefix})`);
    const api = asAdmin(liveApp);
    const plugin = liveApp.strapi.plugin('multi-smtp');
    const mailer = plugin.service('mailer') as MailerService;
    const group = await api.post('/multi-smtp/groups', { name: 'bench', slug: 'bench' });
    if (group.status !== 201) throw new Error(`creating the group: ${group.status} ${JSON.stringify(group.body)}`);
    const connections = WORKERS * CONCURRENCY;
    for (const [index, port] of liveSinks.ports.entries()) {
      const created = await api.post('/multi-smtp/servers', {
        name: `bench-${index + 1}`,
        host: '127.0.0.1',
        port,
        security: 'none',
        fromAddress: 'bench@example.com',
        maxConnections: connections,
        group: group.body.data.documentId,
      });
      if (created.status !== 201) throw new Error(`creating a server: ${created.status} ${JSON.stringify(created.body)}`);
    }

    const workersStarted = Date.now();
    // With BENCH_CPU_PROFILE the workers write a profile each too, when they exit (profile-preload.js).
    const nodeOptions = process.env.NODE_OPTIONS;
    if (PROFILE_DIR) {
      process.env.NODE_OPTIONS = `${nodeOptions ?? ''} --require ${path.join(__dirname, 'profile-preload.js')}`.trim();
      process.env.BENCH_WORKER_PROFILE_DIR = path.resolve(PROFILE_DIR, 'workers');
    }
    workers = await Promise.all(
      Array.from({ length: WORKERS }, () =>
        startWorkerCommand({
          database: database!,
          redisPrefix,
          pluginConfig: { worker: { enabled: false, concurrency: CONCURRENCY }, campaigns: { ...campaigns, fanOut: false }, publicUrl: PUBLIC_URL },
          timeoutMs: 120_000,
        })
      )
    );
    if (nodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = nodeOptions;
    say(`${WORKERS} multi-smtp-worker processes ready in ${Date.now() - workersStarted} ms`);

    // ---- warm-up ---------------------------------------------------------------------------------
    const queueBulk = async (count: number, offset: number) => {
      for (let start = 0; start < count; start += BULK_CHUNK) {
        const chunk = Array.from({ length: Math.min(BULK_CHUNK, count - start) }, (_, index) => staticNewsletter(offset + start + index));
        await mailer.sendBulk(chunk, { group: 'bench' });
      }
    };
    await liveSinks.reset();
    await queueBulk(WARMUP_MESSAGES, 1_000_000);
    await waitForSinks(liveSinks, WARMUP_MESSAGES, 'the warm-up');
    say(`warm-up done (${WARMUP_MESSAGES} messages)`);
    await sleep(BETWEEN_PHASES_MS);

    // ---- the campaign ----------------------------------------------------------------------------
    const list = (await createList(api, 'Everyone')).documentId;
    const insertStarted = Date.now();
    await insertSubscribers(liveApp, list, RECIPIENTS);
    const insertMs = Date.now() - insertStarted;
    say(`${RECIPIENTS} subscribers inserted in ${insertMs} ms (${round(perSecond(RECIPIENTS, insertMs), 0)}/s)`);

    const campaign = (
      await createCampaign(api, {
        name: 'Bench',
        fromAddress: 'news@bench.example',
        fromName: 'Bench News',
        group: group.body.data.documentId,
        audience: { type: 'lists', lists: [list] },
        ...campaignContent,
      })
    ).documentId;

    await liveSinks.reset();
    const runner = plugin.service('campaignRunner') as { onReport(listener: (report: FanOutReport) => void): () => void };
    const reports: FanOutReport[] = [];
    const finished = new Promise<FanOutReport>((resolve) => {
      runner.onReport((report) => {
        if (report.campaignId !== campaign) return;
        reports.push(report);
        if (report.outcome !== 'stopped') resolve(report);
      });
    });
    const stopProfile = PROFILE_DIR ? await startProfile(PROFILE_DIR, `campaign-fan-out-${RECIPIENTS}`) : null;
    const fanOutCpu0 = process.cpuUsage();
    const memory = sampleRedisMemory(redis);
    const startedAt = Date.now();
    const started = await api.post(`/multi-smtp/campaigns/${campaign}/start`);
    if (started.status !== 200) throw new Error(`starting the campaign: ${started.status} ${JSON.stringify(started.body)}`);
    const startCallMs = Date.now() - startedAt;
    say(`campaign started (the start call, which counts the audience, took ${startCallMs} ms)`);

    // Progress every 5 s; give up when the sinks stall.
    let lastTotal = -1;
    let lastProgressAt = Date.now();
    const outcome: { report: FanOutReport | null } = { report: null };
    void finished.then((value) => {
      outcome.report = value;
    });
    for (let tick = 0; !outcome.report; tick += 1) {
      await sleep(250);
      const { total } = await liveSinks.counts();
      if (total !== lastTotal) {
        lastTotal = total;
        lastProgressAt = Date.now();
      } else if (Date.now() - lastProgressAt > STALL_MS) {
        throw new Error(`stalled: nothing reached the sinks for ${STALL_MS / 1000} s (${total} delivered)`);
      }
      if (tick % 20 === 19) {
        const seen = memory.current();
        say(`  ${round((Date.now() - startedAt) / 1000, 0)} s: ${total} delivered, Redis peak so far ${mb(seen.peak)} MB`);
      }
    }
    const completedAt = Date.now();
    const fanOutCpu = process.cpuUsage(fanOutCpu0);
    const sampled = await memory.stop();
    const profileFile = stopProfile ? await stopProfile() : null;
    const final = outcome.report;
    if (final.outcome === 'failed') {
      const row = (await api.get(`/multi-smtp/campaigns/${campaign}`)).body.data as { lastError: string | null };
      throw new Error(`the campaign failed: ${row.lastError}`);
    }
    const snapshot = await liveSinks.counts();
    const row = (await api.get(`/multi-smtp/campaigns/${campaign}`)).body.data as Record<string, number | string>;
    // Over every task of the campaign on this node (a task stops and another starts only on a
    // pause, a lost lock or a shutdown: normally one).
    const stats = reports.reduce((sum, report) => ({
      ...sum,
      pages: sum.pages + report.stats.pages,
      queued: sum.queued + report.stats.queued,
      skipped: sum.skipped + report.stats.skipped,
      waitMs: sum.waitMs + report.stats.waitMs,
      workMs: sum.workMs + report.stats.workMs,
      phaseMs: Object.fromEntries(Object.entries(sum.phaseMs).map(([phase, ms]) => [phase, ms + report.stats.phaseMs[phase as keyof typeof sum.phaseMs]])) as typeof sum.phaseMs,
    }), emptyFanOutStats());
    const fanOutWallMs = stats.workMs + stats.waitMs;
    const sendMs = (snapshot.lastAt ?? completedAt) - startedAt;
    const sendPerSec = round(perSecond(snapshot.total, sendMs), 0);
    // After the campaign, so the campaign's Redis figures are its own (the bulk phase's messages stay a while).
    let bulkMsgsPerSec: number | null = null;
    if (BULK_MESSAGES > 0) {
      await sleep(BETWEEN_PHASES_MS);
      await liveSinks.reset();
      const bulkMemory = sampleRedisMemory(redis);
      const bulkStarted = Date.now();
      await queueBulk(BULK_MESSAGES, 0);
      const queuedMs = Date.now() - bulkStarted;
      const bulk = await waitForSinks(liveSinks, BULK_MESSAGES, 'the bulk phase');
      const bulkMs = (bulk.lastAt ?? Date.now()) - bulkStarted;
      const bulkRedis = await bulkMemory.stop();
      bulkMsgsPerSec = round(perSecond(bulk.total, bulkMs), 0);
      results.bulk = {
        messages: BULK_MESSAGES,
        delivered: bulk.total,
        duplicates: bulk.duplicates,
        wallMs: bulkMs,
        queuedMs,
        msgsPerSec: bulkMsgsPerSec,
        peakConnections: bulk.sinks.map((sink) => sink.peakConnections),
        perServer: bulk.sinks.map((sink) => sink.messages),
        peakRedisMB: mb(bulkRedis.peak),
      };
      say(
        `bulk: ${bulk.total}/${BULK_MESSAGES} at the sinks in ${bulkMs} ms = ${bulkMsgsPerSec} msg/s (queued in ${queuedMs} ms, sendBulk() x ${BULK_CHUNK}); duplicates ${bulk.duplicates}; peak connections ${bulk.sinks.map((sink) => sink.peakConnections).join('/')}; Redis peak ${mb(bulkRedis.peak)} MB`
      );
    }


    const sendToBulk = bulkMsgsPerSec ? round(sendPerSec / bulkMsgsPerSec, 3) : null;
    const enqueuePerSec = round(perSecond(stats.queued, stats.workMs), 0);

    Object.assign(results, {
      recipients: RECIPIENTS,
      queued: stats.queued,
      skipped: stats.skipped,
      delivered: snapshot.total,
      duplicates: snapshot.duplicates,
      peakRedisMB: mb(sampled.peak),
      redisAtStartMB: mb(sampled.first),
      redisSamples: sampled.samples,
      enqueuePerSec,
      enqueueWallPerSec: round(perSecond(stats.queued, fanOutWallMs), 0),
      sendPerSec,
      bulkMsgsPerSec,
      sendToBulk,
      peakConnections: { bulk: (results.bulk as { peakConnections?: number[] } | undefined)?.peakConnections ?? null, campaign: snapshot.sinks.map((sink) => sink.peakConnections) },
      campaign: { status: row.status, sentCount: row.sentCount, skippedCount: row.skippedCount, totalRecipients: row.totalRecipients },
      durations: {
        insertMs,
        startCallMs,
        fanOutWorkMs: Math.round(stats.workMs),
        fanOutWaitMs: Math.round(stats.waitMs),
        fanOutWallMs: Math.round(fanOutWallMs),
        sendMs,
        totalMs: completedAt - startedAt,
      },
      pages: stats.pages,
      fanOutTasks: reports.length,
      fanOutPhaseMs: Object.fromEntries(Object.entries(stats.phaseMs).map(([phase, ms]) => [phase, Math.round(ms)])),
      fanOutNodeCpuMs: Math.round((fanOutCpu.user + fanOutCpu.system) / 1000),
      ...(profileFile ? { profile: profileFile } : {}),
    });

    say('');
    say(
      `campaign: delivered ${snapshot.total} of ${stats.queued} queued (${snapshot.duplicates} duplicates) in ${round(sendMs / 1000, 1)} s = ${sendPerSec} msg/s sent; peak connections ${snapshot.sinks.map((sink) => sink.peakConnections).join('/')}`
    );
    if (sendToBulk !== null) say(`sendPerSec / bulkMsgsPerSec = ${sendPerSec} / ${bulkMsgsPerSec} = ${sendToBulk}`);
    say(
      `enqueue: ${enqueuePerSec} recipients/s over the ${Math.round(stats.workMs)} ms the fan-out worked (reading, rendering, queueing, checkpoints; back-pressure waits excluded)`
    );
    say(
      `         ${results.enqueueWallPerSec} recipients/s over its ${Math.round(fanOutWallMs)} ms wall clock (waits for room under maxInFlight ${MAX_IN_FLIGHT} included: bounded by the sending rate)`
    );
    say(`         of which ${Object.entries(stats.phaseMs).map(([phase, ms]) => `${phase} ${Math.round(ms)} ms`).join(', ')}; the fan-out node used ${results.fanOutNodeCpuMs} ms of CPU`);
    say(`Redis used_memory: ${mb(sampled.first)} MB at start, peak ${mb(sampled.peak)} MB (${sampled.samples} samples every ${SAMPLE_MS} ms)`);
    if (profileFile) say(`CPU profile of the fan-out node: ${profileFile}`);
    say('');
    const goal = (label: string, value: number | null, target: string, met: boolean) =>
      say(`  ${label.padEnd(28)} ${String(value ?? 'n/a').padStart(9)}    ${target.padEnd(12)} ${value === null ? '' : met ? 'met' : 'MISSED'}`);
    say(`goals (this machine: ${os.cpus().length} cores)        result    goal`);
    goal('send / bulk', sendToBulk, '>= 0.9', sendToBulk !== null && sendToBulk >= 0.9);
    goal('enqueue (recipients/s)', enqueuePerSec, '>= 20000', enqueuePerSec >= 20_000);
    goal('peak Redis memory (MB)', mb(sampled.peak), '<= 100', mb(sampled.peak) <= 100);
    goal('duplicates', snapshot.duplicates, '0', snapshot.duplicates === 0);
    goal('delivered', snapshot.total, `= ${RECIPIENTS}`, snapshot.total === RECIPIENTS);
  } catch (error) {
    failure = error;
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    for (const worker of workers) process.stderr.write(`worker output (last lines):\n${worker.output().split('\n').slice(-20).join('\n')}\n`);
  } finally {
    await Promise.all(workers.map((worker) => worker.stop().catch(() => worker.kill())));
    if (app) await app.stop().catch((error: unknown) => process.stderr.write(`stopping Strapi: ${String(error)}\n`));
    if (sinks) await sinks.close();
    await deleteKeys(redis, redisPrefix).catch(() => undefined);
    await deleteKeys(redis, `{${redisPrefix}}`).catch(() => undefined);
    await database?.drop().catch(() => undefined);
    await redis.quit().catch(() => undefined);
    await privateRedis?.stop();
  }

  const summary = JSON.stringify({
    ...results,
    settings: {
      recipients: RECIPIENTS,
      bulkMessages: BULK_MESSAGES,
      maxInFlight: MAX_IN_FLIGHT,
      pageSize: PAGE_SIZE,
      workers: WORKERS,
      concurrency: CONCURRENCY,
      fanOut: 'node without queue workers (campaigns.fanOut: true, worker.enabled: false)',
      textPart: AUTO_TEXT ? 'generated from the HTML' : 'template',
      privateRedis: privateRedis !== null,
      cores: os.cpus().length,
      loadAverage: os.loadavg().map((load) => round(load, 2)),
    },
    ...(failure ? { error: failure instanceof Error ? failure.message : String(failure) } : {}),
  });
  // Strapi and its libraries can leave timers behind; the measurement is over once stdout has the line.
  process.stdout.write(`${summary}\n`, () => process.exit(failure ? 1 : 0));
};
