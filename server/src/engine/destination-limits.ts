import { randomBytes } from 'node:crypto';

import type { Cluster, Redis } from 'ioredis';

import type { DestinationLimitInput, DestinationLimitsInput } from '../../../shared/contracts/destinations';
import { createDestinationMap, type MxResolver, type ProviderRule } from './destinations';
import { createWindowCalendar } from './quota-windows';
import { redisScript } from './redis-script';

/**
 * Per-destination shaping (issue 12, item 3): what one SMTP server may send toward one receiving
 * provider (destinations.ts maps recipient domains to providers), exact across every process.
 *
 * Before a send on a server, reserve() checks the limits of every destination of the message and
 * takes a slot from each only if all pass, in one Lua script (so two processes can never both take
 * the last slot): messages per second (paced like server quotas, no bursts), per clock minute, per
 * clock hour (the quota store's hour windows, in the plugin's time zone), and sends in flight (a
 * lease per send with a TTL, renewed while the send lasts, so a crashed process's slot frees
 * itself). After the attempt release() frees the lease and, when the message was not accepted,
 * gives the minute and hour slots back (once).
 *
 * Keys share the server's hash tag `{srv:<id>}` (as its quota keys do), so one script may touch every
 * destination of a message on a Redis Cluster too:
 *
 *   <prefix>:dest:{srv:<id>}:<destination>:leases     sorted set: lease token -> expiry (epoch ms)
 *   <prefix>:dest:{srv:<id>}:<destination>:pace       string: earliest start of the next send
 *   <prefix>:dest:{srv:<id>}:<destination>:m:<minute> string: sends in that minute (TTL past its end)
 *   <prefix>:dest:{srv:<id>}:<destination>:h:<hour>   string: sends in that hour window (TTL past its end)
 */

export interface DestinationLimits {
  connections: number | null;
  perSecond: number | null;
  perMinute: number | null;
  perHour: number | null;
}

/**
 * Shipped limits per provider, after KumoMTA's shaping file (provider_connection_limit: Google and
 * Microsoft 5, Apple 10, Mimecast 10, Comcast 25, Orange 3). Providers publish connection limits,
 * not rates; rates are left to the config and each server (e.g. `gmail: { perMinute: 600 }`).
 */
export const SHIPPED_DESTINATION_LIMITS: Readonly<Record<string, DestinationLimitInput>> = {
  gmail: { connections: 5 },
  microsoft: { connections: 5 },
  apple: { connections: 10 },
  mimecast: { connections: 10 },
  comcast: { connections: 25 },
  orange: { connections: 3 },
};

/** The key whose limits apply to every destination that has none of its own. */
export const DEFAULT_DESTINATION_KEY = 'default';

const FIELDS = ['connections', 'perSecond', 'perMinute', 'perHour'] as const;

/**
 * The limits toward one destination on one server, field by field from the most specific layer
 * that sets it: the server's entry, the config's, the shipped one, then the server's `default`, the
 * config's `default`. null (set) means no limit; a field no layer sets has none. Null when no
 * field is limited (then nothing is reserved at all).
 */
export const limitsFor = (
  destination: string,
  layers: {
    server?: DestinationLimitsInput | null;
    config?: DestinationLimitsInput | null;
    shipped?: Readonly<DestinationLimitsInput>;
  }
): DestinationLimits | null => {
  const shipped = layers.shipped ?? SHIPPED_DESTINATION_LIMITS;
  const ordered = [
    layers.server?.[destination],
    layers.config?.[destination],
    shipped[destination],
    layers.server?.[DEFAULT_DESTINATION_KEY],
    layers.config?.[DEFAULT_DESTINATION_KEY],
  ];
  const limits: DestinationLimits = { connections: null, perSecond: null, perMinute: null, perHour: null };
  let any = false;
  for (const field of FIELDS) {
    const entry = ordered.find((layer) => layer?.[field] !== undefined);
    const value = entry?.[field] ?? null;
    limits[field] = value;
    if (value !== null) any = true;
  }
  return any ? limits : null;
};

/** Short, for the delivery log: "20/min reached". */
const describeRefusal = (reason: DestinationRefusal, limits: DestinationLimits) => {
  switch (reason) {
    case 'connections':
      return `${limits.connections} in flight`;
    case 'second':
      return `${limits.perSecond}/s pace`;
    case 'minute':
      return `${limits.perMinute}/min reached`;
    default:
      return `${limits.perHour}/h reached`;
  }
};

export type DestinationRefusal = 'connections' | 'second' | 'minute' | 'hour';

