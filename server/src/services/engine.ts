import type { Core } from '@strapi/strapi';
import type { RedisOptions } from 'ioredis';

import { createDirectoryCache, type DirectorySource, type GroupConfig, type ServerConfig } from '../engine/directory';
import { createSendingEngine, type SendingEngine } from '../engine/sending-engine';
import { createGroupRepository } from '../repositories/groups';
import { DEFAULT_STICKY_MINUTES } from '../../../shared/contracts/groups';
import { createServerRepository } from '../repositories/servers';
import { getService } from '../utils/get-service';
import type { BouncesService } from './bounces';
import type { ProtectionService } from './protection';
import type { StatsService } from './stats';
import { bullPrefixOf, connectRedis, pluginKeyPrefixOf, redisTopologyOf, type RedisClient } from './redis-connection';

/**
 * Makes send(), sendBulk(), queueCampaignBatch() and queueCampaignBatches() resolve only once
 * `replicas` replicas hold what they wrote (Redis WAIT), so a failover cannot lose a message whose send() resolved. WAIT covers
 * the writes of the connection it is sent on, so it goes to both: the message went in on the
 * commands connection, its job on BullMQ's.
 *
 * When the replicas do not confirm in time, or a connection reconnected meanwhile (a WAIT that
 * ioredis resends on the new connection covers none of the writes, so its answer proves nothing),
 * the call rejects: the message may or may not be queued, and the caller's retry (with an
 * idempotency key, at most once) is what makes it safe. That is the window of a failover, when the
 * old master still takes writes its replicas will never see; it also means that with every replica
 * down, sends fail (like Redis's min-replicas-to-write) until one is back or waitForReplicas is 0.
 */
export class ReplicationUnconfirmedError extends Error {}

const withReplicaAcks = (
  engine: SendingEngine,
  connections: { commands: RedisClient; bull: RedisClient },
  wait: { replicas: number; timeoutMs: number }
): SendingEngine => {
  const both = [connections.commands, connections.bull];
  // Counts each connection's (re)connections, to tell that one happened during a call.
  const epochs = both.map(() => 0);
  both.forEach((connection, index) => connection.on('ready', () => (epochs[index] = (epochs[index] ?? 0) + 1)));
  const after = <Args extends unknown[], Result>(call: (...args: Args) => Promise<Result>) =>
    async (...args: Args): Promise<Result> => {
      const before = epochs.join();
      const result = await call(...args);
      const acks = await Promise.all(both.map((connection) => connection.wait(wait.replicas, wait.timeoutMs)));
      if (epochs.join() !== before) {
        throw new ReplicationUnconfirmedError('multi-smtp: Redis reconnected (a failover?) while queueing: the mail may or may not be queued; retry it');
      }
      if (Math.min(...acks) < wait.replicas) {
        throw new ReplicationUnconfirmedError(
          `multi-smtp: only ${Math.min(...acks)} of ${wait.replicas} Redis replicas confirmed the queued mail within ${wait.timeoutMs} ms: it may or may not be queued; retry it`
        );
      }
      return result;
    };
  return Object.assign(engine, {
    send: after(engine.send),
    sendBulk: after(engine.sendBulk),
    queueCampaignBatch: after(engine.queueCampaignBatch),
    queueCampaignBatches: after(engine.queueCampaignBatches),
  });
};

/**
 * Wires the sending engine into Strapi: its Redis connections, the directory of servers and groups
 * read from the database, the delivery log and the event hub. Started in bootstrap, stopped (and
 * awaited) in destroy.
 */
