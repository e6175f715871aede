/**
 * The campaign benchmark (started by scripts/bench-campaign.js, which lets Node load TypeScript
 * and starts a private Redis).
 *
 *   1. Four counting SMTP sinks in a child process (sink-process.js), one real Strapi with the
 *      plugin (SQLite in a temp dir) whose group "bench" holds four servers, one per sink, and
 *      extra worker processes (the plugin's engine, as on dedicated worker nodes) that do most of
 *      the sending. Strapi's own worker runs too (the campaign runner lives where workers do) but
 *      with a low concurrency, so the fan-out has Strapi's event loop mostly to itself.
 *   2. BENCH_RECIPIENTS subscribers (default 200,000) in one mailing list, inserted in bulk straight
 *      into the subscriber and list-link tables (multi-row INSERTs, one transaction).
 *   3. A campaign to that list is started through the admin API (which counts the audience first)
 *      and the runner fans it out: pages of `pageSize` recipients rendered and queued as one batch,
 *      never more than `maxInFlight` queued and unsent. The run ends when the campaign is completed.
 *
 * Measured:
 *   - peakRedisMB: the largest INFO memory used_memory sampled every 150 ms from the start of the
 *     campaign to its completion (the whole Redis server: with the private Redis, only this run).
 *   - enqueuePerSec: recipients queued / time the fan-out spent reading, rendering, queueing and
 *     checkpointing, i.e. excluding the time it waited for room under maxInFlight (back-pressure).
 *     That is what the fan-out can do; enqueueWallPerSec is the same count over the fan-out's
 *     wall-clock time, waits included, which the sending rate bounds.
 *   - delivered: messages counted at the sinks (and duplicates: a message id seen twice).
 *
 * Settings (environment):
 *   BENCH_RECIPIENTS        subscribers in the list (default 200000)
 *   BENCH_MAX_IN_FLIGHT     campaigns.maxInFlight (default 2000, the plugin's default)
 *   BENCH_PAGE_SIZE         campaigns.pageSize (default 500, the plugin's default)
 *   BENCH_WORKERS           extra bare-engine worker processes (default 0: campaign mail is rendered
 *                           when sent, which needs a worker inside Strapi; bare ones hold it)
 *   BENCH_CONCURRENCY       sends at once per extra worker process (default 25)
 *   BENCH_STRAPI_CONCURRENCY  sends at once in Strapi's own worker (default 25)
 *   BENCH_TEXT=auto         leave the text part empty, so it is generated from the HTML for each recipient
 *   BENCH_PRIVATE_REDIS=0   use REDIS_URL (default redis://127.0.0.1:6379) instead of a private Redis
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';

import type { Knex } from 'knex';

import type { Redis } from 'ioredis';

import type { FanOutReport } from '../../server/src/services/campaign-runner';
import { listLinkTable, tableOf } from '../../server/src/repositories/subscribers';
import { MAILING_LIST_UID, SUBSCRIBER_UID } from '../../server/src/utils/uids';
import { createCampaign, createList } from '../../test/helpers/campaigns';
import { directoryOf, startWorkerProcess, type WorkerProcess } from '../../test/helpers/engine-workers';
import { deleteKeys, TEST_REDIS_URL, testRedis } from '../../test/helpers/redis';
import { asAdmin, startStrapi, type TestStrapi } from '../../test/helpers/strapi';
import type { PrivateRedis } from './private-redis';
import { startCountingSinks, type CountingSinks } from './sinks';
import { perSecond, round, sleep } from './stats';

const numberFromEnv = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : fallback;
};

const RECIPIENTS = numberFromEnv('BENCH_RECIPIENTS', 200_000);
const MAX_IN_FLIGHT = numberFromEnv('BENCH_MAX_IN_FLIGHT', 2000);
const PAGE_SIZE = numberFromEnv('BENCH_PAGE_SIZE', 500);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 0);
const CONCURRENCY = numberFromEnv('BENCH_CONCURRENCY', 25);
const STRAPI_CONCURRENCY = numberFromEnv('BENCH_STRAPI_CONCURRENCY', 25);
const AUTO_TEXT = process.env.BENCH_TEXT === 'auto';
const SINKS = 4;
const SAMPLE_MS = 150;
/** Rows per INSERT: 8 columns x 2000 stays under SQLite's 32,766 bound parameters. */
const INSERT_CHUNK = 2000;
/** The run is given up when the sinks see nothing new for this long. */
const STALL_MS = 120_000;

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

