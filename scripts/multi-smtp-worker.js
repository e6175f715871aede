#!/usr/bin/env node
/**
 * multi-smtp-worker: a Strapi process that sends mail and serves no HTTP. Run it from the Strapi
 * app's folder (JavaScript or TypeScript), next to web nodes started with `strapi start`:
 *
 *   cd /srv/my-strapi-app && npx multi-smtp-worker
 *
 * It loads the app as `strapi start` does (the same config, database and Redis) but never listens,
 * and runs the plugin's queue workers, campaign fan-out and campaign scheduler, even when the
 * app's shared config says `worker: { enabled: false }` (as the web nodes' should): it sets
 * MULTI_SMTP_ROLE=worker, which the plugin reads (server/src/config/role.ts).
 *
 * A TypeScript app is loaded from its build output (`strapi build`, as `strapi start` needs); when
 * there is none yet, it is compiled first (Strapi's compileStrapi, as `strapi develop` does).
 *
 * SIGTERM or SIGINT: Strapi's destroy runs (campaign fan-outs stop after their page, workers finish
 * their in-flight sends, connections close), then it exits 0. A second signal is ignored while that
 * runs. Exit status 1: the app failed to load (the reason is printed), the plugin is not enabled in
 * it, or the shutdown failed. 64: bad arguments.
 *
 * Prints "multi-smtp-worker: ready ..." on stdout once the workers run.
 */
'use strict';

const { createCommand } = require('./strapi-app');

const EX_USAGE = 64;
const { appDir, say, die, createApp, loadApp, helpFrom } = createCommand('multi-smtp-worker');

const args = process.argv.slice(2);
if (args.includes('-h') || args.includes('--help')) {
  process.stdout.write(helpFrom(__filename));
  process.exit(0);
}
if (args.length > 0) die(`unknown argument "${args[0]}" (run it from the Strapi app's folder, with no arguments; --help)`, EX_USAGE);

const main = async () => {
  // Before Strapi reads its config: this process runs workers whatever worker.enabled says.
  const strapi = await createApp('worker');
  // createStrapi installs handlers that run destroy() even in the middle of load(); ours wait for it.
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');

  let loaded = false;
  let stopping = null;
  const stop = (signal) => {
    if (stopping) return stopping; // npm and some supervisors send the signal twice
    say(`${signal}: stopping (in-flight sends finish first)`);
    stopping = (async () => {
      try {
        await strapi.destroy();
      } catch (error) {
        die(`the shutdown failed: ${error && error.stack ? error.stack : error}`);
      }
      say('stopped');
      process.exit(0);
    })();
    return stopping;
  };
  const onSignal = (signal) => {
    if (loaded) stop(signal);
    else if (!stopping) {
      stopping = 'requested';
      say(`${signal}: stopping once the app has loaded`);
    }
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  const plugin = await loadApp(strapi);
  loaded = true;
  if (stopping === 'requested') {
    stopping = null;
    await stop('signal received while loading');
    return;
  }
  const { worker, campaigns } = plugin.service('runtime').config();
  // campaigns.fanOut false leaves the fan-out and the scheduler to other nodes (config/role.ts).
  const fanOut = campaigns.fanOut === false ? 'campaign fan-out off (campaigns.fanOut: false)' : 'campaign fan-out and scheduler running';
  say(`ready in ${appDir}: queue workers (concurrency ${worker.concurrency}), ${fanOut}; no HTTP. SIGTERM or SIGINT stops it.`);
};

main().catch((error) => die(error && error.stack ? error.stack : String(error)));
