import { randomBytes } from 'node:crypto';

import type { Cluster, Redis } from 'ioredis';

import { createWindowCalendar } from './quota-windows';

/**
 * Exact per-server send quotas shared by every worker process and Strapi node, kept in Redis.
 *
 * Before each send a worker calls `reserve()`. One Lua script checks all of the server's limits and,
 * only if every one passes, takes a slot from each. Redis runs a script without interleaving any
 * other command, so two workers can never both take the last slot, however many processes there are.
 * After the attempt the worker calls `release()`: it frees the connection slot and, when the server
 * did not accept the message, gives the hour and day slots back.
 *
 * Redis keys of one server (all share the hash tag `{srv:<id>}`, so they live in one Redis Cluster
 * slot and one script may touch them all):
 *
 *   <prefix>:quota:{srv:<id>}:leases       sorted set: reservation token -> lease expiry (epoch ms)
 *   <prefix>:quota:{srv:<id>}:pace         string: earliest time the next send may start (epoch ms)
 *   <prefix>:quota:{srv:<id>}:hour:<id>    string: slots taken in that hour window
 *   <prefix>:quota:{srv:<id>}:day:<id>     string: slots taken in that day window
 *   <prefix>:quota:{srv:<id>}:windows      sorted set: the hour/day keys above -> their expiry, so
 *                                          reset() can find them without KEYS or SCAN
 *
 * Every key carries a TTL, so a deleted or idle server leaves nothing behind.
 *
 * Time: the caller's `now` (epoch ms) is passed to the scripts instead of Redis TIME, so tests can
 * drive a fake clock. In production every node passes Date.now(); keep node clocks in sync (NTP):
 * pacing spaces grants by the callers' clocks, so clock skew between nodes shows up in the spacing.
 */

export interface QuotaLimits {
  /** Sends per second, paced not bursted: 10/s = one slot every 100 ms. May be fractional (0.5/s); 0 pauses. */
  perSecond: number | null;
  /** Sends per local clock hour in the store's time zone. */
  perHour: number | null;
  /** Sends per local calendar day in the store's time zone (the caller folds in the warm-up cap). */
  perDay: number | null;
  /** Sends in flight at once for this server, across all processes. */
  maxConnections: number | null;
}

export type QuotaRefusal = 'second' | 'hour' | 'day' | 'connections';

export interface Reservation {
  serverId: string;
  /** The connection lease this send runs under: new, or the one the caller already held. */
  token: string;
  /** Unique id of this reservation (what release() refunds once). */
  id: string;
  /** Id of the hour window the slot was taken from (see quota-windows.ts). */
  hourWindow: string;
  /** Id of the day window the slot was taken from. */
  dayWindow: string;
  /** `now` at reservation time (epoch ms). */
  at: number;
}

export type ReserveResult =
  | { ok: true; reservation: Reservation }
  | {
      ok: false;
      /** The limit that binds longest (when several refuse, the one with the latest retryAt). */
      reason: QuotaRefusal;
      /** Epoch ms before which a retry cannot succeed as far as the store knows. */
      retryAt: number;
    };

export interface QuotaUsage {
  hour: number;
  day: number;
  /** Unexpired leases: sends in flight right now. */
  connections: number;
  /** When per-second pacing next allows a send (`now` if it allows one already or there is no per-second limit). */
  nextSlotAt: number;
  hourResetsAt: number;
  dayResetsAt: number;
}

export interface QuotaStoreOptions {
  /** Prefix of every key, e.g. `multi-smtp`. */
  keyPrefix: string;
  /** IANA time zone the hour and day windows follow, e.g. `Europe/Paris`. */
  timeZone: string;
  /** How long a connection slot stays taken without a release: a crashed worker's slot frees itself after this. Default 10 min. */
  leaseMs?: number;
  /** When all connection slots are taken, how soon to suggest a retry (capped by the earliest lease expiry). Default 250 ms. */
  connectionRetryMs?: number;
}

