import { createDirectoryCache, type DirectorySource, type GroupConfig } from '../../server/src/engine/directory';

/**
 * The engine's directory of servers and groups: a change made on this node (invalidate()) must be
 * seen by the next caller, even when a load that began before the change is still running.
 */

const group = (slug: string): GroupConfig => ({
  id: slug,
  slug,
  name: slug,
  strategy: 'weighted',
  rotation: 'message',
  stickyMinutes: 60,
  fallbackGroupId: null,
  isDefault: false,
  serverIds: [],
});

/** A source whose loads finish only when the test says so; each load reads the groups there are when it starts. */
const controlledSource = () => {
  let groups: GroupConfig[] = [group('a')];
  const pending: Array<() => void> = [];
  let loads = 0;
  const source: DirectorySource = {
    load() {
      loads += 1;
      const seen = [...groups];
      return new Promise((resolve) => pending.push(() => resolve({ servers: [], groups: seen })));
    },
  };
  return {
    source,
    setGroups: (next: GroupConfig[]) => {
      groups = next;
    },
    /** Lets every load finish, those started so far and those they lead to. */
    finishLoads: async () => {
      do {
        while (pending.length > 0) pending.shift()!();
        await new Promise((resolve) => setImmediate(resolve));
      } while (pending.length > 0);
    },
    loads: () => loads,
  };
};

const slugs = async (promise: Promise<{ groupsBySlug: Map<string, GroupConfig> }>) => [...(await promise).groupsBySlug.keys()];

describe('directory cache', () => {
  it('loads once, then serves the snapshot until it is older than maxAgeMs; concurrent callers share one load', async () => {
    let now = 0;
    const db = controlledSource();
    const cache = createDirectoryCache(db.source, { maxAgeMs: 5000, clock: () => now });
    const first = [cache.current(), cache.current()];
    await db.finishLoads();
    expect(await Promise.all(first.map(slugs))).toEqual([['a'], ['a']]);
    expect(db.loads()).toBe(1);

    now = 4000;
    expect(await slugs(cache.current())).toEqual(['a']);
    expect(db.loads()).toBe(1);

    // Older than maxAgeMs and nothing changed here: the first caller waits for the reload, others
    // get the old snapshot while it runs.
    now = 6000;
    db.setGroups([group('a'), group('b')]);
    const waiting = cache.current();
    expect(await slugs(cache.current())).toEqual(['a']);
    await db.finishLoads();
    expect(await slugs(waiting)).toEqual(['a', 'b']);
    expect(await slugs(cache.current())).toEqual(['a', 'b']);
    expect(db.loads()).toBe(2);
  });

  it('after invalidate(), the next caller waits for a load that began after the change', async () => {
    let now = 0;
    const db = controlledSource();
    const cache = createDirectoryCache(db.source, { maxAgeMs: 5000, clock: () => now });
    const first = cache.current();
    await db.finishLoads();
    await first;

    // A reload begins (the snapshot aged), then a group is made and the cache invalidated while it runs.
    now = 6000;
    const aged = cache.current();
    db.setGroups([group('a'), group('new')]);
    cache.invalidate();
    const afterChange = cache.current();
    await db.finishLoads();
    expect(await slugs(aged)).toEqual(['a']);
    expect(await slugs(afterChange)).toEqual(['a', 'new']);
    // And the load that began before the change does not count as fresh.
    expect(await slugs(cache.current())).toEqual(['a', 'new']);
  });

  it('a load in flight when invalidate() is called does not make its old snapshot fresh', async () => {
    const db = controlledSource();
    const cache = createDirectoryCache(db.source, { maxAgeMs: 5000, clock: () => 0 });
    const first = cache.current();
    db.setGroups([group('a'), group('new')]);
    cache.invalidate();
    await db.finishLoads();
    expect(await slugs(first)).toEqual(['a']);
    const next = cache.current();
    await db.finishLoads();
    expect(await slugs(next)).toEqual(['a', 'new']);
  });

  it('a failed load is retried by the next caller', async () => {
    let fail = true;
    const cache = createDirectoryCache(
      {
        load: async () => {
          if (fail) throw new Error('database away');
          return { servers: [], groups: [group('a')] };
        },
      },
      { maxAgeMs: 5000 }
    );
    await expect(cache.current()).rejects.toThrow('database away');
    fail = false;
    expect(await slugs(cache.current())).toEqual(['a']);
  });
});
