/**
 * Infrastructure faults for the fault tests (test/integration/faults*.test.ts), all real, on
 * loopback, without touching the shared Redis or Postgres servers:
 *
 * - `startPrivateRedis(port)`: a redis-server of our own (Debian's /usr/bin/redis-server) with AOF
 *   on, in a temp dir, that a test can kill (SIGKILL, as in a crash) and start again on the same dir
 *   and port. A shell watchdog kills it once this Jest process is gone, so a crashed run cannot leave
 *   it behind; `stop()` (afterAll) kills it and removes the dir.
 * - `startTcpProxy(target)`: an in-process TCP proxy (e.g. in front of Postgres) whose `outage(ms)`
 *   cuts every open connection and refuses new ones (the port stops listening: ECONNREFUSED) for a
 *   while, so a database outage is real at the socket level for the one Strapi that goes through it.
 *   `loseReplyTo(match, outageMs)` forwards the first request that matches, loses the server's reply
 *   to it, then cuts and refuses as outage() does: the server ran the command, the client never
 *   learns it (a Redis killed between running a command and answering it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { Transform } from 'node:stream';
import os from 'node:os';
import path from 'node:path';

import { portAnswers, redisCli } from './redis-topologies';
import { waitFor } from './wait';

const REDIS_SERVER = '/usr/bin/redis-server';
const LOOPBACK = '127.0.0.1';

export interface PrivateRedis {
  port: number;
  url: string;
  dir: string;
  /** SIGKILL (a crash: nothing flushed beyond what appendfsync already wrote), or SIGTERM (a clean shutdown). */
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Starts redis-server again on the same dir and port (it loads the AOF); resolves once it answers PING. Does nothing while it runs. */
  start(): Promise<void>;
  /** Kills it and removes its dir (afterAll). Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * A private Redis with AOF (`appendfsync always` by default: every write acknowledged is on disk, so
 * a SIGKILL loses nothing acknowledged) and no RDB snapshots. Ports 7400-7450 are this file's; a
 * Redis left on the port by a crashed earlier run is shut down first (only ever on that port).
 */
export const startPrivateRedis = async (port: number, { appendfsync = 'always' }: { appendfsync?: 'always' | 'everysec' } = {}): Promise<PrivateRedis> => {
  if (port < 7400 || port > 7450) throw new Error(`private Redis ports are 7400-7450, not ${port}`);
  if (await portAnswers(port)) {
    await redisCli(port, 'SHUTDOWN', 'NOSAVE').catch(() => undefined);
    await waitFor(`port ${port} to be free`, async () => !(await portAnswers(port)), 10_000, 100);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'multi-smtp-faults-redis-'));
  const pidFile = path.join(dir, 'redis.pid');
  const watchdog = spawn(
    'sh',
    ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; [ -f "${pidFile}" ] && kill -9 "$(cat "${pidFile}")"; rm -rf "${dir}"`],
    { stdio: 'ignore', detached: true }
  );
  watchdog.unref();
  let child: ChildProcess | null = null;
  let stopped = false;

  const running = () => child !== null && child.exitCode === null && child.signalCode === null;

  const start = async () => {
    // One process at a time: a second one could not bind the port, and would leave the first untracked.
    if (running()) return;
    const args = [
      '--port', String(port),
      '--bind', LOOPBACK,
      '--dir', dir,
      '--pidfile', pidFile,
      '--logfile', path.join(dir, 'redis.log'),
      '--appendonly', 'yes',
      '--appendfsync', appendfsync,
      '--save', '',
      // BullMQ requires it (an evicted job key would lose mail).
      '--maxmemory-policy', 'noeviction',
    ];
    const spawned = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
    spawned.on('error', () => undefined);
    child = spawned;
    await waitFor(`private redis on ${port} to answer`, async () => (await redisCli(port, 'PING').catch(() => '')) === 'PONG', 15_000, 50);
  };

  const kill = async (signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL') => {
    const current = child;
    if (!current) return;
    child = null;
    if (current.exitCode === null && current.signalCode === null) {
      const exited = new Promise((resolve) => current.once('exit', resolve));
      current.kill(signal);
      await exited;
    }
  };

  await start();
  return {
    port,
    url: `redis://${LOOPBACK}:${port}`,
    dir,
    kill,
    start,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      if (watchdog.pid) {
        try {
          process.kill(watchdog.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
};

export interface TcpProxy {
  host: typeof LOOPBACK;
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections cut by outages so far. */
  readonly cut: number;
  /** True while the proxy refuses connections. */
  readonly down: boolean;
  /**
   * Cuts every open connection now and refuses new ones (nothing listens on the port) for `ms`, then
   * accepts again. Resolves when it accepts again.
   */
  outage(ms: number): Promise<void>;
  /**
   * Arms a trap: the first client chunk for which `match` is true is forwarded, every reply from then
   * on is dropped, and 100 ms later (the server has run it) an outage of `outageMs` follows. Resolves
   * once the outage is over.
   */
  loseReplyTo(match: (request: Buffer) => boolean, outageMs: number): Promise<void>;
  close(): Promise<void>;
}

/** A TCP proxy on a free loopback port that pipes each connection to target. */
export const startTcpProxy = async (target: { host: string; port: number }): Promise<TcpProxy> => {
  const open = new Set<net.Socket>();
  let accepted = 0;
  let cut = 0;
  let down = false;
  let closed = false;
  /** Set by loseReplyTo() until its request has passed. */
  let trap: ((request: Buffer) => void) | null = null;
  /** True from a trapped request until its outage: the server's replies are dropped. */
  let losingReplies = false;

  const server = net.createServer((client) => {
    accepted += 1;
    const upstream = net.connect({ host: target.host, port: target.port });
    open.add(client);
    open.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.pipe(upstream);
    // After the pipe's own listener, so a trapped request has been forwarded when the trap sees it.
    client.on('data', (request: Buffer) => trap?.(request));
    upstream
      .pipe(
        new Transform({
          transform(reply, _encoding, callback) {
            callback(null, losingReplies ? undefined : reply);
          },
        })
      )
      .pipe(client);
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, LOOPBACK, () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));

  await listen(0);
  const { port } = server.address() as net.AddressInfo;

  const cutAll = () => {
    // Both halves of each pair; 'close' handlers remove them from the set.
    const pairs = [...open];
    cut += pairs.length / 2;
    for (const socket of pairs) socket.destroy();
  };

  const proxy: TcpProxy = {
    host: LOOPBACK,
    port,
    get accepted() {
      return accepted;
    },
    get cut() {
      return cut;
    },
    get down() {
      return down;
    },
    async outage(ms) {
      if (down || closed) throw new Error('the proxy is already down');
      down = true;
      // Stop listening first, so a client that reconnects at once is refused, then cut.
      const stopping = stopListening();
      cutAll();
      await stopping;
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (closed) return;
      await listen(port);
      down = false;
    },
    loseReplyTo(match, outageMs) {
      return new Promise<void>((resolve, reject) => {
        trap = (request) => {
          if (!match(request)) return;
          trap = null;
          losingReplies = true;
          setTimeout(() => {
            proxy.outage(outageMs).then(resolve, reject).finally(() => {
              losingReplies = false;
            });
          }, 100);
        };
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      cutAll();
      if (!down) await stopListening();
    },
  };
  return proxy;
};