export interface QuotaStore {
  /**
   * `heldLeaseToken`: the lease of a connection the caller keeps open from an earlier send. Still
   * valid, it is renewed and no new connection slot is taken.
   */
  reserve(serverId: string, limits: QuotaLimits, now?: number, heldLeaseToken?: string): Promise<ReserveResult>;
  /**
   * After the attempt. accepted=false gives the hour/day slot back (the server did not accept the
   * message); always frees the connection slot. Idempotent: a second release of the same token does
   * nothing. A reservation whose lease already expired (the worker took longer than leaseMs) gets no
   * refund: its slot is counted as used, which can only under-use the quota, never exceed it.
   */
  release(reservation: Reservation, outcome: { accepted: boolean; keepLease?: boolean }): Promise<void>;
  /**
   * The keys release() touches for a reservation, in RELEASE_FUNCTION_LUA's order (leases, hour,
   * day, open), for a script that releases as one of its steps (the engine's attempt script).
   */
  releaseKeysOf(reservation: Reservation): [string, string, string, string];
  /** Gives back a connection slot when its connection closes (after sends released with keepLease). */
  releaseLease(serverId: string, leaseToken: string): Promise<void>;
  /**
   * Extends the leases this process still holds on a server (and its reservations in flight) by
   * leaseMs from now, so a live process keeps its slots however long a send or an idle connection
   * lasts, while a dead one's lapse leaseMs after its last renewal. Returns the lease tokens that
   * were already gone (lapsed, or taken back): their connections must not be used again.
   */
  renewLeases(serverId: string, leaseTokens: string[], reservationIds: string[], now?: number): Promise<string[]>;
  usage(serverId: string, limits: QuotaLimits, now?: number): Promise<QuotaUsage>;
  /** Forget a server's counters (tests, server deleted). */
  reset(serverId: string): Promise<void>;
}

const DEFAULT_LEASE_MS = 10 * 60_000;
const DEFAULT_CONNECTION_RETRY_MS = 250;
/**
 * How long a key outlives the moment it stops mattering. Covers clock differences between nodes
 * and, for window counters, lets a late release (up to leaseMs after the window ended) still refund.
 */
const KEY_MARGIN_MS = 60_000;
/** Retry suggestion while a server's per-second limit is 0 (paused). */
const PAUSED_RETRY_MS = 1_000;

/** Stands for "no limit" in script arguments. */
const NO_LIMIT = -1;

/**
 * Reserve one slot on one server if every limit allows it; take nothing otherwise.
 *
 * Returns {1} when granted, or {0, reason, retryAt} when refused.
 */
