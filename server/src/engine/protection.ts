/**
 * Automatic protection: per server, a sliding window over its last N sends, and thresholds on the
 * rates in it (bounces, complaints, failures). Crossing one trips the rule once; the Strapi layer
 * (services/protection.ts) then pauses the server or cuts its weight, raises an alert and mails it.
 * Plain TypeScript: the window lives in Redis, everything else is handed in.
 *
 * The window, per server: a ring of N one-byte slots (a Redis string) and a hash of running counts,
 * so one observation is O(1) whatever N:
 *
 *   <prefix>:protect:{srv:<id>}:ring     string of N bytes, one per send: a accepted, h hard bounce,
 *                                        s soft bounce, c complaint, f failed
 *   <prefix>:protect:{srv:<id>}:state    hash: n (the window size the ring was made for), head (next
 *                                        slot), filled (sends in the window), a h s c f (counts),
 *                                        trip:<rule> (set while that rule's alert is active)
 *   <prefix>:protect:{srv:<id>}:samples  list: the latest few replies that were not acceptances
 *
 * One hash tag per server, so one Redis Cluster slot, so one Lua script touches all three, and an
 * observation (push, evict the oldest slot, adjust the counts) is atomic across every process.
 *
 * Reports that arrive after the send (an asynchronous DSN, a complaint) are about a message the
 * server accepted, which is already in the window as 'a': such an observation turns the newest 'a'
 * into its own kind rather than adding a send, so the rates stay per send. When the window holds no
 * 'a' (it was reset since), it is added as a send of its own.
 *
 * Tripping once: the rates are judged in TypeScript (evaluateWindow, pure); a rule that crossed is
 * then claimed with HSETNX on its trip field, so of all the processes that see it cross, exactly
 * one acts. The field stays until the alert is lifted (reset), so later sends don't raise it again.
 */

import type { Cluster, Redis } from 'ioredis';

import {
  PROTECTION_OUTCOMES,
  PROTECTION_RULES,
  type AlertEvidence,
  type AlertSample,
  type ProtectionAction,
  type ProtectionOutcome,
  type ProtectionRuleId,
} from '../../../shared/contracts/alerts';
import type { MessageLogEntry } from '../../../shared/contracts/messages';
import { lastAccepted } from './message-store';
import { redisScript } from './redis-script';
import type { EngineEvent } from './sending-engine';

export interface ProtectionRule {
  id: ProtectionRuleId;
  /** Crossed when the rate is above this (0..1). */
  threshold: number;
  action: ProtectionAction;
  /** reduce-weight: the server's weight is multiplied by this (0..1) until lifted. */
  weightFactor: number;
}

export interface ProtectionSettings {
  /** The last N sends of each server. */
  window: number;
  /** Sends in the window before any rate is judged. */
  minSends: number;
  rules: ProtectionRule[];
}

/** What the plugin config's `protection` holds (server/src/config/schema.ts). */
export interface ProtectionConfig {
  enabled: boolean;
  window: number;
  minSends: number;
  rules: Partial<Record<ProtectionRuleId, { threshold: number; action: ProtectionAction; weightFactor: number } | null>>;
}

/** The config as settings; null when protection is off or no rule is on. */
export const settingsOf = (config: ProtectionConfig): ProtectionSettings | null => {
  if (!config.enabled) return null;
  const rules: ProtectionRule[] = [];
  for (const id of PROTECTION_RULES) {
    const rule = config.rules[id];
    if (rule) rules.push({ id, threshold: rule.threshold, action: rule.action, weightFactor: rule.weightFactor });
  }
  return rules.length > 0 ? { window: config.window, minSends: Math.min(config.minSends, config.window), rules } : null;
};

/** A server's window at one moment. */
export interface WindowState {
  /** The window size the ring holds (the configured N). */
  window: number;
  /** Sends in the window (up to `window`). */
  sends: number;
  counts: Record<ProtectionOutcome, number>;
  /** Rules whose alert is active (claimed and not yet lifted). */
  tripped: ProtectionRuleId[];
}

export interface Observation {
  outcome: ProtectionOutcome;
  /** The SMTP reply or the report's diagnostic; kept as a sample when the outcome is not an acceptance. */
  reply?: string | null;
  /**
   * The report came after the send (asynchronous DSN, complaint): it takes the place of that send's
   * acceptance instead of adding a send. Only for hardBounce, softBounce and complaint.
   */
  afterAccept?: boolean;
  /** epoch ms; now by default. */
  at?: number;
}

