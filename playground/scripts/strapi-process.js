/**
 * Helpers to run the playground's Strapi as a child process: make sure the plugin is built, start
 * the Strapi CLI, wait until it answers, and stop it together with everything it started.
 * Used by playground/scripts/demo.js and test/browser/run.js.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const PLAYGROUND_DIR = path.resolve(__dirname, '..');
// The CLI file itself: its package `exports` hide bin/, so go through package.json.
const STRAPI_PACKAGE_JSON = require.resolve('@strapi/strapi/package.json', { paths: [PLAYGROUND_DIR] });
const STRAPI_CLI = path.join(path.dirname(STRAPI_PACKAGE_JSON), require(STRAPI_PACKAGE_JSON).bin);

/** What `npm run build` compiles, and the files Strapi needs from its output. */
const PLUGIN_SOURCES = ['server/src', 'admin/src', 'shared', 'strapi-server.ts', 'strapi-admin.ts', 'package.json'];
const PLUGIN_OUTPUTS = ['dist/server/index.js', 'dist/admin/index.js'];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Newest modification time (ms) of a file or of any file under a folder; 0 when it does not exist. */
function newestMtime(target) {
  let stat;
  try {
    stat = fs.statSync(target);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  return fs
    .readdirSync(target)
    .reduce((newest, entry) => Math.max(newest, newestMtime(path.join(target, entry))), stat.mtimeMs);
}

/** Why the plugin needs (re)building, or null when dist/ is there and newer than the sources. */
function pluginBuildReason() {
  const outputs = PLUGIN_OUTPUTS.map((file) => path.join(REPO_ROOT, file));
  const missing = outputs.find((file) => !fs.existsSync(file));
  if (missing) return `${path.relative(REPO_ROOT, missing)} is missing`;
  const builtAt = Math.min(...outputs.map((file) => fs.statSync(file).mtimeMs));
  const changedAt = Math.max(...PLUGIN_SOURCES.map((source) => newestMtime(path.join(REPO_ROOT, source))));
  return changedAt > builtAt ? 'the sources changed since the last build' : null;
}

/** Runs `npm run build` in the repo root when dist/ is missing or stale. Throws if the build fails. */
function ensurePluginBuilt({ log = console.log } = {}) {
  const reason = pluginBuildReason();
  if (!reason) return false;
  log(`Building the plugin (${reason}): npm run build`);
  const result = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`npm run build failed (exit code ${result.status})`);
  return true;
}

/** Resolves true when nothing listens on 127.0.0.1:port. */
function isPortFree(port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1 that was free a moment ago. */
async function freePort() {
  const probe = net.createServer();
  await new Promise((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * Starts `strapi <args>` in `appDir` as the leader of a new process group, so stop() can end
 * Strapi and everything it forks (the develop command runs a cluster worker and Vite) at once.
 *
 * `output`: 'inherit' to share this terminal, or a file path to write Strapi's output to.
 */
function startStrapiCli({ appDir = PLAYGROUND_DIR, args, env = {}, output = 'inherit' }) {
  let logFd;
  let stdio = ['ignore', 'inherit', 'inherit'];
  if (output !== 'inherit') {
    logFd = fs.openSync(output, 'w');
    stdio = ['ignore', logFd, logFd];
  }
  const child = spawn(process.execPath, [STRAPI_CLI, ...args], {
    cwd: appDir,
    detached: true,
    stdio,
    env: {
      ...process.env,
      // No telemetry, and no browser window opened by Vite.
      STRAPI_TELEMETRY_DISABLED: 'true',
      BROWSER: 'none',
      ...env,
    },
  });
  if (logFd !== undefined) fs.closeSync(logFd);

  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });

  // Last resort if this process ends without calling stop(): no Strapi left behind.
  const killGroupNow = () => {
    if (exitInfo) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killGroupNow);

  return {
    child,
    /** { code, signal } once Strapi exited, else null. */
    get exitInfo() {
      return exitInfo;
    },
    exited,
    /** SIGTERM to the whole group, SIGKILL after `graceMs`. */
    async stop(graceMs = 10000) {
      process.removeListener('exit', killGroupNow);
      if (exitInfo) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        return;
      }
      const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
      if (timedOut) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await exited;
      }
      // The group may still hold a worker that outlived the leader.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // nothing left
      }
    },
  };
}

/**
 * Polls `url` until it answers with a status `isReady` accepts. Fails early when `strapi` exits,
 * and after `timeoutMs` with a message saying what was waited for.
 */
async function waitForHttp(url, { strapi, timeoutMs, isReady = (status) => status < 500, what = url }) {
  const startedAt = Date.now();
  let lastProblem = 'no answer yet';
  while (Date.now() - startedAt < timeoutMs) {
    if (strapi && strapi.exitInfo) {
      const { code, signal } = strapi.exitInfo;
      throw new Error(`Strapi exited (code ${code}, signal ${signal}) before ${what} was ready`);
    }
    try {
      const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
      await response.arrayBuffer();
      if (isReady(response.status)) return Date.now() - startedAt;
      lastProblem = `HTTP ${response.status}`;
    } catch (error) {
      lastProblem = error.cause ? error.cause.code || error.cause.message : error.message;
    }
    await sleep(500);
  }
  throw new Error(`Timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what} (${url}): ${lastProblem}`);
}

module.exports = {
  REPO_ROOT,
  PLAYGROUND_DIR,
  ensurePluginBuilt,
  pluginBuildReason,
  isPortFree,
  freePort,
  startStrapiCli,
  waitForHttp,
};
