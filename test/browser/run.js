#!/usr/bin/env node
/**
 * Browser test: the plugin's admin pages in a real Strapi, driven through Debian's Chromium.
 *
 *   npm run test:browser        (after `npm run build`; it builds the plugin itself when dist/ is stale)
 *
 * 1. copies the playground app into playground/.tmp/ (fresh SQLite, no demo seeding),
 * 2. builds its admin panel (`strapi build`) and starts it (`strapi start`) on a free loopback port,
 * 3. starts an SMTP sink on a free loopback port,
 * 4. registers the first admin through the API, then, in the browser: logs in, opens Multi SMTP,
 *    adds a server pointing at the sink, tests the connection and sends a test email,
 * 5. checks the sink received that email,
 * 6. runs the campaign scenario (campaign-scenario.js): composes a campaign to a mailing list,
 *    sends a test, starts, pauses and resumes it, watching the progress bar; checks the sink got
 *    it once per subscriber,
 * 7. runs the audience scenario (audience-scenario.js): adds a list, imports a CSV file into it (one
 *    row refused), filters and exports the subscribers, suppresses a domain and removes it,
 * 8. runs the reports scenario (reports-scenario.js): a relay refusing 10 % of recipients sends a
 *    campaign and is paused by protection, a complaint and a soft bounce come in through the inbound
 *    endpoint; the reports overview draws its charts with that data, the relay, campaign, delivery
 *    log and alerts pages show it, and lifting the alert lets the relay finish the campaign,
 * 9. runs the routing scenario (routing-scenario.js): edits a routing rule's recipient domain and
 *    uses the "where would this message go?" tester to see a message routed by it,
 * 10. runs the sending scenario (sending-scenario.js): response rules (a custom rule added, a bad
 *     pattern refused, a shipped rule turned off), a server's allowed From domains, local address and
 *     destination limits, a group's sticky rotation and a campaign's segment routing, each saved and
 *     kept across a reload.
 *
 * Prints `browser: N passed, N failed` last and exits non-zero on any failure. Screenshots (key steps
 * and failures) and Strapi's output go to test/browser/screenshots/.
 *
 * Environment: REDIS_URL, CHROMIUM_PATH (default /usr/bin/chromium), KEEP_BROWSER_TEST_APP=1 to keep
 * the temporary app folder for a look afterwards.
 */
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const { chromium } = require('playwright-core');

const { startCapturingSmtpServer } = require('../../playground/scripts/capture-smtp');
const { createAdminApi } = require('./admin-api');
const { defineAudienceTests } = require('./audience-scenario');
const { defineCampaignTests } = require('./campaign-scenario');
const { defineReportsTests } = require('./reports-scenario');
const { defineRoutingTests } = require('./routing-scenario');
const { defineSendingTests } = require('./sending-scenario');
const {
  PLAYGROUND_DIR,
  REPO_ROOT,
  ensurePluginBuilt,
  freePort,
  startStrapiCli,
  waitForHttp,
} = require('../../playground/scripts/strapi-process');

const SCREENSHOTS_DIR = path.join(__dirname, 'screenshots');
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

const ADMIN = { firstname: 'Browser', lastname: 'Tester', email: 'browser-test@example.com', password: 'Br0wser-Test!' };

// Bounded waits. On two idle cores the admin build takes about 1.5 min and the whole run about
// 2.5 min; the limits leave room for a busy machine (the build took 3.5 min under heavy load).
const ADMIN_BUILD_TIMEOUT_MS = 8 * 60 * 1000;
const STRAPI_READY_TIMEOUT_MS = 2 * 60 * 1000;
const UI_TIMEOUT_MS = 30 * 1000;
const WHOLE_RUN_TIMEOUT_MS = 15 * 60 * 1000;

const startedAt = Date.now();
// Playwright colours its error messages; plain text reads better in CI logs.
const ANSI_COLOURS = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const plain = (text) => text.replace(ANSI_COLOURS, '');
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const log = (message) => console.log(`[browser ${seconds(Date.now() - startedAt).padStart(7)}] ${message}`);

/** Everything to undo at the end, newest first. */
const cleanups = [];

async function cleanUp() {
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop();
    try {
      await cleanup();
    } catch (error) {
      console.error(`  cleanup failed: ${error.message}`);
    }
  }
}

/** Rejects with a message naming `what` if `promise` takes longer than `ms`. */
async function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${seconds(ms)}: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function ensureRedis() {
  const check = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'check-redis.js')], { stdio: 'inherit' });
  if (check.status !== 0) throw new Error('Redis is needed (see the message above)');
}

/**
 * A copy of the playground app under playground/.tmp/, so the test never touches the demo's
 * database or admin build. Inside the repo, Node and Vite find packages in the repo's node_modules.
 */
