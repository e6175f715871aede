/**
 * An extra worker process: the plugin's real sending engine (server/src/engine), consuming the same
 * BullMQ queue in the same Redis as the Strapi under test, with the directory of servers and groups
 * handed over as JSON (what the Strapi process reads from its database). Tests and the benchmark
 * start several of these to show that routing and quotas hold across processes.
 *
 * IPC: argv[2] is the JSON config; sends {type:'ready'} once the worker runs; on 'stop' it closes
 * gracefully (in-flight sends finish) and sends {type:'stopped', sent} before exiting.
 */
require('./register-ts');
const path = require('node:path');

const { Redis } = require('ioredis');

const engineDir = path.join(__dirname, '..', '..', 'server', 'src', 'engine');
const { createSendingEngine } = require(path.join(engineDir, 'sending-engine.ts'));
const { createDirectoryCache } = require(path.join(engineDir, 'directory.ts'));

const config = JSON.parse(process.argv[2]);

const main = async () => {
  const commands = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
  const bull = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const directory = createDirectoryCache({ load: async () => config.directory }, { maxAgeMs: 60_000, defaultGroupSlug: config.defaultGroupSlug });
  let sent = 0;
  const engine = createSendingEngine({
    redis: commands,
    bullConnection: bull,
    keyPrefix: config.keyPrefix,
    timeZone: config.timeZone ?? 'UTC',
    directory,
    timeouts: { connectionTimeoutMs: 5000, greetingTimeoutMs: 5000, socketTimeoutMs: 10000 },
    worker: { enabled: true, concurrency: config.concurrency ?? 10 },
    retry: config.retry,
    lockDurationMs: config.lockDurationMs,
    clock: config.clockOffsetMs ? () => Date.now() + config.clockOffsetMs : undefined,
    onEvent: (event) => {
      if (event === 'sent') sent += 1;
    },
    onError: (error, context) => process.stderr.write(`[worker ${process.pid}] ${context}: ${error && error.message}\n`),
  });
  engine.start();
  process.send({ type: 'ready' });
  process.on('message', async (message) => {
    if (message !== 'stop') return;
    await engine.stop();
    await Promise.all([commands.quit(), bull.quit()]);
    process.send({ type: 'stopped', sent }, () => process.exit(0));
  });
};

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
