/**
 * The adaptive strategy's weighting (engine/adaptive.ts, router.ts): the signals computed from quota
 * usage and per-minute statistics, and the split SWRR makes of them.
 */
import {
  acceptanceRate,
  MIN_ACCEPTANCE,
  MIN_ATTEMPTS_FOR_ACCEPTANCE,
  quotaFraction,
} from '../../server/src/engine/adaptive';
import { Router, type GroupSnapshot, type ServerSnapshot } from '../../server/src/engine/router';

const NOW = 1_700_000_000_000;

const server = (id: string, fields: Partial<ServerSnapshot> = {}): ServerSnapshot => ({
  id,
  weight: 1,
  priority: 0,
  enabled: true,
  suspendedUntil: null,
  ...fields,
});

const adaptiveGroup = (servers: ServerSnapshot[]): GroupSnapshot => ({
  id: 'g1',
  strategy: 'adaptive',
  servers,
  fallbackGroupId: null,
});

/** How many of `count` successive picks went to each server. */
const split = (target: GroupSnapshot, count: number): Record<string, number> => {
  const router = new Router();
  const counts: Record<string, number> = {};
  for (let index = 0; index < count; index += 1) {
    const first = router.order(target, NOW)[0];
    if (first !== undefined) counts[first] = (counts[first] ?? 0) + 1;
  }
  return counts;
};

describe('quotaFraction', () => {
  test('is what is left of the tightest window', () => {
    expect(quotaFraction({ perHour: 100, perDay: 1000 }, { hour: 75, day: 100 })).toBe(0.25);
    expect(quotaFraction({ perHour: 100, perDay: 1000 }, { hour: 10, day: 500 })).toBe(0.5);
    expect(quotaFraction({ perHour: null, perDay: 400 }, { hour: 999, day: 300 })).toBe(0.25);
  });

  test('is 1 without limits, 0 when a window is full or over, and 0 for a limit of 0', () => {
    expect(quotaFraction({ perHour: null, perDay: null }, { hour: 5000, day: 5000 })).toBe(1);
    expect(quotaFraction({ perHour: 10, perDay: null }, { hour: 10, day: 0 })).toBe(0);
    expect(quotaFraction({ perHour: 10, perDay: null }, { hour: 12, day: 0 })).toBe(0);
    expect(quotaFraction({ perHour: null, perDay: 0 }, { hour: 0, day: 0 })).toBe(0);
  });
});

describe('acceptanceRate', () => {
  test('is accepted / attempts once there are enough attempts', () => {
    expect(acceptanceRate(50, 50)).toBe(0.5);
    expect(acceptanceRate(90, 10)).toBe(0.9);
    expect(acceptanceRate(MIN_ATTEMPTS_FOR_ACCEPTANCE, 0)).toBe(1);
  });

  test('is 1 below the minimum of attempts, and never under the floor', () => {
    expect(acceptanceRate(0, MIN_ATTEMPTS_FOR_ACCEPTANCE - 1)).toBe(1);
    expect(acceptanceRate(0, 100)).toBe(MIN_ACCEPTANCE);
    expect(acceptanceRate(1, 99)).toBe(MIN_ACCEPTANCE);
  });
});

describe('the adaptive split', () => {
  test('a server with 25 % of its quota left gets a quarter of the share of an equal one with all of it', () => {
    const counts = split(
      adaptiveGroup([
        server('full', { quotaHeadroom: 1 }),
        server('quarter', { quotaHeadroom: quotaFraction({ perHour: 100, perDay: null }, { hour: 75, day: 0 }) }),
      ]),
      1250
    );
    // SWRR on 1000 and 250: exact over every 1250 picks.
    expect(counts).toEqual({ full: 1000, quarter: 250 });
  });

  test('a server that accepted half its recent attempts gets about half the share of one that accepted all', () => {
    const counts = split(
      adaptiveGroup([
        server('good', { health: acceptanceRate(100, 0) }),
        server('half', { health: acceptanceRate(50, 50) }),
      ]),
      1500
    );
    expect(counts).toEqual({ good: 1000, half: 500 });
  });

  test('weight, quota and acceptance multiply', () => {
    const counts = split(
      adaptiveGroup([
        server('a', { weight: 2, quotaHeadroom: 0.5, health: 1 }), // 1.0
        server('b', { weight: 1, quotaHeadroom: 1, health: 0.5 }), // 0.5
        server('c', { weight: 4, quotaHeadroom: 0.25, health: 0.5 }), // 0.5
      ]),
      2000
    );
    expect(counts).toEqual({ a: 1000, b: 500, c: 500 });
  });

  test('a server with no quota left gets nothing; the floor keeps a failing one in at a trickle', () => {
    expect(split(adaptiveGroup([server('a'), server('empty', { quotaHeadroom: 0 })]), 100)).toEqual({ a: 100 });
    const counts = split(adaptiveGroup([server('a'), server('failing', { health: acceptanceRate(0, 200) })]), 2100);
    expect(counts).toEqual({ a: 2000, failing: 100 });
  });
});
