/**
 * The benchmark itself (started by scripts/bench.js, which lets Node load TypeScript).
 *
 *   1. Four counting SMTP sinks in a child process (sink-process.js), and one real Strapi with the
 *      plugin (SQLite in a temp dir, the queue worker inside Strapi on) whose group "bench" holds
 *      four servers weighted 4/3/2/1, one per sink.
 *   2. Warm-up, not measured: a few hundred messages both ways, so the JIT has compiled both paths.
 *   3. Throughput, in rounds (ABC then CBA, so a machine that gets busier or quieter during the run
 *      weighs on every phase alike), each phase sending its share of BENCH_MESSAGES:
 *        raw     plain pooled nodemailer, straight to the sinks (what an app does without the plugin);
 *        bulk    the same messages through the plugin, queued with sendBulk() (a batch per round);
 *        single  the same messages queued with send(), a bounded number of calls in flight, as a
 *                web app whose requests each queue one email would.
 *      Queue, routing, quotas and the delivery log are all on for bulk and single.
 *   4. Overshoot: a second group of four servers with low hourly caps, four extra worker processes
 *      (plus the worker inside Strapi: five consumers) and more messages than the caps sum to. How
 *      far any server goes over its cap (it should not).
 *
 * Throughput = messages counted at the sinks / (time the last one reached a sink - time the phase
 * began sending or queueing), summed over the rounds. Human-readable lines go to stdout as the run
 * goes; the last line of stdout is one JSON object with every result.
 *
 * Each phase also reports, per server, the most SMTP connections open at once (counted by the sinks,
 * since the start of each run; the pause between runs lets idle connections close) and how many
 * were opened, so the phases are seen to compare like for like.
 *
 * Beside msg/s, each phase reports CPU per message of this process, of Redis (server-wide: other
 * clients of the same Redis count too) and of the sinks, the Redis commands run (INFO commandstats)
 * and the round trips this process made to Redis (round-trips.ts; counting them costs the plugin
 * phases about 1 % of their CPU).
 *
 * Settings (environment):
 *   BENCH_MESSAGES            messages per throughput phase, over all rounds (default 6000)
 *   BENCH_ROUNDS              rounds of raw/bulk/single (default 2)
 *   BENCH_WARMUP              warm-up messages, not measured, each way (default 400)
 *   BENCH_CONCURRENCY         plugin worker concurrency = raw sendMail calls in flight (default 20)
 *   BENCH_SEND_CONCURRENCY    send() calls in flight in the single phase (default 20)
 *   BENCH_PHASES              comma list of raw,bulk,single,overshoot (default all)
 *   BENCH_TCP_NODELAY=0       keep Nagle's algorithm on for SMTP sockets (see below)
 *   BENCH_USE_BUILD=1         load the built dist/ instead of the TypeScript sources
 *   BENCH_CPU_PROFILE=<dir>   write a .cpuprofile of this process for each phase run into <dir>
 *                             (summarize one with `node scripts/bench/profile-summary.js <file>`)
 *   REDIS_URL                 default redis://127.0.0.1:6379
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import type { EngineService } from '../../server/src/services/engine';
import type { MailerService } from '../../server/src/services/mailer';
import type { MessageLogService } from '../../server/src/services/message-log';
import { startWorkerProcess, type WorkerProcess } from '../../test/helpers/engine-workers';
import { deleteKeys, TEST_REDIS_URL, testRedis } from '../../test/helpers/redis';
import { asAdmin, startStrapi, type TestStrapi } from '../../test/helpers/strapi';
import { sendRaw, type BenchMessage } from './raw-baseline';
import { installRoundTripCounter } from './round-trips';
import { startCountingSinks, type CountingSinks, type SinkSnapshot } from './sinks';
import { perSecond, round, sleep, weightShares, type WeightShare } from './stats';
import { addUsage, emptyUsage, perMessage, startProfile, startUsage, type Usage, type UsagePerMessage } from './usage';

const numberFromEnv = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : fallback;
};

const MESSAGES = numberFromEnv('BENCH_MESSAGES', 6000);
const ROUNDS = numberFromEnv('BENCH_ROUNDS', 2);
const CONCURRENCY = numberFromEnv('BENCH_CONCURRENCY', 20);
const SEND_CONCURRENCY = numberFromEnv('BENCH_SEND_CONCURRENCY', 20);
const PHASES = new Set(
  (process.env.BENCH_PHASES ?? 'raw,bulk,single,overshoot').split(',').map((phase) => phase.trim())
);
const USE_BUILD = process.env.BENCH_USE_BUILD === '1';
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE;
const TCP_NODELAY = process.env.BENCH_TCP_NODELAY !== '0';

/**
 * nodemailer leaves Nagle's algorithm on. A message then goes out in small writes where a later one
 * waits for the ACK of an earlier one, and the receiver delays that ACK (40 ms on Linux): ~45 ms of
 * waiting per message and connection, on loopback too, so raw nodemailer and the plugin alike are
 * bound by that wait rather than by their work. By default the bench turns Nagle off for every
 * socket this process opens (raw and plugin alike; ioredis does it already), so the ratios compare
 * what each side costs; BENCH_TCP_NODELAY=0 measures nodemailer's default.
 */
