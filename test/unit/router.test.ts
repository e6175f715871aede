import {
  adaptiveWeight,
  isEligible,
  Router,
  type GroupSnapshot,
  type ServerSnapshot,
} from '../../server/src/engine/router';
import { stickyDomainOf } from '../../server/src/engine/rotation';

const NOW = 1_700_000_000_000;

const server = (id: string, fields: Partial<ServerSnapshot> = {}): ServerSnapshot => ({
  id,
  weight: 1,
  priority: 0,
  enabled: true,
  suspendedUntil: null,
  ...fields,
});

const group = (
  strategy: GroupSnapshot['strategy'],
  servers: ServerSnapshot[],
  fields: Partial<GroupSnapshot> = {}
): GroupSnapshot => ({ id: 'g1', strategy, servers, fallbackGroupId: null, ...fields });

/** The first server of `count` successive orders. */
const picks = (router: Router, target: GroupSnapshot, count: number, exclude?: ReadonlySet<string>): string[] => {
  const chosen: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const order = router.order(target, NOW, exclude);
    if (order[0] !== undefined) chosen.push(order[0]);
  }
  return chosen;
};

const countOf = (ids: string[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const id of ids) counts[id] = (counts[id] ?? 0) + 1;
  return counts;
};

/** A small seeded random generator (mulberry32), so "random" tests are repeatable. */
const seededRandom = (seed: number) => {
  let state = seed >>> 0;
  return (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
};

const weighted532 = () =>
  group('weighted', [server('a', { weight: 5 }), server('b', { weight: 3 }), server('c', { weight: 2 })]);

describe('isEligible', () => {
  it('accepts an enabled server with nothing against it', () => {
    expect(isEligible(server('a'), NOW)).toBe(true);
    expect(isEligible(server('a', { atConnectionLimit: false, quotaExhaustedUntil: null }), NOW)).toBe(true);
  });

  it('refuses a disabled, suspended, busy or quota-exhausted server', () => {
    expect(isEligible(server('a', { enabled: false }), NOW)).toBe(false);
    expect(isEligible(server('a', { suspendedUntil: NOW + 1 }), NOW)).toBe(false);
    expect(isEligible(server('a', { atConnectionLimit: true }), NOW)).toBe(false);
    expect(isEligible(server('a', { quotaExhaustedUntil: NOW + 1 }), NOW)).toBe(false);
  });

  it('takes a server back the moment its suspension or quota wait ends', () => {
    expect(isEligible(server('a', { suspendedUntil: NOW }), NOW)).toBe(true);
    expect(isEligible(server('a', { quotaExhaustedUntil: NOW }), NOW)).toBe(true);
    expect(isEligible(server('a', { suspendedUntil: NOW - 1, quotaExhaustedUntil: NOW - 1 }), NOW)).toBe(true);
  });
});

describe('weighted (smooth weighted round robin)', () => {
  it('picks 5/3/2 in the exact smooth order, repeating every 10 picks', () => {
    const sequence = picks(new Router(), weighted532(), 20);
    expect(sequence.join(',')).toBe('a,b,c,a,a,b,a,c,b,a,a,b,c,a,a,b,a,c,b,a');
  });

  it('interleaves: never 3 in a row, and every 10 consecutive picks hold exactly 5/3/2', () => {
    const sequence = picks(new Router(), weighted532(), 10_000);
    const problems: string[] = [];
    for (let index = 2; index < sequence.length; index += 1) {
      if (sequence[index] === sequence[index - 1] && sequence[index] === sequence[index - 2]) {
        problems.push(`3 in a row at ${index}`);
      }
    }
    for (let start = 0; start + 10 <= sequence.length; start += 1) {
      const counts = countOf(sequence.slice(start, start + 10));
      if (counts.a !== 5 || counts.b !== 3 || counts.c !== 2)
        problems.push(`window at ${start}: ${JSON.stringify(counts)}`);
    }
    expect(problems).toEqual([]);
  });

  it('gives each server its weight share over 10,000 picks (exactly)', () => {
    expect(countOf(picks(new Router(), weighted532(), 10_000))).toEqual({ a: 5000, b: 3000, c: 2000 });
  });

  it('for any weights, picks each server exactly `weight` times in every `total weight` picks', () => {
    const random = seededRandom(42);
    const problems: string[] = [];
    for (let trial = 0; trial < 60; trial += 1) {
      const size = 1 + Math.floor(random() * 10);
      const servers = Array.from({ length: size }, (_, index) =>
        server(`s${index}`, { weight: 1 + Math.floor(random() * (random() < 0.5 ? 10 : 100)) })
      );
      const total = servers.reduce((sum, each) => sum + each.weight, 0);
      const router = new Router();
      const target = group('weighted', servers);
      for (let round = 0; round < 2; round += 1) {
        const counts = countOf(picks(router, target, total));
        for (const each of servers) {
          if (counts[each.id] !== each.weight)
            problems.push(`trial ${trial}: ${each.id} got ${counts[each.id]} of ${each.weight}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('lists the other eligible servers after the pick, by descending weight', () => {
    const router = new Router();
    const target = group('weighted', [
      server('small', { weight: 1 }),
      server('big', { weight: 10 }),
      server('mid', { weight: 4 }),
      server('off', { weight: 7, enabled: false }),
    ]);
    expect(router.order(target, NOW)).toEqual(['big', 'mid', 'small']);
    expect(router.order(target, NOW)).toEqual(['mid', 'big', 'small']);
  });

  it('leaves weight-0 servers out entirely, even as fallbacks', () => {
    const router = new Router();
    const target = group('weighted', [server('a', { weight: 2 }), server('zero', { weight: 0 })]);
    for (let index = 0; index < 50; index += 1) expect(router.order(target, NOW)).toEqual(['a']);
    expect(router.order(group('weighted', [server('zero', { weight: 0 })]), NOW)).toEqual([]);
  });

  it('keeps the ratio when several worker processes each take a random share of the messages', () => {
    const random = seededRandom(7);
    const workers = [new Router(), new Router(), new Router(), new Router()];
    const target = weighted532();
    const chosen: string[] = [];
    for (let message = 0; message < 10_000; message += 1) {
      const worker = workers[Math.floor(random() * workers.length)]!;
      chosen.push(worker.order(target, NOW)[0]!);
    }
    const counts = countOf(chosen);
    expect(Math.abs(counts.a! / 10_000 - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(counts.b! / 10_000 - 0.3)).toBeLessThan(0.01);
    expect(Math.abs(counts.c! / 10_000 - 0.2)).toBeLessThan(0.01);
  });

  it('keeps a separate rotation per group', () => {
    const router = new Router();
    const first = weighted532();
    const second = { ...weighted532(), id: 'g2' };
    const sequence: string[] = [];
    for (let index = 0; index < 10; index += 1) {
      sequence.push(router.order(first, NOW)[0]!);
      router.order(second, NOW);
    }
    expect(sequence.join(',')).toBe('a,b,c,a,a,b,a,c,b,a');
  });
});

describe('when servers drop out and come back', () => {
  it('shares among the rest while one is out, then gives it its share again without a burst', () => {
    const router = new Router();
    const servers = [server('a', { weight: 5 }), server('b', { weight: 3 }), server('c', { weight: 2 })];
    picks(router, group('weighted', servers), 7);

    const withoutC = group('weighted', [servers[0]!, servers[1]!, { ...servers[2]!, suspendedUntil: NOW + 1 }]);
    const whileOut = countOf(picks(router, withoutC, 800));
    expect(whileOut.c).toBeUndefined();
    expect(Math.abs(whileOut.a! - 500)).toBeLessThanOrEqual(1);

    const afterReturn = picks(router, group('weighted', servers), 1000);
    expect(afterReturn.slice(0, 10)).toContain('c');
    const counts = countOf(afterReturn);
    expect(Math.abs(counts.a! - 500)).toBeLessThanOrEqual(2);
    expect(Math.abs(counts.b! - 300)).toBeLessThanOrEqual(2);
    expect(Math.abs(counts.c! - 200)).toBeLessThanOrEqual(2);
  });

  it('does not starve a light server after a heavy one is turned down', () => {
    const router = new Router();
    const before = group('weighted', [server('heavy', { weight: 1000 }), server('light', { weight: 1 })]);
    // Right after its one pick in 1001, the light server is 1000 picks from its next turn.
    while (router.order(before, NOW)[0] !== 'light');
    const after = picks(
      router,
      group('weighted', [server('heavy', { weight: 1 }), server('light', { weight: 1 })]),
      100
    );
    expect(after.slice(0, 5)).toContain('light');
    expect(Math.abs(countOf(after).light! - 50)).toBeLessThanOrEqual(2);
  });

  it('keeps an exact rotation after a server leaves the group', () => {
    const router = new Router();
    picks(router, weighted532(), 3);
    const counts = countOf(
      picks(router, group('weighted', [server('a', { weight: 5 }), server('b', { weight: 3 })]), 800)
    );
    expect(Math.abs(counts.a! - 500)).toBeLessThanOrEqual(1);
    expect(Math.abs(counts.b! - 300)).toBeLessThanOrEqual(1);
  });

  it('starts afresh when the group changes strategy', () => {
    const router = new Router();
    const servers = [server('a', { weight: 5 }), server('b', { weight: 3 }), server('c', { weight: 2 })];
    picks(router, group('weighted', servers), 4);
    expect(picks(router, group('round-robin', servers), 6).join(',')).toBe('a,b,c,a,b,c');
  });
});

describe('exclude', () => {
  it('never returns an excluded server, and the others keep their ratio', () => {
    const router = new Router();
    const sequence: string[][] = [];
    const exclude = new Set(['b']);
    for (let index = 0; index < 700; index += 1) sequence.push(router.order(weighted532(), NOW, exclude));
    expect(sequence.filter((order) => order.includes('b'))).toEqual([]);
    expect(countOf(sequence.map((order) => order[0]!))).toEqual({ a: 500, c: 200 });
  });

  it('returns [] when every eligible server is excluded', () => {
    const router = new Router();
    for (const strategy of ['round-robin', 'weighted', 'priority', 'adaptive'] as const) {
      const target = group(strategy, [server('a'), server('b', { priority: 1 })]);
      expect(router.order(target, NOW, new Set(['a', 'b']))).toEqual([]);
    }
  });

  it('leaves the rotation as it was for a one-off retry', () => {
    const router = new Router();
    const target = weighted532();
    const sequence = picks(router, target, 3);
    router.order(target, NOW, new Set(['a', 'b'])); // a retry that may only use c
    sequence.push(...picks(router, target, 7));
    // c had one extra pick; a and b lost none of theirs.
    expect(countOf(sequence)).toEqual({ a: 5, b: 3, c: 2 });
  });
});

describe('round-robin', () => {
  it('gives every eligible server an equal turn, ignoring weight', () => {
    const router = new Router();
    const target = group('round-robin', [
      server('a', { weight: 100 }),
      server('b', { weight: 1 }),
      server('zero', { weight: 0 }),
      server('off', { enabled: false }),
      server('busy', { atConnectionLimit: true }),
    ]);
    expect(picks(router, target, 6).join(',')).toBe('a,b,zero,a,b,zero');
    expect(countOf(picks(router, target, 3000))).toEqual({ a: 1000, b: 1000, zero: 1000 });
  });

  it('lists the next servers in the rotation as fallbacks', () => {
    const router = new Router();
    const target = group('round-robin', [server('a'), server('b'), server('c')]);
    expect(router.order(target, NOW)).toEqual(['a', 'b', 'c']);
    expect(router.order(target, NOW)).toEqual(['b', 'c', 'a']);
    expect(router.order(target, NOW)).toEqual(['c', 'a', 'b']);
  });
});

describe('priority', () => {
  const levels = (overrides: Record<string, Partial<ServerSnapshot>> = {}) =>
    group('priority', [
      server('a', { priority: 0, weight: 2, ...overrides.a }),
      server('b', { priority: 0, weight: 1, ...overrides.b }),
      server('c', { priority: 5, weight: 1, ...overrides.c }),
      server('d', { priority: 9, weight: 3, ...overrides.d }),
      server('e', { priority: 9, weight: 1, ...overrides.e }),
    ]);

  it('shares the best level by weight and lists the lower levels after it', () => {
    const router = new Router();
    expect(router.order(levels(), NOW)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(router.order(levels(), NOW)).toEqual(['b', 'a', 'c', 'd', 'e']);
    expect(countOf(picks(router, levels(), 3000))).toEqual({ a: 2000, b: 1000 });
  });

  it('falls to the next level only when the whole better level is ineligible, whatever the reason', () => {
    const router = new Router();
    const reasons: Partial<ServerSnapshot>[] = [
      { enabled: false },
      { suspendedUntil: NOW + 60_000 },
      { atConnectionLimit: true },
      { quotaExhaustedUntil: NOW + 60_000 },
    ];
    for (const reason of reasons) {
      expect(countOf(picks(router, levels({ a: reason }), 10))).toEqual({ b: 10 });
      expect(countOf(picks(router, levels({ a: reason, b: reason }), 10))).toEqual({ c: 10 });
      expect(router.order(levels({ a: reason, b: reason }), NOW)).toEqual(['c', 'd', 'e']);
    }
    expect(countOf(picks(router, levels(), 10, new Set(['a', 'b'])))).toEqual({ c: 10 });
  });

  it('shares the third level by weight when both better levels are out', () => {
    const router = new Router();
    const down = { enabled: false };
    expect(countOf(picks(router, levels({ a: down, b: down, c: down }), 400))).toEqual({ d: 300, e: 100 });
  });

  it('returns to the better level as soon as it recovers', () => {
    const router = new Router();
    const suspended = { suspendedUntil: NOW + 1000 };
    expect(picks(router, levels({ a: suspended, b: suspended }), 5)).toEqual(['c', 'c', 'c', 'c', 'c']);
    expect(countOf(picks(router, levels(), 30))).toEqual({ a: 20, b: 10 });
  });

  it('skips a level whose servers all have weight 0', () => {
    const router = new Router();
    expect(router.order(levels({ a: { weight: 0 }, b: { weight: 0 } }), NOW)).toEqual(['c', 'd', 'e']);
  });
});

describe('adaptive', () => {
  it('scales the weight by health and quota headroom', () => {
    expect(adaptiveWeight(server('a', { weight: 3 }))).toBe(3000);
    expect(adaptiveWeight(server('a', { weight: 3, health: 0.5, quotaHeadroom: 0.5 }))).toBe(750);
    expect(adaptiveWeight(server('a', { weight: 1, health: 0.0001 }))).toBe(1);
    expect(adaptiveWeight(server('a', { weight: 1, health: 0 }))).toBe(0);
    expect(adaptiveWeight(server('a', { weight: 1, quotaHeadroom: 0 }))).toBe(0);
    expect(adaptiveWeight(server('a', { weight: 0 }))).toBe(0);
    expect(adaptiveWeight(server('a', { weight: 2, health: 7, quotaHeadroom: Number.NaN }))).toBe(2000);
  });

  it('gives a server at health 0.5 half the traffic per unit of weight of a healthy one', () => {
    const router = new Router();
    const target = group('adaptive', [server('half', { weight: 1, health: 0.5 }), server('healthy', { weight: 1 })]);
    expect(countOf(picks(router, target, 3000))).toEqual({ half: 1000, healthy: 2000 });
  });

  it('sends nothing to an exhausted or failing server, and takes it back when headroom returns', () => {
    const router = new Router();
    const withHeadroom = (headroom: number) =>
      group('adaptive', [
        server('full', { weight: 5, quotaHeadroom: headroom }),
        server('failing', { weight: 5, health: 0 }),
        server('other', { weight: 5 }),
      ]);
    const whileFull = picks(router, withHeadroom(0), 100);
    expect(countOf(whileFull)).toEqual({ other: 100 });
    expect(router.order(withHeadroom(0), NOW)).toEqual(['other']);

    const recovered = countOf(picks(router, withHeadroom(1), 1000));
    expect(recovered.failing).toBeUndefined();
    expect(Math.abs(recovered.full! - 500)).toBeLessThanOrEqual(2);
  });

  it('lists fallbacks by descending effective weight', () => {
    const router = new Router();
    const target = group('adaptive', [
      server('a', { weight: 10, health: 0.1 }),
      server('b', { weight: 4 }),
      server('c', { weight: 3, quotaHeadroom: 0.5 }),
    ]);
    expect(router.order(target, NOW)).toEqual(['b', 'c', 'a']);
  });
});

describe('route', () => {
  const groups = (list: GroupSnapshot[]) => {
    const byId = new Map(list.map((each) => [each.id, each]));
    return (id: string) => byId.get(id);
  };
  const down = (id: string) => server(id, { suspendedUntil: NOW + 1000 });

  it('uses the group itself when it has an eligible server', () => {
    const lookup = groups([
      group('weighted', [server('a')], { id: 'main', fallbackGroupId: 'backup' }),
      group('weighted', [server('z')], { id: 'backup' }),
    ]);
    expect(new Router().route('main', lookup, NOW)).toEqual({ groupId: 'main', order: ['a'] });
  });

  it('falls back along a chain to the first group with an eligible server', () => {
    const lookup = groups([
      group('weighted', [down('a')], { id: 'main', fallbackGroupId: 'second' }),
      group('priority', [down('b')], { id: 'second', fallbackGroupId: 'third' }),
      group('round-robin', [server('c1'), server('c2')], { id: 'third' }),
    ]);
    const router = new Router();
    expect(router.route('main', lookup, NOW)).toEqual({ groupId: 'third', order: ['c1', 'c2'] });
    expect(router.route('main', lookup, NOW)).toEqual({ groupId: 'third', order: ['c2', 'c1'] });
  });

  it('passes exclude on to the fallback groups', () => {
    const lookup = groups([
      group('weighted', [server('a')], { id: 'main', fallbackGroupId: 'backup' }),
      group('weighted', [server('b1'), server('b2')], { id: 'backup' }),
    ]);
    expect(new Router().route('main', lookup, NOW, new Set(['a', 'b1']))).toEqual({ groupId: 'backup', order: ['b2'] });
  });

  it('stops at a fallback loop and returns null', () => {
    const lookup = groups([
      group('weighted', [down('a')], { id: 'one', fallbackGroupId: 'two' }),
      group('weighted', [down('b')], { id: 'two', fallbackGroupId: 'one' }),
      group('weighted', [down('c')], { id: 'self', fallbackGroupId: 'self' }),
    ]);
    const router = new Router();
    expect(router.route('one', lookup, NOW)).toBeNull();
    expect(router.route('self', lookup, NOW)).toBeNull();
  });

  it('returns null when every group is exhausted, or a group is unknown', () => {
    const lookup = groups([
      group('adaptive', [server('a', { quotaHeadroom: 0 })], { id: 'main', fallbackGroupId: 'backup' }),
      group('weighted', [server('b', { quotaExhaustedUntil: NOW + 5000 })], { id: 'backup' }),
      group('weighted', [down('c')], { id: 'dangling', fallbackGroupId: 'deleted' }),
    ]);
    const router = new Router();
    expect(router.route('main', lookup, NOW)).toBeNull();
    expect(router.route('dangling', lookup, NOW)).toBeNull();
    expect(router.route('missing', lookup, NOW)).toBeNull();
    expect(router.route('main', lookup, NOW + 5000)).toEqual({ groupId: 'backup', order: ['b'] });
  });
});

/**
 * A preferred server (group rotation `batch` and `sticky-domain`, engine/rotation.ts): kept first
 * while the strategy would still consider it, with no pick made, so the rotation moves once per
 * batch or domain and weights hold over many of them.
 */
const none: ReadonlySet<string> = new Set();

describe('router: a preferred server', () => {
  it('goes first while eligible, without advancing the rotation', () => {
    const router = new Router();
    const target = group('weighted', [server('a', { weight: 3 }), server('b', { weight: 1 }), server('c', { weight: 2 })]);
    const plain = new Router();
    const expected = [0, 1, 2, 3, 4, 5].map(() => plain.order(target, NOW)[0]);

    for (let index = 0; index < 20; index += 1) {
      const result = router.orderWithPreference(target, NOW, none, 'b');
      expect(result).toEqual({ order: ['b', 'a', 'c'], preferredKept: true });
    }
    // The picks made after all those preferred orders are the ones a fresh router makes.
    expect([0, 1, 2, 3, 4, 5].map(() => router.order(target, NOW)[0])).toEqual(expected);
  });

  it('is replaced by the strategy\'s pick when suspended, excluded, disabled, of weight 0 or gone', () => {
    const router = new Router();
    const cases: { servers: ServerSnapshot[]; exclude?: ReadonlySet<string> }[] = [
      { servers: [server('a'), server('b', { suspendedUntil: NOW + 1000 })] },
      { servers: [server('a'), server('b')], exclude: new Set(['b']) },
      { servers: [server('a'), server('b', { enabled: false })] },
      { servers: [server('a'), server('b', { weight: 0 })] },
      { servers: [server('a'), server('b', { quotaExhaustedUntil: NOW + 1000 })] },
      { servers: [server('a')] },
    ];
    for (const { servers, exclude } of cases) {
      expect(router.orderWithPreference(group('weighted', servers), NOW, exclude ?? none, 'b')).toEqual({ order: ['a'], preferredKept: false });
    }
  });

  it('under priority, only while it is of the best eligible level', () => {
    const router = new Router();
    const servers = [server('primary', { priority: 0 }), server('backup', { priority: 1 })];
    expect(router.orderWithPreference(group('priority', servers), NOW, none, 'backup')).toEqual({ order: ['primary', 'backup'], preferredKept: false });
    const primaryDown = [server('primary', { priority: 0, enabled: false }), server('backup', { priority: 1 })];
    expect(router.orderWithPreference(group('priority', primaryDown), NOW, none, 'backup')).toEqual({ order: ['backup'], preferredKept: true });
  });

  it('round-robin keeps a weight-0 server it prefers (weight means nothing there)', () => {
    const router = new Router();
    const target = group('round-robin', [server('a'), server('b', { weight: 0 })]);
    expect(router.orderWithPreference(target, NOW, none, 'b')).toEqual({ order: ['b', 'a'], preferredKept: true });
  });

  it('route() asks per group: the fallback group gets its own preference', () => {
    const router = new Router();
    const main = group('weighted', [server('a', { enabled: false })], { fallbackGroupId: 'g2' });
    const fallback = group('weighted', [server('x'), server('y')], { id: 'g2' });
    const lookup = (id: string) => (id === 'g1' ? main : id === 'g2' ? fallback : undefined);
    const preferred = (groupId: string) => (groupId === 'g2' ? 'y' : 'a');
    expect(router.route('g1', lookup, NOW, none, preferred)).toEqual({ groupId: 'g2', order: ['y', 'x'], preferredKept: true });
    expect(router.route('g1', lookup, NOW, none)).toEqual({ groupId: 'g2', order: expect.any(Array) });
    expect(router.route('g1', lookup, NOW, none)?.preferredKept).toBeUndefined();
  });

  it('weights hold over many batches or domains: one pick each, whatever their sizes', () => {
    const router = new Router();
    const target = group('weighted', [server('a', { weight: 3 }), server('b', { weight: 1 })]);
    const batchesPerServer: Record<string, number> = {};
    for (let batch = 0; batch < 400; batch += 1) {
      // The batch's first message picks; its other messages (a varying number) keep that server.
      const first = router.orderWithPreference(target, NOW, none, null);
      expect(first.preferredKept).toBe(false);
      const chosen = first.order[0]!;
      for (let message = 0; message < (batch % 7) + 1; message += 1) {
        expect(router.orderWithPreference(target, NOW, none, chosen).order[0]).toBe(chosen);
      }
      batchesPerServer[chosen] = (batchesPerServer[chosen] ?? 0) + 1;
    }
    expect(batchesPerServer).toEqual({ a: 300, b: 100 });
  });
});

describe('sticky rotation: the domain a message sticks by', () => {
  it('is its first recipient\'s, lower-cased; none without recipients', () => {
    expect(stickyDomainOf(['Ann@Example.ORG', 'bob@other.test'])).toBe('example.org');
    expect(stickyDomainOf([])).toBeNull();
  });
});
