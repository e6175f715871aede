/**
 * `npm run bench:reports` (started by scripts/bench-reports.js, which lets Node load TypeScript).
 *
 *   1. One real Strapi with the plugin (SQLite in a temp dir, queue worker off), 10 SMTP servers in
 *      3 groups, 20 campaigns.
 *   2. Seeds BENCH_REPORT_MESSAGES (default 1,000,000) delivered messages over the last 30 days:
 *        - their delivery log rows, through the delivery log's own batch writer
 *          (repositories/messages.ts upsertMany: multi-row INSERTs, one transaction per chunk);
 *        - their hourly statistics through the production path: every event of every message
 *          (queued, accepted with its latency, deferred, failed, hard/soft bounce, complaint,
 *          opens, clicks, unsubscribe) goes through stats.record(), and the service's own flush
 *          writes the buckets (additive upserts).
 *      Messages come in time order; outcomes: about 94 % accepted, 2 % hard and 1 % soft bounces,
 *      1 % failed, 2 % deferred first; one server is worse (8 % hard bounces). Most messages sent
 *      while a campaign runs belong to it.
 *   3. Times the 30-day report queries over HTTP, as the admin panel makes them, with an admin
 *      token: overview (30 days, daily series), the servers comparison, one campaign's report.
 *      BENCH_REPORT_RUNS (default 40) timed runs of each after 5 warm-up runs, interleaved.
 *
 * The last line of stdout is one JSON object: `messages`, `p95Ms` (over every timed HTTP request),
 * and per query p50/p95 in ms, over HTTP and from the service alone (no HTTP, admin auth or JSON),
 * beside a baseline admin request that reads next to nothing. Goal: p95 < 200 ms.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { AttemptRecord, MessageLogEntry } from '../../shared/contracts/messages';
import type { StatEvent } from '../../shared/contracts/reports';
import { createMessageRepository } from '../../server/src/repositories/messages';
import type { ReportsService } from '../../server/src/services/reports';
import type { StatsService } from '../../server/src/services/stats';
import { deleteKeys, testRedis } from '../../test/helpers/redis';
import { asAdmin, startStrapi, type TestStrapi } from '../../test/helpers/strapi';

const numberFromEnv = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : fallback;
};

const MESSAGES = numberFromEnv('BENCH_REPORT_MESSAGES', 1_000_000);
const RUNS = numberFromEnv('BENCH_REPORT_RUNS', 40);
const WARMUP_RUNS = 5;
const DAYS = 30;
const SERVERS = 10;
const GROUPS = ['transactional', 'marketing', 'alerts'];
const CAMPAIGNS = 20;
/** Messages per chunk: generated, written to the log in one transaction, counted, flushed. */
const CHUNK = 10_000;
const GOAL_MS = 200;
const DAY_MS = 24 * 3_600_000;

const say = (line = '') => process.stdout.write(`${line}\n`);

/** A small deterministic PRNG (mulberry32), so every run seeds the same data. */
const randomFrom = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const percentile = (values: number[], q: number) => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! * 10) / 10;
};

const HARD_REPLIES = [
  '550 5.1.1 <{to}>: Recipient address rejected: User unknown',
  '550 5.1.1 The email account that you tried to reach does not exist',
  '552 5.2.2 <{to}>: Mailbox full',
  '554 5.7.1 <{to}>: Relay access denied',
];

