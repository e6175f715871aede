#!/usr/bin/env node
/**
 * Makes sure a Redis answers at REDIS_URL (default redis://127.0.0.1:6379) before tests or the demo.
 * When none answers on the default local address and `redis-server` is installed, starts one on
 * loopback (no persistence); otherwise says so in one line and exits 1.
 */
const { spawnSync } = require('node:child_process');
const net = require('node:net');

const url = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
const host = url.hostname || '127.0.0.1';
const port = Number(url.port || 6379);

const ping = () =>
  new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG') || data.toString().startsWith('-NOAUTH')));
  });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

(async () => {
  if (await ping()) return;
  const local = ['127.0.0.1', 'localhost', '::1'].includes(host);
  const hasServer = spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status === 0;
  if (local && hasServer) {
    console.log(`Redis is not running on ${host}:${port}; starting a local redis-server (no persistence).`);
    spawnSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: 'inherit',
    });
    for (let i = 0; i < 50; i += 1) {
      if (await ping()) return;
      await sleep(100);
    }
  }
  console.error(
    `Redis is not reachable at ${url.href} — start one (e.g. \`redis-server\`, or \`apt-get install redis-server\`) or set REDIS_URL.`
  );
  process.exit(1);
})();