function createTestApp() {
  const appDir = path.join(PLAYGROUND_DIR, '.tmp', `browser-test-${process.pid}`);
  fs.rmSync(appDir, { recursive: true, force: true });
  for (const entry of ['config', 'src', 'package.json', 'tsconfig.json', 'favicon.png']) {
    fs.cpSync(path.join(PLAYGROUND_DIR, entry), path.join(appDir, entry), { recursive: true });
  }
  fs.mkdirSync(path.join(appDir, 'public', 'uploads'), { recursive: true });
  if (process.env.KEEP_BROWSER_TEST_APP !== '1') {
    cleanups.push(() => fs.rmSync(appDir, { recursive: true, force: true }));
  }
  return appDir;
}

/** Deletes the Redis keys this run's Strapi wrote (best effort). */
async function deleteRedisKeys(prefix) {
  const Redis = require('ioredis');
  const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379', {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Prints the end of a log file, to show why Strapi failed. */
function printLogTail(file, lines = 40) {
  if (!fs.existsSync(file)) return;
  const tail = fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines);
  console.error(`--- last ${tail.length} lines of ${path.relative(REPO_ROOT, file)} ---\n${tail.join('\n')}\n---`);
}

/** Builds the admin panel, then starts Strapi in `appDir`; returns its base URL and log file. */
async function bootStrapi(appDir, env, timings) {
  const buildLog = path.join(SCREENSHOTS_DIR, 'strapi-build.log');
  const serverLog = path.join(SCREENSHOTS_DIR, 'strapi.log');

  log('building the admin panel (strapi build)...');
  const buildStartedAt = Date.now();
  const build = startStrapiCli({ appDir, args: ['build'], env, output: buildLog });
  cleanups.push(() => build.stop());
  const { code } = await within(ADMIN_BUILD_TIMEOUT_MS, 'strapi build', build.exited).catch((error) => {
    printLogTail(buildLog);
    throw error;
  });
  if (code !== 0) {
    printLogTail(buildLog);
    throw new Error(`strapi build failed (exit code ${code}); full output in ${path.relative(REPO_ROOT, buildLog)}`);
  }
  timings.adminBuild = Date.now() - buildStartedAt;
  log(`admin panel built in ${seconds(timings.adminBuild)}`);

  const bootStartedAt = Date.now();
  const strapi = startStrapiCli({ appDir, args: ['start'], env, output: serverLog });
  cleanups.push(() => strapi.stop());
  const baseUrl = `http://127.0.0.1:${env.PORT}`;
  try {
    await waitForHttp(`${baseUrl}/_health`, {
      strapi,
      timeoutMs: STRAPI_READY_TIMEOUT_MS,
      isReady: (status) => status === 204 || status === 200,
      what: 'Strapi to start',
    });
    await waitForHttp(`${baseUrl}/admin`, {
      strapi,
      timeoutMs: STRAPI_READY_TIMEOUT_MS,
      isReady: (status) => status === 200,
      what: 'the admin panel',
    });
  } catch (error) {
    printLogTail(serverLog);
    throw error;
  }
  timings.boot = Date.now() - bootStartedAt;
  log(`Strapi answers at ${baseUrl} (started in ${seconds(timings.boot)})`);
  return { baseUrl, serverLog };
}

/**
 * The first admin of a fresh app, made through the same endpoint the registration page uses.
 * Returns the admin's JWT, for the tests that prepare data through the admin API.
 */