/** A server's use of one destination now (live status). */
export interface DestinationUsage {
  destination: string;
  limits: DestinationLimits;
  /** Sends in flight toward it from this server, across processes. */
  inFlight: number;
  /** Sends counted in the current clock minute and hour. */
  minute: number;
  hour: number;
}

const NO_LIMIT = -1;
/** How soon to look again when a destination's in-flight slots are all taken (capped by the earliest lease expiry). */
const CONNECTION_RETRY_MS = 250;
/** How long a counter outlives its window (clock differences between nodes; a late refund still finds it). */
const KEY_MARGIN_MS = 60_000;

/**
 * Reserve a slot toward every destination of a message on one server, or none.
 *
 * KEYS, four per destination: leases, pace, minute counter, hour counter.
 * ARGV[1] now  ARGV[2] lease token  ARGV[3] lease ms  ARGV[4] connection retry ms  ARGV[5] key margin ms
 * then six per destination: max in flight, pacing interval ms, per minute, minute end, per hour,
 * hour end (-1 = no limit).
 * Returns {1} when granted, or {0, destination index (1-based), reason, retryAt}.
 */
export const DESTINATION_RESERVE_LUA = `
local now = tonumber(ARGV[1])
local token = ARGV[2]
local leaseMs = tonumber(ARGV[3])
local connectionRetryMs = tonumber(ARGV[4])
local keyMarginMs = tonumber(ARGV[5])
local count = #KEYS / 4

local refusedIndex, refusedReason, refusedUntil = nil, nil, 0
local function refuse(index, reason, retryAt)
  if refusedReason == nil or retryAt > refusedUntil then
    refusedIndex, refusedReason, refusedUntil = index, reason, retryAt
  end
end

-- Step 1: check every destination without changing anything (expired leases are dropped: their
-- process died without releasing them).
for i = 0, count - 1 do
  local leases, pace, minute, hour = KEYS[i * 4 + 1], KEYS[i * 4 + 2], KEYS[i * 4 + 3], KEYS[i * 4 + 4]
  local a = 6 + i * 6
  local maxInFlight, paceInterval = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local perMinute, minuteEnd = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local perHour, hourEnd = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
  if maxInFlight >= 0 and redis.call('ZCARD', leases) >= maxInFlight then
    local retryAt = now + connectionRetryMs
    local earliest = redis.call('ZRANGE', leases, 0, 0, 'WITHSCORES')
    if earliest[2] then retryAt = math.min(retryAt, tonumber(earliest[2])) end
    refuse(i + 1, 'connections', retryAt)
  end
  if perMinute >= 0 and tonumber(redis.call('GET', minute) or '0') >= perMinute then refuse(i + 1, 'minute', minuteEnd) end
  if perHour >= 0 and tonumber(redis.call('GET', hour) or '0') >= perHour then refuse(i + 1, 'hour', hourEnd) end
  if paceInterval >= 0 then
    local nextAllowed = tonumber(redis.call('GET', pace) or '0')
    if now < nextAllowed then refuse(i + 1, 'second', math.ceil(nextAllowed)) end
  end
end
if refusedReason ~= nil then return {0, refusedIndex, refusedReason, math.ceil(refusedUntil)} end

-- Step 2: every limit passed: take a slot from each destination. Counters count even without a
-- limit (a limit set mid-window starts from the real count); each carries a TTL past its window.
for i = 0, count - 1 do
  local leases, pace, minute, hour = KEYS[i * 4 + 1], KEYS[i * 4 + 2], KEYS[i * 4 + 3], KEYS[i * 4 + 4]
  local a = 6 + i * 6
  local paceInterval = tonumber(ARGV[a + 1])
  local minuteEnd, hourEnd = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 5])
  redis.call('ZADD', leases, now + leaseMs, token)
  if redis.call('PTTL', leases) < leaseMs + keyMarginMs then redis.call('PEXPIRE', leases, leaseMs + keyMarginMs) end
  if redis.call('INCR', minute) == 1 then redis.call('PEXPIRE', minute, math.ceil(minuteEnd - now + leaseMs + keyMarginMs)) end
  if redis.call('INCR', hour) == 1 then redis.call('PEXPIRE', hour, math.ceil(hourEnd - now + leaseMs + keyMarginMs)) end
  if paceInterval >= 0 then
    redis.call('SET', pace, string.format('%.3f', now + paceInterval), 'PX', math.ceil(paceInterval + keyMarginMs))
  end
end
return {1}
`;