export const RESERVE_LUA = `
-- KEYS[1] leases  (sorted set: token -> lease expiry)
-- KEYS[2] pace    (string: earliest start time of the next send)
-- KEYS[3] hour    (string: counter of the current hour window)
-- KEYS[4] day     (string: counter of the current day window)
-- KEYS[5] windows (sorted set: window counter keys -> their expiry, for reset)
-- KEYS[6] open    (sorted set: reservation id -> expiry; the once-only guard of release)
-- ARGV[1] now (epoch ms, the caller's clock)
-- ARGV[2] token of this reservation
-- ARGV[3] lease length ms
-- ARGV[4] pacing interval ms (1000 / per-second limit), -1 = no per-second limit
-- ARGV[5] per-hour limit, -1 = none      ARGV[6] end of the hour window (epoch ms)
-- ARGV[7] per-day limit, -1 = none       ARGV[8] end of the day window (epoch ms)
-- ARGV[9] max connections, -1 = none     ARGV[10] retry delay ms when connections are full
-- ARGV[11] key margin ms (how long a key outlives the moment it stops mattering)
-- ARGV[12] lease token the caller already holds for an open connection, '' if none
-- ARGV[13] id of this reservation (for release)

local now = tonumber(ARGV[1])
local token = ARGV[2]
local leaseMs = tonumber(ARGV[3])
local paceInterval = tonumber(ARGV[4])
local perHour = tonumber(ARGV[5])
local hourEnd = tonumber(ARGV[6])
local perDay = tonumber(ARGV[7])
local dayEnd = tonumber(ARGV[8])
local maxConnections = tonumber(ARGV[9])
local connectionRetryMs = tonumber(ARGV[10])
local keyMarginMs = tonumber(ARGV[11])
local heldToken = ARGV[12]
local reservationId = ARGV[13]

-- Step 1. Drop expired leases. A lease whose expiry is not after now belongs to a worker that never
-- released it (crashed, killed); its connection slot is free again.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)

-- A caller that keeps its connection open between sends holds its lease already: it needs no new
-- connection slot, only the others. (If its lease expired meanwhile, it competes like anyone.)
local holdsConnection = heldToken ~= '' and redis.call('ZSCORE', KEYS[1], heldToken) ~= false

-- Step 2. Check every limit without changing anything. When several refuse, report the one that
-- frees last: retrying before then cannot succeed. (Ties keep the first one checked.)
local refusedReason = nil
local refusedUntil = 0
local function refuse(reason, retryAt)
  if refusedReason == nil or retryAt > refusedUntil then
    refusedReason = reason
    refusedUntil = retryAt
  end
end

-- Day and hour: a counter per window; full means wait for the window to end.
local dayCount = tonumber(redis.call('GET', KEYS[4]) or '0')
if perDay >= 0 and dayCount >= perDay then refuse('day', dayEnd) end

local hourCount = tonumber(redis.call('GET', KEYS[3]) or '0')
if perHour >= 0 and hourCount >= perHour then refuse('hour', hourEnd) end

-- Connections: each unexpired lease is an open connection (or a send in flight). Full means wait until one is released;
-- we cannot know when, so suggest a short retry, or the earliest lease expiry if that comes sooner.
if maxConnections >= 0 and not holdsConnection then
  local inFlight = redis.call('ZCARD', KEYS[1])
  if inFlight >= maxConnections then
    local retryAt = now + connectionRetryMs
    local earliest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    if earliest[2] then retryAt = math.min(retryAt, tonumber(earliest[2])) end
    refuse('connections', retryAt)
  end
end

-- Per second: "next allowed time" pacing (GCRA with zero burst tolerance). The pace key holds the
-- earliest instant the next send may start. A grant moves it to now + interval, so two grants are
-- always at least one interval apart, even after the server sat idle: no burst to catch up.
-- The flip side: a caller that comes back late (after retryAt) does not get the lateness back, so
-- the real rate can fall slightly under the limit. It never goes over.
local nextAllowed = 0
if paceInterval >= 0 then
  nextAllowed = tonumber(redis.call('GET', KEYS[2]) or '0')
  if now < nextAllowed then refuse('second', math.ceil(nextAllowed)) end
end

if refusedReason ~= nil then
  return {0, refusedReason, math.ceil(refusedUntil)}
end

-- Step 3. Every limit passed: take a slot from each.

-- The lease: held until release() or until it expires. Recorded even without a connection limit,
-- because release() uses it to refund at most once and usage() counts it.
local leaseToken = token
if holdsConnection then leaseToken = heldToken end
redis.call('ZADD', KEYS[1], now + leaseMs, leaseToken)
-- Keep the set as long as its longest lease (never shorten a TTL another caller set).
local leasesTtl = leaseMs + keyMarginMs
if redis.call('PTTL', KEYS[1]) < leasesTtl then redis.call('PEXPIRE', KEYS[1], leasesTtl) end
-- The reservation itself, until released (or until the lease length passes: then no refund).
redis.call('ZADD', KEYS[6], now + leaseMs, reservationId)
if redis.call('PTTL', KEYS[6]) < leasesTtl then redis.call('PEXPIRE', KEYS[6], leasesTtl) end

-- Hour and day counters. Counted even without a limit, so usage() is right and a limit added
-- mid-window starts from the real count. A counter is created with a TTL a little past its window
-- (a late refund must still find it) and listed in the windows index so reset() can delete it.
local function countIn(key, windowEnd)
  if redis.call('INCR', key) == 1 then
    local keepUntil = windowEnd + leaseMs + keyMarginMs
    redis.call('PEXPIRE', key, math.ceil(keepUntil - now))
    redis.call('ZADD', KEYS[5], keepUntil, key)
    redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
    if redis.call('PTTL', KEYS[5]) < keepUntil - now then
      redis.call('PEXPIRE', KEYS[5], math.ceil(keepUntil - now))
    end
  end
end
countIn(KEYS[3], hourEnd)
countIn(KEYS[4], dayEnd)

-- Pacing: the next send may start one interval from now. The key may vanish once that time passed
-- (a missing key means "no wait"). '%.3f' keeps fractional intervals (0.5/s, 3/s) precise.
if paceInterval >= 0 then
  local nextAfterThis = now + paceInterval
  redis.call('SET', KEYS[2], string.format('%.3f', nextAfterThis), 'PX', math.ceil(paceInterval + keyMarginMs))
end

return {1, leaseToken}
`;

