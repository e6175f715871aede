import { z } from 'zod';

import { destinationKeySchema, destinationLimitsSchema } from '../../../shared/contracts/destinations';
import { IMAP_DEFAULT_MAILBOX, IMAP_DEFAULT_PROCESSED_FOLDER, imapProcessedSchema, SECURITY_MODES } from '../../../shared/contracts/servers';
import { ENCRYPTION_KEY_HELP, parseEncryptionKey } from '../engine/secret-box';
import { defaultSmtpThreads } from '../engine/smtp-threads';
import { isEcPublicKey } from '../engine/webhook-keys';

const redisNode = z.strictObject({
  host: z.string().min(1),
  port: z.int().min(1).max(65535),
});

/**
 * Where Redis is: one of `url`, `host` (and `port`), `sentinels` (with the master's `name`) or
 * `nodes` (Redis Cluster). Naming two of them is refused rather than one silently winning; naming
 * none takes env MULTI_SMTP_REDIS_URL or REDIS_URL, else 127.0.0.1:6379. The env fallback is read
 * here and not in the config defaults, because Strapi deep-merges the site's config over those
 * defaults: a site configuring `sentinels` on a host where REDIS_URL is set would otherwise get both.
 */
const redisSchema = z
  .strictObject({
    /** redis://[user:pass@]host:port/db or rediss:// for TLS. */
    url: z.string().regex(/^rediss?:\/\//, { error: 'must start with redis:// or rediss://' }).optional(),
    /** A single Redis (127.0.0.1 when nothing else says where Redis is). */
    host: z.string().min(1).optional(),
    port: z.int().min(1).max(65535).optional(),
    /** Redis Sentinel: the sentinels to ask for the current master (at least one; three or more in production). */
    sentinels: z.array(redisNode).min(1, { error: 'must list at least one sentinel' }).optional(),
    /** The master's name as the sentinels know it (`sentinel monitor <name> ...`). Required with sentinels. */
    name: z.string().min(1).optional(),
    /** AUTH for the sentinels themselves, when they require it (`requirepass` in sentinel.conf). */
    sentinelUsername: z.string().optional(),
    sentinelPassword: z.string().optional(),
    /** Redis Cluster: some of its nodes (the rest are discovered from them). */
    nodes: z.array(redisNode).min(1, { error: 'must list at least one cluster node' }).optional(),
    /** AUTH for the Redis data nodes (also with sentinels or nodes). */
    username: z.string().optional(),
    password: z.string().optional(),
    /** Database number; Redis Cluster has only 0. */
    db: z.int().min(0).max(15).default(0),
    tls: z.boolean().default(false),
    /** Every key the plugin writes starts with this, so several sites can share one Redis. */
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9:_-]+$/, { error: 'must be letters, digits, ":", "_" or "-"' })
      .default('multi-smtp'),
    /**
     * Replicas that must hold a queued message before send() resolves (Redis WAIT), so a failover
     * cannot lose it. Default: 1 with sentinels, 0 otherwise. When they do not confirm within
     * waitTimeoutMs (a failover under way, or every replica down) send() rejects: the message may
     * or may not be queued, and the caller retries (with an idempotency key, it is queued once).
     */
    waitForReplicas: z.int().min(0).max(10).optional(),
    waitTimeoutMs: z.int().min(10).max(60000).default(1000),
  })
  .superRefine((redis, ctx) => {
    const given = (['url', 'host', 'sentinels', 'nodes'] as const).filter((field) => redis[field] !== undefined);
    if (given.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [given[1]!],
        message: `give only one of url, host, sentinels or nodes (got ${given.join(' and ')})`,
      });
    }
    if (redis.port !== undefined && redis.host === undefined) {
      ctx.addIssue({ code: 'custom', path: ['port'], message: 'goes with host (sentinels and nodes carry their own ports)' });
    }
    if (redis.sentinels && redis.name === undefined) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: "is required with sentinels: the master's name (sentinel monitor <name> ...)" });
    }
    if (!redis.sentinels) {
      for (const field of ['name', 'sentinelUsername', 'sentinelPassword'] as const) {
        if (redis[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'goes with sentinels' });
      }
    }
    if (redis.nodes && (redis.waitForReplicas ?? 0) > 0) {
      ctx.addIssue({ code: 'custom', path: ['waitForReplicas'], message: 'is not supported with nodes (Redis Cluster): leave it at 0' });
    }
    if (redis.nodes && redis.db !== 0) {
      ctx.addIssue({ code: 'custom', path: ['db'], message: 'must be 0 with nodes (Redis Cluster has only database 0)' });
    }
  })
  .transform((given) => {
    const redis = { ...given, waitForReplicas: given.waitForReplicas ?? (given.sentinels ? 1 : 0) };
    if (redis.url || redis.host || redis.sentinels || redis.nodes) {
      return redis.host ? { ...redis, port: redis.port ?? 6379 } : redis;
    }
    const envUrl = process.env.MULTI_SMTP_REDIS_URL || process.env.REDIS_URL;
    return envUrl ? { ...redis, url: envUrl } : { ...redis, host: '127.0.0.1', port: 6379 };
  })
  .prefault({});

