import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import type { Redis } from 'ioredis';

import { roundTripCounts } from './round-trips';
import type { CountingSinks } from './sinks';
import { round } from './stats';

/**
 * What a phase cost, beside its wall time: CPU of this process (Strapi and the engine, or the raw
 * nodemailer client), of the sink process and of Redis, and the Redis commands run.
 *
 * Redis figures are server-wide: other clients of the same Redis (another test run) count too.
 * The raw phase uses no Redis, so what it shows there is that background.
 */
export interface Usage {
  processCpuUs: number;
  sinkCpuUs: number;
  redisCpuUs: number;
  /** Calls and server time per Redis command name (commands run inside Lua scripts count too). */
  redisCommands: Map<string, { calls: number; usec: number }>;
  /** Round trips to Redis from this process, by command or script name (see round-trips.ts). */
  roundTrips: Map<string, number>;
  /**
   * How late this process's event loop ran its callbacks (ms): every Redis reply and SMTP answer
   * waits that long before the engine sees it. Summed usages keep the worst round's.
   */
  loopDelayMs: { mean: number; p50: number; p99: number; max: number };
  /**
   * The whole machine's CPU time (every process: this one, Redis, the sinks, anything else), in
   * clock ticks of /proc/stat: busy and in all. busy / total near 1 means the phase was bound by the
   * machine's cores, not by waiting. Zero where /proc/stat is missing.
   */
  machineTicks: { busy: number; total: number };
}

/** The machine's CPU ticks so far, over every core (the first line of /proc/stat). */
const readMachineTicks = (): { busy: number; total: number } => {
  let line: string;
  try {
    line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  } catch {
    return { busy: 0, total: 0 };
  }
  // cpu user nice system idle iowait irq softirq steal ...
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  return { busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total };
};

interface RedisCounters {
  cpuUs: number;
  commands: Map<string, { calls: number; usec: number }>;
}

const readRedisCounters = async (redis: Redis): Promise<RedisCounters> => {
  const [cpu, commandStats] = await Promise.all([redis.info('cpu'), redis.info('commandstats')]);
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  const commands = new Map<string, { calls: number; usec: number }>();
  for (const match of commandStats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    commands.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return { cpuUs: 1e6 * (field('used_cpu_user') + field('used_cpu_sys')), commands };
};

/** Starts counting; the returned function stops and tells what was used since. */
export const startUsage = async (redis: Redis, sinks: CountingSinks): Promise<() => Promise<Usage>> => {
  const process0 = process.cpuUsage();
  const redis0 = await readRedisCounters(redis);
  const sink0 = (await sinks.counts()).cpuUs;
  const roundTrips0 = roundTripCounts();
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const machine0 = readMachineTicks();
  return async () => {
    const processUs = process.cpuUsage(process0);
    const machine1 = readMachineTicks();
    loopDelay.disable();
    const ms = (nanoseconds: number) => round(nanoseconds / 1e6, 2);
    const loopDelayMs = { mean: ms(loopDelay.mean), p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) };
    const roundTrips = new Map<string, number>();
    for (const [name, count] of roundTripCounts()) {
      const made = count - (roundTrips0.get(name) ?? 0);
      if (made > 0) roundTrips.set(name, made);
    }
    const redis1 = await readRedisCounters(redis);
    const sink1 = (await sinks.counts()).cpuUs;
    const redisCommands = new Map<string, { calls: number; usec: number }>();
    for (const [command, after] of redis1.commands) {
      // The counters' own INFO calls are not the plugin's.
      if (command === 'info') continue;
      const before = redis0.commands.get(command) ?? { calls: 0, usec: 0 };
      if (after.calls > before.calls)
        redisCommands.set(command, { calls: after.calls - before.calls, usec: after.usec - before.usec });
    }
    return {
      processCpuUs: processUs.user + processUs.system,
      sinkCpuUs: sink1 - sink0,
      redisCpuUs: redis1.cpuUs - redis0.cpuUs,
      redisCommands,
      roundTrips,
      loopDelayMs,
      machineTicks: { busy: machine1.busy - machine0.busy, total: machine1.total - machine0.total },
    };
  };
};

export const emptyUsage = (): Usage => ({
  processCpuUs: 0,
  sinkCpuUs: 0,
  redisCpuUs: 0,
  redisCommands: new Map(),
  roundTrips: new Map(),
  loopDelayMs: { mean: 0, p50: 0, p99: 0, max: 0 },
  machineTicks: { busy: 0, total: 0 },
});