/**
 * Finish a reservation: drop its lease toward each destination and, if the message was not
 * accepted, give back its minute and hour slots. Only a lease still there refunds, so a second
 * release (or one after the lease expired) gives nothing back: never under-counts.
 *
 * KEYS, three per destination: leases, minute counter, hour counter. ARGV[1] token, ARGV[2] accepted ('1'/'0').
 */
export const DESTINATION_RELEASE_LUA = `
for i = 0, #KEYS / 3 - 1 do
  local removed = redis.call('ZREM', KEYS[i * 3 + 1], ARGV[1])
  if removed == 1 and ARGV[2] == '0' then
    for _, key in ipairs({KEYS[i * 3 + 2], KEYS[i * 3 + 3]}) do
      if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
    end
  end
end
return 1
`;

const reserveScript = redisScript(DESTINATION_RESERVE_LUA);
const releaseScript = redisScript(DESTINATION_RELEASE_LUA);

export interface DestinationsConfig {
  /** false: no shaping at all. */
  enabled: boolean;
  dns: { enabled: boolean; timeoutMs: number; cacheSec: number };
  /** Providers added to (or replacing by key) the shipped ones. */
  providers: ProviderRule[];
  /** Limits by destination key, over the shipped ones. */
  limits: DestinationLimitsInput;
}

export interface DestinationReservation {
  serverId: string;
  token: string;
  /** Per destination: its leases, minute and hour counter keys (what release touches). */
  releaseKeys: string[];
  leaseKeys: string[];
}

export type DestinationReserveResult =
  | { ok: true; reservation: DestinationReservation | null }
  | { ok: false; destination: string; reason: DestinationRefusal; retryAt: number; summary: string };

export interface DestinationShapingOptions {
  redis: Redis | Cluster;
  keyPrefix: string;
  timeZone: string;
  /** How long an in-flight lease lives without renewal (renewed every quarter of it while the send lasts). */
  leaseMs: number;
  config?: Partial<DestinationsConfig>;
  /** MX lookups (default node:dns when config.dns.enabled). */
  resolveMx?: MxResolver | null;
  onError?: (error: unknown) => void;
  /** The engine's clock (lease expiries are compared with it). */
  clock?: () => number;
}

const defaultResolveMx: MxResolver = async (domain) => {
  const dns = await import('node:dns/promises');
  return dns.resolveMx(domain);
};