const main = async () => {
  say(`multi-smtp reports benchmark: ${os.cpus().length} cores, load ${os.loadavg().map((load) => load.toFixed(1)).join(' ')}, Node ${process.version}`);
  say(`${MESSAGES} messages over ${DAYS} days, ${SERVERS} servers, ${GROUPS.length} groups, ${CAMPAIGNS} campaigns; ${RUNS} timed runs per query`);
  let app: TestStrapi | undefined;
  let failure: unknown;
  const results: Record<string, unknown> = {};
  try {
    const bootStarted = Date.now();
    // Retention at 60 days: the default 30 would start pruning the oldest seeded rows while the run goes on.
    const liveApp = await startStrapi({ pluginConfig: { worker: { enabled: false }, timeZone: 'UTC', retention: { messageLogDays: 60 } } });
    app = liveApp;
    say(`Strapi booted in ${Date.now() - bootStarted} ms`);
    const api = asAdmin(liveApp);
    const plugin = liveApp.strapi.plugin('multi-smtp');
    const stats = plugin.service('stats') as StatsService;
    const log = createMessageRepository(liveApp.strapi);

    // Directory: 3 groups, 10 servers (never sent to: the worker is off), 20 campaigns.
    const groupIds: string[] = [];
    for (const slug of GROUPS) {
      groupIds.push((await api.post('/multi-smtp/groups', { name: slug, slug, strategy: 'weighted' })).body.data.documentId);
    }
    const servers: Array<{ id: string; name: string; group: string }> = [];
    for (let index = 0; index < SERVERS; index += 1) {
      const group = index % GROUPS.length;
      const response = await api.post('/multi-smtp/servers', {
        name: `smtp-${index}`,
        host: '127.0.0.1',
        port: 2525 + index,
        security: 'none',
        fromAddress: 'bench@example.com',
        group: groupIds[group],
        hourlyLimit: 50_000,
        dailyLimit: 500_000,
      });
      if (response.status !== 201) throw new Error(`creating a server failed: ${response.status} ${JSON.stringify(response.body)}`);
      servers.push({ id: response.body.data.documentId, name: `smtp-${index}`, group: GROUPS[group]! });
    }
    const now = Date.now();
    const start = now - DAYS * DAY_MS;
    const campaigns: Array<{ id: string; from: number; to: number }> = [];
    for (let index = 0; index < CAMPAIGNS; index += 1) {
      // Each campaign sends over 3 days, starting every 1.3 days.
      const from = start + Math.round(index * 1.3 * DAY_MS);
      const created = await liveApp.strapi.documents('plugin::multi-smtp.campaign').create({
        data: { name: `Campaign ${index}`, status: 'completed', subject: `Offer ${index}`, totalRecipients: 0, startedAt: new Date(from).toISOString() },
      });
      campaigns.push({ id: created.documentId, from, to: Math.min(now, from + 3 * DAY_MS) });
    }

    // Seed.
    const random = randomFrom(42);
    const seedStarted = Date.now();
    let logMs = 0;
    let statsMs = 0;
    const campaignSizes = new Map<string, number>();
    for (let first = 0; first < MESSAGES; first += CHUNK) {
      const entries: MessageLogEntry[] = [];
      const events: StatEvent[] = [];
      for (let index = first; index < Math.min(MESSAGES, first + CHUNK); index += 1) {
        // In time order, as mail comes (so each chunk's statistics fall in a few hours, as a
        // second's do in production); 60 % belongs to a campaign sending at that time.
        const queuedAt = start + Math.floor(((index + random()) / MESSAGES) * (now - start - 3_600_000));
        const sending = campaigns.filter((entry) => entry.from <= queuedAt && queuedAt < entry.to);
        const campaign = sending.length > 0 && random() < 0.6 ? sending[Math.floor(random() * sending.length)]! : null;
        const server = servers[Math.floor(random() * SERVERS)]!;
        if (campaign) campaignSizes.set(campaign.id, (campaignSizes.get(campaign.id) ?? 0) + 1);
        const to = `user${index}@example.com`;
        const base = { serverId: server.id, groupSlug: server.group, campaignId: campaign?.id ?? null };
        const roll = random();
        const hardRate = server.name === 'smtp-7' ? 0.08 : 0.02;
        const outcome = roll < hardRate ? 'bounced' : roll < hardRate + 0.01 ? 'failed' : 'sent';
        const deferredFirst = random() < 0.02;
        // Latency: mostly 40-400 ms, a slow tail up to 3 s.
        const latencyMs = Math.round(random() < 0.95 ? 40 + random() * 360 : 400 + random() * 2600);
        const sentAt = queuedAt + (deferredFirst ? 60_000 : 0) + latencyMs + 5;
        const attempts: AttemptRecord[] = [];
        if (deferredFirst) {
          attempts.push({ at: queuedAt + 5, serverId: server.id, serverName: server.name, outcome: 'server-transient', reply: '451 4.3.0 Try again later', latencyMs: 30 });
        }
        const reply =
          outcome === 'sent' ? '250 2.0.0 Ok: queued' : outcome === 'failed' ? '421 4.3.2 Service not available' : HARD_REPLIES[index % HARD_REPLIES.length]!.replace('{to}', to);
        attempts.push({
          at: sentAt - latencyMs,
          serverId: server.id,
          serverName: server.name,
          outcome: outcome === 'sent' ? 'accepted' : outcome === 'failed' ? 'server-transient' : 'recipient-hard',
          reply,
          latencyMs,
        });
        entries.push({
          id: `bench-${index}`,
          status: outcome,
          from: 'bench@example.com',
          recipients: [to],
          subject: campaign ? 'Offer' : `Receipt ${index}`,
          group: server.group,
          serverId: server.id,
          serverName: server.name,
          attempts,
          lastReply: reply,
          smtpMessageId: `<bench-${index}@example.com>`,
          idempotencyKey: null,
          source: campaign ? 'campaign' : 'api',
          campaignId: campaign?.id ?? null,
          subscriberId: null,
          queuedAt,
          sentAt: outcome === 'sent' ? sentAt : null,
          finishedAt: sentAt,
        });
        events.push({ ...base, serverId: null, type: 'queued', at: queuedAt });
        if (deferredFirst) events.push({ ...base, type: 'deferred', at: queuedAt + 35 });
        if (outcome === 'sent') {
          events.push({ ...base, type: 'accepted', at: sentAt, latencyMs });
          const later = random();
          if (later < 0.01) events.push({ ...base, type: 'softBounce', at: sentAt + 600_000 });
          if (later > 0.999) events.push({ ...base, type: 'complaint', at: sentAt + 3_600_000 });
          if (campaign && random() < 0.3) {
            events.push({ ...base, type: 'openHumanUnique', at: sentAt + 1_800_000 }, { ...base, type: 'openHuman', at: sentAt + 1_800_000 });
            if (random() < 0.3) events.push({ ...base, type: 'openHuman', at: sentAt + 7_200_000 });
            if (random() < 0.25) events.push({ ...base, type: 'clickUnique', at: sentAt + 1_900_000 }, { ...base, type: 'click', at: sentAt + 1_900_000 });
            if (random() < 0.02) events.push({ ...base, type: 'unsubscribe', at: sentAt + 2_000_000 });
          }
          if (campaign && random() < 0.1) events.push({ ...base, type: 'openMachine', at: sentAt + 60_000 });
        } else {
          events.push({ ...base, type: outcome === 'failed' ? 'failed' : 'hardBounce', at: sentAt });
        }
      }
      let started = Date.now();
      await log.upsertMany(entries);
      logMs += Date.now() - started;
      started = Date.now();
      for (const event of events) stats.record(event);
      await stats.flush();
      statsMs += Date.now() - started;
      if ((first / CHUNK) % 10 === 9 || first + CHUNK >= MESSAGES) {
        say(`  seeded ${Math.min(MESSAGES, first + CHUNK)} messages (${Math.round((Date.now() - seedStarted) / 1000)} s: log ${Math.round(logMs / 1000)} s, statistics ${Math.round(statsMs / 1000)} s)`);
      }
    }
    for (const campaign of campaigns) {
      // Through the query engine, as campaign-runner.ts does: the document types do not know the plugin's fields.
      await liveApp.strapi.db
        .query('plugin::multi-smtp.campaign' as never)
        .update({ where: { documentId: campaign.id }, data: { totalRecipients: campaignSizes.get(campaign.id) ?? 0 } });
    }
    const logRows = await liveApp.strapi.db.query('plugin::multi-smtp.message').count();
    const buckets = await stats.repository().count();
    say(`seeded in ${Math.round((Date.now() - seedStarted) / 1000)} s: ${logRows} delivery log rows, ${buckets} hourly buckets`);

    // Time the queries.
    const range = `from=${new Date(now - DAYS * DAY_MS).toISOString()}&to=${new Date(now).toISOString()}`;
    const biggest = [...campaignSizes.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    const queries: Record<string, string> = {
      overview: `/multi-smtp/reports/overview?${range}`,
      servers: `/multi-smtp/reports/servers?${range}`,
      campaign: `/multi-smtp/reports/campaigns/${biggest}?${range}`,
    };
    // The same reports from the service, without HTTP, admin authentication and JSON: what the
    // statistics cost by themselves.
    const reports = plugin.service('reports') as ReportsService;
    const rangeQuery = { from: new Date(now - DAYS * DAY_MS).toISOString(), to: new Date(now).toISOString() };
    const direct: Record<string, () => Promise<unknown>> = {
      overview: () => reports.overview(rangeQuery),
      servers: () => reports.servers(rangeQuery),
      campaign: () => reports.campaign(biggest, rangeQuery),
    };
    const timings: Record<string, number[]> = Object.fromEntries(Object.keys(queries).map((name) => [name, []]));
    const serviceTimings: Record<string, number[]> = Object.fromEntries(Object.keys(queries).map((name) => [name, []]));
    // An admin request that reads next to nothing: the framework's own share of each request.
    const baseline: number[] = [];
    const checks: Record<string, unknown> = {};
    const time = async <T>(work: () => Promise<T>) => {
      const started = process.hrtime.bigint();
      const value = await work();
      return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
    };
    for (let run = 0; run < WARMUP_RUNS + RUNS; run += 1) {
      for (const [name, url] of Object.entries(queries)) {
        const { ms, value: response } = await time(() => api.get(url));
        if (response.status !== 200) throw new Error(`${url}: ${response.status} ${JSON.stringify(response.body)}`);
        if (run >= WARMUP_RUNS) timings[name]!.push(ms);
        if (run === 0) checks[name] = response.body.data;
        const serviceRun = await time(direct[name]!);
        if (run >= WARMUP_RUNS) serviceTimings[name]!.push(serviceRun.ms);
      }
      const ping = await time(() => api.get('/multi-smtp/groups?pageSize=1'));
      if (run >= WARMUP_RUNS) baseline.push(ping.ms);
    }
    const overview = checks.overview as { totals: Record<string, number>; series: unknown[]; latency: unknown };
    const serversReport = checks.servers as { servers: Array<{ name: string; rates: { bounceRate: number } }> };
    const campaignReport = checks.campaign as { funnel: Record<string, number>; bounceReasons: unknown[]; servers: unknown[] };
    say(`overview: ${JSON.stringify(overview.totals)}; ${overview.series.length} points; latency ${JSON.stringify(overview.latency)}`);
    say(`servers: ${serversReport.servers.map((row) => `${row.name} bounce ${(row.rates.bounceRate * 100).toFixed(1)}%`).join(', ')}`);
    say(`campaign: ${JSON.stringify(campaignReport.funnel)}; ${campaignReport.bounceReasons.length} bounce reasons; ${campaignReport.servers.length} servers`);

    const all = Object.values(timings).flat();
    for (const [name, values] of Object.entries(timings)) {
      const service = serviceTimings[name]!;
      results[name] = {
        p50Ms: percentile(values, 0.5),
        p95Ms: percentile(values, 0.95),
        maxMs: percentile(values, 1),
        serviceP50Ms: percentile(service, 0.5),
        serviceP95Ms: percentile(service, 0.95),
      };
      say(
        `${name.padEnd(9)} HTTP p50 ${percentile(values, 0.5)} ms, p95 ${percentile(values, 0.95)} ms; service alone p50 ${percentile(service, 0.5)} ms, p95 ${percentile(service, 0.95)} ms`
      );
    }
    results.baselineAdminRequest = { p50Ms: percentile(baseline, 0.5), p95Ms: percentile(baseline, 0.95) };
    say(`baseline admin request (GET /multi-smtp/groups) p50 ${percentile(baseline, 0.5)} ms, p95 ${percentile(baseline, 0.95)} ms`);
    Object.assign(results, {
      messages: logRows,
      accepted: overview.totals.accepted,
      buckets,
      p95Ms: percentile(all, 0.95),
      p50Ms: percentile(all, 0.5),
      goalP95Ms: GOAL_MS,
      goalMet: (percentile(all, 0.95) ?? Infinity) < GOAL_MS,
      runsPerQuery: RUNS,
      seedSeconds: Math.round((Date.now() - seedStarted) / 1000),
    });
  } catch (error) {
    failure = error;
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  } finally {
    const prefix = app?.redisPrefix;
    if (app) await app.stop().catch((error: unknown) => process.stderr.write(`stopping Strapi: ${String(error)}\n`));
    else {
      const databaseFile = process.env.DATABASE_FILENAME;
      if (databaseFile && path.basename(path.dirname(databaseFile)).startsWith('multi-smtp-strapi-')) {
        fs.rmSync(path.dirname(databaseFile), { recursive: true, force: true });
      }
    }
    if (prefix) {
      const redis = testRedis();
      await deleteKeys(redis, prefix).catch(() => undefined);
      await deleteKeys(redis, `{${prefix}}`).catch(() => undefined);
      await redis.quit().catch(() => undefined);
    }
  }
  const summary = JSON.stringify({
    ...results,
    settings: { messages: MESSAGES, days: DAYS, servers: SERVERS, groups: GROUPS.length, campaigns: CAMPAIGNS, cores: os.cpus().length, loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100) },
    ...(failure ? { error: failure instanceof Error ? failure.message : String(failure) } : {}),
  });
  process.stdout.write(`${summary}\n`, () => process.exit(failure ? 1 : 0));
};

void main();