/** A rule that crossed, with what shows it. */
export interface Verdict {
  rule: ProtectionRuleId;
  action: ProtectionAction;
  /** reduce-weight only; null for pause. */
  weightFactor: number | null;
  rate: number;
  threshold: number;
  evidence: Omit<AlertEvidence, 'samples' | 'at'>;
}

export interface WindowStore {
  /** Adds observations of one server, in order (one atomic script), and returns the window after them. */
  observe(serverId: string, observations: Observation[], window: number): Promise<WindowState>;
  /** Claims a crossed rule: true for exactly one caller until reset() un-trips it. */
  claim(serverId: string, rule: ProtectionRuleId): Promise<boolean>;
  /** Gives a claim back (the action could not be taken: the next observation tries again). */
  unclaim(serverId: string, rule: ProtectionRuleId): Promise<void>;
  /** The latest replies that were not acceptances, newest first. */
  samples(serverId: string): Promise<AlertSample[]>;
  /** The window as it is, without changing it. */
  read(serverId: string): Promise<WindowState>;
  /** Starts the window afresh (counts, slots, samples) and un-trips these rules; other trips stay. */
  reset(serverId: string, untrip: ProtectionRuleId[]): Promise<void>;
}

const SLOT_OF: Record<ProtectionOutcome, string> = { accepted: 'a', hardBounce: 'h', softBounce: 's', complaint: 'c', failed: 'f' };
const ASYNC_OUTCOMES: ReadonlySet<ProtectionOutcome> = new Set(['hardBounce', 'softBounce', 'complaint']);
const TRIP_FIELD = (rule: ProtectionRuleId) => `trip:${rule}`;
const MAX_REPLY = 500;

/**
 * Observations of one server, in order. KEYS: ring, state, samples. ARGV: window size, max samples,
 * ttl ms, then three per observation: slot byte, after-accept (1/0), sample ('' none).
 * Returns the state hash after the last one as a flat list (HGETALL).
 */
const OBSERVE_LUA = `
local ring, state, samples = KEYS[1], KEYS[2], KEYS[3]
local n = tonumber(ARGV[1])
local maxSamples = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])

if tonumber(redis.call('HGET', state, 'n')) ~= n then
  -- New, or the window size changed: start afresh (active trips stay).
  redis.call('DEL', ring)
  redis.call('HSET', state, 'n', n, 'head', 0, 'filled', 0, 'a', 0, 'h', 0, 's', 0, 'c', 0, 'f', 0)
end
local head = tonumber(redis.call('HGET', state, 'head'))
local filled = tonumber(redis.call('HGET', state, 'filled'))
local accepted = tonumber(redis.call('HGET', state, 'a'))

-- The newest 'a' slot, scanning back from the head in chunks; -1 when none.
local function newestAccepted()
  local remaining = filled
  local pos = head - 1
  while remaining > 0 do
    if pos < 0 then pos = n - 1 end
    local len = math.min(64, remaining, pos + 1)
    local start = pos - len + 1
    local chunk = redis.call('GETRANGE', ring, start, pos)
    for i = #chunk, 1, -1 do
      if string.byte(chunk, i) == 97 then return start + i - 1 end
    end
    remaining = remaining - len
    pos = start - 1
  end
  return -1
end

for index = 4, #ARGV, 3 do
  local kind = ARGV[index]
  local afterAccept = ARGV[index + 1] == '1'
  local sample = ARGV[index + 2]
  local converted = false
  if afterAccept and accepted > 0 then
    local slot = newestAccepted()
    if slot >= 0 then
      redis.call('SETRANGE', ring, slot, kind)
      redis.call('HINCRBY', state, 'a', -1)
      redis.call('HINCRBY', state, kind, 1)
      accepted = accepted - 1
      converted = true
    end
  end
  if not converted then
    if filled >= n then
      local old = redis.call('GETRANGE', ring, head, head)
      if old ~= '' then
        redis.call('HINCRBY', state, old, -1)
        if old == 'a' then accepted = accepted - 1 end
      end
    else
      filled = filled + 1
    end
    redis.call('SETRANGE', ring, head, kind)
    redis.call('HINCRBY', state, kind, 1)
    if kind == 'a' then accepted = accepted + 1 end
    head = (head + 1) % n
  end
  if sample ~= '' then
    redis.call('LPUSH', samples, sample)
    redis.call('LTRIM', samples, 0, maxSamples - 1)
    redis.call('PEXPIRE', samples, ttl)
  end
end
redis.call('HSET', state, 'head', head, 'filled', filled)
redis.call('PEXPIRE', ring, ttl)
redis.call('PEXPIRE', state, ttl)
return redis.call('HGETALL', state)
`;

