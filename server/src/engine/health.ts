/**
 * Server health shared by every worker process and Strapi node: a circuit breaker per server, plus
 * response rules that suspend or throttle a server when its replies say so. Kept in Redis.
 *
 * The breaker, per server:
 *
 *   closed     messages flow. Each server-side failure (outcome 'server-transient') adds one to a
 *              count of failures in a row; reaching `failureThreshold` opens the breaker. A
 *              'server-condemned' outcome (bad login, relaying refused) opens it at once.
 *   open       no messages until the cooldown is over (`suspendedUntil`).
 *   half-open  the cooldown is over: exactly one caller, across all processes, is let through as a
 *              probe (it holds a lease for `probeLeaseMs`, so a crashed prober doesn't block the
 *              server forever). The probe's success closes the breaker and resets the cooldown; its
 *              failure re-opens it with twice the cooldown (30 s, 60 s, 120 s... up to `maxCooldownMs`).
 *
 * Suspensions by hand ('manual') and by rules ('rule') use the same `suspendedUntil`, so they end the
 * same way: half-open, one probe. `resume()` lifts everything at once.
 *
 * Outcomes about the recipient or the message (recipient-hard, recipient-soft, message-rejected)
 * never count against the server: the server answered the whole dialogue properly, so for the
 * breaker they count as a success (they end a run of failures and close a half-open breaker).
 *
 * Response rules: every reply passed to `recordFailure` is matched (in JS: Lua has no regex) against
 * the rules' patterns. A rule without a threshold acts at once; one with `{ count, windowMs }` acts on
 * the count-th match within windowMs (a sliding window kept per rule per server in Redis), then
 * starts counting afresh.
 *
 * Atomicity: a failure's whole effect (window counts, failure count, opening, throttle) is one Lua
 * script, and so is probe admission. Redis runs a script without interleaving other commands, so
 * two processes can't both open the breaker with different cooldowns, lose a failure, or both get
 * the probe. Lua (rather than MULTI/WATCH) because the decisions depend on what is read, and WATCH
 * would mean retry loops under contention (e.g. 50 workers admitting at once).
 *
 * Redis keys of one server (one hash tag `{srv:<id>}`, so one Redis Cluster slot, so one script may
 * touch them all):
 *
 *   <prefix>:health:{srv:<id>}:state          hash: until, reason, source, failures, cooldown,
 *                                             probeUntil, throttleRate, throttleUntil, weight
 *   <prefix>:health:{srv:<id>}:rule:<ruleId>  sorted set: one member per matching reply, scored by time
 *
 * Both expire on their own: the state `retentionMs` after the last thing it remembers ends, a rule
 * window after `windowMs` without a match. A server with nothing to remember has no keys at all.
 * A weight factor (`weight`, set by automatic protection: services/protection.ts) lasts until it is
 * cleared or the server resumed: the state does not expire while it holds one.
 *
 * Time: the caller's `now` (epoch ms) is passed to the scripts instead of Redis TIME, so tests can
 * drive a fake clock; in production every node passes Date.now() (keep clocks in sync with NTP).
 */
import { randomBytes } from 'node:crypto';

import type { Cluster, Redis } from 'ioredis';

import type { AttemptOutcome } from './classify';
import { createReplyMatcher } from './reply-matcher';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export interface ResponseRule {
  /** Letters, digits, '-', '_' and '.'; unique among the rules (it names the rule's Redis key). */
  id: string;
  /** A regular expression (source), case-insensitive, matched against the whole SMTP reply. */
  pattern: string;
  action: 'suspend' | 'throttle';
  /** How long the suspension or throttle lasts from the moment it is triggered. */
  durationMs: number;
  /** Throttle only: the most messages per second while it lasts. */
  ratePerSecond?: number;
  /** Act on the count-th match within windowMs; at the first match when omitted. */
  threshold?: { count: number; windowMs: number };
  /** What it means, for the admin; also the start of the suspension's reason. */
  description: string;
}