const workerSchema = z
  .strictObject({
    /** Run queue workers in this Strapi process. Turn off on web-only nodes. */
    enabled: z.boolean().default(true),
    /** Messages one process sends at the same time. */
    concurrency: z.int().min(1).max(1000).default(10),
    /** How long a job stays locked to a worker; a crashed worker's jobs are taken over after it. */
    lockDurationMs: z.int().min(1000).max(600000).default(30000),
  })
  .prefault({});

const retrySchema = z
  .strictObject({
    /** Tries per message before it is failed (waiting for quota does not use them up). */
    attempts: z.int().min(1).max(50).default(8),
    /** First retry delay; each next one doubles. */
    backoffMs: z.int().min(10).max(86400000).default(30000),
  })
  .prefault({});

const smtpSchema = z
  .strictObject({
    connectionTimeoutMs: z.int().min(100).max(300000).default(10000),
    greetingTimeoutMs: z.int().min(100).max(300000).default(10000),
    socketTimeoutMs: z.int().min(100).max(600000).default(60000),
    /** The name this host gives in EHLO; defaults to the machine's host name. */
    ehloName: z.string().min(1).optional(),
    /**
     * Worker threads that build and send the messages (nodemailer), so the main thread only routes
     * and keeps state. 0 sends on the main thread. Default: 1 on a machine with two cores or fewer,
     * else one per core but one, at most 4.
     */
    threads: z.int().min(0).max(64).default(() => defaultSmtpThreads()),
  })
  .prefault({});

const campaignsSchema = z
  .strictObject({
    /** An address (or mailto: URI) also offered in List-Unsubscribe, e.g. unsubscribe@example.com. */
    unsubscribeMailto: z.string().min(3).optional(),
    /**
     * Requests per minute one client IP may make to the public unsubscribe endpoint with links that
     * are not valid (429 beyond): guessing is slow. Valid links have their own budget (below).
     */
    rateLimitPerMinute: z.int().min(1).max(100000).default(120),
    /**
     * Requests per minute to one valid unsubscribe link (its own budget, not the client IP's): a
     * recipient's one-click unsubscribe is never blocked by other clients' requests.
     */
    unsubscribeLinkRateLimitPerMinute: z.int().min(1).max(100000).default(30),
    /**
     * Messages of one campaign queued and not yet finished, at most. The fan-out waits below it, so
     * the queue (and Redis memory) stay bounded whatever the audience's size.
     */
    maxInFlight: z.int().min(1).max(1000000).default(2000),
    /**
     * Recipients read, rendered and queued together. Each page costs the fan-out a few round trips
     * whatever its size, so larger pages queue faster (bench:campaign: about 17,000 recipients/s at
     * 500, 21,000 at 1,000); a page is stored by one Redis script that holds Redis for a few
     * milliseconds, and must fit under maxInFlight. 1,000 is also listmonk's default batch size.
     */
    pageSize: z.int().min(1).max(10000).default(1000),
    /**
     * Messages per queue job. A job's messages go out one after the other, so a page is split into
     * batches of about this many to spread over every worker slot.
     */
    batchSize: z.int().min(1).max(1000).default(50),
    /**
     * Where campaigns are fanned out (audience read, recipients queued) and scheduled campaigns
     * started. Unset: in every process that runs queue workers (`worker.enabled`, or the
     * multi-smtp-worker command). `true`: in this process even when its queue worker is off, e.g. a
     * node with `worker: { enabled: false }` that fans out while standalone workers send (the
     * fan-out then has that node's event loop to itself). `false`: never here, not even in the
     * worker command. Whichever processes may, one at a time fans out each campaign (a Redis lock).
     * One-off commands (multi-smtp-rotate-key) never do.
     */
    fanOut: z.boolean().optional(),
    /** Largest subscriber CSV the import takes (413 beyond): about 1,000,000 rows at the default. */
    maxImportBytes: z.int().min(1024).max(10 * 1024 * 1024 * 1024).default(100 * 1024 * 1024),
  })
  .prefault({});