const engine = ({ strapi }: { strapi: Core.Strapi }) => {
  let instance: SendingEngine | null = null;
  /** See the `clockOffsetMs` config: shifts the engine's clock (tests stand near a quota window's end). */
  let clockOffsetMs = 0;
  let connections: RedisClient[] = [];
  /** The services told of every engine event (see onEvent). */
  let listeners: { bounces: BouncesService; stats: StatsService; protection: ProtectionService } | null = null;

  const directorySource: DirectorySource = {
    async load() {
      const secrets = getService(strapi, 'runtime').secrets();
      const [serverRows, groupRows] = await Promise.all([
        createServerRepository(strapi).findAll(),
        createGroupRepository(strapi).findAll(),
      ]);
      const servers: ServerConfig[] = serverRows.map((row) => ({
        id: row.documentId,
        name: row.name,
        groupId: row.group?.documentId ?? null,
        weight: row.weight ?? 1,
        priority: row.priority ?? 0,
        enabled: row.enabled ?? true,
        ratePerSecond: row.ratePerSecond ?? null,
        hourlyLimit: row.hourlyLimit ?? null,
        dailyLimit: row.dailyLimit ?? null,
        maxConnections: row.maxConnections ?? 5,
        warmup: row.warmup?.enabled ? row.warmup : null,
        fromAddress: row.fromAddress ?? null,
        fromName: row.fromName ?? null,
        allowedFromDomains: row.allowedFromDomains ?? [],
        destinationLimits: row.destinationLimits ?? null,
        endpoint: {
          host: row.host,
          port: row.port,
          security: row.security,
          tlsRejectUnauthorized: row.tlsRejectUnauthorized ?? true,
          username: row.username ?? null,
          password: row.passwordEncrypted ? secrets.decrypt(row.passwordEncrypted) : null,
          localAddress: row.localAddress ?? null,
        },
        version: row.updatedAt,
      }));
      const groups: GroupConfig[] = groupRows.map((row) => ({
        id: row.documentId,
        slug: row.slug,
        name: row.name,
        strategy: row.strategy,
        fallbackGroupId: row.fallbackGroup?.documentId ?? null,
        isDefault: row.isDefault ?? false,
        rotation: row.rotation ?? 'message',
        stickyMinutes: row.stickyMinutes ?? DEFAULT_STICKY_MINUTES,
        serverIds: (row.servers ?? []).map((server) => server.documentId),
      }));
      // Routing rules travel with the directory, so an edit reaches every node as a group change does.
      const rules = await getService(strapi, 'routingRules').forEngine();
      return { servers, groups, rules };
    },
  };

  return {
    /** Reads servers and groups as the engine sees them (also used to hand them to extra worker processes in tests). */
    directorySource,

    async start() {
      if (instance) return;
      const config = getService(strapi, 'runtime').config();
      clockOffsetMs = config.clockOffsetMs;
      // Commands issued in the same tick go out as one pipeline (fewer round trips under load).
      const commands = connectRedis(config.redis, { maxRetriesPerRequest: 3, enableAutoPipelining: true });
      // BullMQ's blocking commands need unlimited retries on their connection.
      const bull = connectRedis(config.redis, { maxRetriesPerRequest: null });
      connections = [commands, bull];
      // ioredis prints an "Unhandled error event" for every failed reconnect without a listener; one
      // line per distinct error is enough while Redis is down or failing over (they retry by themselves).
      let lastConnectionError = '';
      for (const connection of connections) {
        connection.on('error', (error: Error) => {
          if (error.message === lastConnectionError) return;
          lastConnectionError = error.message;
          strapi.log.warn(`[multi-smtp] Redis: ${error.message} (retrying)`);
        });
        connection.on('ready', () => (lastConnectionError = ''));
      }
      const directory = createDirectoryCache(directorySource, { maxAgeMs: 5000, defaultGroupSlug: config.defaultGroup });
      const created = createSendingEngine({
        redis: commands,
        bullConnection: bull,
        keyPrefix: pluginKeyPrefixOf(config.redis),
        bullPrefix: bullPrefixOf(config.redis),
        timeZone: config.timeZone,
        directory,
        timeouts: {
          connectionTimeoutMs: config.smtp.connectionTimeoutMs,
          greetingTimeoutMs: config.smtp.greetingTimeoutMs,
          socketTimeoutMs: config.smtp.socketTimeoutMs,
          ehloName: config.smtp.ehloName,
        },
        smtpThreads: config.smtp.threads,
        // Per-destination shaping: providers and limits over the shipped ones (engine/destination-limits.ts).
        destinations: config.destinations,
        worker: config.worker,
        clock: () => Date.now() + clockOffsetMs,
        retry: config.retry,
        lockDurationMs: config.worker.lockDurationMs,
        log: (entry) => getService(strapi, 'messageLog').record(entry),
        // VERP: each message's own signed bounce address as MAIL FROM, when bounces.verpDomain is set (services/bounces.ts).
        envelopeFrom: (messageId, recipients) => getService(strapi, 'bounces').envelopeFrom(messageId, recipients),
        dkimFor: getService(strapi, 'sendingDomains').signer(),
        // Campaign mail: skipped when suppressed or cancelled, held while paused (services/campaign-gate.ts).
        gate: (meta) => getService(strapi, 'campaignGate').check(meta),
        // Campaign mail is queued as recipients and rendered when sent (services/campaign-runner.ts).
        renderCampaignMessage: (input) => getService(strapi, 'campaignRunner').renderMessage(input),
        onCampaignQueued: ({ campaignId, groupSlug, count, at }) => {
          getService(strapi, 'stats').record({ type: 'queued', at, campaignId, groupSlug, serverId: null, count });
        },
        onEvent: (event, entry) => {
          strapi.eventHub.emit(`multi-smtp.message.${event}`, { message: entry });
          // Looked up once: this runs for every state change of every message.
          listeners ??= { bounces: getService(strapi, 'bounces'), stats: getService(strapi, 'stats'), protection: getService(strapi, 'protection') };
          // A synchronous hard bounce: the recipients are suppressed at once (services/bounces.ts).
          if (event === 'bounced') {
            listeners.bounces
              .applyEngineBounce(entry)
              .catch((error: Error) => strapi.log.error(`[multi-smtp] applying a bounce of ${entry.id} failed: ${error.message}`));
          }
          // Hourly statistics and Prometheus counters per server, group and campaign (services/stats.ts).
          listeners.stats.recordEngineEvent(event, entry);
          // Automatic protection: each server's window of outcomes, thresholds, pause or cut weight (services/protection.ts).
          listeners.protection.observeEngineEvent(event, entry);
        },
        onError: (error, context) => {
          strapi.log.error(`[multi-smtp] ${context}: ${error instanceof Error ? error.message : String(error)}`);
        },
      });
      // WAIT has no key, so ioredis Cluster would send it to any node: on Cluster it is refused by the config.
      instance =
        config.redis.waitForReplicas > 0 && redisTopologyOf(config.redis) !== 'cluster'
          ? withReplicaAcks(created, { commands, bull }, { replicas: config.redis.waitForReplicas, timeoutMs: config.redis.waitTimeoutMs })
          : created;
      // The worker takes mail only once the sending domains are loaded: none goes out unsigned for
      // want of its DKIM key. A failed load is reported (services/sending-domains.ts) and retried
      // by its poll; sending does not wait for it.
      await getService(strapi, 'sendingDomains')
        .ready()
        .catch(() => undefined);
      // Likewise the admin's response rules (services/response-rules.ts): the shipped ones apply until they are loaded.
      const responseRules = getService(strapi, 'responseRules');
      responseRules.attach(created.health);
      await responseRules.ready().catch(() => undefined);
      instance.start();
    },

    /** Whether the engine runs on this node (started in bootstrap, not yet stopped). */
    isRunning(): boolean {
      return instance !== null;
    },

    get(): SendingEngine {
      if (!instance) throw new Error('multi-smtp: the sending engine has not started (it starts in bootstrap)');
      return instance;
    },

    /**
     * The Redis connection for commands (quotas, campaign state, suppressions): shared, never closed
     * by callers. A service that needs a connection of its own (a subscriber, blocking commands)
     * calls `connect()` or `.duplicate()`s this one.
     */
    redis(): RedisClient {
      const commands = connections[0];
      if (!commands) throw new Error('multi-smtp: the sending engine has not started (it starts in bootstrap)');
      return commands;
    },

    /** A new Redis connection of the configured topology; the caller closes it. */
    connect(extra: RedisOptions = {}): RedisClient {
      return connectRedis(getService(strapi, 'runtime').config().redis, extra);
    },

    /**
     * Every Redis key of the plugin starts with this: config redis.keyPrefix, hash-tagged on Redis
     * Cluster so that multi-key commands stay in one slot (see redis-connection.ts).
     */
    keyPrefix(): string {
      return pluginKeyPrefixOf(getService(strapi, 'runtime').config().redis);
    },

    /** Shifts the engine's clock from now on (tests only, like the `clockOffsetMs` config). */
    setClockOffset(offsetMs: number) {
      clockOffsetMs = offsetMs;
    },

    /** After servers or groups changed: the next message sees the change, here and (announced over Redis) on every other node. */
    invalidate() {
      instance?.invalidate();
      void getService(strapi, 'directorySync').publish();
    },

    async stop() {
      const current = instance;
      instance = null;
      if (current) await current.stop();
      // The metrics counters of the last sends go to Redis before its connections close.
      await getService(strapi, 'metrics').flush();
      await Promise.all(connections.map((connection) => connection.quit().catch(() => connection.disconnect())));
      connections = [];
    },
  };
};

export type EngineService = ReturnType<typeof engine>;
export default engine;
