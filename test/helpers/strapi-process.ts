import { fork, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

import type { TestDatabase } from './database';
import { TEST_REDIS_URL } from './redis';
import { SOURCE_PLUGIN_PATH, TEST_ENCRYPTION_KEY } from './strapi';

export interface StrapiProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port> when started with `listen`, else null. */
  url: string | null;
  /** Simulates a crash: no cleanup; locks, jobs and connections are abandoned. */
  kill(): Promise<void>;
  /** Graceful: Strapi's destroy (fan-outs end after their page, workers finish their sends). */
  stop(): Promise<void>;
}

export interface StrapiProcessOptions {
  database: TestDatabase;
  redisPrefix: string;
  /** Merged over the test defaults (key, Redis URL and prefix, short SMTP timeouts). */
  pluginConfig?: Record<string, unknown>;
  /** Serve HTTP on a free port of 127.0.0.1 (a web node), as `strapi start` does. */
  listen?: boolean;
}

const SCRIPT = path.join(__dirname, 'strapi-process-child.js');
const APP_DIR = path.resolve(__dirname, '..', 'app');
const REGISTER_TS = path.join(__dirname, 'register-ts.js');
/** The command the package ships (package.json bin multi-smtp-worker). */
export const WORKER_COMMAND = path.resolve(__dirname, '..', '..', 'scripts', 'multi-smtp-worker.js');

const pluginConfigOf = (options: StrapiProcessOptions) => ({
  encryptionKey: TEST_ENCRYPTION_KEY,
  redis: { url: TEST_REDIS_URL, keyPrefix: options.redisPrefix },
  smtp: { connectionTimeoutMs: 3000, greetingTimeoutMs: 3000, socketTimeoutMs: 5000 },
  ...options.pluginConfig,
});

/**
 * Boots the test app with the plugin in a child process, on this database and Redis prefix (see
 * strapi-process-child.js). Resolves once Strapi has bootstrapped (and, with `listen`, serves HTTP).
 */
export const startStrapiProcess = (options: StrapiProcessOptions) =>
  new Promise<StrapiProcess>((resolve, reject) => {
    const config = { databaseEnv: options.database.env, pluginConfig: pluginConfigOf(options), listen: options.listen ?? false };
    const child = fork(SCRIPT, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const timer = setTimeout(() => reject(new Error('the Strapi process did not start within 60 s')), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the Strapi process exited early with code ${code}`)));
    child.once('message', (message: { type: string; port?: number | null }) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      resolve({
        child,
        url: message.port ? `http://127.0.0.1:${message.port}` : null,
        async kill() {
          child.kill('SIGKILL');
          await exited;
        },
        async stop() {
          child.send('stop');
          await exited;
        },
      });
    });
  });

export interface WorkerCommand {
  child: ChildProcess;
  /** What it printed so far (stdout and stderr, interleaved). */
  output(): string;
  /** Simulates a crash (SIGKILL). */
  kill(): Promise<void>;
  /** Sends the signal and resolves with the exit code once it has exited. */
  stop(signal?: 'SIGTERM' | 'SIGINT'): Promise<number | null>;
  /** Resolves with the exit code when it exits by itself. */
  exited: Promise<number | null>;
}

/**
 * Runs the shipped `multi-smtp-worker` command as production would, from the test app's folder
 * (`node -r register-ts scripts/multi-smtp-worker.js`: the plugin is loaded from its TypeScript
 * sources), on this database and Redis prefix. With `waitForReady` (default) resolves once it
 * printed its ready line; else at once (to watch it fail).
 */
/** One of the package's commands, run from the test app's folder on this database and Redis prefix (TypeScript sources through register-ts). */
const spawnCommand = (command: string, options: StrapiProcessOptions) => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.database.env,
    MULTI_SMTP_PLUGIN_PATH: SOURCE_PLUGIN_PATH,
    MULTI_SMTP_TEST_CONFIG: JSON.stringify(pluginConfigOf(options)),
    STRAPI_TELEMETRY_DISABLED: 'true',
  };
  delete env.MULTI_SMTP_ROLE; // the command sets it itself
  return spawn(process.execPath, ['-r', REGISTER_TS, command], { cwd: APP_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
};

export const startWorkerCommand = (options: StrapiProcessOptions & { waitForReady?: boolean; timeoutMs?: number }) =>
  new Promise<WorkerCommand>((resolve, reject) => {
    const child = spawnCommand(WORKER_COMMAND, options);
    let output = '';
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const handle: WorkerCommand = {
      child,
      output: () => output,
      exited,
      async kill() {
        child.kill('SIGKILL');
        await exited;
      },
      async stop(signal = 'SIGTERM') {
        child.kill(signal);
        return exited;
      },
    };
    let ready = options.waitForReady === false;
    const timer = setTimeout(() => {
      if (ready) return;
      child.kill('SIGKILL');
      reject(new Error(`multi-smtp-worker was not ready within ${options.timeoutMs ?? 60_000} ms:\n${output.slice(-4000)}`));
    }, options.timeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > 200_000) output = output.slice(-100_000);
      if (!ready && /^multi-smtp-worker: ready/m.test(output)) {
        ready = true;
        clearTimeout(timer);
        resolve(handle);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', reject);
    void exited.then((code) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`multi-smtp-worker exited with code ${code} before it was ready:\n${output.slice(-4000)}`));
    });
    if (ready) {
      clearTimeout(timer);
      resolve(handle);
    }
  });

/** The key rotation command the package ships (package.json bin multi-smtp-rotate-key). */
export const ROTATE_KEY_COMMAND = path.resolve(__dirname, '..', '..', 'scripts', 'multi-smtp-rotate-key.js');

/** Runs multi-smtp-rotate-key from the test app's folder, as an operator would; resolves with its exit code and output. */
export const runRotateKeyCommand = (options: StrapiProcessOptions) =>
  new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawnCommand(ROTATE_KEY_COMMAND, options);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