/**
 * Bounce mailboxes over IMAP (services/bounce-mailboxes.ts): a global one here (host and auth), and
 * any number per SMTP server (set in the admin). pollIntervalSec and timeoutMs apply to all of them.
 */
const bounceImapSchema = z
  .strictObject({
    /** The global bounce mailbox's IMAP server; none when unset. */
    host: z.string().min(1).optional(),
    /** Default 993 with tls, else 143. */
    port: z.int().min(1).max(65535).optional(),
    /** tls: implicit TLS (993); starttls: upgrade required; none: plain text (loopback only). */
    security: z.enum(SECURITY_MODES, { error: 'must be one of: tls, starttls, none' }).default('tls'),
    auth: z.strictObject({ user: z.string().min(1), pass: z.string().min(1) }).optional(),
    mailbox: z.string().min(1).default(IMAP_DEFAULT_MAILBOX),
    /** Bounces and complaints: moved to a folder (created when missing), or flagged \Seen and a keyword. */
    processed: imapProcessedSchema.default({ moveTo: IMAP_DEFAULT_PROCESSED_FOLDER }),
    /** Seconds between two polls of every bounce mailbox. */
    pollIntervalSec: z.int().min(1).max(86400).default(60),
    /** Connection, greeting and per-command (socket inactivity) timeout. */
    timeoutMs: z.int().min(1000).max(600000).default(30000),
  })
  .superRefine((imap, ctx) => {
    if (imap.host !== undefined && imap.auth === undefined) ctx.addIssue({ code: 'custom', path: ['auth'], message: 'is required with host: { user, pass }' });
    if (imap.host === undefined) {
      for (const field of ['port', 'auth'] as const) {
        if (imap[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'goes with host' });
      }
    }
  })
  .transform((imap) => ({ ...imap, port: imap.port ?? (imap.security === 'tls' ? 993 : 143) }))
  .prefault({});

/** Asynchronous bounces and complaints (services/bounces.ts), the inbound endpoint and provider webhooks. */
const bouncesSchema = z
  .strictObject({
    /** Domain of the per-message bounce addresses (VERP), e.g. bounces.example.com. Off when unset. */
    verpDomain: z
      .string()
      .regex(/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i, { error: 'must be a domain name such as bounces.example.com' })
      .optional(),
    /** Before the '+' of the bounce address. */
    verpLocalPart: z
      .string()
      .regex(/^[a-z0-9](?:[a-z0-9._-]{0,10}[a-z0-9])?$/i, { error: "must be 1-12 letters, digits, '.', '_' or '-'" })
      .default('bounce'),
    /** Bearer token of POST /api/multi-smtp/inbound (the endpoint answers 404 without one). At least 16 characters. */
    inboundToken: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
    /** Largest request body the inbound endpoint takes (413 beyond). */
    maxInboundBytes: z.int().min(1024).max(100 * 1024 * 1024).default(10 * 1024 * 1024),
    /** Requests per minute and client IP to the inbound and webhook endpoints (429 beyond). */
    rateLimitPerMinute: z.int().min(1).max(100000).default(600),
    /** A hard bounce suppresses the address (and marks its subscriber bounced). */
    suppressOnHardBounce: z.boolean().default(true),
    /** A complaint suppresses the address (and marks its subscriber complained). */
    suppressOnComplaint: z.boolean().default(true),
    /** This many soft bounces of one address within softBounceWindowDays suppress it; 0 never does. */
    softBounceLimit: z.int().min(0).max(1000).default(3),
    softBounceWindowDays: z.number().min(0.01).max(365).default(7),
    /** Also suppress on bounces that cannot be tied to a message this site sent (off: they are only reported). */
    suppressUnlinked: z.boolean().default(false),
    /** How long a processed bounce is remembered, so the same report posted again counts once. */
    dedupeDays: z.number().min(0.01).max(365).default(30),
    imap: bounceImapSchema,
  })
  .prefault({});