/**
 * The release step as a Lua function, shared by RELEASE_LUA and the engine's attempt script.
 */
export const RELEASE_FUNCTION_LUA = `
-- leases, hour, day, open: the keys (hour and day: the windows the reservation was made in)
-- token: the lease token; accepted: '1' if the server accepted the message, '0' if not
-- reservationId: what was reserved; keepLease: '1' to keep the lease (the connection stays open)
-- (Reservations older than the lease length are pruned by reserve(): releasing one refunds nothing.)
local function releaseReservation(leases, hour, day, open, token, accepted, reservationId, keepLease)
  -- ZREM answers 1 only for the first release of a reservation: the guard that makes release idempotent.
  local released = redis.call('ZREM', open, reservationId)
  if keepLease ~= '1' then redis.call('ZREM', leases, token) end
  if released == 1 and accepted == '0' then
    -- Not accepted: the slot was not used. Decrement, but never below zero and never recreate a
    -- counter that already expired (that window is over; nothing to give back).
    for _, key in ipairs({hour, day}) do
      local count = tonumber(redis.call('GET', key) or '0')
      if count > 0 then redis.call('DECR', key) end
    end
  end
  return released
end
`;

/**
 * Finish a reservation: if the message was not accepted, give its hour and day slots back; free its
 * connection slot unless the caller keeps the connection open for its next send. Runs once per
 * reservation: only the call that removes it from the open set refunds. (The sending engine runs the
 * same function inside its one script per attempt: see attempt-script.ts.)
 *
 * KEYS: leases, hour counter, day counter, open reservations. ARGV: lease token, accepted ('1'/'0'),
 * reservation id, keep the lease ('1'/'0'). Returns 1 if this call released the reservation, 0 if it
 * was already released or it expired.
 */
export const RELEASE_LUA = `${RELEASE_FUNCTION_LUA}
return releaseReservation(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
`;

/**
 * Renew leases and open reservations that are still held: only members whose expiry is still
 * ahead are extended (a lapsed lease may already count as free to another process: it is lost).
 *
 * Returns the lease tokens that were lost.
 */
export const RENEW_LUA = `
-- KEYS[1] leases  KEYS[2] open reservations
-- ARGV[1] now (epoch ms)  ARGV[2] lease length ms  ARGV[3] key margin ms
-- ARGV[4] how many lease tokens follow; then the lease tokens, then the reservation ids
local now = tonumber(ARGV[1])
local expiry = now + tonumber(ARGV[2])
local keyTtl = tonumber(ARGV[2]) + tonumber(ARGV[3])
local tokenCount = tonumber(ARGV[4])
local lost = {}
local function renew(key, member)
  local score = redis.call('ZSCORE', key, member)
  if score and tonumber(score) > now then
    redis.call('ZADD', key, 'XX', expiry, member)
    if redis.call('PTTL', key) < keyTtl then redis.call('PEXPIRE', key, keyTtl) end
    return true
  end
  return false
end
for index = 5, 4 + tokenCount do
  if not renew(KEYS[1], ARGV[index]) then lost[#lost + 1] = ARGV[index] end
end
for index = 5 + tokenCount, #ARGV do renew(KEYS[2], ARGV[index]) end
return lost
`;

