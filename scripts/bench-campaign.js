#!/usr/bin/env node
/**
 * `npm run bench:campaign`: fans a 200,000-recipient campaign out to counting SMTP sinks and
 * measures Redis memory (peak) and the enqueue rate. The benchmark is TypeScript
 * (scripts/bench/campaign.ts, which says what it does and lists its settings); this launcher lets
 * Node load it (the same @swc/core hook as scripts/bench.js) and, unless BENCH_PRIVATE_REDIS=0,
 * first starts a Redis of its own so that the memory figure is the campaign's alone. The last
 * line of stdout is one JSON object with every result.
 */
require('../test/helpers/register-ts');
const { startPrivateRedis } = require('./bench/private-redis.ts');

(async () => {
  const privateRedis = process.env.BENCH_PRIVATE_REDIS === '0' ? null : await startPrivateRedis();
  // Before anything reads it (test/helpers/redis.ts takes it at load).
  if (privateRedis) process.env.REDIS_URL = privateRedis.url;
  await require('./bench/campaign.ts').main(privateRedis);
})().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