/**
 * The rules shipped by default. They target replies that say something about the server's standing
 * (its IP's reputation, its account's quota, its connection count), which the outcome alone can't
 * tell. Each is tested against a real-world reply sample in test/integration/health.test.ts.
 */
export const DEFAULT_RESPONSE_RULES: ResponseRule[] = [
  {
    id: 'gmail-unusual-rate',
    // 421-4.7.28 ... Our system has detected an unusual rate of unsolicited mail originating from your IP address...
    pattern: String.raw`\b4\.7\.28\b|unusual rate of\s+(?:\d{3}[ -]4\.7\.\d+\s+)?unsolicited mail`,
    action: 'suspend',
    durationMs: HOUR,
    description: 'Gmail rate-limits this IP for an unusual rate of unsolicited mail',
  },
  {
    id: 'yahoo-deferral',
    // 421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints
    pattern: String.raw`\[TSS?0\d\]`,
    action: 'suspend',
    durationMs: HOUR,
    description: 'Yahoo/AOL defers mail from this IP for its volume or user complaints',
  },
  {
    id: 'microsoft-server-busy',
    // 451 4.7.500 Server busy. Please try again later from [192.0.2.1]. (S77719)
    pattern: String.raw`\b4\.7\.500\b|\bserver busy\b`,
    action: 'suspend',
    durationMs: 15 * MINUTE,
    description: 'Microsoft is throttling this IP ("server busy")',
  },
  {
    id: 'ip-reputation-deferral',
    // 421 4.7.0 ... very low reputation of the sending IP address / 451 4.7.650 ... rate limited due to IP reputation
    pattern: String.raw`^4\d\d[ -]4\.7\.\d+\b[\s\S]*(?:reputation|rate[- ]limited|\bblocked\b|block ?list|black ?list|spamhaus)`,
    action: 'suspend',
    durationMs: 30 * MINUTE,
    description: "The receiving side defers this server's IP for its reputation",
  },
  {
    id: 'too-many-connections',
    // 421 4.7.0 Too many concurrent SMTP connections from this IP address; please try again later
    pattern: String.raw`too many (?:concurrent |simultaneous )?(?:smtp )?(?:connections|sessions)|maximum number of concurrent (?:server )?connections`,
    action: 'throttle',
    ratePerSecond: 1,
    durationMs: 5 * MINUTE,
    description: 'The server refuses more connections from us: slow down',
  },
  {
    id: 'ses-max-send-rate',
    // 454 Throttling failure: Maximum sending rate exceeded.
    pattern: String.raw`throttling failure:\s*maximum sending rate exceeded`,
    action: 'throttle',
    ratePerSecond: 1,
    durationMs: MINUTE,
    description: 'Amazon SES: maximum sending rate exceeded',
  },
  {
    id: 'sending-quota-exceeded',
    // 454 Throttling failure: Daily message quota exceeded. / 550 5.4.5 Daily user sending quota exceeded.
    pattern: String.raw`daily message quota exceeded|sending (?:quota|limit) (?:exceeded|reached)|SubmissionQuotaExceeded`,
    action: 'suspend',
    durationMs: HOUR,
    description: "The account's sending quota is used up (SES, Gmail, Microsoft 365); probing again hourly",
  },
  {
    id: 'repeated-policy-deferral',
    // 450 4.7.1 ... try again later, 421 4.7.0 ... temporarily deferred. Greylisting (about one recipient) excluded.
    pattern: String.raw`^(?![\s\S]*gr[ae]y ?list)4\d\d[ -]4\.7\.\d+\b[\s\S]*(?:try again later|deferred|rate limit)`,
    action: 'suspend',
    durationMs: 10 * MINUTE,
    threshold: { count: 3, windowMs: 10 * MINUTE },
    description: 'Repeated "try again later" policy deferrals (4.7.x)',
  },
];