/**
 * Read a server's counters in one atomic snapshot (a script, so no send can slip in between the
 * reads: "hour is full and nothing is in flight" read together really means no slot can free).
 *
 * Returns {hour count, day count, unexpired leases, next allowed start (ms, rounded up)}.
 */
export const USAGE_LUA = `
-- KEYS[1] leases  KEYS[2] pace  KEYS[3] current hour counter  KEYS[4] current day counter
-- ARGV[1] now (epoch ms)
-- Leases expiring after now are still held (same rule as reserve's pruning, but read-only here).
local connections = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')
local hourCount = tonumber(redis.call('GET', KEYS[3]) or '0')
local dayCount = tonumber(redis.call('GET', KEYS[4]) or '0')
local nextAllowed = tonumber(redis.call('GET', KEYS[2]) or '0')
return {hourCount, dayCount, connections, math.ceil(nextAllowed)}
`;

/** The ioredis commands defined from the scripts above (EVALSHA, falling back to EVAL once if the script is not cached). */
interface QuotaCommands {
  multiSmtpQuotaReserve(
    ...keysThenArgs: (string | number)[]
  ): Promise<[1, string] | [0, QuotaRefusal, number]>;
  multiSmtpQuotaRelease(...keysThenArgs: (string | number)[]): Promise<number>;
  multiSmtpQuotaUsage(...keysThenArgs: (string | number)[]): Promise<[number, number, number, number]>;
  multiSmtpQuotaRenew(...keysThenArgs: (string | number)[]): Promise<string[]>;
}

const optionalLimit = (name: string, value: number | null): number => {
  if (value === null) return NO_LIMIT;
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`multi-smtp quota: ${name} must be a number >= 0 or null (got ${value})`);
  }
  return value;
};

/** A count limit (hour, day, connections) as a whole number of slots; 10.7 allows 10. */
const countLimit = (name: string, value: number | null) => {
  const limit = optionalLimit(name, value);
  return limit === NO_LIMIT ? NO_LIMIT : Math.floor(limit);
};

