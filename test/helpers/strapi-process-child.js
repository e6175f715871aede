/**
 * A whole Strapi with the plugin (the test app, the plugin's TypeScript sources) in a child
 * process, on a given database and Redis prefix: the campaign runner and the queue workers run
 * here as in production (when the plugin config enables them). Tests kill it with SIGKILL to show
 * what a crash leaves behind.
 *
 * IPC: argv[2] is JSON { databaseEnv, pluginConfig, listen } (databaseEnv: see
 * test/helpers/database.ts). Once Strapi has loaded (bootstrap done: runner and workers started)
 * and, with `listen`, its HTTP server listens on a free port of 127.0.0.1, it sends
 * {type:'ready', port} (port null without `listen`). On 'stop' it destroys Strapi and sends
 * {type:'stopped'} before exiting.
 */
require('./register-ts');
const path = require('node:path');

const { createStrapi } = require('@strapi/strapi');

const { databaseEnv, pluginConfig, listen } = JSON.parse(process.argv[2]);
const appDir = path.resolve(__dirname, '..', 'app');

Object.assign(process.env, databaseEnv);
process.env.MULTI_SMTP_PLUGIN_PATH = path.resolve(__dirname, '..', 'plugin-entry');
process.env.MULTI_SMTP_TEST_CONFIG = JSON.stringify(pluginConfig);

/** Strapi's HTTP server on a free port (not strapi.listen(): no startup banner, telemetry or browser). */
const listenOnFreePort = (strapi) =>
  new Promise((resolve, reject) => {
    strapi.server.httpServer.once('error', reject);
    strapi.server.listen(0, '127.0.0.1', () => resolve(strapi.server.httpServer.address().port));
  });

const main = async () => {
  const strapi = createStrapi({ appDir, distDir: appDir, autoReload: false, serveAdminPanel: false });
  strapi.log.level = process.env.STRAPI_LOG_LEVEL || 'error';
  await strapi.load();
  const port = listen ? await listenOnFreePort(strapi) : null;
  process.send({ type: 'ready', port });
  process.on('message', async (message) => {
    if (message !== 'stop') return;
    await strapi.destroy();
    process.send({ type: 'stopped' }, () => process.exit(0));
  });
};

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
