import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

import { Redis } from 'ioredis';

/**
 * A Redis of the benchmark's own (`redis-server` on a free loopback port, no persistence), so its
 * memory and CPU figures are the benchmark's alone, not those of whatever else shares the usual
 * Redis (other test runs). Null when `redis-server` is not installed.
 */
export interface PrivateRedis {
  url: string;
  stop(): Promise<void>;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

export const startPrivateRedis = async (): Promise<PrivateRedis | null> => {
  const port = await freePort();
  let child: ChildProcess;
  try {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const started = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    const url = `redis://127.0.0.1:${port}`;
    const deadline = Date.now() + 5000;
    const probe = async () => {
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => undefined); // refused until the server listens: expected while probing
      try {
        await client.connect();
        await client.ping();
        client.disconnect();
        resolve(true);
      } catch {
        client.disconnect();
        if (Date.now() > deadline) resolve(false);
        else setTimeout(() => void probe(), 100);
      }
    };
    void probe();
  });
  if (!started) {
    child.kill('SIGKILL');
    return null;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
};
