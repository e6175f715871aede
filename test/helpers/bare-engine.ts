import { Redis } from 'ioredis';

import { createDirectoryCache, type GroupConfig, type ServerConfig } from '../../server/src/engine/directory';
import { createSendingEngine, type EngineOptions, type SendingEngine } from '../../server/src/engine/sending-engine';
import { deleteKeys, redisTestPrefix, TEST_REDIS_URL, testRedis } from './redis';

/**
 * The sending engine on its own (plain TypeScript, no Strapi), on the real Redis, for tests that
 * look at the engine's paths: one group of the given servers, a private key prefix, and stop()
 * that closes everything and removes the prefix's keys (the plugin's and BullMQ's).
 */

/** A server on a test SMTP sink on loopback, no limits; `overrides` for what a test needs. */
export const sinkServer = (id: string, port: number, overrides: Partial<ServerConfig> = {}): ServerConfig => ({
  id,
  name: id,
  groupId: 'g1',
  weight: 1,
  priority: 0,
  enabled: true,
  ratePerSecond: null,
  hourlyLimit: null,
  dailyLimit: null,
  maxConnections: 4,
  warmup: null,
  fromAddress: 'app@example.com',
  fromName: null,
  allowedFromDomains: [],
  endpoint: { host: '127.0.0.1', port, security: 'none', tlsRejectUnauthorized: true, username: null, password: null },
  version: '1',
  ...overrides,
});

export interface BareEngine {
  engine: SendingEngine;
  /** The engine's command connection (shared; closed by stop()). */
  redis: Redis;
  /** The key prefix of this engine's keys. */
  prefix: string;
  stop(): Promise<void>;
}

/** Creates (does not start) an engine whose default group `slug` (id g1) holds `servers`. */
export const createBareEngine = (
  servers: ServerConfig[],
  options: { slug: string; commandRedisUrl?: string } & Partial<Omit<EngineOptions, 'redis' | 'bullConnection' | 'keyPrefix' | 'directory'>>
): BareEngine => {
  const { slug, commandRedisUrl, ...engineOptions } = options;
  const prefix = redisTestPrefix();
  // The engine's command connection; a test may route it through a proxy (helpers/faults.ts).
  const redis = commandRedisUrl ? new Redis(commandRedisUrl, { maxRetriesPerRequest: 1 }) : testRedis();
  const bull = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const group: GroupConfig = { id: 'g1', slug, name: slug, strategy: 'weighted', fallbackGroupId: null, isDefault: true, rotation: 'message', stickyMinutes: 60, serverIds: servers.map((server) => server.id) };
  const directory = createDirectoryCache({ load: async () => ({ servers, groups: [group] }) }, { maxAgeMs: 60_000 });
  const engine = createSendingEngine({
    redis,
    bullConnection: bull,
    keyPrefix: prefix,
    timeZone: 'UTC',
    directory,
    timeouts: { connectionTimeoutMs: 5000, greetingTimeoutMs: 5000, socketTimeoutMs: 10000 },
    worker: { enabled: true, concurrency: 4 },
    retry: { attempts: 3, backoffMs: 100 },
    ...engineOptions,
  });
  return {
    engine,
    redis,
    prefix,
    async stop() {
      await engine.stop();
      await deleteKeys(redis, prefix);
      await deleteKeys(redis, `{${prefix}}`);
      await Promise.all([redis.quit(), bull.quit()]);
    },
  };
};