async function registerFirstAdmin(baseUrl) {
  const response = await fetch(`${baseUrl}/admin/register-admin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ADMIN),
    signal: AbortSignal.timeout(UI_TIMEOUT_MS),
  });
  if (!response.ok) {
    throw new Error(`registering the first admin failed: HTTP ${response.status} ${await response.text()}`);
  }
  return (await response.json()).data.token;
}

let screenshotCount = 0;
async function screenshot(page, name) {
  screenshotCount += 1;
  const file = path.join(SCREENSHOTS_DIR, `${String(screenshotCount).padStart(2, '0')}-${name}.png`);
  try {
    await page.screenshot({ path: file, fullPage: true });
  } catch (error) {
    log(`could not save screenshot ${name}: ${error.message}`);
  }
  return file;
}

/** A button, or a link styled as one (the design system renders both), by its visible name. */
const buttonOrLink = (scope, name) =>
  scope.getByRole('button', { name, exact: true }).or(scope.getByRole('link', { name, exact: true }));

/** A form field by its label; required fields show "Label*", so the star is optional. */
const field = (scope, label) => scope.getByLabel(new RegExp(`^${label}\\s*\\*?$`));

// ---------------------------------------------------------------------------------------------
// The tests. They share one page and run in order; each one starts where the previous one ended.
// ---------------------------------------------------------------------------------------------

function defineTests({ baseUrl, sink, adminToken, inboundToken }) {
  const serverName = `Browser test relay ${process.pid}`;
  const recipient = 'browser-test-recipient@example.com';
  const subject = `Browser test ${new Date().toISOString()}`;
  // The scenarios seed and check data through the admin API (admin-api.js).
  const { api, call } = createAdminApi({ baseUrl, adminToken, timeoutMs: UI_TIMEOUT_MS });
  const ui = { field, buttonOrLink, screenshot, log, UI_TIMEOUT_MS, api, call };

  return [
    {
      name: 'logs in and opens the Multi SMTP page',
      async run(page) {
        await page.goto(`${baseUrl}/admin`);
        await field(page, 'Email').fill(ADMIN.email);
        await field(page, 'Password').fill(ADMIN.password);
        await page.getByRole('button', { name: 'Login' }).click();

        const pluginLink = page.getByRole('link', { name: 'Multi SMTP', exact: true });
        await pluginLink.waitFor();
        await screenshot(page, 'logged-in');
        await pluginLink.click();

        await page.waitForURL(/\/admin\/plugins\/multi-smtp\/?$/);
        await page.getByRole('heading', { name: 'SMTP servers' }).waitFor();
        await buttonOrLink(page, 'Add server').waitFor();
        await screenshot(page, 'plugin-page');
      },
    },
    {
      name: 'adds a server, tests its connection and sends a test email the SMTP sink receives',
      async run(page) {
        await buttonOrLink(page, 'Add server').click();
        await page.waitForURL(/\/plugins\/multi-smtp\/servers\/new$/);

        await field(page, 'Name').fill(serverName);
        await field(page, 'Host').fill(sink.host);
        // Security before Port: changing the mode resets a port that is still the old mode's default.
        await page.getByRole('combobox', { name: /^Security/ }).click();
        await page.getByRole('option', { name: 'None', exact: true }).click();
        await field(page, 'Port').fill(String(sink.port));
        await screenshot(page, 'server-form');
        await page.getByRole('button', { name: 'Save', exact: true }).click();

        // A new server's page moves from servers/new to servers/<documentId> once saved.
        await page.waitForURL(/\/plugins\/multi-smtp\/servers\/(?!new$)[^/]+$/);
        await page.getByRole('heading', { name: serverName }).waitFor();

        await page.getByRole('button', { name: 'Test connection', exact: true }).click();
        const connectionDialog = page.getByRole('dialog');
        await connectionDialog.getByText('Connection OK', { exact: true }).waitFor();
        await screenshot(page, 'connection-ok');
        await connectionDialog.getByRole('button', { name: 'Close', exact: true }).click();
        await connectionDialog.waitFor({ state: 'hidden' });

        await page.getByRole('button', { name: 'Send test email', exact: true }).click();
        const emailDialog = page.getByRole('dialog');
        await field(emailDialog, 'To').fill(recipient);
        await field(emailDialog, 'Subject').fill(subject);
        await emailDialog.getByRole('button', { name: 'Send', exact: true }).click();
        await emailDialog.getByText('Accepted', { exact: true }).waitFor();
        await screenshot(page, 'email-accepted');

        const received = await sink.waitForMessage((message) => message.subject === subject, UI_TIMEOUT_MS);
        if (!received.envelopeTo.includes(recipient)) {
          throw new Error(`the sink got the email for ${received.envelopeTo.join(', ')}, not ${recipient}`);
        }
        log(`the SMTP sink received "${received.subject}" for ${received.envelopeTo.join(', ')}`);

        await emailDialog.getByRole('button', { name: 'Close', exact: true }).click();
        await emailDialog.waitFor({ state: 'hidden' });
        await page.getByRole('link', { name: 'Servers', exact: true }).click();
        await page.getByRole('row').filter({ hasText: serverName }).filter({ hasText: `${sink.host}:${sink.port}` }).waitFor();
        await screenshot(page, 'server-listed');
      },
    },
    // Campaigns: compose, test-send, start, pause, resume (test/browser/campaign-scenario.js).
    ...defineCampaignTests({
      sink,
      serverName,
      ui,
    }),
    // Lists, CSV import and export, suppressions (test/browser/audience-scenario.js).
    ...defineAudienceTests({ ui }),
    // Reports, a server's and a campaign's report, the delivery log, alerts (test/browser/reports-scenario.js).
    ...defineReportsTests({
      baseUrl,
      sink,
      inboundToken,
      onCleanup: (cleanup) => cleanups.push(cleanup),
      ui,
    }),
    // Routing rules: edit a rule, then the "where would this message go?" tester (test/browser/routing-scenario.js).
    ...defineRoutingTests({ sink, ui }),
    // Response rules, the server form's sending fields, group rotation, campaign segment routing (test/browser/sending-scenario.js).
    ...defineSendingTests({
      baseUrl,
      sink,
      onCleanup: (cleanup) => cleanups.push(cleanup),
      ui,
    }),
  ];
}

async function runTests(tests, page) {
  const results = [];
  for (const test of tests) {
    const previousFailed = results.some((result) => !result.ok);
    if (previousFailed) {
      results.push({ name: test.name, ok: false, error: new Error('not run: an earlier test failed') });
      continue;
    }
    const testStartedAt = Date.now();
    log(`test: ${test.name}`);
    try {
      await test.run(page);
      results.push({ name: test.name, ok: true, ms: Date.now() - testStartedAt });
      log(`  passed in ${seconds(Date.now() - testStartedAt)}`);
    } catch (error) {
      const file = await screenshot(page, 'FAILED');
      results.push({ name: test.name, ok: false, error, screenshot: file, ms: Date.now() - testStartedAt });
      log(`  FAILED: ${plain(error.message).split('\n')[0]}`);
    }
  }
  return results;
}

async function main() {
  const timings = {};
  fs.rmSync(SCREENSHOTS_DIR, { recursive: true, force: true });
  fs.mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`);
  }

  ensureRedis();
  ensurePluginBuilt({ log });
  const appDir = createTestApp();
  log(`test app: ${path.relative(REPO_ROOT, appDir)}`);

  const sink = await startCapturingSmtpServer({ name: 'browser test sink' });
  cleanups.push(() => sink.close());
  log(`SMTP sink on ${sink.host}:${sink.port}`);

  const redisPrefix = `multi-smtp-browser-${process.pid}-${Date.now()}`;
  cleanups.push(() => within(10000, 'deleting the Redis keys of this run', deleteRedisKeys(redisPrefix)));
  const port = await freePort();
  // The reports scenario posts a complaint and a bounce to the inbound endpoint with this token.
  const inboundToken = crypto.randomBytes(24).toString('hex');
  const env = {
    NODE_ENV: 'production',
    PORT: String(port),
    MULTI_SMTP_INBOUND_TOKEN: inboundToken,
    MULTI_SMTP_PUBLIC_URL: `http://127.0.0.1:${port}`,
    PLAYGROUND_SEED: 'false',
    MULTI_SMTP_PLUGIN_PATH: REPO_ROOT,
    MULTI_SMTP_REDIS_PREFIX: redisPrefix,
    DATABASE_FILENAME: path.join(appDir, '.tmp', 'data.db'),
  };
  const { baseUrl, serverLog } = await bootStrapi(appDir, env, timings);
  const adminToken = await registerFirstAdmin(baseUrl);

  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  cleanups.push(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(UI_TIMEOUT_MS);
  // Show what the page complained about; it explains most failures.
  page.on('pageerror', (error) => log(`page error: ${error.message.split('\n')[0]}`));

  const testsStartedAt = Date.now();
  const results = await runTests(defineTests({ baseUrl, sink, adminToken, inboundToken }), page);
  timings.tests = Date.now() - testsStartedAt;

  const failed = results.filter((result) => !result.ok);
  for (const result of failed) {
    console.error(`\nFAILED: ${result.name}\n  ${plain(result.error.message).replace(/\n/g, '\n  ')}`);
    if (result.screenshot) console.error(`  screenshot: ${path.relative(REPO_ROOT, result.screenshot)}`);
  }
  if (failed.length > 0) printLogTail(serverLog, 25);

  log(
    `timings: admin build ${seconds(timings.adminBuild)}, Strapi start ${seconds(timings.boot)}, ` +
      `browser tests ${seconds(timings.tests)}, whole run ${seconds(Date.now() - startedAt)}`
  );
  return results;
}

/** Prints the summary line and exits; always the last thing the script prints. */
function finish(results) {
  const passed = results.filter((result) => result.ok).length;
  console.log(`browser: ${passed} passed, ${results.length - passed} failed`);
  process.exit(results.length > 0 && passed === results.length ? 0 : 1);
}

const watchdog = setTimeout(async () => {
  console.error(`\nThe browser test did not finish within ${seconds(WHOLE_RUN_TIMEOUT_MS)}; stopping it.`);
  await within(20000, 'cleanup', cleanUp()).catch(() => {});
  finish([{ ok: false }]);
}, WHOLE_RUN_TIMEOUT_MS);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    console.error(`\n${signal}: stopping.`);
    await cleanUp();
    process.exit(1);
  });
}

main()
  .then(async (results) => {
    clearTimeout(watchdog);
    await cleanUp();
    finish(results);
  })
  .catch(async (error) => {
    clearTimeout(watchdog);
    console.error(`\nThe browser test could not run: ${error.message}`);
    await cleanUp();
    // The setup itself failed: count the run as one failed test.
    finish([{ ok: false }]);
  });