export interface BreakerSettings {
  /** Server-side failures in a row that open the breaker. */
  failureThreshold: number;
  /** The first cooldown; each re-open without a success in between doubles it. */
  baseCooldownMs: number;
  /** The longest cooldown. */
  maxCooldownMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = {
  failureThreshold: 5,
  baseCooldownMs: 30 * SECOND,
  maxCooldownMs: HOUR,
};

export type SuspensionSource = 'breaker' | 'rule' | 'manual';

export interface ServerHealth {
  state: 'closed' | 'open' | 'half-open';
  /** When the suspension ends (open) or ended (half-open); null when closed. */
  suspendedUntil: number | null;
  /** Why it was suspended: the reply, a rule's description, or the admin's words. Null when closed. */
  reason: string | null;
  source: SuspensionSource | null;
  /** Server-side failures since the last success. */
  consecutiveFailures: number;
  /** The breaker's current cooldown (the next re-open doubles it); 0 after a success or resume. */
  cooldownMs: number;
  /** A rate limit a rule set, while it lasts. */
  throttle: { ratePerSecond: number; until: number } | null;
  /** Present while automatic protection cuts the server's weight: the router uses weight × this (0..1). */
  weightFactor?: number;
}

export interface HealthStoreOptions {
  /** Shared by every process of the site, e.g. 'multi-smtp'. */
  keyPrefix: string;
  breaker?: Partial<BreakerSettings>;
  /** The response rules; DEFAULT_RESPONSE_RULES when omitted (pass [] for none). */
  rules?: ResponseRule[];
  /** How long a half-open probe may take before another caller may probe instead. Default 60 s. */
  probeLeaseMs?: number;
  /** How long state is kept after the last thing it remembers ends. Default 7 days. */
  retentionMs?: number;
  /** An admin's pattern ran over the time limit on a reply: it is left out from now on (reply-matcher.ts). */
  onSlowPattern?: (ruleId: string, timeoutMs: number) => void;
}

export interface HealthStore {
  get(serverId: string, now?: number): Promise<ServerHealth>;
  /** One round trip (a pipeline) for all of them; on Redis Cluster, one command per server, in parallel. */
  getMany(serverIds: string[], now?: number): Promise<Map<string, ServerHealth>>;
  /**
   * May this server take a message now? Closed: yes. Open: no. Half-open: exactly one caller across
   * all processes gets `{ allowed: true, probe: true }` until it reports back or its lease runs out.
   */
  admit(serverId: string, now?: number): Promise<{ allowed: boolean; probe: boolean }>;
  /** The server took a message: the breaker closes and forgets its failures and cooldown growth. */
  recordSuccess(serverId: string, now?: number): Promise<void>;
  /**
   * An attempt on this server did not deliver. 'server-transient' counts toward the breaker,
   * 'server-condemned' opens it at once (reason = the reply); other outcomes count as a success.
   * The reply is matched against the response rules either way.
   */
  recordFailure(
    serverId: string,
    failure: { outcome: AttemptOutcome; reply: string | null },
    now?: number
  ): Promise<ServerHealth>;
  /** Suspend until `until` (epoch ms; use a far-future time for "until resumed"), replacing any current suspension. */
  suspend(serverId: string, until: number, reason: string, source: SuspensionSource, now?: number): Promise<void>;
  /** Lifted by hand: clears the suspension, the throttle, the failure count, cooldown growth, rule windows and weight factor. */
  resume(serverId: string): Promise<void>;
  /** Multiplies the server's weight by `factor` (0..1) for the router until cleared with null (or resumed). */
  setWeightFactor(serverId: string, factor: number | null, now?: number): Promise<void>;
  /**
   * Replaces the response rules for the replies recorded from now on (the admin's edits, reloaded
   * on every node: services/response-rules.ts). Checked like the initial ones; a bad set throws and
   * leaves the current rules in place. A rule's window under the same id is kept across reloads.
   */
  setRules(rules: ResponseRule[]): void;
  /** The rules in force. */
  rules(): readonly ResponseRule[];
}

const DEFAULT_PROBE_LEASE_MS = MINUTE;
const DEFAULT_RETENTION_MS = 7 * 24 * HOUR;

/**
 * Admission. KEYS[1] state hash. ARGV: now, probe lease ms.
 * Returns {allowed, probe} as 0/1.
 */
const ADMIT_LUA = `
local now = tonumber(ARGV[1])
local suspendedUntil = tonumber(redis.call('HGET', KEYS[1], 'until'))
if not suspendedUntil then return {1, 0} end
if suspendedUntil > now then return {0, 0} end
local probeUntil = tonumber(redis.call('HGET', KEYS[1], 'probeUntil'))
if probeUntil and probeUntil > now then return {0, 0} end
redis.call('HSET', KEYS[1], 'probeUntil', now + tonumber(ARGV[2]))
return {1, 1}
`;

/**
 * One attempt's result. KEYS[1] state hash, KEYS[2..] the windows of the matched rules that have a threshold.
 * ARGV: now, kind ('success' | 'failure' | 'condemned'), reply, failureThreshold, baseCooldownMs,
 *       maxCooldownMs, retentionMs, window member, matched rule count, then 6 per matched rule:
 *       window key index (0 = acts at once), threshold count, window ms, action, duration ms, rate,
 *       and the rule's reason.
 * Returns the state hash as a flat list (HGETALL).
 */
const RECORD_LUA = `
local stateKey = KEYS[1]
local now = tonumber(ARGV[1])
local kind = ARGV[2]
local reply = ARGV[3]
local failureThreshold = tonumber(ARGV[4])
local baseCooldown = tonumber(ARGV[5])
local maxCooldown = tonumber(ARGV[6])
local retention = tonumber(ARGV[7])
local member = ARGV[8]
local ruleCount = tonumber(ARGV[9])

local suspendedUntil = tonumber(redis.call('HGET', stateKey, 'until'))
local failures = tonumber(redis.call('HGET', stateKey, 'failures')) or 0
local cooldown = tonumber(redis.call('HGET', stateKey, 'cooldown')) or 0
local isOpen = suspendedUntil ~= nil and suspendedUntil > now
local isHalfOpen = suspendedUntil ~= nil and suspendedUntil <= now

-- The longest suspension proposed by the breaker or a rule wins.
local proposedUntil, proposedReason, proposedSource = nil, nil, nil
local function propose(untilMs, reason, source)
  if proposedUntil == nil or untilMs > proposedUntil then
    proposedUntil, proposedReason, proposedSource = untilMs, reason, source
  end
end

if kind == 'success' then
  -- A late success from an attempt started before a suspension must not lift it.
  if not isOpen then
    redis.call('HDEL', stateKey, 'until', 'reason', 'source', 'probeUntil')
    suspendedUntil = nil
    failures = 0
    cooldown = 0
  end
elseif not isOpen then
  -- While open, late failures from attempts started earlier don't count again.
  failures = failures + 1
  local reason = nil
  if kind == 'condemned' then
    reason = reply
  elseif isHalfOpen then
    reason = 'probe failed: ' .. reply
  elseif failures >= failureThreshold then
    reason = failures .. ' failures in a row, last: ' .. reply
  end
  if reason then
    if cooldown <= 0 then cooldown = baseCooldown else cooldown = math.min(cooldown * 2, maxCooldown) end
    propose(now + cooldown, reason, 'breaker')
  end
end

for i = 0, ruleCount - 1 do
  local base = 10 + i * 7
  local keyIndex = tonumber(ARGV[base])
  local count = tonumber(ARGV[base + 1])
  local windowMs = tonumber(ARGV[base + 2])
  local action = ARGV[base + 3]
  local duration = tonumber(ARGV[base + 4])
  local rate = tonumber(ARGV[base + 5])
  local ruleReason = ARGV[base + 6]
  local triggered = true
  if keyIndex > 0 then
    local windowKey = KEYS[keyIndex]
    redis.call('ZREMRANGEBYSCORE', windowKey, '-inf', now - windowMs)
    redis.call('ZADD', windowKey, now, member)
    if redis.call('ZCARD', windowKey) >= count then
      -- Triggered: the next trigger needs count fresh matches.
      redis.call('DEL', windowKey)
    else
      triggered = false
      redis.call('PEXPIRE', windowKey, windowMs)
    end
  end
  if triggered then
    if action == 'suspend' then
      propose(now + duration, ruleReason, 'rule')
    else
      local throttleUntil = now + duration
      local currentRate = tonumber(redis.call('HGET', stateKey, 'throttleRate'))
      local currentUntil = tonumber(redis.call('HGET', stateKey, 'throttleUntil'))
      if currentRate and currentUntil and currentUntil > now then
        -- Two throttles at once: the stricter rate, the later end.
        rate = math.min(rate, currentRate)
        throttleUntil = math.max(throttleUntil, currentUntil)
      end
      redis.call('HSET', stateKey, 'throttleRate', rate, 'throttleUntil', throttleUntil)
    end
  end
end

-- A suspension only ever grows here: a manual one until next year is not cut short.
if proposedUntil and (suspendedUntil == nil or proposedUntil > suspendedUntil) then
  suspendedUntil = proposedUntil
  redis.call('HSET', stateKey, 'until', proposedUntil, 'reason', proposedReason, 'source', proposedSource)
  -- A new cooldown: whoever probes next does so after it.
  redis.call('HDEL', stateKey, 'probeUntil')
end

local throttleUntil = tonumber(redis.call('HGET', stateKey, 'throttleUntil'))
local throttleActive = throttleUntil ~= nil and throttleUntil > now
local weighted = redis.call('HEXISTS', stateKey, 'weight') == 1
if suspendedUntil == nil and failures == 0 and cooldown == 0 and not throttleActive and not weighted then
  -- Nothing worth remembering.
  redis.call('DEL', stateKey)
  return {}
end

redis.call('HSET', stateKey, 'failures', failures, 'cooldown', cooldown)
local keepUntil = now
if suspendedUntil and suspendedUntil > keepUntil then keepUntil = suspendedUntil end
if throttleActive and throttleUntil > keepUntil then keepUntil = throttleUntil end
if weighted then redis.call('PERSIST', stateKey) else redis.call('PEXPIRE', stateKey, keepUntil - now + retention) end
return redis.call('HGETALL', stateKey)
`;

/**
 * A suspension set from outside. KEYS[1] state hash. ARGV: now, until, reason, source, retentionMs.
 */
const SUSPEND_LUA = `
local now = tonumber(ARGV[1])
local suspendedUntil = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'until', suspendedUntil, 'reason', ARGV[3], 'source', ARGV[4])
redis.call('HDEL', KEYS[1], 'probeUntil')
local keepUntil = math.max(now, suspendedUntil)
local throttleUntil = tonumber(redis.call('HGET', KEYS[1], 'throttleUntil'))
if throttleUntil and throttleUntil > keepUntil then keepUntil = throttleUntil end
if redis.call('HEXISTS', KEYS[1], 'weight') == 1 then redis.call('PERSIST', KEYS[1])
else redis.call('PEXPIRE', KEYS[1], keepUntil - now + tonumber(ARGV[5])) end
return 1
`;

/**
 * Protection's weight factor. KEYS[1] state hash. ARGV: now, factor ('' clears it), retentionMs.
 * While set the state never expires; cleared, it expires as the rest of it says.
 */
const WEIGHT_LUA = `
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'weight', ARGV[2])
  redis.call('PERSIST', KEYS[1])
  return 1
end
redis.call('HDEL', KEYS[1], 'weight')
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local now = tonumber(ARGV[1])
local keepUntil = now
local suspendedUntil = tonumber(redis.call('HGET', KEYS[1], 'until'))
if suspendedUntil and suspendedUntil > keepUntil then keepUntil = suspendedUntil end
local throttleUntil = tonumber(redis.call('HGET', KEYS[1], 'throttleUntil'))
if throttleUntil and throttleUntil > keepUntil then keepUntil = throttleUntil end
redis.call('PEXPIRE', KEYS[1], keepUntil - now + tonumber(ARGV[3]))
return 1
`;

type Reply = string | number | null;

interface HealthCommands {
  multiSmtpHealthAdmit(stateKey: string, now: number, probeLeaseMs: number): Promise<[number, number]>;
  multiSmtpHealthRecord(numberOfKeys: number, ...keysAndArgs: Reply[]): Promise<string[]>;
  multiSmtpHealthSuspend(
    stateKey: string,
    now: number,
    until: number,
    reason: string,
    source: SuspensionSource,
    retentionMs: number
  ): Promise<number>;
  multiSmtpHealthWeight(stateKey: string, now: number, factor: string, retentionMs: number): Promise<number>;
}

interface CompiledRule extends ResponseRule {
  regex: RegExp;
  /** Not one of the shipped rules (an admin's): matched under a time limit (reply-matcher.ts). */
  custom: boolean;
}

const SHIPPED_PATTERNS = new Map(DEFAULT_RESPONSE_RULES.map((rule) => [rule.id, rule.pattern]));

const RULE_ID = /^[A-Za-z0-9_.-]{1,100}$/;

function assertPositive(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`multi-smtp health: ${name} must be a positive number (got ${value})`);
  }
}

