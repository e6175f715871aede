/**
 * Real Redis topologies for tests, on loopback, from Debian's redis-server (no mocks):
 *
 * - `startRedisCluster()`: a 6-node Redis Cluster (3 masters, 3 replicas) on ports 7100-7105;
 * - `startRedisSentinel()`: a master on 7200, a replica on 7201 and three sentinels on 7300-7302
 *   (quorum 2, failures noticed after 2 s, so a failover takes a few seconds; shorter
 *   makes a loaded machine fail over on its own).
 *
 * Each node runs from a temp dir of its own, without persistence. `stop()` (call it in afterAll)
 * kills them and removes the dirs. A crashed Jest cannot leave them running for long: a shell
 * watchdog kills them once this process is gone, and a start first shuts down whatever still
 * answers on those ports.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import type { TestSmtpServer } from './smtp-servers';
import { asAdmin, type TestStrapi } from './strapi';
import { waitFor } from './wait';

const run = promisify(execFile);
const REDIS_SERVER = '/usr/bin/redis-server';
const REDIS_CLI = '/usr/bin/redis-cli';
export const LOOPBACK = '127.0.0.1';

export const CLUSTER_PORTS = [7100, 7101, 7102, 7103, 7104, 7105];
export const SENTINEL_MASTER_PORT = 7200;
export const SENTINEL_REPLICA_PORT = 7201;
export const SENTINEL_PORTS = [7300, 7301, 7302];
export const SENTINEL_MASTER_NAME = 'multi-smtp-test';

/** One command to the Redis (or sentinel) on a port, by redis-cli; its reply as text. */
export const redisCli = async (port: number, ...args: string[]): Promise<string> => {
  const { stdout } = await run(REDIS_CLI, ['-h', LOOPBACK, '-p', String(port), ...args], { timeout: 10_000 });
  return stdout.trim();
};

/** True when something listens on the loopback port. */
export const portAnswers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: LOOPBACK, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** Shuts down a Redis or sentinel left on these ports by an earlier run that crashed. */
const clearPorts = async (ports: number[]) => {
  await Promise.all(
    ports.map(async (port) => {
      if (!(await portAnswers(port))) return;
      await redisCli(port, 'SHUTDOWN', 'NOSAVE').catch(() => undefined);
      await waitFor(`port ${port} to be free`, async () => !(await portAnswers(port)), 10_000, 100);
    })
  );
};

interface RedisNodeProcess {
  port: number;
  child: ChildProcess;
}