/**
 * Starts the window afresh. KEYS: ring, state, samples. ARGV: trip fields to remove.
 */
const RESET_LUA = `
redis.call('DEL', KEYS[1], KEYS[3])
if #ARGV > 0 then redis.call('HDEL', KEYS[2], unpack(ARGV)) end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'head', 0, 'filled', 0, 'a', 0, 'h', 0, 's', 0, 'c', 0, 'f', 0)
end
return 1
`;

const observeScript = redisScript(OBSERVE_LUA);
const resetScript = redisScript(RESET_LUA);

/** The state hash -> the window. */
export const windowStateOf = (fields: Record<string, string>): WindowState => {
  const count = (name: string) => Math.max(0, Number(fields[name] ?? 0) || 0);
  const counts = {} as Record<ProtectionOutcome, number>;
  for (const outcome of PROTECTION_OUTCOMES) counts[outcome] = count(SLOT_OF[outcome]);
  return {
    window: count('n'),
    sends: count('filled'),
    counts,
    tripped: PROTECTION_RULES.filter((rule) => fields[TRIP_FIELD(rule)] !== undefined),
  };
};

const fieldsFromList = (list: string[]): Record<string, string> => {
  const fields: Record<string, string> = {};
  for (let index = 0; index + 1 < list.length; index += 2) fields[list[index]!] = list[index + 1]!;
  return fields;
};

const parseSample = (raw: string): AlertSample | null => {
  try {
    const value = JSON.parse(raw) as { o?: unknown; r?: unknown; t?: unknown };
    if (typeof value.r !== 'string' || typeof value.t !== 'number') return null;
    if (!PROTECTION_OUTCOMES.includes(value.o as ProtectionOutcome)) return null;
    return { outcome: value.o as ProtectionOutcome, reply: value.r, at: value.t };
  } catch {
    return null;
  }
};

export interface WindowStoreOptions {
  keyPrefix: string;
  /** How many replies are kept as samples. Default 5. */
  maxSamples?: number;
  /** A window with no observation for this long is forgotten. Default 30 days. */
  ttlMs?: number;
}

export const createRedisWindowStore = (redis: Redis | Cluster, options: WindowStoreOptions): WindowStore => {
  const maxSamples = options.maxSamples ?? 5;
  const ttlMs = options.ttlMs ?? 30 * 24 * 3600 * 1000;

  const keysOf = (serverId: string) => {
    const base = `${options.keyPrefix}:protect:{srv:${serverId}}`;
    return { ring: `${base}:ring`, state: `${base}:state`, samples: `${base}:samples` };
  };

  return {
    async observe(serverId, observations, window) {
      if (!Number.isInteger(window) || window < 1) throw new RangeError(`multi-smtp protection: window must be a whole number >= 1 (got ${window})`);
      const keys = keysOf(serverId);
      const args: Array<string | number> = [window, maxSamples, ttlMs];
      for (const observation of observations) {
        const reply = observation.reply?.trim();
        const sample =
          observation.outcome !== 'accepted' && reply
            ? JSON.stringify({ o: observation.outcome, r: reply.slice(0, MAX_REPLY), t: observation.at ?? Date.now() })
            : '';
        const afterAccept = observation.afterAccept === true && ASYNC_OUTCOMES.has(observation.outcome) ? 1 : 0;
        args.push(SLOT_OF[observation.outcome], afterAccept, sample);
      }
      const list = await observeScript<string[]>(redis, [keys.ring, keys.state, keys.samples], args);
      return windowStateOf(fieldsFromList(list));
    },

    async claim(serverId, rule) {
      return (await redis.hsetnx(keysOf(serverId).state, TRIP_FIELD(rule), String(Date.now()))) === 1;
    },

    async unclaim(serverId, rule) {
      await redis.hdel(keysOf(serverId).state, TRIP_FIELD(rule));
    },

    async samples(serverId) {
      const raw = await redis.lrange(keysOf(serverId).samples, 0, maxSamples - 1);
      return raw.map(parseSample).filter((sample): sample is AlertSample => sample !== null);
    },

    async read(serverId) {
      return windowStateOf(await redis.hgetall(keysOf(serverId).state));
    },

    async reset(serverId, untrip) {
      const keys = keysOf(serverId);
      await resetScript<number>(redis, [keys.ring, keys.state, keys.samples], untrip.map(TRIP_FIELD));
    },
  };
};

