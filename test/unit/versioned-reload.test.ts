import { createVersionedReload } from '../../server/src/utils/versioned-reload';

/** A change counter in memory, standing in for Redis (pure logic: the integration tests use the real one). */
const fakeRedis = () => {
  const values = new Map<string, string>();
  let down = false;
  return {
    values,
    setDown: (value: boolean) => {
      down = value;
    },
    async get(key: string) {
      if (down) throw new Error('connection refused');
      return values.get(key) ?? null;
    },
    async incr(key: string) {
      if (down) throw new Error('connection refused');
      const next = Number(values.get(key) ?? '0') + 1;
      values.set(key, String(next));
      return next;
    },
  };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('versioned reload', () => {
  const setup = (overrides: { load?: () => Promise<void>; fullReloadMs?: number } = {}) => {
    const redis = fakeRedis();
    let running = true;
    const warnings: string[] = [];
    let loads = 0;
    const reloads = createVersionedReload({
      versionKey: () => 'test:version',
      redis: () => redis,
      running: () => running,
      load:
        overrides.load ??
        (async () => {
          loads += 1;
        }),
      warn: (message) => warnings.push(message),
      pollMs: 10,
      fullReloadMs: overrides.fullReloadMs ?? 60_000,
    });
    return { redis, reloads, warnings, loads: () => loads, stop: () => (running = false) };
  };

  it('loads on start, again when another node bumps the counter, and not while nothing changed', async () => {
    const { redis, reloads, loads, stop } = setup();
    reloads.start();
    await reloads.ready();
    expect(reloads.loaded()).toBe(true);
    expect(loads()).toBe(1);
    await sleep(60);
    expect(loads()).toBe(1); // nothing moved: the poll only reads the counter

    redis.values.set('test:version', '7'); // another node's change
    await sleep(60);
    expect(loads()).toBe(2);
    stop();
    await sleep(30);
  });

  it('changed() bumps the counter and has loaded here before it resolves', async () => {
    const { redis, reloads, loads, stop } = setup();
    await reloads.changed();
    expect(redis.values.get('test:version')).toBe('1');
    expect(loads()).toBe(1);
    stop();
  });

  it('with Redis away, a change still loads here and says the other nodes learn it later', async () => {
    const { redis, reloads, loads, warnings } = setup();
    redis.setDown(true);
    await reloads.changed();
    expect(loads()).toBe(1);
    expect(warnings.join(' ')).toMatch(/announcing a change failed \(connection refused\); other nodes see it within 60 s/);
  });

  it('runs loads one after the other, so an older one never lands after a newer one', async () => {
    const order: string[] = [];
    let call = 0;
    const { reloads } = setup({
      load: async () => {
        const mine = (call += 1);
        order.push(`start ${mine}`);
        await sleep(mine === 1 ? 40 : 1); // the first is the slow one
        order.push(`end ${mine}`);
      },
    });
    reloads.reloadSoon();
    reloads.reloadSoon();
    await reloads.ready();
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('a failed load keeps what was in place, says why, and the next load runs', async () => {
    let fail = true;
    let applied = 0;
    const { reloads, warnings } = setup({
      load: async () => {
        if (fail) throw new Error('database away');
        applied += 1;
      },
    });
    reloads.reloadSoon('loading failed');
    await reloads.ready().catch(() => undefined);
    expect(reloads.loaded()).toBe(false);
    expect(warnings).toContain('loading failed: database away');
    fail = false;
    reloads.reloadSoon();
    await reloads.ready();
    expect(applied).toBe(1);
    expect(reloads.loaded()).toBe(true);
  });

  it('without a poll (no engine on this node), the copy is stale after fullReloadMs', async () => {
    const { reloads } = setup({ fullReloadMs: 20 });
    await reloads.changed();
    expect(reloads.staleWithoutPoll()).toBe(false);
    await sleep(40);
    expect(reloads.staleWithoutPoll()).toBe(true);
  });

  it('the poll stops when the engine stops', async () => {
    const { redis, reloads, loads, stop } = setup();
    reloads.start();
    await reloads.ready();
    stop();
    await sleep(30);
    redis.values.set('test:version', '9');
    await sleep(50);
    expect(loads()).toBe(1);
  });
});
