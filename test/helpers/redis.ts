import { randomBytes } from 'node:crypto';

import Redis from 'ioredis';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix unique to this run and process, so parallel or repeated runs never share keys. */
export const redisTestPrefix = () => `mst-${process.pid}-${randomBytes(4).toString('hex')}`;

/** A plain client for assertions; close it in afterAll. */
export const testRedis = () => new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: false });

/** Removes every key under a prefix (SCAN, not KEYS, so a shared Redis is not blocked). */
export const deleteKeys = async (redis: Redis, prefix: string) => {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
};