export const createDestinationShaping = (options: DestinationShapingOptions) => {
  const { redis, keyPrefix, leaseMs } = options;
  const clock = options.clock ?? Date.now;
  const enabled = options.config?.enabled ?? true;
  const dnsConfig = options.config?.dns;
  const dnsEnabled = dnsConfig?.enabled ?? true;
  const configLimits = options.config?.limits ?? {};
  const map = createDestinationMap({
    providers: options.config?.providers,
    resolveMx: dnsEnabled ? (options.resolveMx === undefined ? defaultResolveMx : options.resolveMx) : null,
    lookupTimeoutMs: dnsConfig?.timeoutMs,
    cacheMs: dnsConfig ? dnsConfig.cacheSec * 1000 : undefined,
  });
  const calendar = createWindowCalendar(options.timeZone);
  const base = (serverId: string, destination: string) => `${keyPrefix}:dest:{srv:${serverId}}:${destination}`;

  /** Reservations in flight in this process, whose leases are renewed until released. */
  const held = new Set<DestinationReservation>();
  let renewTimer: NodeJS.Timeout | null = null;
  const renew = () => {
    if (held.size === 0) return;
    const expiry = clock() + leaseMs;
    const pipeline = redis.pipeline();
    // XX: only a lease still there is extended; one that lapsed stays gone.
    for (const reservation of held)
      for (const key of reservation.leaseKeys) pipeline.zadd(key, 'XX', expiry, reservation.token);
    pipeline.exec().catch((error: unknown) => options.onError?.(error));
  };
  const hold = (reservation: DestinationReservation) => {
    held.add(reservation);
    if (!renewTimer) {
      renewTimer = setInterval(renew, Math.max(1000, leaseMs / 4));
      renewTimer.unref();
    }
  };
  const unhold = (reservation: DestinationReservation) => {
    held.delete(reservation);
    if (held.size === 0 && renewTimer) {
      clearInterval(renewTimer);
      renewTimer = null;
    }
  };

  return {
    map,

    /**
     * Takes a slot toward every destination of `recipients` on this server, or none. A message
     * whose destinations have no limit on it reserves nothing (no Redis call).
     */
    async reserve(
      server: { id: string; destinationLimits?: DestinationLimitsInput | null },
      recipients: readonly string[],
      now: number
    ): Promise<DestinationReserveResult> {
      if (!enabled) return { ok: true, reservation: null };
      const limited: { destination: string; limits: DestinationLimits }[] = [];
      for (const destination of map.destinationsOf(recipients)) {
        const limits = limitsFor(destination, { server: server.destinationLimits, config: configLimits });
        if (limits) limited.push({ destination, limits });
      }
      if (limited.length === 0) return { ok: true, reservation: null };
      const paused = limited.find((entry) => entry.limits.perMinute === 0 || entry.limits.perHour === 0);
      if (paused) {
        const reason = paused.limits.perMinute === 0 ? 'minute' : 'hour';
        return {
          ok: false,
          destination: paused.destination,
          reason,
          retryAt: now + 60_000,
          summary: `destination ${paused.destination}: paused (0/${reason === 'minute' ? 'min' : 'h'})`,
        };
      }
      const minuteStart = Math.floor(now / 60_000) * 60_000;
      const minuteEnd = minuteStart + 60_000;
      const hour = calendar.hourAt(now);
      const keys: string[] = [];
      const args: (string | number)[] = [];
      const releaseKeys: string[] = [];
      const leaseKeys: string[] = [];
      for (const { destination, limits } of limited) {
        const prefix = base(server.id, destination);
        const minuteKey = `${prefix}:m:${minuteStart / 60_000}`;
        const hourKey = `${prefix}:h:${hour.id}`;
        keys.push(`${prefix}:leases`, `${prefix}:pace`, minuteKey, hourKey);
        releaseKeys.push(`${prefix}:leases`, minuteKey, hourKey);
        leaseKeys.push(`${prefix}:leases`);
        args.push(
          limits.connections ?? NO_LIMIT,
          limits.perSecond === null ? NO_LIMIT : 1000 / limits.perSecond,
          limits.perMinute ?? NO_LIMIT,
          minuteEnd,
          limits.perHour ?? NO_LIMIT,
          hour.end
        );
      }
      const token = randomBytes(12).toString('base64url');
      const reply = await reserveScript<[1] | [0, number, DestinationRefusal, number]>(redis, keys, [
        now,
        token,
        leaseMs,
        CONNECTION_RETRY_MS,
        KEY_MARGIN_MS,
        ...args,
      ]);
      if (reply[0] === 0) {
        const refused = limited[reply[1] - 1]!;
        return {
          ok: false,
          destination: refused.destination,
          reason: reply[2],
          retryAt: Number(reply[3]),
          summary: `destination ${refused.destination}: ${describeRefusal(reply[2], refused.limits)}`,
        };
      }
      const reservation: DestinationReservation = { serverId: server.id, token, releaseKeys, leaseKeys };
      hold(reservation);
      return { ok: true, reservation };
    },

    /** After the attempt (or when the send did not happen): frees the in-flight slot; not accepted gives the minute/hour slots back. */
    async release(reservation: DestinationReservation | null, accepted: boolean): Promise<void> {
      if (!reservation) return;
      unhold(reservation);
      await releaseScript(redis, reservation.releaseKeys, [reservation.token, accepted ? '1' : '0']);
    },

    /**
     * A server's use of every destination it has a limit toward (shipped, config or its own; not
     * `default`, which stands for destinations not known in advance), for the live status.
     */
    async usageOf(
      server: { id: string; destinationLimits?: DestinationLimitsInput | null },
      now: number
    ): Promise<DestinationUsage[]> {
      if (!enabled) return [];
      const keys = new Set([
        ...Object.keys(SHIPPED_DESTINATION_LIMITS),
        ...Object.keys(configLimits),
        ...Object.keys(server.destinationLimits ?? {}),
      ]);
      keys.delete(DEFAULT_DESTINATION_KEY);
      const limited = [...keys].sort().flatMap((destination) => {
        const limits = limitsFor(destination, { server: server.destinationLimits, config: configLimits });
        return limits ? [{ destination, limits }] : [];
      });
      const minuteId = Math.floor(now / 60_000);
      const hourId = calendar.hourAt(now).id;
      return Promise.all(
        limited.map(async ({ destination, limits }) => {
          const prefix = base(server.id, destination);
          const [inFlight, minute, hour] = await Promise.all([
            redis.zcount(`${prefix}:leases`, `(${now}`, '+inf'),
            redis.get(`${prefix}:m:${minuteId}`),
            redis.get(`${prefix}:h:${hourId}`),
          ]);
          return { destination, limits, inFlight, minute: Number(minute ?? 0), hour: Number(hour ?? 0) };
        })
      );
    },
  };
};

export type DestinationShaping = ReturnType<typeof createDestinationShaping>;