/** Checks every rule up front, so a typo in a pattern fails at start-up rather than on some reply. */
export function compileRules(rules: ResponseRule[]): CompiledRule[] {
  const seen = new Set<string>();
  return rules.map((rule) => {
    if (!RULE_ID.test(rule.id)) {
      throw new RangeError(`multi-smtp health: rule id "${rule.id}" must be 1-100 letters, digits, '-', '_' or '.'`);
    }
    if (seen.has(rule.id)) throw new RangeError(`multi-smtp health: two rules have the id "${rule.id}"`);
    seen.add(rule.id);
    assertPositive(`rule ${rule.id}: durationMs`, rule.durationMs);
    if (rule.action === 'throttle') assertPositive(`rule ${rule.id}: ratePerSecond`, rule.ratePerSecond ?? Number.NaN);
    else if (rule.action !== 'suspend') throw new RangeError(`multi-smtp health: rule ${rule.id}: unknown action`);
    if (rule.threshold) {
      if (!Number.isInteger(rule.threshold.count) || rule.threshold.count < 1) {
        throw new RangeError(`multi-smtp health: rule ${rule.id}: threshold.count must be a whole number >= 1`);
      }
      assertPositive(`rule ${rule.id}: threshold.windowMs`, rule.threshold.windowMs);
    }
    let regex: RegExp;
    try {
      regex = new RegExp(rule.pattern, 'i');
    } catch (error) {
      throw new RangeError(`multi-smtp health: rule ${rule.id}: invalid pattern: ${(error as Error).message}`);
    }
    return { ...rule, regex, custom: SHIPPED_PATTERNS.get(rule.id) !== rule.pattern };
  });
}

