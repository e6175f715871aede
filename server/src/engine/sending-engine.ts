import { randomUUID } from 'node:crypto';

import { DelayedError, Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type Mail from 'nodemailer/lib/mailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';

import type { AttemptRecord, MessageLogEntry, MessageStatus } from '../../../shared/contracts/messages';
import { classifyAttempt, classifyRejectedRecipients, type Classification } from './classify';
import type { Directory, DirectoryCache, ServerConfig } from './directory';
import { readAdaptiveSignals, type AdaptiveSignals } from './adaptive';
import { createDestinationShaping, type DestinationsConfig } from './destination-limits';
import type { MxResolver } from './destinations';
import { createHealthStore, type ServerHealth } from './health';
import { outgoingMessageSchema, recipientsOf, type OutgoingMessage, type OutgoingMessageInput } from './message';
import { writeAttempt } from './attempt-script';
import { createMessageStore, FINAL_STATUSES, toLogEntry, type CampaignBatchRecord, type CampaignRecipient, type MessageMeta, type MessageRecord, type SharedMeta, type StateChange } from './message-store';
import { noteSkip, type RouteChoice } from './route-decision';
import { firstMatch, segmentLabel, tagsOf, TAG_PATTERN, type MessageFacts } from './routing-rules';
import { createQuotaStore, type QuotaLimits, type QuotaRefusal, type Reservation } from './quota';
import { Router, type GroupSnapshot, type ServerSnapshot } from './router';
import { allowsFromDomain, domainOf } from './from-domains';
import { createStickyStore, stickyDomainOf, type BatchServers } from './rotation';
import type { SmtpTimeouts } from './smtp-probe';
import { createConnectionPool, type SmtpConnection } from './transports';
import { warmupCap } from './warmup';

/**
 * The sending engine: a BullMQ queue of message ids, workers that choose a server late (when they
 * take the job), reserve a quota slot, send through a pooled connection, classify the outcome and
 * fail over. Plain TypeScript: the Strapi layer hands it a Redis connection, a directory of servers
 * and groups, and callbacks for the delivery log and events.
 */

export type EngineEvent = 'queued' | 'sent' | 'deferred' | 'failed' | 'bounced' | 'skipped';

export interface SendOptions {
  /** Group slug; the default group when neither group nor server is given. */
  group?: string;
  /** Server documentId: send through this server only (no routing). */
  server?: string;
  /** The same key within the retention window returns the first message instead of queueing again. */
  idempotencyKey?: string;
  /** Send no earlier than this (Date, ISO string or epoch ms). */
  sendAt?: Date | string | number;
  /** 1 (highest) .. 1000; BullMQ priority. Default: none (FIFO). */
  priority?: number;
  /** Who queued it, for the log: api, email-plugin, campaign... */
  source?: string;
  /**
   * Custom tags for the routing rules (lower-case letters, digits, `.`, `-`, `_`; at most 20).
   * The message's type (`transactional`, or `marketing` for campaign mail) is a tag without saying.
   */
  tags?: string[];
}

export interface QueuedMessage {
  id: string;
  status: MessageStatus;
  /** True when an idempotency key matched an earlier message and nothing new was queued. */
  duplicate?: boolean;
}

export interface DeliveryReport extends QueuedMessage {
  server: { id: string; name: string } | null;
  reply: string | null;
  attempts: AttemptRecord[];
  rejectedRecipients: string[];
  totalMs: number;
}

/** What the gate says about a campaign message a worker is about to route. */
export type GateDecision =
  | { kind: 'send' }
  /** Finish it as 'skipped', never sent (e.g. the recipient unsubscribed, the campaign was cancelled). */
  | { kind: 'skip'; reason: string }
  /** Put it (and the rest of its batch) back until then, without using an attempt (e.g. the campaign is paused). */
  | { kind: 'hold'; untilMs: number; reason: string };

/**
 * One message of a campaign batch: rendered already (`message`), or only its recipient, rendered
 * by the worker that sends it through EngineOptions.renderCampaignMessage. The second keeps the
 * fan-out cheap (no rendering, no validation, a small record per recipient) and the queue small.
 */
export type CampaignBatchMessage = {
  /** A UUID chosen by the caller, the same each time the batch is built. */
  id: string;
  subscriberId: string | null;
} & ({ message: OutgoingMessageInput | unknown; recipient?: undefined } | { recipient: CampaignRecipient; message?: undefined });

export interface CampaignBatch {
  /** The same for the same recipients every time: storing and queueing it again does nothing. */
  batchId: string;
  campaignId: string;
  group?: string;
  server?: string;
  /**
   * Set when the campaign's segment routing chose `group` for these recipients: their route is
   * recorded as via 'segment' with the label `attribute = value`.
   */
  segment?: { attribute: string; value: string } | null;
  /** The campaign's tags and sender, for the routing rules of a batch without `group` or `server`. */
  tags?: string[] | null;
  from?: string | null;
  messages: CampaignBatchMessage[];
}

/** Renders a campaign message for its recipient when a worker is about to send it. */
export type RenderCampaignMessage = (input: {
  campaignId: string;
  messageId: string;
  subscriberId: string | null;
  recipient: CampaignRecipient;
}) => Promise<OutgoingMessageInput>;

/** A campaign's messages by final status, and how many were queued. */
export interface CampaignCounts {
  queued: number;
  sent: number;
  failed: number;
  bounced: number;
  skipped: number;
  /** queued minus every final status. */
  inFlight: number;
}

export class MessageValidationError extends Error {
  constructor(
    message: string,
    readonly errors: { path: string[]; message: string }[]
  ) {
    super(message);
  }
}

export interface EngineOptions {
  /** Commands: quotas, health, message store. */
  redis: Redis | Cluster;
  /** BullMQ makes its own connections from these options. */
  bullConnection: ConnectionOptions;
  keyPrefix: string;
  /** BullMQ's key prefix; `{keyPrefix}` when not given. */
  bullPrefix?: string;
  timeZone: string;
  directory: DirectoryCache;
  timeouts: SmtpTimeouts;
  worker: { enabled: boolean; concurrency: number };
  retry?: { attempts?: number; backoffMs?: number };
  /** How long an unlocked job waits before another worker takes it over after a crash. */
  lockDurationMs?: number;
  retention?: { messageSec?: number; idempotencySec?: number };
  /** Each state change of a message; the entry is shared with onEvent and never changed after. */
  log?: (entry: MessageLogEntry) => void;
  /** Asked before each campaign message is routed (see GateDecision). */
  gate?: (meta: MessageMeta) => Promise<GateDecision>;
  /**
   * A campaign batch was queued: `count` messages of the campaign, in the group. Told once per
   * batch rather than with a 'queued' event per message (the fan-out queues thousands a second).
   */
  onCampaignQueued?: (batch: { campaignId: string; groupSlug: string | null; count: number; at: number }) => void;
  /** Renders campaign messages queued as recipients (see CampaignBatchMessage). */
  renderCampaignMessage?: RenderCampaignMessage;
  onEvent?: (event: EngineEvent, payload: MessageLogEntry) => void;
  /**
   * DKIM signing for a message From this address (nodemailer's per-message `dkim` option: domain,
   * selector, private key), or null to send it unsigned. Asked for every attempt, on the server it
   * goes through, so a sending domain registered or removed applies at the next send.
   */
  dkimFor?: (fromAddress: string) => DkimSigning | null;
  /** The envelope sender (MAIL FROM) of a message, e.g. its VERP bounce address; null: the From address. */
  envelopeFrom?: (messageId: string, recipients: readonly string[]) => string | null;
  onError?: (error: unknown, context: string) => void;
  clock?: () => number;
  /** How long an open connection waits for the next send before it closes. */
  connectionIdleMs?: number;
  /** SMTP worker threads (config smtp.threads); 0 sends on the main thread. Default: see transports.ts. */
  smtpThreads?: number;
  /** Per-destination shaping (config `destinations`); shipped providers and limits, with DNS, when not given. */
  destinations?: Partial<DestinationsConfig>;
  /** MX lookups for destination grouping (tests inject one); node:dns when not given. */
  resolveMx?: MxResolver | null;
}

/** nodemailer's DKIM options for one message. */
export interface DkimSigning {
  domainName: string;
  keySelector: string;
  privateKey: string;
  /** Header fields to sign besides nodemailer's defaults, e.g. List-Unsubscribe. */
  headerFieldNames?: string;
}

/** Why a message waits: a quota or busy connections, suspended servers, none at all, or a destination limit. */
type RunWaitReason = 'quota' | 'suspended' | 'no-server' | 'destination';

/** What a delivery run ended with. */
type RunResult =
  | { kind: 'final'; status: 'sent' | 'failed' | 'bounced' }
  | { kind: 'retry'; reason: string }
  | {
      kind: 'wait';
      until: number;
      reason: RunWaitReason;
      /** The servers whose freed connection is worth another look before `until`. */
      servers?: ReadonlySet<string>;
    };

/** Where a message goes and how that was chosen, decided when it is accepted. */
type Target = { groupId: string | null; groupSlug: string | null; serverId: string | null; route: RouteChoice };
/** Shared by every message routed the same way (stored as JSON, never changed). */
const SERVER_ROUTE: RouteChoice = { via: 'server' };
const GROUP_ROUTE: RouteChoice = { via: 'group' };
const DEFAULT_ROUTE: RouteChoice = { via: 'default' };
/** Custom tags per send call. */
const MAX_TAGS = 20;
/** A refused reservation as the delivery log says it. */
const LIMIT_REACHED: Record<string, string> = {
  second: 'rate limit (per second) reached',
  hour: 'hourly quota reached',
  day: 'daily quota reached',
  connections: 'connection limit reached',
};

/** A job is one message, or a batch of messages sent one after the other by the same worker slot. */
type JobData = { id: string } | { ids: string[] };

/**
 * Messages per job in sendBulk: enough to spread BullMQ's cost per job (a job's messages are sent
 * side by side through the worker's send slots, so a large one does not serialize them).
 */
const MAX_BULK_BATCH = 50;
/** Messages stored and queued per round trip in sendBulk. */
const BULK_CHUNK = 1000;

const QUEUE_NAME = 'send';
/** How often a job may lose its worker (crash, kill) and be run again: in practice without limit. */
const MAX_STALLED_RUNS = 1000;
/** Jobs woken at once after a resume (see wakeSuspended). */
const WAKE_CHUNK = 50;
/** Servers one message may try in one run before it backs off. */
const MAX_SERVERS_PER_RUN = 5;
/** How long a health snapshot serves before it is read again from Redis. */
const HEALTH_CACHE_MS = 1000;
/** How often the adaptive strategy's signals are read again (engine/adaptive.ts). */
const ADAPTIVE_CACHE_MS = 2000;
/** A quota wait this short is spent in the worker; a longer one delays the job. */
const SHORT_WAIT_MS = 1000;
/** How long in all a message may spend in short waits before its job is delayed instead (it holds a send slot meanwhile). */
const SHORT_WAIT_BUDGET_MS = 5000;
/** A bound on the looks again within that time (a freed connection wakes a wait early). */
const MAX_SHORT_WAITS = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** When nothing is known about when a server frees up, look again after this. */
const UNKNOWN_WAIT_MS = 30_000;
/** How long a worker that cannot render campaign mail puts it back for. */
const NO_RENDERER_HOLD_MS = 5000;
/** A message waiting on suspended servers looks again after at most this (the suspension may be lifted early). */
const SUSPENDED_RECHECK_MS = 60_000;

/** Spreads wake-ups so the jobs of a group at quota do not all come back in the same millisecond. */
const withJitter = (until: number, now: number) => until + Math.floor(Math.random() * Math.min(2000, Math.max(50, (until - now) * 0.1)));

/** Per-minute statistics of a server are kept two hours (lastHourStats reads the last 60 minutes). */
const STATS_TTL_SEC = 2 * 3600;

/** A counting semaphore: at most `size` of the functions given to run() at once, first come first served. */
const createSlots = (size: number) => {
  let free = size;
  const waiting: (() => void)[] = [];
  /** Waits for a slot; the returned function gives it back (once, however often it is called). */
  const acquire = async (): Promise<() => void> => {
    if (free > 0) free -= 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    };
  };
  return {
    acquire,
    async run<T>(work: () => Promise<T>): Promise<T> {
      const release = await acquire();
      try {
        return await work();
      } finally {
        release();
      }
    },
  };
};