export const createQuotaStore = (redis: Redis | Cluster, options: QuotaStoreOptions): QuotaStore => {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const connectionRetryMs = options.connectionRetryMs ?? DEFAULT_CONNECTION_RETRY_MS;
  if (!(leaseMs > 0)) throw new RangeError('multi-smtp quota: leaseMs must be > 0');
  if (!(connectionRetryMs > 0)) throw new RangeError('multi-smtp quota: connectionRetryMs must be > 0');
  const calendar = createWindowCalendar(options.timeZone);
  // Reservation ids (and new lease tokens) need only be unique: a random prefix per store and a
  // counter, not 12 random bytes per reservation (a getrandom call each, about 1 % of the send
  // path's CPU in the benchmark's profile).
  const idPrefix = randomBytes(9).toString('base64url');
  let idSequence = 0;
  const nextId = () => `${idPrefix}${(idSequence += 1).toString(36)}`;

  redis.defineCommand('multiSmtpQuotaReserve', { numberOfKeys: 6, lua: RESERVE_LUA });
  redis.defineCommand('multiSmtpQuotaRelease', { numberOfKeys: 4, lua: RELEASE_LUA });
  redis.defineCommand('multiSmtpQuotaUsage', { numberOfKeys: 4, lua: USAGE_LUA });
  redis.defineCommand('multiSmtpQuotaRenew', { numberOfKeys: 2, lua: RENEW_LUA });
  const commands = redis as unknown as QuotaCommands;

  const keysOf = (serverId: string) => {
    const base = `${options.keyPrefix}:quota:{srv:${serverId}}`;
    return {
      leases: `${base}:leases`,
      open: `${base}:open`,
      pace: `${base}:pace`,
      windows: `${base}:windows`,
      hour: (windowId: string) => `${base}:hour:${windowId}`,
      day: (windowId: string) => `${base}:day:${windowId}`,
    };
  };

  const releaseKeysOf = (reservation: Reservation): [string, string, string, string] => {
    const keys = keysOf(reservation.serverId);
    return [keys.leases, keys.hour(reservation.hourWindow), keys.day(reservation.dayWindow), keys.open];
  };

  return {
    async reserve(serverId, limits, now = Date.now(), heldLeaseToken = '') {
      const perSecond = optionalLimit('perSecond', limits.perSecond);
      const perHour = countLimit('perHour', limits.perHour);
      const perDay = countLimit('perDay', limits.perDay);
      const maxConnections = countLimit('maxConnections', limits.maxConnections);
      if (perSecond === 0) {
        // 0 per second means the server is paused: nothing to ask Redis.
        return { ok: false, reason: 'second', retryAt: now + PAUSED_RETRY_MS };
      }
      const paceInterval = perSecond === NO_LIMIT ? NO_LIMIT : 1000 / perSecond;

      const hour = calendar.hourAt(now);
      const day = calendar.dayAt(now);
      const keys = keysOf(serverId);
      const reservationId = nextId();

      const reply = await commands.multiSmtpQuotaReserve(
        keys.leases,
        keys.pace,
        keys.hour(hour.id),
        keys.day(day.id),
        keys.windows,
        keys.open,
        now,
        reservationId,
        leaseMs,
        paceInterval,
        perHour,
        hour.end,
        perDay,
        day.end,
        maxConnections,
        connectionRetryMs,
        KEY_MARGIN_MS,
        heldLeaseToken,
        reservationId
      );
      if (reply[0] === 1) {
        return {
          ok: true,
          reservation: { serverId, token: reply[1], id: reservationId, hourWindow: hour.id, dayWindow: day.id, at: now },
        };
      }
      return { ok: false, reason: reply[1], retryAt: Number(reply[2]) };
    },

    async release(reservation, outcome) {
      await commands.multiSmtpQuotaRelease(
        ...releaseKeysOf(reservation),
        reservation.token,
        outcome.accepted ? '1' : '0',
        reservation.id,
        outcome.keepLease ? '1' : '0'
      );
    },

    releaseKeysOf,

    async releaseLease(serverId, leaseToken) {
      await redis.zrem(keysOf(serverId).leases, leaseToken);
    },

    async renewLeases(serverId, leaseTokens, reservationIds, now = Date.now()) {
      if (leaseTokens.length === 0 && reservationIds.length === 0) return [];
      const keys = keysOf(serverId);
      return commands.multiSmtpQuotaRenew(keys.leases, keys.open, now, leaseMs, KEY_MARGIN_MS, leaseTokens.length, ...leaseTokens, ...reservationIds);
    },

    async usage(serverId, limits, now = Date.now()) {
      const hour = calendar.hourAt(now);
      const day = calendar.dayAt(now);
      const keys = keysOf(serverId);
      const [hourCount, dayCount, connections, nextAllowed] = await commands.multiSmtpQuotaUsage(
        keys.leases,
        keys.pace,
        keys.hour(hour.id),
        keys.day(day.id),
        now
      );
      return {
        hour: hourCount,
        day: dayCount,
        connections,
        nextSlotAt: limits.perSecond === null ? now : Math.max(now, nextAllowed),
        hourResetsAt: hour.end,
        dayResetsAt: day.end,
      };
    },

    async reset(serverId) {
      const keys = keysOf(serverId);
      // The index lists every hour/day counter of this server; all keys share one hash slot, so one
      // DEL removes them all, in a cluster too.
      const windowKeys = await redis.zrange(keys.windows, 0, -1);
      await redis.del(keys.leases, keys.open, keys.pace, keys.windows, ...windowKeys);
    },
  };
};
