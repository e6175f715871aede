import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

import type { Core } from '@strapi/strapi';

import type { GroupConfig, ServerConfig } from '../../server/src/engine/directory';

export interface WorkerProcessConfig {
  redisUrl: string;
  keyPrefix: string;
  timeZone?: string;
  concurrency?: number;
  clockOffsetMs?: number;
  lockDurationMs?: number;
  retry?: { attempts?: number; backoffMs?: number };
  defaultGroupSlug?: string;
  directory: { servers: ServerConfig[]; groups: GroupConfig[] };
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Graceful stop; resolves with the number of messages this process sent. */
  stop(): Promise<number>;
  /** Simulates a crash: no cleanup, in-flight work abandoned. */
  kill(): void;
}

const SCRIPT = path.join(__dirname, 'engine-worker-process.js');

/** Starts a worker process running the plugin's real engine against the same Redis queue. */
export const startWorkerProcess = (config: WorkerProcessConfig): Promise<WorkerProcess> =>
  new Promise((resolve, reject) => {
    const child = fork(SCRIPT, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const timer = setTimeout(() => reject(new Error('worker process did not start within 30 s')), 30_000);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`worker process exited early with code ${code}`)));
    child.once('message', (message: { type: string }) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        child,
        stop: () =>
          new Promise<number>((done, fail) => {
            const stopTimer = setTimeout(() => fail(new Error('worker process did not stop within 30 s')), 30_000);
            child.on('message', (reply: { type: string; sent: number }) => {
              if (reply.type === 'stopped') {
                clearTimeout(stopTimer);
                done(reply.sent);
              }
            });
            child.send('stop');
          }),
        kill: () => child.kill('SIGKILL'),
      });
    });
  });

/** The directory a worker process needs, read through the Strapi under test (passwords decrypted). */
export const directoryOf = async (strapi: Core.Strapi) => {
  const engineService = strapi.plugin('multi-smtp').service('engine') as { directorySource: { load(): Promise<{ servers: ServerConfig[]; groups: GroupConfig[] }> } };
  return engineService.directorySource.load();
};
