/** Warm-up caps: the standard ramp, custom plans, daily limits, and which day it is in which time zone. */
import { UNLIMITED_WARMUP_CEILING, warmupCap } from '../../server/src/engine/warmup';
import { STANDARD_WARMUP_STEPS, type WarmupPlan } from '../../shared/contracts/servers';

const standard = (startDate: string, overrides: Partial<WarmupPlan> = {}): WarmupPlan => ({
  enabled: true,
  preset: 'standard',
  customSteps: [],
  startDate,
  ...overrides,
});

const custom = (startDate: string, customSteps: number[]): WarmupPlan => ({
  enabled: true,
  preset: 'custom',
  customSteps,
  startDate,
});

/** Noon UTC on a date: the same calendar date in every zone from UTC-11 to UTC+11. */
const noonUtc = (isoDate: string) => Date.parse(`${isoDate}T12:00:00Z`);

/** Noon UTC `days` days after 2025-03-01 (so day 1 of a plan starting 2025-03-01 is offset 0). */
const dayOffset = (days: number) => noonUtc('2025-03-01') + days * 86_400_000;

describe('no plan, or a disabled one', () => {
  test('no plan: the daily limit alone', () => {
    expect(warmupCap(null, 5000, noonUtc('2025-03-01'), 'UTC')).toEqual({ day: 0, cap: 5000, done: true });
    expect(warmupCap(null, null, noonUtc('2025-03-01'), 'UTC')).toEqual({ day: 0, cap: null, done: true });
  });

  test('a disabled plan: the daily limit alone, even on its start date', () => {
    const plan = standard('2025-03-01', { enabled: false });
    expect(warmupCap(plan, 5000, noonUtc('2025-03-01'), 'UTC')).toEqual({ day: 0, cap: 5000, done: true });
  });
});