/** A group of redis-server processes sharing one temp dir, with the watchdog described above. */
const processGroup = (label: string) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), `multi-smtp-${label}-`));
  const nodes = new Map<number, RedisNodeProcess>();
  // Every node writes a pid file; the watchdog kills what they name once this process is gone.
  const watchdog = spawn(
    'sh',
    ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; cat "${dir}"/*.pid 2>/dev/null | xargs -r kill -9; rm -rf "${dir}"`],
    { stdio: 'ignore', detached: true }
  );
  watchdog.unref();

  /** Node files are named by port in the group's dir: <port>.pid, <port>.log, nodes-<port>.conf. */
  const start = async (port: number, args: string[], configFile?: string) => {
    const common = ['--port', String(port), '--bind', LOOPBACK, '--dir', dir, '--pidfile', path.join(dir, `${port}.pid`)];
    const logfile = ['--logfile', path.join(dir, `${port}.log`)];
    const child = spawn(REDIS_SERVER, [...(configFile ? [configFile] : []), ...common, ...logfile, ...args], { stdio: 'ignore', detached: false });
    child.on('error', () => undefined);
    nodes.set(port, { port, child });
    await waitFor(`redis on ${port} to answer`, async () => (await redisCli(port, 'PING').catch(() => '')) === 'PONG', 15_000, 50);
  };

  /** SIGKILL: the node is gone at once, as in a crash. */
  const kill = async (port: number) => {
    const node = nodes.get(port);
    if (!node) return;
    const exited = new Promise((resolve) => node.child.once('exit', resolve));
    node.child.kill('SIGKILL');
    if (node.child.exitCode === null && node.child.signalCode === null) await exited;
    nodes.delete(port);
  };

  const stop = async () => {
    await Promise.all([...nodes.keys()].map(kill));
    rmSync(dir, { recursive: true, force: true });
    if (watchdog.pid) {
      try {
        process.kill(watchdog.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  return { dir, start, kill, stop };
};

const noPersistence = ['--save', '', '--appendonly', 'no'];

export interface TestRedisCluster {
  nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

/** 3 masters and 3 replicas on 7100-7105, each slot served; waits for `cluster_state:ok` on every node. */
export const startRedisCluster = async (): Promise<TestRedisCluster> => {
  await clearPorts(CLUSTER_PORTS);
  const group = processGroup('cluster');
  try {
    await Promise.all(
      CLUSTER_PORTS.map((port) =>
        group.start(port, [
          ...noPersistence,
          '--cluster-enabled', 'yes',
          '--cluster-config-file', `nodes-${port}.conf`,
          '--cluster-node-timeout', '2000',
        ])
      )
    );
    await run(
      REDIS_CLI,
      ['--cluster', 'create', ...CLUSTER_PORTS.map((port) => `${LOOPBACK}:${port}`), '--cluster-replicas', '1', '--cluster-yes'],
      { timeout: 60_000 }
    );
    await waitFor(
      'cluster_state:ok on every node',
      async () => {
        const infos = await Promise.all(CLUSTER_PORTS.map((port) => redisCli(port, 'CLUSTER', 'INFO').catch(() => '')));
        return infos.every((info) => info.includes('cluster_state:ok') && info.includes('cluster_known_nodes:6'));
      },
      30_000,
      200
    );
  } catch (error) {
    await group.stop();
    throw error;
  }
  return { nodes: CLUSTER_PORTS.map((port) => ({ host: LOOPBACK, port })), stop: group.stop };
};

export interface TestRedisSentinel {
  name: string;
  sentinels: { host: string; port: number }[];
  /** The port of the master as the sentinels see it now. */
  masterPort(): Promise<number>;
  /** `SENTINEL FAILOVER`, then waits until every sentinel names the new master; returns its port and how long it took. */
  failover(): Promise<{ port: number; ms: number }>;
  /**
   * SIGKILL of the master; waits until the sentinels have promoted the replica, then starts the
   * old master again so it rejoins as a replica (the sentinels reconfigure it).
   */
  killMaster(): Promise<{ port: number; ms: number }>;
  /** Waits until the current master has a replica in sync (after a failover, the old master rejoined). */
  waitForReplica(): Promise<void>;
  stop(): Promise<void>;
}

/** A master (7200), a replica (7201), three sentinels (7300-7302, quorum 2); waits until they all know each other. */
export const startRedisSentinel = async (): Promise<TestRedisSentinel> => {
  await clearPorts([SENTINEL_MASTER_PORT, SENTINEL_REPLICA_PORT, ...SENTINEL_PORTS]);
  const group = processGroup('sentinel');
  const name = SENTINEL_MASTER_NAME;
  const startData = (port: number, replicaOf: number | null) =>
    group.start(port, [...noPersistence, ...(replicaOf ? ['--replicaof', LOOPBACK, String(replicaOf)] : [])]);

  const sentinelView = async (port: number) => {
    const [host, masterPort] = (await redisCli(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)).split('\n');
    return host === LOOPBACK ? Number(masterPort) : null;
  };
  const allAgree = async () => {
    const views = await Promise.all(SENTINEL_PORTS.map((port) => sentinelView(port).catch(() => null)));
    return views.every((view) => view !== null && view === views[0]) ? views[0]! : null;
  };
  const masterPort = async () => {
    const port = await allAgree();
    if (port === null) throw new Error('the sentinels do not agree on a master');
    return port;
  };
  /** The master answers as one and has a replica whose link is up. */
  const waitForReplica = async () => {
    await waitFor(
      'a master with a replica in sync',
      async () => {
        const port = await allAgree();
        if (port === null) return false;
        const info = await redisCli(port, 'INFO', 'replication').catch(() => '');
        return info.includes('role:master') && /slave0:.*state=online/.test(info);
      },
      30_000,
      200
    );
  };
  /** Every sentinel sees the master with its replica and the two other sentinels (needed to elect a leader). */
  const waitForSentinels = async (expectedMaster: number) => {
    await waitFor(
      'sentinels to agree and know each other',
      async () => {
        if ((await allAgree()) !== expectedMaster) return false;
        const known = await Promise.all(
          SENTINEL_PORTS.map(async (port) => {
            const others = await redisCli(port, 'SENTINEL', 'SENTINELS', name).catch(() => '');
            const replicas = await redisCli(port, 'SENTINEL', 'REPLICAS', name).catch(() => '');
            const flags = (others.match(/^flags$/gm) ?? []).length;
            return flags >= 2 && replicas.includes('slave') && !/s_down|o_down/.test(replicas);
          })
        );
        return known.every(Boolean);
      },
      30_000,
      250
    );
  };
  const waitForNewMaster = async (oldPort: number, started: number) => {
    const port = await waitFor(
      'the sentinels to agree on a new master',
      async () => {
        const agreed = await allAgree();
        if (agreed === null || agreed === oldPort) return null;
        const role = await redisCli(agreed, 'ROLE').catch(() => '');
        return role.startsWith('master') ? agreed : null;
      },
      30_000,
      50
    );
    return { port: port!, ms: Date.now() - started };
  };

  try {
    await startData(SENTINEL_MASTER_PORT, null);
    await startData(SENTINEL_REPLICA_PORT, SENTINEL_MASTER_PORT);
    for (const port of SENTINEL_PORTS) {
      // A sentinel rewrites its config file (what it learnt), so each has its own.
      const configFile = path.join(group.dir, `sentinel-${port}.conf`);
      writeFileSync(
        configFile,
        [
          `sentinel monitor ${name} ${LOOPBACK} ${SENTINEL_MASTER_PORT} 2`,
          `sentinel down-after-milliseconds ${name} 2000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n')
      );
      await group.start(port, ['--sentinel'], configFile);
    }
    await waitForSentinels(SENTINEL_MASTER_PORT);
    await waitForReplica();
  } catch (error) {
    await group.stop();
    throw error;
  }

  return {
    name,
    sentinels: SENTINEL_PORTS.map((port) => ({ host: LOOPBACK, port })),
    masterPort,
    async failover() {
      const oldPort = await masterPort();
      const started = Date.now();
      await redisCli(SENTINEL_PORTS[0]!, 'SENTINEL', 'FAILOVER', name);
      return waitForNewMaster(oldPort, started);
    },
    async killMaster() {
      const oldPort = await masterPort();
      const started = Date.now();
      await group.kill(oldPort);
      const promoted = await waitForNewMaster(oldPort, started);
      // Back as an empty master: the sentinels turn it into a replica of the new one.
      await startData(oldPort, null);
      return promoted;
    },
    waitForReplica,
    async stop() {
      await group.stop();
    },
  };
};

/**
 * The group both topology tests send through: slug `pair`, a server `capped` (weight 3, the hourly
 * limit) on the first sink and `open` (weight 1, no limit) on the second, so the capped one would
 * take 3/4 of the mail without its limit.
 */
export const createCappedPair = async (app: TestStrapi, sinks: TestSmtpServer[], hourlyLimit: number) => {
  const api = asAdmin(app);
  const group = (await api.post('/multi-smtp/groups', { name: 'Pair', slug: 'pair', strategy: 'weighted' })).body.data;
  const servers = [
    { name: 'capped', port: sinks[0]!.port, weight: 3, hourlyLimit },
    { name: 'open', port: sinks[1]!.port, weight: 1 },
  ];
  for (const server of servers) {
    const response = await api.post('/multi-smtp/servers', {
      ...server,
      host: LOOPBACK,
      security: 'none',
      maxConnections: 5,
      fromAddress: 'topology@example.com',
      group: group.documentId,
    });
    if (response.status !== 201) throw new Error(`creating server ${server.name}: ${response.status} ${JSON.stringify(response.body)}`);
  }
};

/** Plugin config that puts the engine's clock at half past an hour: an hourly window cannot end during a test. */
export const midHourClockOffset = () => {
  const hourMs = 3_600_000;
  return hourMs / 2 - (Date.now() % hourMs);
};