/** The numerator of a rule's rate. */
const countedBy = (rule: ProtectionRuleId, counts: Record<ProtectionOutcome, number>): number => {
  switch (rule) {
    case 'bounceRate':
      return counts.hardBounce + counts.softBounce;
    case 'complaintRate':
      return counts.complaint;
    case 'failureRate':
      return counts.failed;
    default:
      return 0;
  }
};

/** A rule's rate over the window's sends (0 for an empty window). */
export const rateOf = (rule: ProtectionRuleId, state: Pick<WindowState, 'sends' | 'counts'>): number =>
  state.sends > 0 ? countedBy(rule, state.counts) / state.sends : 0;

/**
 * The rules the window crosses now: with at least minSends sends, a rate above its threshold, and
 * not already tripped. Pure.
 */
export const evaluateWindow = (state: WindowState, settings: ProtectionSettings): Verdict[] => {
  if (state.sends < settings.minSends) return [];
  const verdicts: Verdict[] = [];
  for (const rule of settings.rules) {
    if (state.tripped.includes(rule.id)) continue;
    const rate = rateOf(rule.id, state);
    if (!(rate > rule.threshold)) continue;
    const weightFactor = rule.action === 'reduce-weight' ? rule.weightFactor : null;
    verdicts.push({
      rule: rule.id,
      action: rule.action,
      weightFactor,
      rate,
      threshold: rule.threshold,
      evidence: {
        window: settings.window,
        sends: state.sends,
        minSends: settings.minSends,
        counts: { ...state.counts },
        rate,
        threshold: rule.threshold,
        weightFactor,
      },
    });
  }
  return verdicts;
};

const RULE_LABEL: Record<ProtectionRuleId, string> = {
  bounceRate: 'bounce rate',
  complaintRate: 'complaint rate',
  failureRate: 'failure rate',
};

/** A rate as a person reads it: 0.05 -> "5 %", 0.0625 -> "6.25 %", 0.003 -> "0.3 %". */
export const percent = (rate: number): string => `${Number((rate * 100).toPrecision(3))} %`;

/** One line for lists and the mail subject. */
export const summaryOf = (verdict: Pick<Verdict, 'rule' | 'action' | 'weightFactor' | 'rate' | 'threshold' | 'evidence'>): string => {
  const action = verdict.action === 'pause' ? 'paused' : `weight cut to ${percent(verdict.weightFactor ?? 0)}`;
  return `${RULE_LABEL[verdict.rule]} ${percent(verdict.rate)} over the last ${verdict.evidence.sends} sends (threshold ${percent(verdict.threshold)}): ${action}`;
};

/** The rule's name as a person reads it. */
export const ruleLabel = (rule: ProtectionRuleId): string => RULE_LABEL[rule];

/**
 * The window outcome of one engine event, from the attempt that decided it (see observeEngineEvent);
 * null when the event says nothing about a server's sends.
 */
export const outcomeOfEngineEvent = (
  event: EngineEvent,
  entry: MessageLogEntry
): { serverId: string; outcome: ProtectionOutcome; reply: string | null } | null => {
  const last = entry.attempts.at(-1);
  switch (event) {
    case 'sent': {
      const accepted = lastAccepted(entry.attempts) ?? last;
      const serverId = accepted?.serverId ?? entry.serverId;
      return serverId ? { serverId, outcome: 'accepted', reply: null } : null;
    }
    case 'bounced': {
      const serverId = last?.serverId ?? entry.serverId;
      return serverId ? { serverId, outcome: 'hardBounce', reply: last?.reply ?? entry.lastReply } : null;
    }
    case 'failed':
      return last ? { serverId: last.serverId, outcome: 'failed', reply: last.reply ?? entry.lastReply } : null;
    case 'deferred':
      // A recipient that cannot take mail now is a soft bounce; server trouble is the breaker's (engine/health.ts).
      return last?.outcome === 'recipient-soft' ? { serverId: last.serverId, outcome: 'softBounce', reply: last.reply } : null;
    default:
      return null;
  }
};