describe('the standard ramp', () => {
  const plan = standard('2025-03-01');

  test('days 1 to 10 follow the table', () => {
    const caps = STANDARD_WARMUP_STEPS.map((_, index) => warmupCap(plan, null, dayOffset(index), 'UTC'));
    expect(caps.map(({ day }) => day)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(caps.map(({ cap }) => cap)).toEqual([50, 100, 250, 500, 1000, 2500, 5000, 7500, 10000, 15000]);
    expect(caps.every(({ done }) => !done)).toBe(true);
  });

  test('then it doubles every day', () => {
    expect(warmupCap(plan, null, dayOffset(10), 'UTC')).toEqual({ day: 11, cap: 30000, done: false });
    expect(warmupCap(plan, null, dayOffset(11), 'UTC')).toEqual({ day: 12, cap: 60000, done: false });
    expect(warmupCap(plan, null, dayOffset(12), 'UTC')).toEqual({ day: 13, cap: 120000, done: false });
  });

  test('with a daily limit: capped by it, and done the day the ramp reaches it', () => {
    // Day 4 plans 500: the limit of 300 is lower, so it is what applies, and the plan no longer matters.
    expect(warmupCap(plan, 300, dayOffset(2), 'UTC')).toEqual({ day: 3, cap: 250, done: false });
    expect(warmupCap(plan, 300, dayOffset(3), 'UTC')).toEqual({ day: 4, cap: 300, done: true });
    // 40000 is reached on day 12 (60000); day 11 still plans 30000.
    expect(warmupCap(plan, 40000, dayOffset(10), 'UTC')).toEqual({ day: 11, cap: 30000, done: false });
    expect(warmupCap(plan, 40000, dayOffset(11), 'UTC')).toEqual({ day: 12, cap: 40000, done: true });
    expect(warmupCap(plan, 40000, dayOffset(400), 'UTC')).toEqual({ day: 401, cap: 40000, done: true });
    // Exactly equal counts as reached.
    expect(warmupCap(plan, 1000, dayOffset(4), 'UTC')).toEqual({ day: 5, cap: 1000, done: true });
  });

  test('with no daily limit: done (unlimited) once the doubling passes the ceiling', () => {
    // Day 16 plans 960000 (below 1,000,000); day 17 would plan 1,920,000.
    expect(warmupCap(plan, null, dayOffset(15), 'UTC')).toEqual({ day: 16, cap: 960000, done: false });
    expect(warmupCap(plan, null, dayOffset(16), 'UTC')).toEqual({ day: 17, cap: null, done: true });
    expect(warmupCap(plan, null, dayOffset(5000), 'UTC')).toEqual({ day: 5001, cap: null, done: true });
    expect(UNLIMITED_WARMUP_CEILING).toBe(1_000_000);
  });

  test('a daily limit of 0 stays 0', () => {
    expect(warmupCap(plan, 0, dayOffset(0), 'UTC')).toEqual({ day: 1, cap: 0, done: true });
  });
});

describe('before the start date', () => {
  test("caps at day 1's number: the plan hasn't started but the IP is still new", () => {
    const plan = standard('2025-03-10');
    expect(warmupCap(plan, 5000, noonUtc('2025-03-09'), 'UTC')).toEqual({ day: 0, cap: 50, done: false });
    expect(warmupCap(plan, null, noonUtc('2024-12-31'), 'UTC')).toEqual({ day: 0, cap: 50, done: false });
    // ...unless the daily limit is lower still.
    expect(warmupCap(plan, 20, noonUtc('2025-03-09'), 'UTC')).toEqual({ day: 0, cap: 20, done: false });
    expect(warmupCap(custom('2025-03-10', [7, 70]), null, noonUtc('2025-03-09'), 'UTC')).toEqual({
      day: 0,
      cap: 7,
      done: false,
    });
  });
});

describe('a custom plan', () => {
  const plan = custom('2025-03-01', [20, 40, 10]);

  test('follows the list, capped by the daily limit, then is done', () => {
    expect(warmupCap(plan, null, dayOffset(0), 'UTC')).toEqual({ day: 1, cap: 20, done: false });
    expect(warmupCap(plan, 30, dayOffset(1), 'UTC')).toEqual({ day: 2, cap: 30, done: false });
    // The list may go down: the admin's numbers are taken as they are.
    expect(warmupCap(plan, 30, dayOffset(2), 'UTC')).toEqual({ day: 3, cap: 10, done: false });
    expect(warmupCap(plan, 30, dayOffset(3), 'UTC')).toEqual({ day: 4, cap: 30, done: true });
    expect(warmupCap(plan, null, dayOffset(3), 'UTC')).toEqual({ day: 4, cap: null, done: true });
  });

  test('an empty list (refused by the contract) holds nothing back', () => {
    expect(warmupCap(custom('2025-03-01', []), 500, dayOffset(0), 'UTC')).toEqual({ day: 0, cap: 500, done: true });
  });
});

describe('days in the configured time zone', () => {
  const plan = standard('2025-03-01');

  test('day 1 starts at local midnight, not UTC midnight', () => {
    // 2025-03-01 00:30 in Tokyo (UTC+9) is still 2025-02-28 in UTC.
    const tokyoJustAfterMidnight = Date.parse('2025-02-28T15:30:00Z');
    expect(warmupCap(plan, null, tokyoJustAfterMidnight, 'Asia/Tokyo')).toEqual({ day: 1, cap: 50, done: false });
    expect(warmupCap(plan, null, tokyoJustAfterMidnight, 'UTC')).toEqual({ day: 0, cap: 50, done: false });

    // 2025-03-01 23:30 in New York (UTC-5) is already 2025-03-02 in UTC.
    const newYorkLateEvening = Date.parse('2025-03-02T04:30:00Z');
    expect(warmupCap(plan, null, newYorkLateEvening, 'America/New_York').day).toBe(1);
    expect(warmupCap(plan, null, newYorkLateEvening, 'UTC').day).toBe(2);
  });

  test('the day changes exactly at local midnight', () => {
    // Paris is UTC+1 in early March: local midnight of 2025-03-02 is 23:00 UTC on 03-01.
    expect(warmupCap(plan, null, Date.parse('2025-03-01T22:59:59.999Z'), 'Europe/Paris').day).toBe(1);
    expect(warmupCap(plan, null, Date.parse('2025-03-01T23:00:00.000Z'), 'Europe/Paris').day).toBe(2);
  });

  test('a daylight-saving change does not skip or repeat a day', () => {
    // New York springs forward on 2025-03-09 (a 23-hour day) and falls back on 2025-11-02 (25 hours).
    const springPlan = standard('2025-03-08');
    expect(warmupCap(springPlan, null, Date.parse('2025-03-09T04:59:00Z'), 'America/New_York').day).toBe(1); // 03-08 23:59 EST
    expect(warmupCap(springPlan, null, Date.parse('2025-03-09T05:00:00Z'), 'America/New_York').day).toBe(2); // 03-09 00:00 EST
    expect(warmupCap(springPlan, null, Date.parse('2025-03-10T03:59:00Z'), 'America/New_York').day).toBe(2); // 03-09 23:59 EDT
    expect(warmupCap(springPlan, null, Date.parse('2025-03-10T04:00:00Z'), 'America/New_York').day).toBe(3); // 03-10 00:00 EDT

    const fallPlan = standard('2025-11-01');
    expect(warmupCap(fallPlan, null, Date.parse('2025-11-02T04:00:00Z'), 'America/New_York').day).toBe(2); // 11-02 00:00 EDT
    expect(warmupCap(fallPlan, null, Date.parse('2025-11-03T04:59:00Z'), 'America/New_York').day).toBe(2); // 11-02 23:59 EST
    expect(warmupCap(fallPlan, null, Date.parse('2025-11-03T05:00:00Z'), 'America/New_York').day).toBe(3); // 11-03 00:00 EST
  });

  test('counts across month and year ends and leap days', () => {
    const plan2024 = standard('2024-02-28');
    expect(warmupCap(plan2024, null, noonUtc('2024-02-29'), 'UTC').day).toBe(2);
    expect(warmupCap(plan2024, null, noonUtc('2024-03-01'), 'UTC').day).toBe(3);
    expect(warmupCap(standard('2024-12-30'), null, noonUtc('2025-01-02'), 'UTC').day).toBe(4);
  });

  test('an unknown time zone or a malformed start date throws', () => {
    expect(() => warmupCap(plan, null, dayOffset(0), 'Mars/Olympus_Mons')).toThrow(RangeError);
    expect(() => warmupCap(standard('2025-02-30'), null, dayOffset(0), 'UTC')).toThrow(/startDate/);
    expect(() => warmupCap(standard('03/01/2025'), null, dayOffset(0), 'UTC')).toThrow(/startDate/);
  });
});
