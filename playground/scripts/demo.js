#!/usr/bin/env node
/**
 * `npm run demo`: the plugin in a real Strapi, with three local SMTP servers to send to.
 *
 * 1. builds the plugin (npm run build) when dist/ is missing or older than the sources;
 * 2. starts three capturing SMTP servers on 127.0.0.1 (the "demo relays") and a page listing
 *    what they received;
 * 3. runs `strapi develop` in playground/, which seeds an admin user, two groups and three SMTP
 *    servers pointing at the relays (see playground/src/index.js);
 * 4. prints where to log in. Ctrl-C stops everything.
 *
 * Environment: REDIS_URL (default redis://127.0.0.1:6379), PORT (Strapi, default 1337),
 * MULTI_SMTP_ENCRYPTION_KEY (default: a fixed demo key).
 */
const demo = require('../src/demo-settings');
const { startCapturingSmtpServer, startMailViewer } = require('./capture-smtp');
const { PLAYGROUND_DIR, ensurePluginBuilt, isPortFree, startStrapiCli, waitForHttp } = require('./strapi-process');

const STRAPI_PORT = Number(process.env.PORT || 1337);
const ADMIN_URL = `http://127.0.0.1:${STRAPI_PORT}/admin`;
// `strapi develop` is ready in about 25 s on two idle cores; a busy machine can take minutes.
const STRAPI_READY_TIMEOUT_MS = 5 * 60 * 1000;

const cleanups = [];
let stopping = false;

async function stopEverything(exitCode) {
  if (stopping) return;
  stopping = true;
  if (cleanups.length > 0) console.log('\nStopping the demo...');
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      console.error(`  while stopping: ${error.message}`);
    }
  }
  process.exit(exitCode);
}

async function checkPortsAreFree() {
  const wanted = [
    { port: STRAPI_PORT, what: 'Strapi (set PORT to use another)' },
    { port: demo.mailViewerPort, what: 'the mail viewer' },
    ...demo.relays.map((relay) => ({ port: relay.port, what: relay.name })),
  ];
  for (const { port, what } of wanted) {
    if (!(await isPortFree(port))) {
      throw new Error(`Port ${port} on 127.0.0.1 is already in use; it is needed for ${what}. Is another demo running?`);
    }
  }
}

async function main() {
  process.on('SIGINT', () => stopEverything(0));
  process.on('SIGTERM', () => stopEverything(0));

  await checkPortsAreFree();
  ensurePluginBuilt();

  const relays = [];
  for (const relay of demo.relays) {
    const smtp = await startCapturingSmtpServer({ name: relay.name, port: relay.port });
    cleanups.push(() => smtp.close());
    relays.push(smtp);
  }
  const viewer = await startMailViewer(relays, demo.mailViewerPort);
  cleanups.push(() => viewer.close());
  console.log(`Demo SMTP servers listening: ${relays.map((smtp) => `${smtp.name} on 127.0.0.1:${smtp.port}`).join(', ')}`);

  console.log(`Starting Strapi in ${PLAYGROUND_DIR} (strapi develop; about half a minute)...`);
  const strapi = startStrapiCli({
    args: ['develop'],
    env: { PORT: String(STRAPI_PORT), NODE_ENV: 'development' },
  });
  cleanups.push(() => strapi.stop());
  strapi.exited.then(({ code, signal }) => {
    if (stopping) return;
    console.error(`Strapi stopped unexpectedly (code ${code}, signal ${signal}); see its output above.`);
    stopEverything(1);
  });

  await waitForHttp(`http://127.0.0.1:${STRAPI_PORT}/_health`, {
    strapi,
    timeoutMs: STRAPI_READY_TIMEOUT_MS,
    isReady: (status) => status === 204 || status === 200,
    what: 'the Strapi server',
  });
  await waitForHttp(ADMIN_URL, {
    strapi,
    timeoutMs: STRAPI_READY_TIMEOUT_MS,
    isReady: (status) => status === 200,
    what: 'the admin panel',
  });

  const line = '='.repeat(66);
  console.log(`
${line}
  Multi SMTP demo is ready

  Admin panel:  ${ADMIN_URL}
  Log in with:  ${demo.admin.email} / ${demo.admin.password}
  Plugin page:  ${ADMIN_URL}/plugins/multi-smtp
  Mail viewer:  ${viewer.url}  (what the demo SMTP servers received)

  Seeded: groups ${demo.groups.map((group) => `"${group.name}"`).join(' and ')}; servers ${demo.relays
    .map((relay) => `"${relay.name}" (127.0.0.1:${relay.port}, weight ${relay.weight})`)
    .join(', ')}.
  Press Ctrl-C to stop.
${line}
`);
}

main().catch((error) => {
  console.error(`\nDemo failed: ${error.message}`);
  stopEverything(1);
});