export const addUsage = (a: Usage, b: Usage): Usage => {
  const redisCommands = new Map(a.redisCommands);
  for (const [command, value] of b.redisCommands) {
    const sum = redisCommands.get(command) ?? { calls: 0, usec: 0 };
    redisCommands.set(command, { calls: sum.calls + value.calls, usec: sum.usec + value.usec });
  }
  const roundTrips = new Map(a.roundTrips);
  for (const [name, count] of b.roundTrips) roundTrips.set(name, (roundTrips.get(name) ?? 0) + count);
  return {
    processCpuUs: a.processCpuUs + b.processCpuUs,
    sinkCpuUs: a.sinkCpuUs + b.sinkCpuUs,
    redisCpuUs: a.redisCpuUs + b.redisCpuUs,
    redisCommands,
    roundTrips,
    loopDelayMs: b.loopDelayMs.p99 > a.loopDelayMs.p99 ? b.loopDelayMs : a.loopDelayMs,
    machineTicks: { busy: a.machineTicks.busy + b.machineTicks.busy, total: a.machineTicks.total + b.machineTicks.total },
  };
};

/** Per message: CPU µs of each process, Redis commands, and the Redis commands that took the most server time. */
export interface UsagePerMessage {
  benchProcessCpuUs: number;
  redisCpuUs: number;
  sinkCpuUs: number;
  redisCommands: number;
  redisBusiestCommands: { command: string; callsPerMsg: number; usecPerCall: number }[];
  /** Round trips to Redis this process made per message, in total and by command or script. */
  redisRoundTrips: number;
  redisRoundTripsByName: Record<string, number>;
  /** The event loop's delay in the worst round (see Usage). */
  loopDelayMs: Usage['loopDelayMs'];
  /** How busy the machine's cores were over the phase, all processes (null without /proc/stat). */
  machineBusyPct: number | null;
  /**
   * The whole machine's CPU per message, every process (this one, Redis, the sinks, anything else
   * running): what a message costs the machine in all, whoever spends it (null without /proc/stat).
   */
  machineCpuUs: number | null;
}

/** /proc/stat counts in USER_HZ ticks, 100 a second on Linux whatever the kernel's own tick rate. */
const USER_HZ = 100;

export const perMessage = (usage: Usage, messages: number): UsagePerMessage => {
  const per = (value: number) => (messages > 0 ? round(value / messages, 1) : 0);
  const commands = [...usage.redisCommands].map(([command, value]) => ({ command, ...value }));
  return {
    benchProcessCpuUs: per(usage.processCpuUs),
    redisCpuUs: per(usage.redisCpuUs),
    sinkCpuUs: per(usage.sinkCpuUs),
    redisCommands: per(commands.reduce((sum, entry) => sum + entry.calls, 0)),
    redisBusiestCommands: commands
      .sort((a, b) => b.usec - a.usec)
      .slice(0, 6)
      .map((entry) => ({
        command: entry.command,
        callsPerMsg: per(entry.calls),
        usecPerCall: round(entry.usec / entry.calls, 1),
      })),
    redisRoundTrips: per([...usage.roundTrips.values()].reduce((sum, count) => sum + count, 0)),
    redisRoundTripsByName: Object.fromEntries(
      [...usage.roundTrips]
        .sort((a, b) => b[1] - a[1])
        .map(([name, count]) => [name, per(count)] as const)
        .filter(([, count]) => count >= 0.05)
    ),
    loopDelayMs: usage.loopDelayMs,
    machineBusyPct: usage.machineTicks.total > 0 ? round((100 * usage.machineTicks.busy) / usage.machineTicks.total, 1) : null,
    machineCpuUs: usage.machineTicks.total > 0 ? per((usage.machineTicks.busy * 1e6) / USER_HZ) : null,
  };
};

/**
 * A CPU profile of this process from now until the returned function is called, written to
 * `<dir>/<name>.cpuprofile` (open it in Chrome DevTools, or summarize it with profile-summary.js).
 */
export const startProfile = async (dir: string, name: string): Promise<() => Promise<string>> => {
  fs.mkdirSync(dir, { recursive: true });
  const session = new inspector.Session();
  session.connect();
  const post = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T)))
    );
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  return async () => {
    const { profile } = await post<{ profile: object }>('Profiler.stop');
    session.disconnect();
    const file = path.join(dir, `${name}.cpuprofile`);
    fs.writeFileSync(file, JSON.stringify(profile));
    return file;
  };
};
