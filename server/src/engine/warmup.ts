/**
 * Today's sending cap for a server on a warm-up plan.
 *
 * A new IP or domain earns its reputation by sending a little at first and more every day. A plan
 * (see `WarmupPlan` in shared/contracts/servers.ts) says how much per day:
 *
 *   standard  50, 100, 250, 500, 1000, 2500, 5000, 7500, 10000, 15000 on days 1 to 10, then twice the
 *             day before (30000, 60000, ...) until that reaches the server's daily limit. A server
 *             with no daily limit is done once the doubling passes {@link UNLIMITED_WARMUP_CEILING}.
 *   custom    the admin's own list, one number per day; after the last day the plan is done.
 *
 * The cap is the smaller of the plan's number for today and the server's daily limit. Once the plan
 * is done, the daily limit alone applies (null = unlimited).
 *
 * Days are calendar days in the configured time zone: day 1 is `startDate` itself, from local
 * midnight to local midnight, so the cap changes when the day's quota window does.
 *
 * Before `startDate` the plan counts as not started (day 0) but still caps at day 1's number: a
 * server given a plan is presumably a fresh IP, and sending it a full day's volume the day before
 * its warm-up begins would defeat the plan.
 */
import { STANDARD_WARMUP_STEPS, type WarmupPlan } from '../../../shared/contracts/servers';

/** With no daily limit, the standard plan is done once a day's number would pass this. */
export const UNLIMITED_WARMUP_CEILING = 1_000_000;

export interface WarmupCap {
  /** 1-based day of the plan today; 0 when there is no plan, it is disabled, or it hasn't started. */
  day: number;
  /** Most messages the server may send today: min(plan's number for today, dailyLimit); null = unlimited. */
  cap: number | null;
  /** True when the plan no longer limits the server (no plan, disabled, or past its end). */
  done: boolean;
}

const MS_PER_DAY = 86_400_000;

const dateFormatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar date (year, month, day) at `now` in `timeZone`. Throws a RangeError for an unknown zone. */
function localDate(now: number, timeZone: string): { year: number; month: number; day: number } {
  let formatter = dateFormatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' });
    dateFormatters.set(timeZone, formatter);
  }
  const parts = formatter.formatToParts(now);
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  return { year: part('year'), month: part('month'), day: part('day') };
}

/** 'YYYY-MM-DD' -> the same calendar date as a day number (days since 1970-01-01). */
function dayNumberOfIsoDate(isoDate: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  const time = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  // Date.UTC rolls 2025-02-30 over to March; a real date reads back the same.
  if (!match || Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== isoDate) {
    throw new RangeError(`multi-smtp warm-up: startDate "${isoDate}" is not a date as YYYY-MM-DD`);
  }
  return time / MS_PER_DAY;
}

/**
 * The plan's day today: 1 on startDate, 2 the next local day... and 0 or less before it.
 * Counting whole calendar dates (not 24-hour periods) keeps DST days from shifting the count.
 */
function planDay(startDate: string, now: number, timeZone: string): number {
  const today = localDate(now, timeZone);
  const todayNumber = Date.UTC(today.year, today.month - 1, today.day) / MS_PER_DAY;
  return todayNumber - dayNumberOfIsoDate(startDate) + 1;
}

/** The standard plan's number for a day >= 1: the table, then doubling the last entry each day. */
function standardStep(day: number): number {
  const table: readonly number[] = STANDARD_WARMUP_STEPS;
  const fromTable = table[day - 1];
  if (fromTable !== undefined) return fromTable;
  const last = table[table.length - 1] ?? 0;
  // Past ~60 doublings the number is far beyond any limit; stop before it becomes Infinity.
  return last * 2 ** Math.min(day - table.length, 60);
}

const smaller = (planned: number, dailyLimit: number | null) =>
  dailyLimit === null ? planned : Math.min(planned, dailyLimit);

/**
 * The warm-up's effect on a server today.
 *
 * @param plan the server's plan; null or disabled = no warm-up (the daily limit alone applies)
 * @param dailyLimit the server's own daily limit; null = unlimited
 * @param now the moment to evaluate (epoch ms)
 * @param timeZone the IANA zone days are counted in (the same as the daily quota windows)
 */
export function warmupCap(
  plan: WarmupPlan | null,
  dailyLimit: number | null,
  now: number,
  timeZone: string
): WarmupCap {
  if (!plan || !plan.enabled) return { day: 0, cap: dailyLimit, done: true };

  const steps: readonly number[] = plan.preset === 'custom' ? plan.customSteps : STANDARD_WARMUP_STEPS;
  const firstStep = steps[0];
  // A custom plan with no days (the contract forbids it) has nothing to hold the server to.
  if (firstStep === undefined) return { day: 0, cap: dailyLimit, done: true };

  const day = planDay(plan.startDate, now, timeZone);
  if (day < 1) return { day: 0, cap: smaller(firstStep, dailyLimit), done: false };

  if (plan.preset === 'custom') {
    const planned = steps[day - 1];
    return planned === undefined
      ? { day, cap: dailyLimit, done: true }
      : { day, cap: smaller(planned, dailyLimit), done: false };
  }

  const planned = standardStep(day);
  if (dailyLimit !== null) {
    // The ramp only grows, so once it reaches the limit it never holds the server back again.
    return planned >= dailyLimit ? { day, cap: dailyLimit, done: true } : { day, cap: planned, done: false };
  }
  return planned > UNLIMITED_WARMUP_CEILING ? { day, cap: null, done: true } : { day, cap: planned, done: false };
}
