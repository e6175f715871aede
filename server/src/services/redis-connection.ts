import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

import type { PluginConfig } from '../config/schema';

/**
 * Every Redis connection of the plugin is made here (services/engine.ts owns the shared ones; a
 * service that needs its own, e.g. a subscriber, calls `connectRedis` or `.duplicate()`s the
 * shared one). Three topologies, from the `redis` config:
 *
 * - a single Redis (`url`, or `host` and `port`);
 * - Redis Sentinel (`sentinels` and the master's `name`): ioredis asks the sentinels for the master,
 *   follows it on a failover, and resends what a demoted master refused (READONLY);
 * - Redis Cluster (`nodes`).
 *
 * On Cluster, a Lua script, MULTI, RENAME or a DEL of several keys fails (CROSSSLOT) unless all its
 * keys hash to one slot, and so does an ioredis pipeline whose keys live on several nodes. The
 * plugin has many of those (a message and its group's depth counter finish in one MULTI, a campaign
 * batch is stored in one, the suppression set is swapped in with RENAME, quotas and protection are
 * Lua scripts over several keys of a server). On Cluster all of the plugin's keys therefore share one
 * hash tag: the prefix becomes `{multi-smtp}` instead of `multi-smtp`, and a key's first `{...}`
 * decides its slot, so the per-server tags inside (`{srv:<id>}`) no longer spread them. That puts the
 * plugin on one master (and its replicas), which is fine: its Redis load is small (a few commands per
 * message, thousands of messages a second at most) and Cluster is there for availability, not to
 * spread it. BullMQ's keys (`{multi-smtp}:send:...`) are in the same slot. On a single Redis and on
 * Sentinel the keys keep their names, so an existing deployment keeps its data on upgrade.
 */

type RedisConfig = PluginConfig['redis'];

/** A connection of either kind: they have the same commands. */
export type RedisClient = Redis | Cluster;

export type RedisTopology = 'single' | 'sentinel' | 'cluster';

export const redisTopologyOf = (config: RedisConfig): RedisTopology =>
  config.nodes ? 'cluster' : config.sentinels ? 'sentinel' : 'single';

/** The prefix of every key the plugin writes itself (see above: hash-tagged on Cluster only). */
export const pluginKeyPrefixOf = (config: RedisConfig): string =>
  redisTopologyOf(config) === 'cluster' ? `{${config.keyPrefix}}` : config.keyPrefix;

/** BullMQ's prefix: hash-tagged everywhere (BullMQ's scripts span its keys), the same slot as the plugin's keys on Cluster. */
export const bullPrefixOf = (config: RedisConfig): string => `{${config.keyPrefix}}`;

/**
 * READONLY: the command reached a master that a failover has just made a replica. 2 = reconnect
 * (asking the sentinels, or the cluster, where the master is now) and resend the command, so the
 * caller never sees the failover.
 */
const reconnectOnError = (error: Error): 2 | false => (error.message.startsWith('READONLY') ? 2 : false);

/**
 * How long commands wait for Redis to come back on Sentinel and Cluster: a failover takes
 * down-after-milliseconds plus an election (seconds to tens of seconds), and a command that gave up
 * meanwhile could leave a message sent but not marked so. Retries come every second at most, so
 * this many is about a minute. (A single Redis fails fast instead: there is nothing to wait for.)
 */
const FAILOVER_RETRIES = 60;
const failoverRetryDelay = (attempt: number) => Math.min(attempt * 100, 1000);

/** ioredis options for a single Redis or Sentinel, from the plugin config (a URL goes separately). */
export const redisOptionsOf = (config: RedisConfig): { url?: string; options: RedisOptions } => {
  const auth = { username: config.username, password: config.password, tls: config.tls ? {} : undefined };
  if (config.sentinels) {
    return {
      options: {
        ...auth,
        db: config.db,
        sentinels: config.sentinels,
        name: config.name,
        sentinelUsername: config.sentinelUsername,
        sentinelPassword: config.sentinelPassword,
        enableTLSForSentinelMode: config.tls,
        sentinelTLS: config.tls ? {} : undefined,
        // Told of a failover by the sentinels (+switch-master) rather than finding out when the old
        // master stops answering or refuses a write.
        failoverDetector: true,
        retryStrategy: failoverRetryDelay,
        reconnectOnError,
      },
    };
  }
  if (config.url) return { url: config.url, options: { reconnectOnError } };
  return { options: { ...auth, host: config.host, port: config.port, db: config.db, reconnectOnError } };
};

/** ioredis Cluster options: `perNode` goes to every node's connection (auth, TLS, retries). */
const clusterOptionsOf = (config: RedisConfig, perNode: RedisOptions): ClusterOptions => ({
  redisOptions: {
    username: config.username,
    password: config.password,
    tls: config.tls ? {} : undefined,
    reconnectOnError,
    ...perNode,
  },
  // Set on the cluster itself too: it pipelines per node.
  enableAutoPipelining: perNode.enableAutoPipelining,
  clusterRetryStrategy: failoverRetryDelay,
});

/**
 * A new connection. `extra` says what it is for: e.g. `{ maxRetriesPerRequest: null }` for BullMQ's
 * blocking commands. A finite `maxRetriesPerRequest` is raised on Sentinel and Cluster so commands
 * ride out a failover (see FAILOVER_RETRIES).
 */
export const connectRedis = (config: RedisConfig, extra: RedisOptions = {}): RedisClient => {
  const topology = redisTopologyOf(config);
  const perRequest =
    topology !== 'single' && typeof extra.maxRetriesPerRequest === 'number'
      ? { maxRetriesPerRequest: Math.max(extra.maxRetriesPerRequest, FAILOVER_RETRIES) }
      : {};
  if (topology === 'cluster') return new Cluster(config.nodes!, clusterOptionsOf(config, { ...extra, ...perRequest }));
  const { url, options } = redisOptionsOf(config);
  const merged = { ...options, ...extra, ...perRequest };
  return reconnectingAfterEnd(url ? new Redis(url, merged) : new Redis(merged));
};

/**
 * ioredis ends a connection for good (status 'end', every later command "Connection is closed.")
 * when a reconnect is cut short: a Sentinel failover detected while it was connecting disconnects
 * the connector mid-connect, and the connect attempt then rejects instead of being retried. Seen in
 * the Sentinel test: the engine's command connection died 3 s after a master was killed, and every
 * send() failed from then on. A connection of the plugin that ends without being closed on purpose
 * (quit / disconnect) connects again by itself.
 */
const reconnectingAfterEnd = (client: Redis): Redis => {
  let closing = false;
  const quit = client.quit.bind(client);
  const disconnect = client.disconnect.bind(client);
  client.quit = ((...args: Parameters<Redis['quit']>) => {
    closing = true;
    return quit(...args);
  }) as Redis['quit'];
  client.disconnect = (reconnect = false) => {
    if (!reconnect) closing = true;
    disconnect(reconnect);
  };
  client.on('end', () => {
    if (closing) return;
    const timer = setTimeout(() => {
      if (!closing && client.status === 'end') client.connect().catch(() => undefined);
    }, 200);
    timer.unref?.();
  });
  return client;
};
