import { createHash } from 'node:crypto';

import type { Cluster, Redis } from 'ioredis';

/**
 * A Lua script run by EVALSHA, loaded with EVAL when Redis does not know it yet (a restart, a
 * failover, a new node). Not ioredis' defineCommand: the engine's connection is auto-pipelined, and
 * a pipeline opened earlier in the same tick would lack a command defined after it (ioredis copies
 * the defined commands when it opens one). The digest is computed once, where the script is made.
 */
export const redisScript = (lua: string) => {
  const sha = createHash('sha1').update(lua).digest('hex');
  return async <T>(redis: Redis | Cluster, keys: string[], args: Array<string | number>): Promise<T> => {
    try {
      return (await redis.evalsha(sha, keys.length, ...keys, ...args)) as T;
    } catch (error) {
      if (!/NOSCRIPT/.test((error as Error).message)) throw error;
      return (await redis.eval(lua, keys.length, ...keys, ...args)) as T;
    }
  };
};