export interface ProtectionMonitorOptions {
  store: WindowStore;
  /** Read on every observation, so a config change applies at once; null = protection off. */
  settings: () => ProtectionSettings | null;
  /** Acts on a rule that crossed (claimed by this caller). A rejection gives the claim back. */
  trip: (serverId: string, verdict: Verdict & { evidence: AlertEvidence }) => Promise<void>;
  clock?: () => number;
}

/** Observations of a server gathered for this long go to Redis in one script call. */
const DEFAULT_BATCH_MS = 10;
/** A batch this large goes at once. */
const MAX_BATCH = 200;
const NO_VERDICTS: Promise<Verdict[]> = Promise.resolve([]);

interface PendingBatch {
  observations: Observation[];
  /** Settles once the batch was judged; shared by every observation of the batch. */
  done: Promise<Verdict[]>;
  settle: (outcome: { verdicts: Verdict[] } | { error: unknown }) => void;
  timer: NodeJS.Timeout | null;
}

/**
 * Observations in, trips out: see the top of this file. Observations of a server are appended in
 * small batches (those of `batchMs`, one script call each) rather than one call per message: under
 * load the engine observes every message, and a rule is judged on hundreds of them anyway.
 */
export const createProtectionMonitor = (options: ProtectionMonitorOptions & { batchMs?: number }) => {
  const clock = options.clock ?? Date.now;
  const batchMs = options.batchMs ?? DEFAULT_BATCH_MS;
  const pending = new Map<string, PendingBatch>();

  /** Adds a batch to the window, then acts on the rules it crossed (each claimed by one caller). */
  const judge = async (serverId: string, observations: Observation[], settings: ProtectionSettings): Promise<Verdict[]> => {
    const state = await options.store.observe(serverId, observations, settings.window);
    const at = observations.at(-1)?.at ?? clock();
    const acted: Verdict[] = [];
    for (const verdict of evaluateWindow(state, settings)) {
      if (!(await options.store.claim(serverId, verdict.rule))) continue;
      try {
        const samples = await options.store.samples(serverId);
        await options.trip(serverId, { ...verdict, evidence: { ...verdict.evidence, samples, at } });
        acted.push(verdict);
      } catch (error) {
        await options.store.unclaim(serverId, verdict.rule).catch(() => undefined);
        throw error;
      }
    }
    return acted;
  };

  const flush = (serverId: string) => {
    const batch = pending.get(serverId);
    if (!batch) return;
    pending.delete(serverId);
    if (batch.timer) clearTimeout(batch.timer);
    const settings = options.settings();
    const judged = settings ? judge(serverId, batch.observations, settings) : Promise.resolve([]);
    judged.then(
      (verdicts) => batch.settle({ verdicts }),
      (error: unknown) => batch.settle({ error })
    );
  };

  const newBatch = (serverId: string): PendingBatch => {
    let settle: PendingBatch['settle'] = () => undefined;
    const done = new Promise<Verdict[]>((resolve, reject) => {
      settle = (outcome) => ('error' in outcome ? reject(outcome.error) : resolve(outcome.verdicts));
    });
    const batch: PendingBatch = { observations: [], done, settle, timer: null };
    batch.timer = setTimeout(() => flush(serverId), batchMs);
    return batch;
  };

  return {
    /**
     * Records one observation; resolves, once its batch was judged, with the verdicts that batch
     * acted on (usually none). Every observation of a batch gets the same promise.
     */
    observe(serverId: string, observation: Observation): Promise<Verdict[]> {
      if (!options.settings()) return NO_VERDICTS;
      let batch = pending.get(serverId);
      if (!batch) {
        batch = newBatch(serverId);
        pending.set(serverId, batch);
      }
      batch.observations.push({ ...observation, at: observation.at ?? clock() });
      const { done } = batch;
      if (batch.observations.length >= MAX_BATCH) flush(serverId);
      return done;
    },

    /** Judges what is gathered now (shutdown). */
    flushAll() {
      for (const serverId of [...pending.keys()]) flush(serverId);
    },
  };
};

export type ProtectionMonitor = ReturnType<typeof createProtectionMonitor>;