/** The state hash (as HGETALL gives it) -> what callers see at `now`. */
function healthFrom(fields: Record<string, string>, now: number): ServerHealth {
  const numberOf = (name: string): number | null => {
    const value = fields[name];
    if (value === undefined || value === '') return null;
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  };
  const suspendedUntil = numberOf('until');
  const throttleRate = numberOf('throttleRate');
  const throttleUntil = numberOf('throttleUntil');
  const weightFactor = numberOf('weight');
  const source = fields.source;
  return {
    state: suspendedUntil === null ? 'closed' : suspendedUntil > now ? 'open' : 'half-open',
    suspendedUntil,
    reason: suspendedUntil === null ? null : (fields.reason ?? null),
    source:
      suspendedUntil !== null && (source === 'breaker' || source === 'rule' || source === 'manual') ? source : null,
    consecutiveFailures: numberOf('failures') ?? 0,
    cooldownMs: numberOf('cooldown') ?? 0,
    throttle:
      throttleRate !== null && throttleUntil !== null && throttleUntil > now
        ? { ratePerSecond: throttleRate, until: throttleUntil }
        : null,
    ...(weightFactor !== null ? { weightFactor: Math.min(Math.max(weightFactor, 0), 1) } : {}),
  };
}

/** HGETALL inside a script comes back as [field, value, field, value...]. */
function fieldsFromList(list: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let index = 0; index + 1 < list.length; index += 2) {
    fields[list[index] as string] = list[index + 1] as string;
  }
  return fields;
}

