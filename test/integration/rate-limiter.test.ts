import Redis from 'ioredis';

import { createRateLimiter } from '../../server/src/engine/rate-limiter';
import { deleteKeys, redisTestPrefix, testRedis } from '../helpers/redis';
import { refusingPort } from '../helpers/smtp-servers';

/** The public endpoints' limiter against a real Redis, and against one that is down. */
describe('rate limiter', () => {
  const prefix = redisTestPrefix();
  let redis: Redis;
  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  const NOW = Date.parse('2030-01-01T10:00:10.000Z');

  it('counts per bucket and client across limiter instances (processes) sharing Redis', async () => {
    const one = createRateLimiter({ redis: () => redis, keyPrefix: () => prefix });
    const two = createRateLimiter({ redis: () => redis, keyPrefix: () => prefix });
    await redis.ping(); // ready
    const answers = [];
    for (let i = 0; i < 4; i += 1) answers.push((await (i % 2 ? one : two).hit('unsubscribe', '198.51.100.1', 3, NOW)).allowed);
    expect(answers).toEqual([true, true, true, false]);
    expect((await one.hit('unsubscribe', '198.51.100.2', 3, NOW)).allowed).toBe(true);
    expect((await one.hit('track', '198.51.100.1', 3, NOW)).allowed).toBe(true);
    // The next minute starts afresh; Retry-After says when.
    expect((await one.hit('unsubscribe', '198.51.100.1', 3, NOW)).retryAfterSec).toBe(50);
    expect((await one.hit('unsubscribe', '198.51.100.1', 3, NOW + 60_000)).allowed).toBe(true);
  });

  it('still limits, in memory, while Redis is down (never lets a flood through)', async () => {
    const down = new Redis({ host: '127.0.0.1', port: await refusingPort(), lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const fallbacks: string[] = [];
    const limiter = createRateLimiter({ redis: () => down, keyPrefix: () => prefix, onFallback: (error) => fallbacks.push(error.message) });
    const answers = [];
    for (let i = 0; i < 5; i += 1) answers.push((await limiter.hit('unsubscribe', '203.0.113.9', 3, NOW)).allowed);
    expect(answers).toEqual([true, true, true, false, false]);
    expect((await limiter.hit('unsubscribe', '203.0.113.10', 3, NOW)).allowed).toBe(true);
    expect((await limiter.hit('unsubscribe', '203.0.113.9', 3, NOW + 60_000)).allowed).toBe(true);
    // Said once per outage, not once per request.
    expect(fallbacks).toHaveLength(1);
    down.disconnect();
  });

  it('keeps its memory bounded when many clients arrive during an outage', async () => {
    const down = new Redis({ host: '127.0.0.1', port: await refusingPort(), lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const limiter = createRateLimiter({ redis: () => down, keyPrefix: () => prefix, maxMemoryClients: 100 });
    for (let i = 0; i < 1000; i += 1) await limiter.hit('track', `client-${i}`, 1, NOW);
    // The newest clients are still counted.
    expect((await limiter.hit('track', 'client-999', 1, NOW)).allowed).toBe(false);
    down.disconnect();
  });
});