const formatAddress = (entry: { name: string; address: string }) => (entry.name ? { name: entry.name, address: entry.address } : entry.address);

export const createSendingEngine = (options: EngineOptions) => {
  const clock = options.clock ?? Date.now;
  const { redis, keyPrefix } = options;
  const retryAttempts = options.retry?.attempts ?? 8;
  const backoffMs = options.retry?.backoffMs ?? 30_000;

  // Connection leases are renewed while this process lives (transports.ts), so they can be short: a
  // killed process's connection slots free themselves after about the job lock's length, as its jobs
  // do (never under 10 s, so a busy event loop does not lose a lease between two renewals).
  const lockDurationMs = options.lockDurationMs ?? 30_000;
  const leaseMs = Math.min(60_000, Math.max(10_000, lockDurationMs));
  const quota = createQuotaStore(redis, { keyPrefix, timeZone: options.timeZone, leaseMs });
  const health = createHealthStore(redis, {
    keyPrefix,
    onSlowPattern: (ruleId, timeoutMs) =>
      reportError(new Error(`response rule ${ruleId} took over ${timeoutMs} ms on a reply: left out until its pattern is changed (make it simpler)`), 'response rules'),
  });
  // Per-destination shaping (issue 12, item 3): limits per server toward gmail, microsoft... (destination-limits.ts).
  const shaping = createDestinationShaping({
    redis,
    keyPrefix,
    timeZone: options.timeZone,
    leaseMs,
    config: options.destinations,
    resolveMx: options.resolveMx,
    clock,
    onError: (error) => options.onError?.(error, 'destination lease'),
  });
  const store = createMessageStore(redis, {
    keyPrefix,
    retentionSec: options.retention?.messageSec ?? 7 * 24 * 3600,
    idempotencySec: options.retention?.idempotencySec ?? 24 * 3600,
  });
  const router = new Router();
  const connections = createConnectionPool({
    timeouts: options.timeouts,
    threads: options.smtpThreads,
    idleMs: options.connectionIdleMs ?? 2000,
    releaseLease: (serverId, token) => quota.releaseLease(serverId, token),
    renewLeases: (serverId, tokens, reservationIds) => quota.renewLeases(serverId, tokens, reservationIds, clock()),
    renewEveryMs: leaseMs / 4,
    onError: (error) => options.onError?.(error, 'connection lease'),
    // A connection freed here (idle again, or closed and its lease returned): the server's connections
    // are no longer all busy, whatever the last refusal guessed (quota.ts: a short retry). A send
    // waiting for one (handle()) is woken and must find the server offered again, not skipped until
    // the guess runs out behind mail that takes the connection meanwhile.
    onFreed: (serverId) => {
      if (exhausted.get(serverId)?.reason === 'connections') exhausted.delete(serverId);
    },
  });
  // Hash-tagged prefix: all of the queue's keys in one Redis Cluster slot, as BullMQ requires.
  const bullPrefix = options.bullPrefix ?? `{${keyPrefix}}`;
  const queue = new Queue<JobData>(QUEUE_NAME, { connection: options.bullConnection, prefix: bullPrefix });
  // An EventEmitter 'error' without a listener throws: a Redis outage or failover ("All sentinels are
  // unreachable") must be reported and ridden out, never crash the process.
  queue.on('error', (error) => reportError(error, 'queue'));
  let worker: Worker<JobData> | null = null;
  /** Set by stop(): batches start no further message (see processBatch). */
  let stopping = false;
  /**
   * SMTP sends at once in this process (worker.concurrency): a slot is held from taking a connection
   * to the server's answer. The bookkeeping around a send (reading the message, routing, writing its
   * state) is outside it, so it overlaps other messages' sends instead of adding to each one's turn.
   */
  const smtpSlots = createSlots(Math.max(1, options.worker.concurrency));
  /** Messages being handled at once in this process's worker (twice the SMTP slots, so a slot never waits for the next message): the messages of every job it holds take turns on them. */
  const sendSlots = createSlots(2 * Math.max(1, options.worker.concurrency));

  /** Servers known to be out of quota until a time (this process's view; the quota store is the truth). */
  const exhausted = new Map<string, { until: number; reason: QuotaRefusal }>();
  const exhaustedUntil = {
    /** Until when the server is known to be at a limit; 0 if it is not known to be. */
    get: (serverId: string): number => exhausted.get(serverId)?.until ?? 0,
    set: (serverId: string, until: number, reason: QuotaRefusal) => exhausted.set(serverId, { until, reason }),
    delete: (serverId: string) => exhausted.delete(serverId),
  };
  let lastDirectory: Directory | null = null;
  let healthCache: { at: number; byServer: Map<string, ServerHealth> } = { at: 0, byServer: new Map() };

  const reportError = (error: unknown, context: string) => options.onError?.(error, context);
  const reported = new Set<string>();
  const reportOnce = (key: string, message: string) => {
    if (reported.has(key)) return;
    reported.add(key);
    reportError(new Error(message), key);
  };
  /**
   * A state change, told to the delivery log and to the event listeners (statistics, protection,
   * Strapi's event hub) as one entry object, made once: it is never changed after (a record's
   * arrays are replaced, not mutated), so every listener may keep it.
   */
  /** A skipped server's name for the log, from the directory this process last routed with. */
  const serverNameOf = (serverId: string) => lastDirectory?.servers.get(serverId)?.name;
  const report = (event: EngineEvent, record: MessageRecord) => {
    const entry = toLogEntry(record, serverNameOf);
    options.log?.(entry);
    options.onEvent?.(event, entry);
  };

  const depthKey = `${keyPrefix}:depth`;
  /** The field a message is counted under in the depth hash (and its group's wait noted): its group, or 'pinned' for mail sent to a named server. */
  const depthFieldOf = (groupId: string | null | undefined) => groupId ?? 'pinned';
  const waitKey = (groupId: string) => `${keyPrefix}:wait:${groupId}`;
  const statsKey = (serverId: string, minute: number) => `${keyPrefix}:stats:{srv:${serverId}}:${minute}`;

  const healthOf = async (directory: Directory): Promise<Map<string, ServerHealth>> => {
    const now = clock();
    if (now - adaptiveCache.at >= ADAPTIVE_CACHE_MS) await refreshAdaptive(directory, now);
    if (now - healthCache.at < HEALTH_CACHE_MS) return healthCache.byServer;
    const byServer = await health.getMany([...directory.servers.keys()], now);
    healthCache = { at: now, byServer };
    return byServer;
  };

  /** Quota left and acceptance of the servers of `adaptive` groups (engine/adaptive.ts), read at most every ADAPTIVE_CACHE_MS. */
  let adaptiveCache: { at: number; byServer: Map<string, AdaptiveSignals> } = { at: 0, byServer: new Map() };
  const refreshAdaptive = async (directory: Directory, now: number) => {
    adaptiveCache.at = now;
    const serverIds = new Set([...directory.groups.values()].filter((group) => group.strategy === 'adaptive').flatMap((group) => group.serverIds));
    const servers = [...serverIds].flatMap((id) => {
      const server = directory.servers.get(id);
      return server ? [{ id, limits: limitsOf(server, healthCache.byServer.get(id), now) }] : [];
    });
    // A failed read keeps the last values (a Redis hiccup must not stop routing).
    const byServer = servers.length === 0 ? new Map() : await readAdaptiveSignals({ redis, quota, servers, statsKey, now }).catch((error: unknown) => {
      reportError(error, 'adaptive signals');
      return adaptiveCache.byServer;
    });
    adaptiveCache = { at: now, byServer };
  };

  const snapshotOf = (server: ServerConfig, serverHealth: ServerHealth | undefined, now: number): ServerSnapshot => ({
    id: server.id,
    // Automatic protection may cut a server's weight until its alert is lifted (services/protection.ts).
    weight: server.weight * (serverHealth?.weightFactor ?? 1),
    priority: server.priority,
    enabled: server.enabled,
    suspendedUntil: serverHealth?.suspendedUntil ?? null,
    quotaExhaustedUntil: exhaustedUntil.get(server.id) || null,
    // adaptive only: recent acceptance rate and the fraction left of the tightest quota (engine/adaptive.ts);
    // a reservation refused for quota since the last read counts as none left.
    health: adaptiveCache.byServer.get(server.id)?.acceptance ?? 1,
    quotaHeadroom: exhaustedUntil.get(server.id) > now ? 0 : (adaptiveCache.byServer.get(server.id)?.quotaFraction ?? 1),
  });

  const groupLookup = (directory: Directory, byServer: Map<string, ServerHealth>, now: number) => {
    const cache = new Map<string, GroupSnapshot>();
    return (groupId: string): GroupSnapshot | undefined => {
      const cached = cache.get(groupId);
      if (cached) return cached;
      const group = directory.groups.get(groupId);
      if (!group) return undefined;
      const snapshot: GroupSnapshot = {
        id: group.id,
        strategy: group.strategy,
        fallbackGroupId: group.fallbackGroupId,
        servers: group.serverIds.flatMap((id) => {
          const server = directory.servers.get(id);
          return server ? [snapshotOf(server, byServer.get(id), now)] : [];
        }),
      };
      cache.set(groupId, snapshot);
      return snapshot;
    };
  };

  /** The limits a reservation checks now: the server's own, today's warm-up cap, and any throttle from a response rule. */
  const limitsOf = (server: ServerConfig, serverHealth: ServerHealth | undefined, now: number): QuotaLimits => {
    const throttle = serverHealth?.throttle && serverHealth.throttle.until > now ? serverHealth.throttle.ratePerSecond : null;
    const perSecond =
      throttle === null ? server.ratePerSecond : server.ratePerSecond === null ? throttle : Math.min(throttle, server.ratePerSecond);
    return {
      perSecond,
      perHour: server.hourlyLimit,
      perDay: warmupCap(server.warmup, server.dailyLimit, now, options.timeZone).cap,
      maxConnections: server.maxConnections,
    };
  };

  const mailOf = (record: MessageRecord, server: ServerConfig): Mail.Options => {
    const { message } = record;
    const from =
      message.from ??
      (server.fromAddress ? { name: server.fromName ?? '', address: server.fromAddress } : undefined);
    const domain = (from?.address ?? server.fromAddress ?? 'multi-smtp.invalid').split('@')[1] ?? 'multi-smtp.invalid';
    const envelopeFrom = options.envelopeFrom?.(record.id, record.meta.recipients) ?? null;
    const dkim = from && options.dkimFor ? options.dkimFor(from.address) : null;
    return {
      from: from ? formatAddress(from) : undefined,
      to: message.to?.map(formatAddress),
      cc: message.cc?.map(formatAddress),
      bcc: message.bcc?.map(formatAddress),
      replyTo: message.replyTo?.map(formatAddress),
      subject: message.subject,
      text: message.text,
      html: message.html,
      attachments: message.attachments,
      // The same Message-ID on every attempt, so a receiver (and bounce processing) can tie them together.
      messageId: `<${record.id}@${domain}>`,
      headers: { ...message.headers, 'X-Multi-SMTP-ID': record.id },
      // nodemailer takes both halves of an envelope it is given: the recipients are the message's own.
      ...(envelopeFrom ? { envelope: { from: envelopeFrom, to: record.meta.recipients } } : {}),
      ...(dkim ? { dkim } : {}),
    };
  };

  const countStats = (serverId: string, field: 'sent' | 'failed', now: number) => {
    const minute = Math.floor(now / 60_000);
    redis
      .pipeline()
      .hincrby(statsKey(serverId, minute), field, 1)
      .expire(statsKey(serverId, minute), STATS_TTL_SEC)
      .exec()
      .catch((error) => reportError(error, 'stats'));
  };

  const campaignCountsKey = (campaignId: string) => `${keyPrefix}:campaign:${campaignId}:counts`;
  /** Where a message's final status is counted: its group's depth, and its campaign. */
  const countersOf = (record: MessageRecord) => ({
    depthKey,
    depthField: depthFieldOf(record.meta.groupId),
    campaignCountsKey: record.meta.campaignId ? campaignCountsKey(record.meta.campaignId) : null,
  });

  /** A finished message: final state written (and counted) in one round trip, then logged. */
  const finish = async (record: MessageRecord, status: 'sent' | 'failed' | 'bounced' | 'skipped', now: number) => {
    record.status = status;
    record.finishedAt ??= now;
    // An accepted message was written in full the moment the server accepted it (see attempt()).
    if (status !== 'sent') {
      await store.update(record.id, { status, finishedAt: record.finishedAt, lastReply: record.lastReply, skips: record.skips }, countersOf(record));
    }
    report(status, record);
  };

  /** One attempt on one server with a reserved slot. The accept is written before anything else. */
  const attempt = async (
    record: MessageRecord,
    server: ServerConfig,
    reservation: Reservation,
    connection: SmtpConnection,
    releaseSmtpSlot: () => void
  ) => {
    const started = clock();
    let info: Awaited<ReturnType<SmtpConnection['transport']['sendMail']>> | undefined;
    let error: unknown;
    connection.reservationId = reservation.id; // renewed with the lease while the send lasts
    try {
      info = await connection.transport.sendMail(mailOf(record, server));
    } catch (caught) {
      error = caught;
    } finally {
      // The server has answered: the next message may use the slot (and, below, the connection)
      // while this one's state is written.
      releaseSmtpSlot();
    }
    const now = clock();
    // A pool's send info lacks only `pending`, which the classifier does not read.
    const classification = classifyAttempt({ info: info as SMTPTransport.SentMessageInfo | undefined, error });
    const attemptRecord: AttemptRecord = {
      at: started,
      serverId: server.id,
      serverName: server.name,
      outcome: classification.outcome,
      reply: classification.reply,
      latencyMs: now - started,
    };
    record.attempts = [...record.attempts, attemptRecord];
    record.serverId = server.id;
    record.serverName = server.name;
    record.lastReply = classification.reply;
    // The state is written, the quota slot released and the statistics counted in one script call
    // (attempt-script.ts): the accept is in the store before this attempt returns, so a crash from
    // then on can never send this message again.
    const accepted = classification.outcome === 'accepted';
    let change: StateChange;
    if (accepted) {
      record.status = 'sent';
      record.sentAt = now;
      record.finishedAt = now;
      record.smtpMessageId = info?.messageId ?? null;
      change = {
        status: 'sent',
        sentAt: now,
        finishedAt: now,
        attempts: record.attempts,
        serverId: server.id,
        serverName: server.name,
        lastReply: record.lastReply,
        smtpMessageId: record.smtpMessageId,
        // The servers passed over on the way stay with the message, so its status explains it too.
        ...(record.skips ? { skips: record.skips } : {}),
      };
    } else {
      change = { attempts: record.attempts, serverId: server.id, serverName: server.name, lastReply: record.lastReply, ...(record.skips ? { skips: record.skips } : {}) };
    }
    const written = writeAttempt(redis, store.retentionSec, {
      messageKey: store.messageKey(record.id),
      change,
      finished: accepted ? countersOf(record) : undefined,
      reservation,
      releaseKeys: quota.releaseKeysOf(reservation),
      accepted,
      keepLease: true,
      stat: accepted ? { key: statsKey(server.id, Math.floor(now / 60_000)), field: 'sent', ttlSec: STATS_TTL_SEC } : undefined,
    });
    // The connection is handed back at once, before the write is done: the next message may use it
    // meanwhile. (If the write fails, Redis away, the job fails and is retried; the connection is
    // idle in the pool, closed after idleMs unless used, and its lease returned or left to lapse.)
    // A connection that had server trouble is not trusted again: closed, its slot freed.
    connection.reservationId = null;
    if (classification.outcome === 'server-transient' || classification.outcome === 'server-condemned') void connections.discard(connection);
    else connections.putBack(connection);
    try {
      await written;
    } catch (writeError) {
      // The server accepted the message: the delivery log says so even when Redis could not be told.
      // Redis may have run the script and lost only its reply (killed before answering); the rerun
      // then finds the message final, or gone for campaign mail, and has nothing left to log. When
      // the script did not run, the rerun sends the message again and logs that send too.
      if (accepted) report('sent', record);
      throw writeError;
    }
    return { classification, info, now };
  };

  const recordServerFailure = async (server: ServerConfig, classification: Classification, now: number) => {
    const updated = await health.recordFailure(server.id, { outcome: classification.outcome, reply: classification.reply }, now);
    healthCache.byServer.set(server.id, updated);
    countStats(server.id, 'failed', now);
  };

  /** The servers a message may go through: its pinned server, or those of its group and the group's fallbacks. */
  const serversOf = (directory: Directory, record: MessageRecord): Set<string> => {
    if (record.meta.serverId) return new Set([record.meta.serverId]);
    const serverIds = new Set<string>();
    const seen = new Set<string>();
    let groupId = record.meta.groupId ?? directory.defaultGroupId;
    while (groupId && !seen.has(groupId)) {
      seen.add(groupId);
      const group = directory.groups.get(groupId);
      for (const id of group?.serverIds ?? []) serverIds.add(id);
      groupId = group?.fallbackGroupId ?? null;
    }
    return serverIds;
  };

  type KnownFree = { until: number; reason: 'quota' | 'suspended' };
  const earlierKnown = (a: KnownFree | null, b: KnownFree | null) => (!a ? b : !b ? a : b.until < a.until ? b : a);

  /** The earliest moment a server the message may use frees up, from this process's view; null if none is known. */
  const knownFreeAt = (directory: Directory, record: MessageRecord, byServer: Map<string, ServerHealth>, now: number, barred: ReadonlySet<string>) => {
    let best: KnownFree | null = null;
    for (const id of serversOf(directory, record)) {
      if (!directory.servers.get(id)?.enabled || barred.has(id)) continue;
      const quotaUntil = exhaustedUntil.get(id);
      const suspendedUntil = byServer.get(id)?.suspendedUntil ?? 0;
      const until = Math.max(quotaUntil, suspendedUntil);
      if (until === 0) continue;
      // One that just freed (until <= now) is worth another look straight away.
      const freeAt = Math.max(until, now + 1);
      if (!best || freeAt < best.until) best = { until: freeAt, reason: quotaUntil >= suspendedUntil ? 'quota' : 'suspended' };
    }
    return best;
  };

  /**
   * Notes, for the delivery log, the servers of the message's group the router will not even offer
   * (disabled, suspended, known to be at quota): a handful of comparisons per server of one group.
   */
  const noteIneligible = (record: MessageRecord, directory: Directory, byServer: Map<string, ServerHealth>, now: number) => {
    if (record.meta.serverId) return;
    const group = directory.groups.get(record.meta.groupId ?? directory.defaultGroupId ?? '');
    if (!group) return;
    for (const serverId of group.serverIds) {
      const server = directory.servers.get(serverId);
      if (!server) continue;
      const serverHealth = byServer.get(serverId);
      if (!server.enabled) noteSkip((record.skips ??= []), serverId, 'disabled');
      else if (serverHealth?.suspendedUntil && serverHealth.suspendedUntil > now) {
        noteSkip((record.skips ??= []), serverId, serverHealth.reason ? `suspended: ${serverHealth.reason.slice(0, 120)}` : 'suspended');
      } else if (exhaustedUntil.get(serverId) > now) noteSkip((record.skips ??= []), serverId, 'quota or connection limit reached');
    }
  };

  // ---- Allowed From domains and rotation modes (issue 12: from-domains.ts, rotation.ts) ----
  const stickyStore = createStickyStore(redis, keyPrefix);
  /** The servers of the batch job a message is being sent in (set by processBatch; `batch` rotation). */
  const batchServersOf = new WeakMap<MessageRecord, BatchServers>();

  /** The message's group and its fallbacks, in order (a loop stops at a group seen before). */
  const groupChain = (directory: Directory, groupId: string | null) => {
    const chain: NonNullable<ReturnType<Directory['groups']['get']>>[] = [];
    for (let group = groupId ? directory.groups.get(groupId) : undefined; group && !chain.includes(group); ) {
      chain.push(group);
      group = group.fallbackGroupId ? directory.groups.get(group.fallbackGroupId) : undefined;
    }
    return chain;
  };

  /**
   * Adds to `passedOver` the servers that may not send this message's From domain (their
   * allowedFromDomains), noting each of its target's with a skip. A message without From goes out
   * with the chosen server's own sender, which that server may always send. Answers a failure when
   * no server of the pinned server / group and fallback chain allows the domain: it would otherwise
   * wait for ever.
   */
  const passOverByFromDomain = (record: MessageRecord, directory: Directory, passedOver: Set<string>): RunResult | null => {
    const from = record.message.from?.address;
    if (!from) return null;
    const chain = record.meta.serverId ? [] : groupChain(directory, record.meta.groupId ?? directory.defaultGroupId);
    const targetIds = record.meta.serverId ? [record.meta.serverId] : chain.flatMap((group) => group.serverIds);
    let allowed = 0;
    for (const serverId of targetIds) {
      const server = directory.servers.get(serverId);
      if (!server) continue;
      if (allowsFromDomain(server.allowedFromDomains, from)) {
        allowed += 1;
        continue;
      }
      passedOver.add(serverId);
      noteSkip((record.skips ??= []), serverId, `From domain ${domainOf(from) ?? from} not allowed`);
    }
    if (allowed > 0 || targetIds.length === 0) return null;
    const target = record.meta.serverId
      ? `server ${directory.servers.get(record.meta.serverId)?.name ?? record.meta.serverId}`
      : `group ${chain.map((group) => group.slug).join(' or its fallback ')}`;
    record.lastReply = `No server may send From domain ${domainOf(from) ?? from}: not in the allowed From domains of ${target}`;
    return { kind: 'final', status: 'failed' };
  };

  /**
   * The group's servers for this message, best first, with the group's rotation mode applied
   * (rotation.ts): the batch's or the recipient domain's server first while it is eligible.
   */
  const routeRotating = async (
    record: MessageRecord,
    directory: Directory,
    lookup: (groupId: string) => GroupSnapshot | undefined,
    groupId: string,
    now: number,
    passedOver: ReadonlySet<string>
  ): Promise<string[]> => {
    const group = directory.groups.get(groupId);
    const batch = batchServersOf.get(record);
    if (group?.rotation === 'batch' && batch) {
      const routed = router.route(groupId, lookup, now, passedOver, (id) => batch.get(id));
      // Before any await: the batch's other messages, routed next, keep this server.
      if (routed && !routed.preferredKept) batch.set(routed.groupId, routed.order[0]!);
      return routed?.order ?? [];
    }
    const domain = group?.rotation === 'sticky-domain' ? stickyDomainOf(record.meta.recipients) : null;
    if (!group || !domain) return router.route(groupId, lookup, now, passedOver)?.order ?? [];
    const holder = await stickyStore.holder(groupId, domain);
    const routed = router.route(groupId, lookup, now, passedOver, (id) => (id === groupId ? holder : null));
    if (!routed || routed.preferredKept || routed.groupId !== groupId) return routed?.order ?? [];
    const holderServer = holder ? directory.servers.get(holder) : undefined;
    // Left the group, disabled, or drained (weight 0 where weight counts): its domains move now.
    const drained = holderServer !== undefined && holderServer.weight <= 0 && group.strategy !== 'round-robin';
    const holderGone = holder !== null && (!holderServer?.enabled || drained || !group.serverIds.includes(holder));
    if (holder !== null && !holderGone) {
      // Unavailable for now: this message goes elsewhere, the domain stays with its server.
      if (!passedOver.has(holder)) noteSkip((record.skips ??= []), holder, `sticky server for ${domain} not available now`);
      return routed.order;
    }
    const picked = routed.order[0]!;
    const winner = await stickyStore.claim(groupId, domain, picked, group.stickyMinutes * 60_000, holderGone);
    // Another process stuck the domain first: its choice, when eligible here too.
    return winner !== picked && routed.order.includes(winner) ? [winner, ...routed.order.filter((id) => id !== winner)] : routed.order;
  };
  // ---- end allowed From domains and rotation modes ----

  /**
   * Tries to deliver a message now: picks servers by the group's strategy (falling back to the
   * fallback group), reserves a slot, sends, and fails over on server trouble, never twice to the
   * same server in one run.
   */
  const run = async (record: MessageRecord): Promise<RunResult & { rejectedRecipients?: string[] }> => {
    const directory = await options.directory.current();
    if (directory !== lastDirectory) {
      // Close the pools of servers that were deleted.
      connections.retain(new Set(directory.servers.keys()));
      lastDirectory = directory;
    }
    const byServer = await healthOf(directory);
    const tried = new Set<string>();
    // Servers that may not send its From domain count as tried: never chosen for it.
    const refused = passOverByFromDomain(record, directory, tried);
    if (refused) return refused;
    /** Never usable for this message (its From domain): their freeing is no reason to look again. */
    const barred: ReadonlySet<string> = new Set(tried);
    noteIneligible(record, directory, byServer, clock());
    let earliestFree = Number.POSITIVE_INFINITY;
    let waitReason: 'quota' | 'suspended' | 'no-server' = 'no-server';
    /** A server passed over only because of a destination limit: the message waits on its own (see handle()). */
    let heldByDestination = false;
    let lastServerTrouble: Classification | null = null;
    /**
     * The earliest moment a server known here to be at its limit frees up, as the router saw it: the
     * router passes over such a server, and another message's send may clear that knowledge while
     * this run awaits (exhaustedUntil.delete on its reservation). Read only at the end, the wait would
     * then fall to a later server's (a warm-up's cap: tomorrow) though the passed-over one frees in a
     * moment. (Seen in CI under load: a batch held until the next day, test/integration/engine-quota.)
     */
    let knownAtRouting: KnownFree | null = null;

    for (let round = 0; round < MAX_SERVERS_PER_RUN; round += 1) {
      const now = clock();
      knownAtRouting = earlierKnown(knownAtRouting, knownFreeAt(directory, record, byServer, now, barred));
      const lookup = groupLookup(directory, byServer, now);
      let candidates: string[];
      if (record.meta.serverId) {
        const pinned = directory.servers.get(record.meta.serverId);
        candidates = pinned && !tried.has(pinned.id) ? [pinned.id] : [];
        if (pinned && !pinned.enabled) candidates = [];
      } else {
        const groupId = record.meta.groupId ?? directory.defaultGroupId;
        candidates = groupId ? await routeRotating(record, directory, lookup, groupId, now, tried) : [];
      }

      let attempted = false;
      for (const serverId of candidates) {
        const server = directory.servers.get(serverId);
        if (!server || tried.has(serverId)) continue;
        const serverHealth = byServer.get(serverId);
        if (serverHealth?.suspendedUntil && serverHealth.suspendedUntil > now) {
          noteSkip((record.skips ??= []), serverId, serverHealth.reason ? `suspended: ${serverHealth.reason.slice(0, 120)}` : 'suspended');
          earliestFree = Math.min(earliestFree, serverHealth.suspendedUntil);
          waitReason = waitReason === 'quota' ? 'quota' : 'suspended';
          continue;
        }
        if (serverHealth && serverHealth.state !== 'closed') {
          // Cooldown over: exactly one probe message across all processes.
          const admission = await health.admit(serverId, now);
          if (!admission.allowed) {
            noteSkip((record.skips ??= []), serverId, 'recovering: another message is its probe');
            earliestFree = Math.min(earliestFree, now + HEALTH_CACHE_MS);
            waitReason = 'suspended';
            continue;
          }
        }
        // --- destination limits (destination-limits.ts): this server toward the message's recipient domains.
        const shaped = await shaping.reserve(server, record.meta.recipients, now);
        if (!shaped.ok) {
          noteSkip((record.skips ??= []), serverId, shaped.summary);
          earliestFree = Math.min(earliestFree, shaped.retryAt);
          heldByDestination = true;
          continue;
        }
        const destinationSlot = shaped.reservation;
        // --- end destination limits
        const releaseSmtpSlot = await smtpSlots.acquire();
        // An open idle connection to the server is reused under its own lease; otherwise a new slot is taken.
        const held = connections.take(server);
        // A reserve that fails (Redis away) puts the idle connection back, or it would never be idle
        // again and its lease would be renewed for ever (see attempt()).
        const reservation = await quota.reserve(serverId, limitsOf(server, serverHealth, now), now, held?.leaseToken).catch((error: unknown) => {
          if (held) connections.putBack(held);
          releaseSmtpSlot();
          void shaping.release(destinationSlot, false).catch((failure: unknown) => reportError(failure, 'destination release'));
          throw error;
        });
        if (!reservation.ok) {
          releaseSmtpSlot();
          if (held) connections.putBack(held);
          await shaping.release(destinationSlot, false);
          exhaustedUntil.set(serverId, reservation.retryAt, reservation.reason);
          noteSkip((record.skips ??= []), serverId, LIMIT_REACHED[reservation.reason] ?? `${reservation.reason} limit reached`);
          earliestFree = Math.min(earliestFree, reservation.retryAt);
          waitReason = 'quota';
          continue;
        }
        let connection = held;
        if (!connection || connection.leaseToken !== reservation.reservation.token) {
          if (connection) void connections.discard(connection); // its lease had lapsed
          connection = connections.open(server, reservation.reservation.token);
        }
        exhaustedUntil.delete(serverId);
        attempted = true;
        tried.add(serverId);
        // The destination slot is freed once the attempt is over; an attempt that threw (its state
        // not written) keeps its count: it may have been accepted.
        const { classification, info, now: done } = await attempt(record, server, reservation.reservation, connection, releaseSmtpSlot).catch(async (error: unknown) => {
          await shaping.release(destinationSlot, true).catch(() => undefined);
          throw error;
        });
        const { outcome } = classification;
        if (destinationSlot) void shaping.release(destinationSlot, outcome === 'accepted').catch((error: unknown) => reportError(error, 'destination release'));
        if (outcome === 'server-transient' || outcome === 'server-condemned') {
          lastServerTrouble = classification;
          noteSkip((record.skips ??= []), serverId, `failed (${(classification.reply ?? classification.summary).slice(0, 120)}), failed over`);
          await recordServerFailure(server, classification, done);
          break; // re-route without the failed server
        }
        if (serverHealth && (serverHealth.state !== 'closed' || serverHealth.consecutiveFailures > 0)) {
          // Any answer about the message itself shows the server working (it closes a half-open breaker).
          // Accepted and recorded: a failure to note the success must not fail (and resend) the message.
          if (outcome === 'accepted') await health.recordSuccess(serverId, done).catch((error: unknown) => reportError(error, 'health'));
          else await health.recordFailure(serverId, { outcome, reply: classification.reply }, done);
          healthCache.at = 0;
        }
        switch (outcome) {
          case 'accepted': {
            // Counted in the statistics by the attempt's script.
            const rejected = info ? classifyRejectedRecipients(info).map((entry) => entry.recipient) : [];
            return { kind: 'final', status: 'sent', rejectedRecipients: rejected };
          }
          case 'recipient-hard':
            return { kind: 'final', status: 'bounced' };
          case 'message-rejected':
            return { kind: 'final', status: 'failed' };
          default:
            return { kind: 'retry', reason: classification.summary };
        }
      }
      if (!attempted) break;
    }

    const now = clock();
    // The router also skips servers on what this process already knows (quota spent, suspended):
    // the wait ends when the first of all of them frees, tried or skipped.
    const earliestKnown = earlierKnown(knownAtRouting, knownFreeAt(directory, record, byServer, now, barred));
    // One that has freed meanwhile is worth another look straight away.
    const known = earliestKnown && { ...earliestKnown, until: Math.max(earliestKnown.until, now + 1) };
    // Server trouble: retried after the backoff (30 s by default), unless another server was passed
    // over (by the reservation, or by the router on this process's view) only because its
    // connections were all busy or its rate paced it for a moment: that slot is waited for instead,
    // so a dead server's mail moves to the others at once even when they are busy. (Measured in
    // test/integration/faults.test.ts: before, mail refused by a dead server waited the whole backoff.)
    const slotFreesBeforeRetry = known?.reason === 'quota' && known.until - now < backoffMs;
    if (lastServerTrouble && !slotFreesBeforeRetry) return { kind: 'retry', reason: lastServerTrouble.summary };
    const wait: RunResult & { kind: 'wait' } =
      known && known.until < earliestFree
        ? { kind: 'wait', until: known.until, reason: known.reason }
        : { kind: 'wait', until: Number.isFinite(earliestFree) ? earliestFree : now + UNKNOWN_WAIT_MS, reason: waitReason };
    // A suspension may be lifted early (resume, a protection alert lifted): look again at least this often.
    if (wait.reason === 'suspended') wait.until = Math.min(wait.until, now + SUSPENDED_RECHECK_MS);
    // A short wait ends early when this process frees a connection to one of them (handle()).
    wait.servers = new Set([...serversOf(directory, record)].filter((id) => !barred.has(id)));
    // Held by a destination limit on some server: other mail may still go there now, so this one
    // waits on its own rather than holding back its batch.
    if (heldByDestination) wait.reason = 'destination';
    return wait;
  };

  const markWaiting = async (record: MessageRecord, until: number, reason: string) => {
    const groupId = depthFieldOf(record.meta.groupId);
    const ttl = Math.max(1000, until - clock() + 1000);
    await redis.set(waitKey(groupId), JSON.stringify({ until, reason }), 'PX', ttl);
  };

  const setDeferred = async (record: MessageRecord, ownJob = false) => {
    if (record.status === 'deferred' && !ownJob) return;
    const wasDeferred = record.status === 'deferred';
    record.status = 'deferred';
    record.ownJob ||= ownJob;
    // Its skips go with it: the next run (another process, perhaps) adds to them, and the log shows all.
    await store.update(record.id, ownJob ? { status: 'deferred', ownJob: true, skips: record.skips } : { status: 'deferred', skips: record.skips });
    if (wasDeferred) return;
    report('deferred', record);
  };

  /** How handling one message ended, for the job that carries it to act on. */
  type Handled =
    | { kind: 'done' }
    | { kind: 'hold'; until: number }
    | { kind: 'wait'; until: number; reason?: RunWaitReason }
    /** Held by a destination limit: waits on its own (its own delayed job), never holding back its batch. */
    | { kind: 'destination'; until: number }
    | { kind: 'retry'; reason: string };

  /** One message: the gate (campaign mail), one delivery run, then finish, or say what should happen next. */
  /** Asks the gate about a campaign message: null to go on, or how handling ends here. */
  const passGate = async (record: MessageRecord): Promise<Handled | null> => {
    if (!record.meta.campaignId || !options.gate) return null;
    const decision = await options.gate(record.meta);
    if (decision.kind === 'skip') {
      record.lastReply = decision.reason;
      await finish(record, 'skipped', clock());
      return { kind: 'done' };
    }
    return decision.kind === 'hold' ? { kind: 'hold', until: decision.untilMs } : null;
  };

  /**
   * A campaign message queued as its recipient is rendered now (after the gate, so nothing is
   * rendered for a suppressed recipient). The rendering is not stored: a retry renders again, the
   * same. A message that cannot be rendered fails, with the reason as its reply.
   */
  const render = async (record: MessageRecord): Promise<Handled | null> => {
    if (!record.recipient) return null;
    if (!options.renderCampaignMessage) {
      // A worker without the campaign layer (a bare engine process) leaves campaign mail to one that has it.
      reportOnce('no-renderer', 'campaign mail is held: this worker has no campaign renderer (run workers inside Strapi)');
      return { kind: 'hold', until: clock() + NO_RENDERER_HOLD_MS };
    }
    try {
      if (!record.meta.campaignId) throw new Error('a campaign recipient without a campaign');
      const input = await options.renderCampaignMessage({
        campaignId: record.meta.campaignId,
        messageId: record.id,
        subscriberId: record.meta.subscriberId ?? null,
        recipient: record.recipient,
      });
      record.message = validate(input);
      record.recipient = null;
      record.meta = { ...record.meta, from: record.message.from?.address ?? null, recipients: recipientsOf(record.message), subject: record.message.subject };
      return null;
    } catch (error) {
      record.lastReply = `not rendered: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500);
      await finish(record, 'failed', clock());
      return { kind: 'done' };
    }
  };

  const handle = async (record: MessageRecord): Promise<Handled> => {
    const stopped = (await passGate(record)) ?? (await render(record));
    if (stopped) return stopped;
    // 'sending' stays in memory: one write fewer per message; the status API shows queued/deferred until done.
    record.status = 'sending';
    let result = await run(record);
    // A slot that frees within a moment (pacing, a busy connection) is waited for here, briefly,
    // rather than by a trip through the delayed set. A campaign paused or cancelled meanwhile
    // stops it (the gate's answer is cached, so asking again costs next to nothing).
    // (A destination wait is never spent here: it would hold a send slot other destinations could use.)
    // It also ends when this process frees a connection to one of its servers, so a message that
    // waits here is first in line for it, ahead of mail that starts meanwhile.
    const shortWaitsEnd = clock() + SHORT_WAIT_BUDGET_MS;
    for (
      let wait = 0;
      result.kind === 'wait' && result.reason !== 'destination' && result.until - clock() <= SHORT_WAIT_MS && clock() < shortWaitsEnd && wait < MAX_SHORT_WAITS;
      wait += 1
    ) {
      const ms = Math.max(1, result.until - clock()) + Math.floor(Math.random() * 10);
      await (result.servers ? connections.whenFreed(result.servers, ms) : sleep(ms));
      const gated = await passGate(record);
      if (gated) return gated;
      result = await run(record);
    }
    const now = clock();
    if (result.kind === 'final') {
      await finish(record, result.status, now);
      return { kind: 'done' };
    }
    if (result.kind === 'wait' && result.reason === 'destination') {
      // Which server held it toward which destination stays with it for the delivery log: its own
      // job reads the record again.
      if (record.skips) await store.update(record.id, { skips: record.skips });
      return { kind: 'destination', until: withJitter(result.until, now) };
    }
    if (result.kind === 'wait') {
      await markWaiting(record, result.until, result.reason);
      return { kind: 'wait', until: withJitter(result.until, now), reason: result.reason };
    }
    return { kind: 'retry', reason: result.reason };
  };

  /** Jobs waiting for a suspended server (job id -> until): a resume wakes them at once (wakeSuspended). */
  const suspendedWaitsKey = `${keyPrefix}:suspended-waits`;
  /** wakeSuspended()'s second passes still to come (cleared by stop()). */
  const wakeTimers = new Set<NodeJS.Timeout>();

  /**
   * Puts the job back until `until` (engine clock) without using an attempt. One that waits for a
   * suspended server is noted, so that lifting the suspension (resume) sends its mail now rather
   * than at its next look (up to SUSPENDED_RECHECK_MS).
   */
  const delayJob = async (job: Job<JobData>, token: string | undefined, until: number, forSuspension = false): Promise<never> => {
    if (forSuspension && job.id) {
      await redis
        .multi()
        .zremrangebyscore(suspendedWaitsKey, '-inf', clock())
        .zadd(suspendedWaitsKey, until, job.id)
        .pexpire(suspendedWaitsKey, Math.max(1000, until - clock() + 60_000))
        .exec();
    }
    // BullMQ schedules on the real clock; the engine's may be shifted (tests), so pass the delay along.
    const delay = Math.max(0, until - clock());
    try {
      await job.moveToDelayed(Date.now() + delay, token);
    } catch (error) {
      // After a Redis failover to a replica that had not caught up, a job's own key can be gone while
      // its messages are unfinished (BullMQ: "Missing key for job"). Queued again, same id and data,
      // rather than lost: a message that runs twice never sends twice.
      if (!/Missing key for job/i.test((error as Error).message)) throw error;
      await queue.add(job.name, job.data, { ...job.opts, jobId: job.id, delay });
      reportError(error, `job ${job.id} had lost its key in Redis; queued again`);
    }
    throw new DelayedError();
  };

  const processMessage = async (job: Job<JobData>, id: string, token?: string) => {
    const record = await store.get(id);
    // Gone (finished campaign mail, expired) or already finished (e.g. accepted before a crash): never send again.
    if (!record || FINAL_STATUSES.has(record.status)) return;
    const handled = await sendSlots.run(() => handle(record));
    if (handled.kind === 'done') return;
    if (handled.kind === 'retry') {
      await setDeferred(record);
      throw new Error(handled.reason);
    }
    if (handled.kind === 'wait' || handled.kind === 'destination') await setDeferred(record);
    await delayJob(job, token, handled.until, handled.kind === 'wait' && handled.reason === 'suspended');
  };

  /**
   * A batch: its messages sent side by side through the worker's send slots (shared by every job
   * this worker holds, so one large job uses every slot and a job's last messages never trail one
   * at a time), each routed on its own. A message with transient trouble on every server goes on
   * alone (its own job, with backoff) so the batch is not held up. When the group is at quota or the
   * campaign paused, no further message of the batch starts: those left wait as one job (the
   * delayed job runs again; what finished meanwhile is final or gone, and skipped).
   */
  const processBatch = async (job: Job<JobData>, ids: string[], token?: string) => {
    const records = (await store.getMany(ids)).filter(
      (record): record is MessageRecord => !!record && !FINAL_STATUSES.has(record.status) && !record.ownJob
    );
    // `batch` rotation: the job's messages keep one server per group (routeRotating).
    const batchServers: BatchServers = new Map();
    for (const record of records) batchServersOf.set(record, batchServers);
    /** Set by the first message told to wait (quota) or hold (campaign paused): the rest do not start. */
    const stop: { current: { kind: 'wait' | 'hold'; until: number } | null } = { current: null };
    const stopAt = (kind: 'wait' | 'hold', until: number) => {
      if (!stop.current || until < stop.current.until) stop.current = { kind: stop.current?.kind ?? kind, until };
    };
    /** Whether a message stopped for a suspended server (a resume then wakes the batch). */
    let waitsForSuspension = false;
    /** Not sent, and waiting with the batch for the group's quota. */
    const waiting: MessageRecord[] = [];
    /** A message that goes on alone (a retry, a destination hold) keeps its batch's place in the queue. */
    const sameRank = { priority: job.opts.priority || undefined };
    const handleOne = async (record: MessageRecord) => {
      // A worker shutting down finishes what it started and hands the rest of the batch back at once.
      if (stopping && !stop.current) stopAt('hold', clock());
      if (stop.current) {
        if (stop.current.kind === 'wait') waiting.push(record);
        return;
      }
      const handled = await handle(record);
      if (handled.kind === 'done') return;
      if (handled.kind === 'retry') {
        if (retryAttempts <= 1) {
          await finish(record, 'failed', clock());
          return;
        }
        // Queued before it is marked: a crash in between leaves it to the batch's rerun as well; the
        // first to send it finishes it, and the other then finds it final.
        await queue.add(QUEUE_NAME, { id: record.id }, { ...jobOptions(record.id, sameRank, backoffMs), attempts: retryAttempts - 1 });
        await setDeferred(record, true);
        return;
      }
      if (handled.kind === 'destination') {
        // Its own delayed job (no attempt used): the batch's other messages go on now.
        await queue.add(QUEUE_NAME, { id: record.id }, jobOptions(record.id, sameRank, handled.until - clock()));
        await setDeferred(record, true);
        return;
      }
      if (handled.kind === 'wait') {
        waiting.push(record);
        waitsForSuspension ||= handled.reason === 'suspended';
      } else record.status = record.attempts.length > 0 ? 'deferred' : 'queued';
      // The earliest moment any of them may go: the rerun looks again then.
      stopAt(handled.kind, handled.until);
    };
    // Every message settles before the job ends: a job that failed while some of its messages were
    // still being sent would be retried alongside them, and they would go out twice. After a
    // failure (Redis away) no further message starts; the first error fails the job (retried).
    let failure: { error: unknown } | null = null;
    await Promise.all(
      records.map((record) =>
        sendSlots.run(async () => {
          if (failure) return;
          try {
            await handleOne(record);
          } catch (error) {
            failure ??= { error };
          }
        })
      )
    );
    if (failure) throw (failure as { error: unknown }).error;
    const stopped = stop.current;
    if (!stopped) return;
    // The group is at quota: what is left of the batch waits for it, and says so.
    const newlyDeferred = waiting.filter((entry) => entry.status !== 'deferred');
    await store.markDeferred(newlyDeferred.map((entry) => entry.id));
    for (const entry of newlyDeferred) {
      entry.status = 'deferred';
      report('deferred', entry);
    }
    await delayJob(job, token, stopped.until, waitsForSuspension);
  };

  /** The worker's job: one message, or a batch of them. */
  const processJob = (job: Job<JobData>, token?: string) =>
    'ids' in job.data ? processBatch(job, job.data.ids, token) : processMessage(job, job.data.id, token);

  const onFailed = async (job: Job<JobData> | undefined, error: Error) => {
    if (!job || error instanceof DelayedError) return;
    // Only when BullMQ has no attempts left is the message failed for good.
    if (job.attemptsMade < (job.opts.attempts ?? 1)) return;
    const ids = 'ids' in job.data ? job.data.ids : [job.data.id];
    for (const record of await store.getMany(ids)) {
      if (!record || FINAL_STATUSES.has(record.status)) continue;
      // A batch's message that went on alone is that job's to finish.
      if ('ids' in job.data && record.ownJob) continue;
      await finish(record, 'failed', clock());
    }
  };

  /** A single message left unfinished without a job (see the worker's error handler): queued again, once. */
  const requeueOrphan = async (id: string) => {
    if (await queue.getJob(id)) return;
    const record = await store.get(id);
    if (!record || FINAL_STATUSES.has(record.status)) return;
    await queue.add(QUEUE_NAME, { id }, jobOptions(id, {}, 0));
  };

  const jobOptions = (id: string, sendOptions: SendOptions, delay: number) => ({
    jobId: id,
    attempts: retryAttempts,
    backoff: { type: 'exponential' as const, delay: backoffMs },
    delay: delay > 0 ? delay : undefined,
    priority: sendOptions.priority,
    removeOnComplete: true,
    removeOnFail: { age: 7 * 24 * 3600 },
  });

  /** Validates a message; throws MessageValidationError naming each field. */
  const validate = (input: unknown, pathPrefix: string[] = []): OutgoingMessage => {
    const parsed = outgoingMessageSchema.safeParse(input);
    if (parsed.success) return parsed.data;
    const errors = parsed.error.issues.map((issue) => ({ path: [...pathPrefix, ...issue.path.map(String)], message: issue.message }));
    throw new MessageValidationError(errors.map((error) => `${error.path.join('.') || 'message'}: ${error.message}`).join('; '), errors);
  };

  const refuse = (path: string[], message: string): never => {
    throw new MessageValidationError(`${path.join('.')}: ${message}`, [{ path, message }]);
  };

  /** The custom tags of a send call, checked: lower case, no repeats (the rules match on them). */
  const tagsOption = (tags: unknown): string[] | null => {
    if (tags === undefined || tags === null) return null;
    if (!Array.isArray(tags) || tags.length > MAX_TAGS) return refuse(['tags'], `must be a list of at most ${MAX_TAGS} tags`);
    return [
      ...new Set(
        tags.map((tag: unknown, index) => {
          const value = typeof tag === 'string' ? tag.trim().toLowerCase() : '';
          if (!TAG_PATTERN.test(value)) refuse(['tags', String(index)], 'must be 1 to 64 letters, digits, ".", "-" or "_", starting with a letter or digit');
          return value;
        })
      ),
    ];
  };

  /**
   * The target a caller named (a server, a group; a campaign's own or its segment's group), checked
   * now: an unknown one is refused before anything is accepted, not lost later. Null when none.
   */
  const namedTarget = (directory: Directory, named: { group?: string; server?: string }, groupRoute: RouteChoice): Target | null => {
    if (named.server) {
      const server = directory.servers.get(named.server);
      if (!server) return refuse(['server'], 'does not exist');
      return { groupId: null, groupSlug: null, serverId: server.id, route: SERVER_ROUTE };
    }
    if (!named.group) return null;
    const group = directory.groupsBySlug.get(named.group);
    if (!group) return refuse(['group'], 'does not exist');
    return { groupId: group.id, groupSlug: group.slug, serverId: null, route: groupRoute };
  };

  /** An explicit `server` that may not send a message's From domain is refused now (400), not failed later. */
  const refuseFromNotAllowed = (server: ServerConfig, messages: OutgoingMessage[]) => {
    for (const message of messages) {
      const from = message.from?.address;
      if (from && !allowsFromDomain(server.allowedFromDomains, from)) {
        refuse(['server'], `${server.name} does not allow From domain ${domainOf(from) ?? from} (its allowed From domains: ${server.allowedFromDomains.join(', ')})`);
      }
    }
  };

  /**
   * Where a message that names no target goes: the first matching routing rule's group or server
   * (rules are compiled with the directory, so this is a few set lookups), else the default group.
   */
  const routedTarget = (directory: Directory, facts: MessageFacts): Target => {
    const rule =
      directory.rules.length === 0
        ? null
        : firstMatch(directory.rules, facts, (target) => (target.kind === 'group' ? directory.groups.has(target.id) : directory.servers.has(target.id)));
    if (rule) {
      const route: RouteChoice = { via: 'rule', ruleId: rule.id, ruleName: rule.name };
      if (rule.target.kind === 'server') return { groupId: null, groupSlug: null, serverId: rule.target.id, route };
      const group = directory.groups.get(rule.target.id)!;
      return { groupId: group.id, groupSlug: group.slug, serverId: null, route };
    }
    const group = directory.groups.get(directory.defaultGroupId ?? '');
    if (!group) return refuse(['group'], 'no default group is set');
    return { groupId: group.id, groupSlug: group.slug, serverId: null, route: DEFAULT_ROUTE };
  };

  const delayOf = (sendAt: SendOptions['sendAt']) => {
    if (sendAt === undefined) return 0;
    const at = sendAt instanceof Date ? sendAt.getTime() : typeof sendAt === 'number' ? sendAt : Date.parse(sendAt);
    if (Number.isNaN(at)) throw new MessageValidationError('sendAt: is not a date', [{ path: ['sendAt'], message: 'is not a date' }]);
    return Math.max(0, at - clock());
  };

  /**
   * Stores and logs new messages; the caller queues them. With an idempotency key (one message),
   * the message is stored first and the key claimed after, so a key never points to a message that
   * does not exist; when the key was already taken, the new copy is removed and the earlier message
   * is returned instead.
   */
  const accept = async (
    messages: OutgoingMessage[],
    sendOptions: SendOptions,
    ids: string[]
  ): Promise<{ records: MessageRecord[]; duplicate: QueuedMessage | null }> => {
    const directory = await options.directory.current();
    const named = namedTarget(directory, sendOptions, GROUP_ROUTE);
    if (named?.serverId) refuseFromNotAllowed(directory.servers.get(named.serverId)!, messages);
    // Checked even when a named target makes the rules moot: a bad option is refused either way.
    const custom = tagsOption(sendOptions.tags);
    const tags = named ? null : tagsOf(sendOptions.source?.startsWith('campaign') ? 'marketing' : 'transactional', custom);
    const now = clock();
    const records: MessageRecord[] = messages.map((message, index) => {
      const recipients = recipientsOf(message);
      const from = message.from?.address ?? null;
      const target = named ?? routedTarget(directory, { tags: tags!, from, recipients, campaignId: null, segment: null });
      const meta: MessageMeta = {
        ...target,
        source: sendOptions.source ?? 'api',
        idempotencyKey: sendOptions.idempotencyKey ?? null,
        queuedAt: now,
        from,
        recipients,
        subject: message.subject,
      };
      return {
        id: ids[index]!,
        message,
        meta,
        status: 'queued',
        attempts: [],
        serverId: null,
        serverName: null,
        lastReply: null,
        smtpMessageId: null,
        sentAt: null,
        finishedAt: null,
      };
    });
    // Queue depth per group: the rules may have sent the messages of one call to several.
    const depths = new Map<string, number>();
    for (const record of records) {
      const field = depthFieldOf(record.meta.groupId);
      depths.set(field, (depths.get(field) ?? 0) + 1);
    }
    if (sendOptions.idempotencyKey) {
      // Counted only once the key is ours: a duplicate's record is deleted again, uncounted.
      await store.createMany(records);
      const owner = await store.claimIdempotencyKey(sendOptions.idempotencyKey, ids[0]!);
      if (owner !== ids[0]) {
        await store.delete(ids[0]!);
        const earlier = await store.getState(owner);
        return { records: [], duplicate: { id: owner, status: earlier?.status ?? 'queued', duplicate: true } };
      }
      await Promise.all([...depths].map(([field, count]) => redis.hincrby(depthKey, field, count)));
    } else {
      // Stored and counted in one round trip, not two.
      await store.createMany(records, { key: depthKey, counts: depths });
    }
    for (const record of records) {
      report('queued', record);
    }
    return { records, duplicate: null };
  };

  /**
   * Queues several batches (a fan-out page's), each as queueCampaignBatch would, in two round trips
   * whatever their number: one script stores every batch not stored before (messages, marker,
   * counters; see storeCampaignBatches), then one pipeline adds their jobs. Per message that is
   * what a batch store alone used to cost per batch. A bad message queues none of them. Returns,
   * per batch in order, whether this call stored it.
   */
  const queueCampaignBatches = async (batches: CampaignBatch[]): Promise<{ queued: boolean }[]> => {
    const messages = batches.map((batch, batchIndex) =>
      batch.messages.map((entry, index) =>
        entry.recipient ? null : validate(entry.message, [...(batches.length > 1 ? ['batches', String(batchIndex)] : []), 'messages', String(index), 'message'])
      )
    );
    const now = clock();
    const directory = await options.directory.current();
    const prepared = batches.flatMap((batch, batchIndex) => {
      const named = namedTarget(
        directory,
        batch,
        batch.segment ? { via: 'segment', segment: segmentLabel(batch.segment) } : GROUP_ROUTE
      );
      const tags = named ? null : tagsOf('marketing', batch.tags);
      const parts = new Map<string, { target: Target; shared: SharedMeta; records: CampaignBatchRecord[] }>();
      batch.messages.forEach((entry, index) => {
        const message = messages[batchIndex]![index] ?? ({ subject: '' } as OutgoingMessage);
        const recipients = entry.recipient ? [entry.recipient.email] : recipientsOf(message);
        const from = message.from?.address ?? batch.from ?? null;
        const target =
          named ??
          routedTarget(directory, { tags: tags!, from, recipients, campaignId: batch.campaignId, segment: batch.segment ?? null, attributes: entry.recipient?.attributes ?? null });
        const partKey = target.serverId ? `srv-${target.serverId}` : target.groupId!;
        let part = parts.get(partKey);
        if (!part) {
          // What every message of the part has in common, stored with each but sent once (message-store.ts).
          const shared: SharedMeta = {
            groupId: target.groupId,
            groupSlug: target.groupSlug,
            serverId: target.serverId,
            source: 'campaign',
            idempotencyKey: null,
            queuedAt: now,
            campaignId: batch.campaignId,
            route: target.route,
          };
          part = { target, shared, records: [] };
          parts.set(partKey, part);
        }
        part.records.push({
          id: entry.id,
          message,
          recipient: entry.recipient ?? null,
          // Named rather than spread: V8 builds a spread-then-extended object about 20 times
          // slower, and a fan-out page builds hundreds of these.
          own: { from: message.from?.address ?? null, recipients, subject: message.subject, subscriberId: entry.subscriberId },
        });
      });
      // A batch the rules split goes out as one batch per target, named after the target, so the
      // same recipients under the same rules make the same batches again (re-queueing stays idempotent).
      return [...parts].map(([partKey, { target, shared, records }]) => ({
        batchIndex,
        batch,
        batchId: parts.size === 1 ? batch.batchId : `${batch.batchId}@${partKey}`,
        target,
        shared,
        records,
        counters: { depthKey, depthField: depthFieldOf(target.groupId), campaignCountsKey: campaignCountsKey(batch.campaignId) },
      }));
    });
    // One script call per set of counters (a fan-out page has one: its campaign, its group).
    const stored: boolean[] = Array.from({ length: prepared.length }, () => false);
    const byCounters = new Map<string, number[]>();
    prepared.forEach(({ counters }, index) => {
      const key = `${counters.campaignCountsKey}\u0000${counters.depthField}`;
      const list = byCounters.get(key);
      if (list) list.push(index);
      else byCounters.set(key, [index]);
    });
    await Promise.all(
      [...byCounters.values()].map(async (indexes) => {
        const results = await store.storeCampaignBatches(
          indexes.map((index) => ({ batchId: prepared[index]!.batchId, shared: prepared[index]!.shared, records: prepared[index]!.records })),
          prepared[indexes[0]!]!.counters
        );
        results.forEach((result, position) => {
          stored[indexes[position]!] = result;
        });
      })
    );
    // Added also when stored before: BullMQ ignores a job id it still holds, and a batch that
    // already ran finds its messages finished (gone) and sends nothing. After the store, so a
    // worker never takes a job whose messages are not there yet.
    await queue.addBulk(
      prepared.map(({ batchId, records }) => ({
        name: QUEUE_NAME,
        data: { ids: records.map((record) => record.id) },
        opts: jobOptions(`batch-${batchId.replace(/:/g, '-')}`, {}, 0),
      }))
    );
    // Campaign mail gets its delivery log row when it finishes (the campaign's counters show it
    // queued): one row write per message, and none at the fan-out's pace.
    prepared.forEach(({ batch, target, records }, index) => {
      if (stored[index]) options.onCampaignQueued?.({ campaignId: batch.campaignId, groupSlug: target.groupSlug, count: records.length, at: now });
    });
    // Per batch handed in: stored by this call when any of its parts was.
    const queuedBatches = batches.map(() => false);
    prepared.forEach(({ batchIndex }, index) => {
      if (stored[index]) queuedBatches[batchIndex] = true;
    });
    return queuedBatches.map((queued) => ({ queued }));
  };

  /** The jobs of newly stored messages: one per MAX_BULK_BATCH of them (a lone message's job has its id). */
  const jobsOf = (ids: string[], sendOptions: SendOptions, delay: number) => {
    const jobs: { name: string; data: JobData; opts: ReturnType<typeof jobOptions> }[] = [];
    for (let first = 0; first < ids.length; first += MAX_BULK_BATCH) {
      const batchIds = ids.slice(first, first + MAX_BULK_BATCH);
      jobs.push(
        batchIds.length === 1
          ? { name: QUEUE_NAME, data: { id: batchIds[0]! }, opts: jobOptions(batchIds[0]!, sendOptions, delay) }
          : { name: QUEUE_NAME, data: { ids: batchIds }, opts: jobOptions(`batch-${randomUUID()}`, sendOptions, delay) }
      );
    }
    return jobs;
  };

  /** send() calls of this tick, stored and queued together by flushSends. */
  type PendingSend = {
    message: OutgoingMessage;
    sendOptions: SendOptions;
    delay: number;
    id: string;
    resolve: (queued: QueuedMessage) => void;
    reject: (error: unknown) => void;
  };
  let pendingSends: PendingSend[] = [];

  /**
   * Stores and queues the send() calls of one tick: those with the same options in one accept (one
   * round trip for their records) and one job per MAX_BULK_BATCH of them (a web app whose requests
   * each send one email then costs the queue one job per handful of messages, not one per message;
   * the job's messages still go out side by side, see processBatch). Each call resolves or rejects
   * with its own group's outcome.
   */
  const flushSends = () => {
    const calls = pendingSends;
    pendingSends = [];
    const byOptions = new Map<string, PendingSend[]>();
    for (const call of calls) {
      const { group, server, priority, source, tags } = call.sendOptions;
      const key = JSON.stringify([group, server, priority, source, tags, call.delay]);
      const list = byOptions.get(key);
      if (list) list.push(call);
      else byOptions.set(key, [call]);
    }
    for (const group of byOptions.values()) {
      const { sendOptions, delay } = group[0]!;
      const ids = group.map((call) => call.id);
      const queued = (async () => {
        await accept(
          group.map((call) => call.message),
          sendOptions,
          ids
        );
        await queue.addBulk(jobsOf(ids, sendOptions, delay));
      })();
      queued.then(
        () => group.forEach((call) => call.resolve({ id: call.id, status: 'queued' })),
        (error: unknown) => group.forEach((call) => call.reject(error))
      );
    }
  };

  return {
    validate,

    /**
     * Queues one message; routing happens when a worker takes it. Calls made in the same tick with
     * the same options share one store write and one job (see flushSends); one with an idempotency
     * key is queued on its own.
     */
    async send(input: OutgoingMessageInput | unknown, sendOptions: SendOptions = {}): Promise<QueuedMessage> {
      const message = validate(input);
      const delay = delayOf(sendOptions.sendAt);
      const id = randomUUID();
      if (!sendOptions.idempotencyKey) {
        return new Promise<QueuedMessage>((resolve, reject) => {
          if (pendingSends.length === 0) process.nextTick(flushSends);
          pendingSends.push({ message, sendOptions, delay, id, resolve, reject });
        });
      }
      const { duplicate } = await accept([message], sendOptions, [id]);
      if (duplicate) {
        // The first call may have stored the message and then failed to queue it (a Redis error, a
        // failover) and been retried, as it should be: queued now unless it is finished. BullMQ
        // ignores a job id it already holds, so a message that has its job gets no second one.
        if (!FINAL_STATUSES.has(duplicate.status)) await queue.add(QUEUE_NAME, { id: duplicate.id }, jobOptions(duplicate.id, sendOptions, delay));
        return duplicate;
      }
      await queue.add(QUEUE_NAME, { id }, jobOptions(id, sendOptions, delay));
      return { id, status: 'queued' };
    },

    /**
     * Queues many messages: all are validated first, so a bad one queues none. They go out in
     * batches (a job carries several message ids), which spreads the queue's cost per job; each
     * message is still routed, counted against quotas and retried on its own.
     */
    async sendBulk(inputs: unknown[], sendOptions: Omit<SendOptions, 'idempotencyKey'> = {}): Promise<QueuedMessage[]> {
      if (!Array.isArray(inputs)) throw new MessageValidationError('messages: must be an array', [{ path: ['messages'], message: 'must be an array' }]);
      const messages = inputs.map((input, index) => validate(input, [String(index)]));
      const delay = delayOf(sendOptions.sendAt);
      const results: QueuedMessage[] = [];
      // A first small chunk, so the workers start sending while the rest is being stored and queued.
      const firstChunk = Math.min(BULK_CHUNK, Math.max(MAX_BULK_BATCH, options.worker.concurrency));
      for (let start = 0; start < messages.length; ) {
        const slice = messages.slice(start, start + (start === 0 ? firstChunk : BULK_CHUNK));
        start += slice.length;
        const ids = slice.map(() => randomUUID());
        await accept(slice, { ...sendOptions, idempotencyKey: undefined }, ids);
        await queue.addBulk(jobsOf(ids, sendOptions, delay));
        results.push(...ids.map((id) => ({ id, status: 'queued' as const })));
      }
      return results;
    },

    /**
     * Queues one batch of a campaign (see CampaignBatch). Idempotent on batchId: a fan-out that
     * resumes after a crash may hand the same batch in again, and nothing is stored, counted or
     * sent twice. Returns whether this call stored it.
     */
    async queueCampaignBatch(batch: CampaignBatch): Promise<{ queued: boolean }> {
      const [result] = await queueCampaignBatches([batch]);
      return result!;
    },

    queueCampaignBatches,

    /** A campaign's messages: queued, and how many finished each way. */
    async campaignCounts(campaignId: string): Promise<CampaignCounts> {
      const raw = await redis.hgetall(campaignCountsKey(campaignId));
      const count = (field: string) => Number(raw[field] ?? 0);
      const counts = { queued: count('queued'), sent: count('sent'), failed: count('failed'), bounced: count('bounced'), skipped: count('skipped') };
      return { ...counts, inFlight: Math.max(0, counts.queued - counts.sent - counts.failed - counts.bounced - counts.skipped) };
    },

    /** Forgets a campaign's counters (after they were copied to the database). */
    async clearCampaign(campaignId: string): Promise<void> {
      await redis.del(campaignCountsKey(campaignId));
    },

    /**
     * Sends at once in this process, with failover, and reports the outcome. When no server can take
     * it now (quota, suspensions) or every one failed transiently, it is queued to be retried.
     */
    async sendNow(input: unknown, sendOptions: SendOptions = {}): Promise<DeliveryReport> {
      const started = clock();
      const message = validate(input);
      const id = randomUUID();
      const {
        records: [record],
        duplicate,
      } = await accept([message], { ...sendOptions, source: sendOptions.source ?? 'api' }, [id]);
      if (duplicate) {
        const earlier = await store.getState(duplicate.id);
        return { ...duplicate, server: null, reply: earlier?.lastReply ?? null, attempts: earlier?.attempts ?? [], rejectedRecipients: [], totalMs: 0 };
      }
      record!.status = 'sending';
      const result = await run(record!);
      const now = clock();
      if (result.kind === 'final') {
        await finish(record!, result.status, now);
      } else {
        await setDeferred(record!);
        const delay = result.kind === 'wait' ? withJitter(result.until, now) - now : backoffMs;
        if (result.kind === 'wait' && result.reason !== 'destination') await markWaiting(record!, result.until, result.reason);
        await queue.add(QUEUE_NAME, { id }, jobOptions(id, sendOptions, delay));
      }
      const last = record!.attempts.at(-1);
      return {
        id,
        status: record!.status,
        server: last ? { id: last.serverId, name: last.serverName } : null,
        reply: record!.lastReply,
        attempts: record!.attempts,
        rejectedRecipients: result.kind === 'final' ? (result.rejectedRecipients ?? []) : [],
        totalMs: now - started,
      };
    },

    async status(id: string): Promise<MessageLogEntry | null> {
      const record = await store.getState(id);
      return record ? toLogEntry(record) : null;
    },

    /** Messages not yet finished, per group id ('pinned' for messages sent to a chosen server). */
    async queueDepth(): Promise<Record<string, number>> {
      const raw = await redis.hgetall(depthKey);
      return Object.fromEntries(Object.entries(raw).map(([group, count]) => [group, Math.max(0, Number(count))]));
    },

    /** A group whose servers are all at quota or suspended: until when, and why. */
    async groupWait(groupId: string): Promise<{ until: number; reason: string } | null> {
      const raw = await redis.get(waitKey(groupId));
      return raw ? (JSON.parse(raw) as { until: number; reason: string }) : null;
    },

    /** Sends and failures of a server in the last hour. */
    async lastHourStats(serverId: string): Promise<{ sent: number; failed: number }> {
      const minute = Math.floor(clock() / 60_000);
      const pipeline = redis.pipeline();
      for (let offset = 0; offset < 60; offset += 1) pipeline.hgetall(statsKey(serverId, minute - offset));
      const rows = (await pipeline.exec()) ?? [];
      let sent = 0;
      let failed = 0;
      for (const [, value] of rows) {
        const row = (value ?? {}) as Record<string, string>;
        sent += Number(row.sent ?? 0);
        failed += Number(row.failed ?? 0);
      }
      return { sent, failed };
    },

    /**
     * Where a message with these facts would go, decided exactly as at intake (the routing rules'
     * "where would this message go?" tester), with the directory it was decided on.
     */
    /** The servers, groups and rules this process routes with now. */
    directory: (): Promise<Directory> => options.directory.current(),

    async decideTarget(named: { group?: string; server?: string }, facts: MessageFacts): Promise<{ directory: Directory; target: Target }> {
      const directory = await options.directory.current();
      const groupRoute: RouteChoice = facts.segment ? { via: 'segment', segment: segmentLabel(facts.segment) } : GROUP_ROUTE;
      return { directory, target: namedTarget(directory, named, groupRoute) ?? routedTarget(directory, facts) };
    },

    quota,
    health,
    /** Per-destination shaping: usage per server for the live status (destination-limits.ts). */
    destinations: { usageOf: shaping.usageOf },
    queue,
    /** The engine's clock (shifted in tests). */
    now: clock,

    /** Starts this process's worker when the config enables it (`force`: even when it does not). */
    start({ force = false }: { force?: boolean } = {}) {
      if ((!options.worker.enabled && !force) || worker) return;
      stopping = false;
      worker = new Worker<JobData>(QUEUE_NAME, processJob, {
        connection: options.bullConnection,
        prefix: bullPrefix,
        concurrency: options.worker.concurrency,
        lockDuration: lockDurationMs,
        // A killed worker's jobs are found by two stalled checks in a row; BullMQ's fixed 30 s interval
        // made that up to a minute whatever the lock's length. Checking once per lock length takes
        // them back within one to two lock lengths.
        stalledInterval: lockDurationMs,
        // A job whose worker died is run again, never failed for it: a job that runs twice never sends
        // twice (the message's state is in Redis), and BullMQ fails a job that stalled too often
        // without telling this worker, which would leave its messages queued for ever.
        maxStalledCount: MAX_STALLED_RUNS,
      });
      worker.on('failed', (job, error) => {
        onFailed(job, error).catch((failure) => reportError(failure, 'failed handler'));
      });
      worker.on('error', (error) => {
        reportError(error, 'worker');
        // A job whose key vanished (a failover to a lagging replica) while BullMQ finished or
        // retried it: its message, if unfinished, is queued again rather than left without a job.
        const lost = /Missing key for job ([^\s.]+)/i.exec(error.message)?.[1];
        if (lost) requeueOrphan(lost).catch((failure) => reportError(failure, `re-queueing ${lost}`));
      });
    },

    /** Graceful: in-flight sends finish, then connections close. */
    async stop() {
      stopping = true;
      for (const timer of wakeTimers) clearTimeout(timer);
      wakeTimers.clear();
      if (worker) {
        await worker.close();
        worker = null;
      }
      await queue.close();
      await connections.closeAll();
    },

    /**
     * After a suspension was lifted (resume): the jobs waiting for a suspended server run now. Again a
     * moment later, for a job another node ran in between on its cached health (HEALTH_CACHE_MS),
     * which then waits anew.
     */
    async wakeSuspended(): Promise<number> {
      const wakeOnce = async () => {
        const ids = await redis.zrangebyscore(suspendedWaitsKey, clock(), '+inf');
        if (ids.length === 0) return 0;
        await redis.zrem(suspendedWaitsKey, ...ids);
        let woken = 0;
        const wake = async (id: string) => {
          const job = await queue.getJob(id);
          // Gone (done meanwhile) or no longer delayed (running, taken up already): nothing to do.
          if (!job || !(await job.isDelayed())) return;
          await job.promote().then(
            () => (woken += 1),
            () => undefined
          );
        };
        // WAKE_CHUNK jobs at a time: their commands share round trips (a long suspension may have
        // thousands waiting), without one burst of them all.
        for (let start = 0; start < ids.length; start += WAKE_CHUNK) await Promise.all(ids.slice(start, start + WAKE_CHUNK).map(wake));
        return woken;
      };
      const woken = await wakeOnce();
      const again = setTimeout(() => {
        wakeTimers.delete(again);
        if (stopping) return;
        wakeOnce().catch((error: unknown) => reportError(error, 'waking mail after a resume'));
      }, HEALTH_CACHE_MS + 250);
      again.unref();
      wakeTimers.add(again);
      return woken;
    },

    /** After settings changed: the next message reads the directory again. */
    invalidate() {
      options.directory.invalidate();
      healthCache.at = 0;
    },
  };
};

export type SendingEngine = ReturnType<typeof createSendingEngine>;