/** How outcomes weigh on the breaker (see the header comment). */
function breakerKindOf(outcome: AttemptOutcome): 'success' | 'failure' | 'condemned' {
  if (outcome === 'server-transient') return 'failure';
  if (outcome === 'server-condemned') return 'condemned';
  return 'success';
}

export function createHealthStore(redis: Redis | Cluster, options: HealthStoreOptions): HealthStore {
  const breaker: BreakerSettings = { ...DEFAULT_BREAKER_SETTINGS, ...options.breaker };
  if (!Number.isInteger(breaker.failureThreshold) || breaker.failureThreshold < 1) {
    throw new RangeError('multi-smtp health: failureThreshold must be a whole number >= 1');
  }
  assertPositive('baseCooldownMs', breaker.baseCooldownMs);
  assertPositive('maxCooldownMs', breaker.maxCooldownMs);
  if (breaker.maxCooldownMs < breaker.baseCooldownMs) {
    throw new RangeError('multi-smtp health: maxCooldownMs must be at least baseCooldownMs');
  }
  const probeLeaseMs = options.probeLeaseMs ?? DEFAULT_PROBE_LEASE_MS;
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  assertPositive('probeLeaseMs', probeLeaseMs);
  assertPositive('retentionMs', retentionMs);
  let rules = compileRules(options.rules ?? DEFAULT_RESPONSE_RULES);
  /** Ids of every rule used since start: resume() clears their windows even after a reload dropped one. */
  const knownRuleIds = new Set(rules.map((rule) => rule.id));
  const matcher = createReplyMatcher({ onSlowPattern: options.onSlowPattern });

  redis.defineCommand('multiSmtpHealthAdmit', { numberOfKeys: 1, lua: ADMIT_LUA });
  // The record script touches a varying number of rule windows: the key count is passed per call.
  redis.defineCommand('multiSmtpHealthRecord', { lua: RECORD_LUA });
  redis.defineCommand('multiSmtpHealthSuspend', { numberOfKeys: 1, lua: SUSPEND_LUA });
  redis.defineCommand('multiSmtpHealthWeight', { numberOfKeys: 1, lua: WEIGHT_LUA });
  const commands = redis as unknown as HealthCommands;

  const keysOf = (serverId: string) => {
    const base = `${options.keyPrefix}:health:{srv:${serverId}}`;
    return { state: `${base}:state`, ruleWindow: (ruleId: string) => `${base}:rule:${ruleId}` };
  };

  const get = async (serverId: string, now = Date.now()) =>
    healthFrom(await redis.hgetall(keysOf(serverId).state), now);

  return {
    get,

    async getMany(serverIds, now = Date.now()) {
      const unique = [...new Set(serverIds)];
      let states: Record<string, string>[];
      if (redis.isCluster) {
        // A Cluster pipeline must stay within one slot; each server has its own.
        states = await Promise.all(unique.map((serverId) => redis.hgetall(keysOf(serverId).state)));
      } else {
        const pipeline = redis.pipeline();
        for (const serverId of unique) pipeline.hgetall(keysOf(serverId).state);
        const results = (await pipeline.exec()) ?? [];
        states = results.map(([error, fields]) => {
          if (error) throw error;
          return fields as Record<string, string>;
        });
      }
      return new Map(unique.map((serverId, index) => [serverId, healthFrom(states[index] ?? {}, now)]));
    },

    async admit(serverId, now = Date.now()) {
      const [allowed, probe] = await commands.multiSmtpHealthAdmit(keysOf(serverId).state, now, probeLeaseMs);
      return { allowed: allowed === 1, probe: probe === 1 };
    },

    async recordSuccess(serverId, now = Date.now()) {
      await record(serverId, 'success', null, now);
    },

    async recordFailure(serverId, failure, now = Date.now()) {
      return record(serverId, breakerKindOf(failure.outcome), failure.reply, now, failure.outcome);
    },

    async suspend(serverId, until, reason, source, now = Date.now()) {
      if (!Number.isFinite(until)) {
        throw new RangeError(
          'multi-smtp health: suspend needs a finite time; use a far-future one for "until resumed"'
        );
      }
      await commands.multiSmtpHealthSuspend(keysOf(serverId).state, now, until, reason, source, retentionMs);
    },

    async resume(serverId) {
      const keys = keysOf(serverId);
      await redis.del(keys.state, ...[...knownRuleIds].map((ruleId) => keys.ruleWindow(ruleId)));
    },

    async setWeightFactor(serverId, factor, now = Date.now()) {
      if (factor !== null && !(Number.isFinite(factor) && factor >= 0 && factor <= 1)) {
        throw new RangeError(`multi-smtp health: a weight factor must be between 0 and 1 (got ${factor})`);
      }
      await commands.multiSmtpHealthWeight(keysOf(serverId).state, now, factor === null ? '' : String(factor), retentionMs);
    },

    setRules(next) {
      rules = compileRules(next);
      for (const rule of rules) knownRuleIds.add(rule.id);
    },

    rules: () => rules,
  };

  async function record(
    serverId: string,
    kind: 'success' | 'failure' | 'condemned',
    reply: string | null,
    now: number,
    outcome?: AttemptOutcome
  ): Promise<ServerHealth> {
    const keys = keysOf(serverId);
    // What the breaker's reason says when there was no reply (refused, timed out...).
    const replyText = reply ?? (outcome ? `${outcome} (no reply)` : '');
    const matched = reply === null ? [] : matcher.match(rules, reply);

    const windowKeys: string[] = [];
    const ruleArgs: Reply[] = [];
    for (const rule of matched) {
      const counted = rule.threshold !== undefined && rule.threshold.count > 1;
      if (counted) windowKeys.push(keys.ruleWindow(rule.id));
      ruleArgs.push(
        counted ? windowKeys.length + 1 : 0, // KEYS index in Lua (1 is the state hash)
        rule.threshold?.count ?? 1,
        rule.threshold?.windowMs ?? 0,
        rule.action,
        rule.durationMs,
        rule.ratePerSecond ?? 0,
        `${rule.description}: ${replyText}`
      );
    }
    const member = `${now}:${randomBytes(6).toString('base64url')}`;
    const list = await commands.multiSmtpHealthRecord(
      1 + windowKeys.length,
      keys.state,
      ...windowKeys,
      now,
      kind,
      replyText,
      breaker.failureThreshold,
      breaker.baseCooldownMs,
      breaker.maxCooldownMs,
      retentionMs,
      member,
      matched.length,
      ...ruleArgs
    );
    return healthFrom(fieldsFromList(list), now);
  }
}