/** Provider webhooks: Amazon SES through SNS, SendGrid's event webhook. */
const webhooksSchema = z
  .strictObject({
    /**
     * A signed notification older than this (its SNS Timestamp, SendGrid's timestamp header) is
     * refused (403): a captured one cannot be replayed later. Also how far ahead a clock may be.
     */
    maxAgeSeconds: z.int().min(30).max(7 * 24 * 3600).default(600),
    ses: z
      .strictObject({
        /** The SNS topics whose notifications are taken (others get 403); the endpoint answers 404 while empty. */
        topicArns: z.array(z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, { error: 'must be an SNS topic ARN' })).default([]),
        /** Confirm a subscription of a listed topic by fetching its SubscribeURL (an https amazonaws.com URL). */
        autoConfirm: z.boolean().default(false),
      })
      .prefault({}),
    sendgrid: z
      .strictObject({
        /** The event webhook's verification key (base64 DER or PEM); the endpoint answers 404 without one. */
        publicKey: z.string().refine(isEcPublicKey, { error: 'must be the verification key SendGrid shows (base64) or a PEM public key' }).optional(),
      })
      .prefault({}),
  })
  .prefault({});

const retentionSchema = z
  .strictObject({
    /** Delivery log rows (one per message, with its attempts) older than this many days are deleted. */
    messageLogDays: z.int().min(1).max(3650).default(30),
    /** Hourly statistics older than this many days are deleted (they outlive the log rows they count). */
    statsDays: z.int().min(1).max(3650).default(400),
  })
  .prefault({});

const metricsSchema = z
  .strictObject({
    /**
     * Bearer token for GET /api/multi-smtp/metrics (Prometheus). The endpoint answers 404 while
     * none is set. At least 16 characters.
     */
    token: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
    /** Requests per minute and client IP to the metrics endpoint (429 beyond). */
    rateLimitPerMinute: z.int().min(1).max(100000).default(120),
  })
  .prefault({});

/** One protection rule: a rate over a server's window (see shared/contracts/alerts.ts) and what crossing it does. */
const protectionRule = <Threshold extends z.ZodType<number, number | undefined>>(threshold: Threshold) =>
  z.strictObject({
    /** Crossed when the rate is above this (0..1): 0.05 = 5 %. */
    threshold,
    /** pause: no more mail until the alert is lifted; reduce-weight: the weight is multiplied by weightFactor until then. */
    action: z.enum(['pause', 'reduce-weight'], { error: 'must be pause or reduce-weight' }).default('pause'),
    weightFactor: z.number().gt(0).lt(1).default(0.25),
  });
const rate = () => z.number().gt(0).max(1);

/** Automatic protection per server (services/protection.ts): thresholds over its last `window` sends. */
const protectionSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** The last N sends of each server. */
    window: z.int().min(10).max(100000).default(1000),
    /** Sends in the window before any rate is judged. */
    minSends: z.int().min(1).max(100000).default(100),
    rules: z
      .strictObject({
        /** Hard and soft bounces, synchronous 5.x.x recipient refusals included; null turns the rule off. */
        bounceRate: protectionRule(rate().default(0.05)).nullable().prefault({}),
        complaintRate: protectionRule(rate().default(0.003)).nullable().prefault({}),
        /** Off unless set. */
        failureRate: protectionRule(rate()).nullable().optional(),
      })
      .prefault({}),
    /**
     * Reports mailed in (inbound endpoint, piped mail) prove nothing about who wrote them: they move
     * a server's rates only once this many distinct recipients of its mail have reported within
     * reporterWindowHours, so a handful of forged complaints cannot pause a server. Signed provider
     * webhooks (SES, SendGrid) count at once.
     */
    minReporters: z.int().min(1).max(1000).default(3),
    reporterWindowHours: z.number().min(1).max(24 * 30).default(24),
    /** Who gets the alert mail; none when empty (the alert is still raised in the admin). */
    alertEmails: z.array(z.email({ error: 'must be a valid email address' })).max(50).default([]),
    /** Slug of the group the alert mail goes through; the default group when unset. */
    alertGroup: z.string().min(1).optional(),
  })
  .refine((value) => value.minSends <= value.window, { error: 'must not be more than window', path: ['minSends'] })
  .prefault({});

/** Open and click tracking of campaign mail (services/tracking.ts); on per campaign (trackOpens, trackClicks) when publicUrl is set. */
const trackingSchema = z
  .strictObject({
    /**
     * Requests per minute and client IP to the open and click endpoints (429 beyond). Generous:
     * mailbox providers' image proxies fetch the pixels of many readers from a few shared IPs.
     */
    rateLimitPerMinute: z.int().min(1).max(1000000).default(6000),
    /** How long a message's first human open, and first human click of each link, are remembered for unique counts. */
    uniqueForDays: z.int().min(1).max(3650).default(180),
  })
  .prefault({});