if (TCP_NODELAY) {
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function connectWithoutNagle(this: net.Socket, ...args: unknown[]) {
    this.setNoDelay(true);
    return (connect as (...connectArgs: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;
}

/**
 * Throughput servers, weighted 4/3/2/1. Their connection limit equals the concurrency, so it never
 * binds: a server at its limit makes the router fail over to the next one, which would skew the
 * weights (and that is not what this phase measures).
 */
const WEIGHTS = [4, 3, 2, 1];
/** High but real limits: the quota script checks and counts them for every message. */
const THROUGHPUT_HOURLY_LIMIT = 10_000_000;
const THROUGHPUT_DAILY_LIMIT = 100_000_000;
const WARMUP_MESSAGES = numberFromEnv('BENCH_WARMUP', 400);

/** Overshoot phase: low hourly caps, more messages than they sum to, extra worker processes. */
const CAPS = [30, 20, 15, 10];
const CAPPED_MAX_CONNECTIONS = 2;
const OVERSHOOT_MESSAGES = 200;
const EXTRA_WORKERS = 4;
const EXTRA_WORKER_CONCURRENCY = 8;
/** The overshoot phase is over when the sinks got nothing new for this long. */
const QUIET_MS = 3000;

/** Idle plugin connections close after 2 s (the engine's default): waiting longer starts every run cold, like raw. */
const BETWEEN_RUNS_MS = 2500;
/** A run that makes no progress at the sinks for this long is given up (and reported as stalled). */
const STALL_MS = 60_000;

type ThroughputPhase = 'raw' | 'bulk' | 'single';

const say = (line = '') => process.stdout.write(`${line}\n`);
const pad = (value: string | number, width: number) => String(value).padStart(width);

/** One run of one phase (one round). */
interface PhaseRun {
  messages: number;
  delivered: number;
  duplicates: number;
  /** From the start of the run to the last message at a sink. */
  wallMs: number;
  /** From the start of the run until every message was handed to the plugin (queued) or to nodemailer. */
  handOverMs: number;
  perServer: number[];
  /** Per server (sink): the most SMTP connections open at once during the run, and how many were opened. */
  peakConnections: number[];
  connectionsOpened: number[];
  /** Per server: connections still open when the run began (left from the run before; 0 when the pause let them close). */
  openAtStart: number[];
  stalled: boolean;
  /** Plugin phases: how long the delivery log took to flush after the last message arrived. */
  logFlushMs: number | null;
  usage: Usage;
}

/** A phase over all its rounds. */
interface PhaseResult {
  messages: number;
  delivered: number;
  duplicates: number;
  wallMs: number;
  msgsPerSec: number;
  /** msg/s of each round, to see how noisy the machine was. */
  roundMsgsPerSec: number[];
  handOverMs: number;
  perServer: number[];
  /** Per server: the most SMTP connections open at once in any round (so raw and plugin are compared like for like). */
  peakConnections: number[];
  /** Per server: connections opened over all rounds. */
  connectionsOpened: number[];
  stalled: boolean;
  logFlushMs: number | null;
  perMessage: UsagePerMessage;
}

const combine = (runs: PhaseRun[]): PhaseResult => {
  const sum = (pick: (run: PhaseRun) => number) => runs.reduce((total, run) => total + pick(run), 0);
  const delivered = sum((run) => run.delivered);
  const wallMs = sum((run) => run.wallMs);
  const flushes = runs.map((run) => run.logFlushMs).filter((ms): ms is number => ms !== null);
  return {
    messages: sum((run) => run.messages),
    delivered,
    duplicates: sum((run) => run.duplicates),
    wallMs,
    msgsPerSec: round(perSecond(delivered, wallMs), 1),
    roundMsgsPerSec: runs.map((run) => round(perSecond(run.delivered, run.wallMs), 1)),
    handOverMs: sum((run) => run.handOverMs),
    perServer: WEIGHTS.map((_, index) => sum((run) => run.perServer[index] ?? 0)),
    peakConnections: WEIGHTS.map((_, index) => Math.max(0, ...runs.map((run) => run.peakConnections[index] ?? 0))),
    connectionsOpened: WEIGHTS.map((_, index) => sum((run) => run.connectionsOpened[index] ?? 0)),
    stalled: runs.some((run) => run.stalled),
    logFlushMs: flushes.length > 0 ? Math.max(...flushes) : null,
    perMessage: perMessage(
      runs.reduce((total, run) => addUsage(total, run.usage), emptyUsage()),
      delivered
    ),
  };
};

/** Waits until the sinks hold `expected` messages, or nothing arrived for STALL_MS. */
const waitForSinks = async (
  sinks: CountingSinks,
  expected: number
): Promise<{ snapshot: SinkSnapshot; stalled: boolean }> => {
  let last = -1;
  let lastProgressAt = Date.now();
  for (;;) {
    const snapshot = await sinks.counts();
    if (snapshot.total >= expected) return { snapshot, stalled: false };
    if (snapshot.total !== last) {
      last = snapshot.total;
      lastProgressAt = Date.now();
    } else if (Date.now() - lastProgressAt > STALL_MS) {
      return { snapshot, stalled: true };
    }
    await sleep(50);
  }
};

/** Messages of a typical transactional size (~0.7 kB of text). */
const benchMessages = (count: number, tag: string): BenchMessage[] =>
  Array.from({ length: count }, (_, index) => ({
    id: randomUUID(),
    from: 'bench@example.com',
    to: `recipient${index}@example.com`,
    subject: `Bench ${tag} message ${index}`,
    text: `Hello recipient ${index},\n\n${'This is a benchmark message of a typical transactional size. '.repeat(10)}\n\nRegards,\nThe bench`,
  }));

/** What the plugin is given: the same message without the id (the plugin makes its own). */
const pluginInput = (message: BenchMessage) => ({
  from: message.from,
  to: message.to,
  subject: message.subject,
  text: message.text,
});

/**
 * The most msg/s the machine's cores allow at the CPU a message of this phase cost the machine in all
 * (every process, /proc/stat): the rate at which they would all be busy all the time. No phase can
 * go faster however little it waits, so (plugin bound) / (raw measured) is the highest ratio the
 * plugin could reach on this machine at its CPU per message. Null without /proc/stat.
 */
const cpuBoundMsgsPerSec = (result: PhaseResult): number | null => {
  const cpuUs = result.perMessage.machineCpuUs;
  return cpuUs ? round((os.cpus().length * 1e6) / cpuUs, 1) : null;
};

const printPhase = (name: string, result: PhaseResult, raw?: PhaseResult) => {
  const ratio = raw ? `, ${round(result.msgsPerSec / raw.msgsPerSec, 3)} of raw` : '';
  say(
    `${name}: ${result.delivered}/${result.messages} at the sinks in ${result.wallMs} ms: ${result.msgsPerSec} msg/s${ratio} (rounds: ${result.roundMsgsPerSec.join(', ')} msg/s)`
  );
  const flush =
    result.logFlushMs === null ? '' : `; delivery log flushed within ${result.logFlushMs} ms of the last message`;
  say(
    `  handed over in ${result.handOverMs} ms; duplicates ${result.duplicates}${flush}${result.stalled ? '; STALLED' : ''}`
  );
  say(
    `  peak SMTP connections per server: ${result.peakConnections.join(' / ')} (opened over the rounds: ${result.connectionsOpened.join(' / ')})`
  );
  const usage = result.perMessage;
  say(
    `  cpu per message: this process ${usage.benchProcessCpuUs} µs, redis ${usage.redisCpuUs} µs, sinks ${usage.sinkCpuUs} µs`
  );
  const loop = usage.loopDelayMs;
  say(`  event loop delay of this process (worst round): mean ${loop.mean} ms, p50 ${loop.p50} ms, p99 ${loop.p99} ms, max ${loop.max} ms`);
  if (usage.machineBusyPct !== null) say(`  machine: its ${os.cpus().length} cores ${usage.machineBusyPct} % busy over the phase (every process)`);
  const bound = cpuBoundMsgsPerSec(result);
  if (bound !== null) {
    say(`  machine CPU per message, every process: ${usage.machineCpuUs} µs; at that cost the cores allow at most ${bound} msg/s`);
  }
  if (name !== 'raw' && usage.redisRoundTrips > 0) {
    const byName = Object.entries(usage.redisRoundTripsByName)
      .map(([command, count]) => `${command} ${count}`)
      .join(', ');
    say(`  redis round trips per message from this process: ${usage.redisRoundTrips} (${byName})`);
  }
  if (name !== 'raw' && usage.redisCommands > 0) {
    const busiest = usage.redisBusiestCommands
      .map((entry) => `${entry.command} ${entry.callsPerMsg}×${entry.usecPerCall} µs`)
      .join(', ');
    say(
      `  redis commands per message (with those run inside scripts): ${usage.redisCommands}; most server time: ${busiest}`
    );
  }
};

const printShares = (shares: WeightShare[]) => {
  say('  server  weight  messages  share %  expected %  deviation (points)');
  shares.forEach((share, index) =>
    say(
      `  ${pad(`s${index + 1}`, 6)}  ${pad(share.weight, 6)}  ${pad(share.messages, 8)}  ${pad(share.sharePct.toFixed(2), 7)}  ${pad(share.expectedPct.toFixed(2), 10)}  ${pad(share.deviationPct.toFixed(2), 8)}`
    )
  );
};

/** Milliseconds to the next hour: the quota's hour windows, in the bench's time zone (UTC). */
const msToNextHour = () => 3_600_000 - (Date.now() % 3_600_000);
const hourOf = (at: number) => Math.floor(at / 3_600_000);

interface OvershootResult {
  caps: number[];
  received: number[];
  /** received - cap per server (negative: under its cap). */
  overshoot: number[];
  maxQuotaOvershoot: number;
  queued: number;
  /** Processes taking jobs: the extra workers and the one inside Strapi. */
  consumers: number;
  hourBoundaryCrossed: boolean;
  duplicates: number;
}

/**
 * When Strapi failed to boot, startStrapi() (test/helpers/strapi.ts) never returned its stop(): its
 * temp dir and Redis prefix are found from the environment it set for the boot.
 */
const removeHalfBootedStrapi = () => {
  const databaseFile = process.env.DATABASE_FILENAME;
  if (databaseFile && path.basename(path.dirname(databaseFile)).startsWith('multi-smtp-strapi-')) {
    fs.rmSync(path.dirname(databaseFile), { recursive: true, force: true });
  }
};
const redisPrefixOfLastBoot = (): string | undefined => {
  try {
    return (JSON.parse(process.env.MULTI_SMTP_TEST_CONFIG ?? '{}') as { redis?: { keyPrefix?: string } }).redis
      ?.keyPrefix;
  } catch {
    return undefined;
  }
};

const main = async () => {
  const cpuModel = os.cpus()[0]?.model ?? 'unknown cpu';
  say(
    `multi-smtp benchmark: ${os.cpus().length} cores (${cpuModel}), load ${os
      .loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')}, Node ${process.version}`
  );
  say(
    `${MESSAGES} messages per phase in ${ROUNDS} round(s); worker concurrency ${CONCURRENCY}; send() concurrency ${SEND_CONCURRENCY}; plugin from ${USE_BUILD ? 'dist/' : 'sources'}`
  );
  say(
    `TCP_NODELAY: ${TCP_NODELAY ? 'on for raw and plugin alike (BENCH_TCP_NODELAY=0 for nodemailer default)' : 'nodemailer default (Nagle on)'}; Redis ${TEST_REDIS_URL} (figures are server-wide)`
  );

  installRoundTripCounter();
  const redis = testRedis();
  let sinks: CountingSinks | undefined;
  let app: TestStrapi | undefined;
  let workers: WorkerProcess[] = [];
  const results: Record<string, unknown> = {};
  let failure: unknown;

  try {
    const liveSinks = await startCountingSinks(WEIGHTS.length);
    sinks = liveSinks;
    const bootStarted = Date.now();
    const liveApp = await startStrapi({
      useBuild: USE_BUILD,
      pluginConfig: { worker: { enabled: true, concurrency: CONCURRENCY }, timeZone: 'UTC' },
    });
    app = liveApp;
    say(
      `sinks on ports ${liveSinks.ports.join(', ')}; Strapi booted in ${Date.now() - bootStarted} ms (Redis key prefix ${liveApp.redisPrefix})`
    );
    const api = asAdmin(liveApp);
    const plugin = liveApp.strapi.plugin('multi-smtp');
    const mailer = plugin.service('mailer') as MailerService;
    const messageLog = plugin.service('messageLog') as MessageLogService;
    const engineService = plugin.service('engine') as EngineService;

    const createGroup = async (slug: string) => {
      const response = await api.post('/multi-smtp/groups', { name: slug, slug, strategy: 'weighted' });
      if (response.status !== 201)
        throw new Error(`creating group ${slug}: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body.data.documentId as string;
    };
    const createServer = async (body: Record<string, unknown>) => {
      const response = await api.post('/multi-smtp/servers', {
        host: '127.0.0.1',
        security: 'none',
        fromAddress: 'bench@example.com',
        ...body,
      });
      if (response.status !== 201)
        throw new Error(`creating server ${String(body.name)}: ${response.status} ${JSON.stringify(response.body)}`);
    };

    const benchGroup = await createGroup('bench');
    for (const [index, weight] of WEIGHTS.entries()) {
      await createServer({
        name: `bench-${index + 1}`,
        port: liveSinks.ports[index],
        weight,
        maxConnections: CONCURRENCY,
        hourlyLimit: THROUGHPUT_HOURLY_LIMIT,
        dailyLimit: THROUGHPUT_DAILY_LIMIT,
        group: benchGroup,
      });
    }
    const rawTargets = WEIGHTS.map((weight, index) => ({
      port: liveSinks.ports[index]!,
      weight,
      maxConnections: CONCURRENCY,
    }));
    say(
      `group "bench": 4 servers weighted ${WEIGHTS.join('/')}, maxConnections ${CONCURRENCY}, hourly limit ${THROUGHPUT_HOURLY_LIMIT}, daily ${THROUGHPUT_DAILY_LIMIT}`
    );

    const throughputPhases = (['raw', 'bulk', 'single'] as const).filter((phase) => PHASES.has(phase));
    if (throughputPhases.length > 0) {
      // Warm-up: compile both paths before anything is measured.
      const warmup = benchMessages(WARMUP_MESSAGES, 'warm-up');
      await liveSinks.reset();
      await sendRaw(warmup, rawTargets, CONCURRENCY);
      await mailer.sendBulk(warmup.map(pluginInput), { group: 'bench' });
      for (const message of warmup.slice(0, 100)) await mailer.send(pluginInput(message), { group: 'bench' });
      await waitForSinks(liveSinks, 2 * warmup.length + 100);
      await messageLog.flush();
      say(`warm-up done (${warmup.length} raw, ${warmup.length + 100} through the plugin)`);
    }

    /** How each phase hands its messages over. */
    const senders: Record<ThroughputPhase, (messages: BenchMessage[]) => Promise<void>> = {
      raw: (messages) => sendRaw(messages, rawTargets, CONCURRENCY),
      bulk: async (messages) => {
        await mailer.sendBulk(messages.map(pluginInput), { group: 'bench' });
      },
      single: async (messages) => {
        let next = 0;
        const caller = async () => {
          while (next < messages.length) {
            const message = messages[next++]!;
            await mailer.send(pluginInput(message), { group: 'bench' });
          }
        };
        await Promise.all(Array.from({ length: SEND_CONCURRENCY }, () => caller()));
      },
    };

    const runPhase = async (phase: ThroughputPhase, roundIndex: number, count: number): Promise<PhaseRun> => {
      const messages = benchMessages(count, `${phase} round ${roundIndex + 1}`);
      await liveSinks.reset();
      const openAtStart = (await liveSinks.counts()).sinks.map((sink) => sink.openConnections);
      const stopProfile = PROFILE_DIR ? await startProfile(PROFILE_DIR, `${phase}-round${roundIndex + 1}`) : null;
      const stopUsage = await startUsage(redis, liveSinks);
      const startedAt = Date.now();
      await senders[phase](messages);
      const handOverMs = Date.now() - startedAt;
      const { snapshot, stalled } = await waitForSinks(liveSinks, messages.length);
      // The log is part of the plugin's work: its CPU counts, its flush time is shown apart.
      let logFlushMs: number | null = null;
      if (phase !== 'raw') {
        const flushStarted = Date.now();
        await messageLog.flush();
        logFlushMs = Date.now() - flushStarted;
      }
      const usage = await stopUsage();
      const profileFile = stopProfile ? await stopProfile() : null;
      const wallMs = (snapshot.lastAt ?? Date.now()) - startedAt;
      const peakConnections = snapshot.sinks.map((sink) => sink.peakConnections);
      const stillOpen = openAtStart.some((open) => open > 0) ? `, ${openAtStart.join('/')} open at start` : '';
      say(
        `  round ${roundIndex + 1} ${phase.padEnd(6)} ${pad(snapshot.total, 5)} messages in ${pad(wallMs, 6)} ms = ${pad(round(perSecond(snapshot.total, wallMs), 1), 7)} msg/s; peak connections ${peakConnections.join('/')}${stillOpen}${profileFile ? `  (profile ${profileFile})` : ''}`
      );
      return {
        messages: messages.length,
        delivered: snapshot.total,
        duplicates: snapshot.duplicates,
        wallMs,
        handOverMs,
        perServer: snapshot.sinks.map((sink) => sink.messages),
        peakConnections,
        connectionsOpened: snapshot.sinks.map((sink) => sink.connections),
        openAtStart,
        stalled,
        logFlushMs,
        usage,
      };
    };

    const runs: Record<ThroughputPhase, PhaseRun[]> = { raw: [], bulk: [], single: [] };
    if (throughputPhases.length > 0) {
      say('');
      say(`throughput: raw = pooled nodemailer, ${CONCURRENCY} sendMail calls in flight, split 4/3/2/1 ahead of time;`);
      say(
        `            bulk = one sendBulk() per round; single = send() per message, ${SEND_CONCURRENCY} calls in flight`
      );
      for (let roundIndex = 0; roundIndex < ROUNDS; roundIndex += 1) {
        const order = roundIndex % 2 === 0 ? throughputPhases : [...throughputPhases].reverse();
        // The last round takes what is left, so the phases send exactly MESSAGES each.
        const count =
          roundIndex < ROUNDS - 1
            ? Math.floor(MESSAGES / ROUNDS)
            : MESSAGES - Math.floor(MESSAGES / ROUNDS) * (ROUNDS - 1);
        for (const phase of order) {
          await sleep(BETWEEN_RUNS_MS);
          runs[phase].push(await runPhase(phase, roundIndex, count));
        }
      }
    }

    const raw = runs.raw.length > 0 ? combine(runs.raw) : undefined;
    const bulk = runs.bulk.length > 0 ? combine(runs.bulk) : undefined;
    const single = runs.single.length > 0 ? combine(runs.single) : undefined;
    let bulkShares: WeightShare[] | undefined;
    say('');
    if (raw) {
      printPhase('raw', raw);
      results.raw = raw;
    }
    if (bulk) {
      printPhase('bulk', bulk, raw);
      bulkShares = weightShares(WEIGHTS, bulk.perServer);
      printShares(bulkShares);
      results.bulk = { ...bulk, shares: bulkShares };
    }
    if (single) {
      printPhase('single', single, raw);
      const shares = weightShares(WEIGHTS, single.perServer);
      printShares(shares);
      results.single = { ...single, shares };
    }

    let overshoot: OvershootResult | undefined;
    if (PHASES.has('overshoot')) {
      say('');
      say(
        `overshoot: hourly caps ${CAPS.join('/')}, ${OVERSHOOT_MESSAGES} messages, ${EXTRA_WORKERS} extra worker processes + the worker in Strapi`
      );
      // Fresh servers (so fresh quota counters) on the same sinks, in a group of their own.
      const cappedGroup = await createGroup('capped');
      for (const [index, cap] of CAPS.entries()) {
        await createServer({
          name: `capped-${index + 1}`,
          port: liveSinks.ports[index],
          weight: WEIGHTS[index],
          maxConnections: CAPPED_MAX_CONNECTIONS,
          hourlyLimit: cap,
          group: cappedGroup,
        });
      }
      const directory = await engineService.directorySource.load();
      const workersStarted = Date.now();
      workers = await Promise.all(
        Array.from({ length: EXTRA_WORKERS }, () =>
          startWorkerProcess({
            redisUrl: TEST_REDIS_URL,
            keyPrefix: liveApp.redisPrefix,
            concurrency: EXTRA_WORKER_CONCURRENCY,
            directory,
            timeZone: 'UTC',
          })
        )
      );
      say(
        `  ${EXTRA_WORKERS} worker processes ready in ${Date.now() - workersStarted} ms (concurrency ${EXTRA_WORKER_CONCURRENCY} each)`
      );
      // The caps are per hour: a window that turns mid-phase would rightly let more through.
      if (msToNextHour() < 60_000) {
        say(
          `  waiting ${Math.ceil(msToNextHour() / 1000)} s for the hour to turn (the hourly caps would reset mid-phase)`
        );
        await sleep(msToNextHour() + 1000);
      }
      await sleep(BETWEEN_RUNS_MS);
      await liveSinks.reset();
      const phaseHour = hourOf(Date.now());
      await mailer.sendBulk(benchMessages(OVERSHOOT_MESSAGES, 'capped').map(pluginInput), { group: 'capped' });
      // Until the sinks stop receiving: what is over the caps waits for the next hour.
      let snapshot = await liveSinks.counts();
      let lastTotal = -1;
      let quietSince = Date.now();
      const phaseStarted = Date.now();
      while (Date.now() - phaseStarted < 120_000) {
        snapshot = await liveSinks.counts();
        if (snapshot.total !== lastTotal) {
          lastTotal = snapshot.total;
          quietSince = Date.now();
        } else if (snapshot.total > 0 && Date.now() - quietSince > QUIET_MS) {
          break;
        }
        await sleep(100);
      }
      const received = snapshot.sinks.map((sink) => sink.messages);
      const over = received.map((count, index) => count - CAPS[index]!);
      overshoot = {
        caps: CAPS,
        received,
        overshoot: over,
        maxQuotaOvershoot: Math.max(0, ...over),
        queued: OVERSHOOT_MESSAGES,
        consumers: EXTRA_WORKERS + 1,
        hourBoundaryCrossed: hourOf(Date.now()) !== phaseHour,
        duplicates: snapshot.duplicates,
      };
      say(`  received ${received.join(' / ')} against caps ${CAPS.join(' / ')}: received - cap = ${over.join(' / ')}`);
      say(
        `  largest overshoot: ${overshoot.maxQuotaOvershoot}${overshoot.hourBoundaryCrossed ? ' (the hour turned during the phase)' : ''}; duplicates ${snapshot.duplicates}`
      );
      results.overshoot = overshoot;
    }

    const ratio = raw && bulk ? round(bulk.msgsPerSec / raw.msgsPerSec, 3) : null;
    const singleRatio = raw && single ? round(single.msgsPerSec / raw.msgsPerSec, 3) : null;
    // The highest ratios the plugin could reach here at its CPU per message (see cpuBoundMsgsPerSec).
    const ceilingOf = (phase: PhaseResult | undefined) => {
      const bound = phase ? cpuBoundMsgsPerSec(phase) : null;
      return raw && bound !== null ? round(bound / raw.msgsPerSec, 3) : null;
    };
    const ratioCeiling = ceilingOf(bulk);
    const singleRatioCeiling = ceilingOf(single);
    const maxWeightDeviationPct = bulkShares
      ? round(Math.max(...bulkShares.map((share) => Math.abs(share.deviationPct))), 2)
      : null;
    Object.assign(results, {
      rawMsgsPerSec: raw?.msgsPerSec ?? null,
      pluginMsgsPerSec: bulk?.msgsPerSec ?? null,
      ratio,
      singleMsgsPerSec: single?.msgsPerSec ?? null,
      singleRatio,
      ratioCeiling,
      singleRatioCeiling,
      maxWeightDeviationPct,
      maxQuotaOvershoot: overshoot?.maxQuotaOvershoot ?? null,
      // Per phase, the most SMTP connections open at once to each server (4/3/2/1-weighted), in any round.
      peakConnections: {
        raw: raw?.peakConnections ?? null,
        bulk: bulk?.peakConnections ?? null,
        single: single?.peakConnections ?? null,
      },
    });

    say('');
    say(`goals (on 2 cores; this machine has ${os.cpus().length})   result      goal`);
    const goal = (label: string, value: number | null, target: string, met: boolean) =>
      say(
        `  ${label.padEnd(38)} ${pad(value === null ? 'n/a' : value, 8)}    ${target.padEnd(8)} ${value === null ? '' : met ? 'met' : 'MISSED'}`
      );
    goal('bulk / raw', ratio, '>= 0.9', ratio !== null && ratio >= 0.9);
    goal('single / raw', singleRatio, '>= 0.8', singleRatio !== null && singleRatio >= 0.8);
    // What a goal asks of the machine at the CPU a message cost: a ratio r needs the cores r / ceiling busy.
    const busyNeeded = (goalRatio: number, ceiling: number | null) => (ceiling ? `${round((100 * goalRatio) / ceiling, 1)} %` : 'n/a');
    if (ratioCeiling !== null || singleRatioCeiling !== null) {
      say(
        `  (at their CPU per message, every core busy all the time: bulk / raw ${ratioCeiling ?? 'n/a'}, single / raw ${singleRatioCeiling ?? 'n/a'} at most;`
      );
      say(
        `   the goals need the cores ${busyNeeded(0.9, ratioCeiling)} busy for bulk, ${busyNeeded(0.8, singleRatioCeiling)} for single, every process; raw kept them ${raw?.perMessage.machineBusyPct ?? 'n/a'} % busy)`
      );
    }
    goal('bulk msg/s', bulk?.msgsPerSec ?? null, '>= 300', (bulk?.msgsPerSec ?? 0) >= 300);
    goal(
      'weight deviation (percentage points)',
      maxWeightDeviationPct,
      '<= 1',
      maxWeightDeviationPct !== null && maxWeightDeviationPct <= 1
    );
    goal('quota overshoot (messages)', overshoot?.maxQuotaOvershoot ?? null, '0', overshoot?.maxQuotaOvershoot === 0);
  } catch (error) {
    failure = error;
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    if (USE_BUILD) process.stderr.write('(BENCH_USE_BUILD=1 loads dist/: run `npm run build` first if it is stale)\n');
  } finally {
    // Everything this run started, then its Redis keys (the plugin's, and BullMQ's hash-tagged ones).
    await Promise.all(workers.map((worker) => worker.stop().catch(() => worker.kill())));
    if (app) await app.stop().catch((error: unknown) => process.stderr.write(`stopping Strapi: ${String(error)}\n`));
    else removeHalfBootedStrapi();
    if (sinks) await sinks.close();
    const prefix = app?.redisPrefix ?? redisPrefixOfLastBoot();
    if (prefix) {
      await deleteKeys(redis, prefix).catch(() => undefined);
      await deleteKeys(redis, `{${prefix}}`).catch(() => undefined);
    }
    await redis.quit().catch(() => undefined);
  }

  const summary = JSON.stringify({
    ...results,
    settings: {
      messages: MESSAGES,
      rounds: ROUNDS,
      concurrency: CONCURRENCY,
      sendConcurrency: SEND_CONCURRENCY,
      tcpNoDelay: TCP_NODELAY,
      useBuild: USE_BUILD,
      cores: os.cpus().length,
      loadAverage: os.loadavg().map((load) => round(load, 2)),
    },
    ...(failure ? { error: failure instanceof Error ? failure.message : String(failure) } : {}),
  });
  // Strapi and its libraries can leave timers behind; the measurement is over once stdout has the line.
  process.stdout.write(`${summary}\n`, () => process.exit(failure ? 1 : 0));
};

void main();