export const main = async (privateRedis: PrivateRedis | null) => {
  say(
    `multi-smtp campaign benchmark: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), load ${os
      .loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')}, Node ${process.version}`
  );
  say(
    `${RECIPIENTS} recipients; maxInFlight ${MAX_IN_FLIGHT}, pageSize ${PAGE_SIZE}; ${WORKERS} worker processes x ${CONCURRENCY} + Strapi's worker x ${STRAPI_CONCURRENCY}; Redis ${TEST_REDIS_URL} (${privateRedis ? 'private to this run' : 'shared: memory figures include other clients'})`
  );

  const redis = testRedis();
  let sinks: CountingSinks | undefined;
  let app: TestStrapi | undefined;
  let workers: WorkerProcess[] = [];
  const results: Record<string, unknown> = {};
  let failure: unknown;

  try {
    const liveSinks = await startCountingSinks(SINKS);
    sinks = liveSinks;
    const bootStarted = Date.now();
    const liveApp = await startStrapi({
      pluginConfig: {
        worker: { enabled: true, concurrency: STRAPI_CONCURRENCY },
        campaigns: { maxInFlight: MAX_IN_FLIGHT, pageSize: PAGE_SIZE },
        publicUrl: 'https://bench.example',
      },
    });
    app = liveApp;
    say(`Strapi booted in ${Date.now() - bootStarted} ms (Redis key prefix ${liveApp.redisPrefix})`);
    const api = asAdmin(liveApp);
    const group = await api.post('/multi-smtp/groups', { name: 'bench', slug: 'bench' });
    if (group.status !== 201) throw new Error(`creating the group: ${group.status} ${JSON.stringify(group.body)}`);
    const connections = WORKERS * CONCURRENCY + STRAPI_CONCURRENCY;
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
    const directory = await directoryOf(liveApp.strapi);
    workers = await Promise.all(
      Array.from({ length: WORKERS }, () => startWorkerProcess({ redisUrl: TEST_REDIS_URL, keyPrefix: liveApp.redisPrefix, concurrency: CONCURRENCY, directory }))
    );

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
    const runner = liveApp.strapi.plugin('multi-smtp').service('campaignRunner') as {
      onReport(listener: (report: FanOutReport) => void): () => void;
    };
    const finished = new Promise<FanOutReport>((resolve) => {
      runner.onReport((report) => {
        if (report.campaignId === campaign && report.outcome !== 'stopped') resolve(report);
      });
    });
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
    const sampled = await memory.stop();
    const final = outcome.report;
    if (final.outcome === 'failed') {
      const row = (await api.get(`/multi-smtp/campaigns/${campaign}`)).body.data as { lastError: string | null };
      throw new Error(`the campaign failed: ${row.lastError}`);
    }
    const snapshot = await liveSinks.counts();
    const row = (await api.get(`/multi-smtp/campaigns/${campaign}`)).body.data as Record<string, number | string>;
    const { stats } = final;
    const fanOutWallMs = stats.workMs + stats.waitMs;
    const totalMs = completedAt - startedAt;

    Object.assign(results, {
      recipients: RECIPIENTS,
      queued: stats.queued,
      skipped: stats.skipped,
      delivered: snapshot.total,
      duplicates: snapshot.duplicates,
      peakRedisMB: mb(sampled.peak),
      redisAtStartMB: mb(sampled.first),
      redisSamples: sampled.samples,
      enqueuePerSec: round(perSecond(stats.queued, stats.workMs), 0),
      enqueueWallPerSec: round(perSecond(stats.queued, fanOutWallMs), 0),
      sendPerSec: round(perSecond(snapshot.total, totalMs), 0),
      campaign: { status: row.status, sentCount: row.sentCount, skippedCount: row.skippedCount, totalRecipients: row.totalRecipients },
      durations: {
        insertMs,
        startCallMs,
        fanOutWorkMs: Math.round(stats.workMs),
        fanOutWaitMs: Math.round(stats.waitMs),
        fanOutWallMs: Math.round(fanOutWallMs),
        totalMs,
      },
      pages: stats.pages,
      fanOutPhaseMs: Object.fromEntries(Object.entries(stats.phaseMs).map(([phase, ms]) => [phase, Math.round(ms)])),
    });

    say('');
    say(`delivered ${snapshot.total} of ${stats.queued} queued (${snapshot.duplicates} duplicates) in ${round(totalMs / 1000, 1)} s = ${results.sendPerSec} msg/s sent`);
    say(
      `enqueue: ${results.enqueuePerSec} recipients/s over the ${Math.round(stats.workMs)} ms the fan-out worked (reading, rendering, queueing, checkpoints; back-pressure waits excluded)`
    );
    say(
      `         ${results.enqueueWallPerSec} recipients/s over its ${Math.round(fanOutWallMs)} ms wall clock (waits for room under maxInFlight ${MAX_IN_FLIGHT} included: bounded by the sending rate)`
    );
    say(`         of which ${Object.entries(stats.phaseMs).map(([phase, ms]) => `${phase} ${Math.round(ms)} ms`).join(', ')}`);
    say(`Redis used_memory: ${mb(sampled.first)} MB at start, peak ${mb(sampled.peak)} MB (${sampled.samples} samples every ${SAMPLE_MS} ms)`);
    say('');
    const goal = (label: string, value: number, target: string, met: boolean) =>
      say(`  ${label.padEnd(28)} ${String(value).padStart(9)}    ${target.padEnd(9)} ${met ? 'met' : 'MISSED'}`);
    say(`goals (this machine: ${os.cpus().length} cores)        result    goal`);
    goal('peak Redis memory (MB)', mb(sampled.peak), '<= 100', mb(sampled.peak) <= 100);
    goal('enqueue (recipients/s)', results.enqueuePerSec as number, '>= 20000', (results.enqueuePerSec as number) >= 20_000);
    goal('delivered once each', snapshot.total, `= ${stats.queued}`, snapshot.total === stats.queued && snapshot.duplicates === 0);
  } catch (error) {
    failure = error;
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  } finally {
    await Promise.all(workers.map((worker) => worker.stop().catch(() => worker.kill())));
    if (app) await app.stop().catch((error: unknown) => process.stderr.write(`stopping Strapi: ${String(error)}\n`));
    if (sinks) await sinks.close();
    if (app) {
      await deleteKeys(redis, app.redisPrefix).catch(() => undefined);
      await deleteKeys(redis, `{${app.redisPrefix}}`).catch(() => undefined);
    }
    await redis.quit().catch(() => undefined);
    await privateRedis?.stop();
  }

  const summary = JSON.stringify({
    ...results,
    settings: {
      recipients: RECIPIENTS,
      maxInFlight: MAX_IN_FLIGHT,
      pageSize: PAGE_SIZE,
      workers: WORKERS,
      concurrency: CONCURRENCY,
      strapiConcurrency: STRAPI_CONCURRENCY,
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