/** A receiving provider for per-destination shaping (engine/destinations.ts), added to or replacing a shipped one. */
const destinationProviderSchema = z.strictObject({
  key: destinationKeySchema,
  /** Its recipient domains (exact). */
  domains: z.array(destinationKeySchema).max(10000).default([]),
  /** Suffixes of its MX hosts, e.g. `.mail.example-provider.net`. */
  mxSuffixes: z
    .array(z.string().toLowerCase().regex(/^\.[a-z0-9.-]+$/, { error: 'must start with a dot, e.g. .google.com' }))
    .max(100)
    .default([]),
});

/** Per-destination shaping (engine/destination-limits.ts): limits per server toward each receiving provider. */
const destinationsSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** MX lookups that group unknown domains by their mail host; never awaited by a send. */
    dns: z
      .strictObject({
        enabled: z.boolean().default(true),
        timeoutMs: z.int().min(100).max(30000).default(2000),
        cacheSec: z.int().min(1).max(7 * 24 * 3600).default(3600),
      })
      .prefault({}),
    providers: z.array(destinationProviderSchema).max(1000).default([]),
    /** By provider key (gmail, microsoft, yahoo, apple...), domain, or `default`; over the shipped limits. */
    limits: destinationLimitsSchema.default({}),
  })
  .prefault({});

/** A 32-byte key, base64 or hex (secret-box.ts explains how to make one). */
const encryptionKeySchema = (base: z.ZodString) =>
  base.superRefine((value, ctx) => {
    try {
      parseEncryptionKey(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

export const pluginConfigSchema = z.strictObject({
  encryptionKey: encryptionKeySchema(
    z.string({ error: (issue) => (issue.input === undefined ? `is required. ${ENCRYPTION_KEY_HELP}` : 'must be a string') })
  ),
  /**
   * Keys used before the current one, newest first (env MULTI_SMTP_PREVIOUS_ENCRYPTION_KEYS,
   * comma-separated). Secrets stored under them still decrypt and links signed with them (unsubscribe,
   * tracking, VERP) still verify, until `multi-smtp-rotate-key` has re-encrypted the secrets and the
   * links already sent have run their course; then drop the key from the list.
   */
  previousEncryptionKeys: z.array(encryptionKeySchema(z.string({ error: 'must be a string' }))).max(10).default([]),
  redis: redisSchema,
  worker: workerSchema,
  retry: retrySchema,
  smtp: smtpSchema,
  campaigns: campaignsSchema,
  retention: retentionSchema,
  metrics: metricsSchema,
  bounces: bouncesSchema,
  webhooks: webhooksSchema,
  protection: protectionSchema,
  tracking: trackingSchema,
  destinations: destinationsSchema,
  /** The site's public URL, for tracking and unsubscribe links (e.g. https://example.com). */
  publicUrl: z.url({ error: 'must be an absolute URL' }).optional(),
  /** Slug of the group used when a message names none (falls back to the group marked default). */
  defaultGroup: z.string().min(1).optional(),
  /**
   * Shifts the engine's clock by this many ms. For tests only: it lets a test stand just before an
   * hour or day boundary instead of waiting for one. Leave at 0 in production.
   */
  clockOffsetMs: z.int().default(0),
  /** IANA time zone that hourly and daily quota windows align to. */
  timeZone: z
    .string()
    .refine(
      (zone) => {
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: zone });
          return true;
        } catch {
          return false;
        }
      },
      { error: 'must be an IANA time zone such as UTC or Europe/Paris' }
    )
    .default('UTC'),
});

export type PluginConfig = z.output<typeof pluginConfigSchema>;
export type PluginConfigInput = z.input<typeof pluginConfigSchema>;

/** Formats zod issues as "field.path: reason; ..." for a thrown config error. */
export const describeIssues = (issues: z.core.$ZodIssue[]) =>
  issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');

/** Validates and fills defaults; throws an Error naming each bad field. */
export const parsePluginConfig = (raw: unknown): PluginConfig => {
  const result = pluginConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new Error(`multi-smtp: invalid plugin config: ${describeIssues(result.error.issues)}`);
  }
  return result.data;
};
