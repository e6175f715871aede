import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

import type { TestDatabase } from './database';
import { TEST_REDIS_URL } from './redis';
import { TEST_ENCRYPTION_KEY } from './strapi';

export interface StrapiProcess {
  child: ChildProcess;
  /** Simulates a crash: no cleanup; locks, jobs and connections are abandoned. */
  kill(): Promise<void>;
  /** Graceful: Strapi's destroy (fan-outs end after their page, workers finish their sends). */
  stop(): Promise<void>;
}

const SCRIPT = path.join(__dirname, 'strapi-process-child.js');

/**
 * Boots the test app with the plugin in a child process, on this database and Redis prefix (see
 * strapi-process-child.js). Resolves once Strapi has bootstrapped.
 */
export const startStrapiProcess = (options: { database: TestDatabase; redisPrefix: string; pluginConfig?: Record<string, unknown> }) =>
  new Promise<StrapiProcess>((resolve, reject) => {
    const config = {
      databaseEnv: options.database.env,
      pluginConfig: {
        encryptionKey: TEST_ENCRYPTION_KEY,
        redis: { url: TEST_REDIS_URL, keyPrefix: options.redisPrefix },
        smtp: { connectionTimeoutMs: 3000, greetingTimeoutMs: 3000, socketTimeoutMs: 5000 },
        ...options.pluginConfig,
      },
    };
    const child = fork(SCRIPT, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const timer = setTimeout(() => reject(new Error('the Strapi process did not start within 60 s')), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the Strapi process exited early with code ${code}`)));
    child.once('message', (message: { type: string }) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      resolve({
        child,
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
