/**
 * Hour and day windows in an IANA time zone, for the hourly and daily send quotas.
 *
 * A window is a half-open span of time `[start, end)` in epoch milliseconds plus an `id` that names
 * it. The ids become part of Redis key names, so every process that looks at the same instant in the
 * same zone must compute the same id:
 *
 * - day window: the local calendar date, e.g. `2024-10-27`. It runs from the first instant of that
 *   local date to the first instant of the next one, so it is 23 or 25 hours long on DST change days
 *   (and starts at 01:00 in zones whose clocks skip midnight).
 * - hour window: the local date and hour plus the UTC offset in force, e.g. `2024-10-27T02:00+02:00`.
 *   The offset keeps apart the two different hours that both read "02:00" on the night clocks go back.
 *   In a zone with a :30 offset (Asia/Kolkata) the window follows the local hour, so it starts at
 *   :30 UTC.
 *
 * How a window is found: guess its start from the local clock reading (now minus the minutes and
 * seconds shown), then check the guess by asking for the label one millisecond before and at the
 * guessed start. The guess is right except around a clock change; then a binary search finds the
 * exact instant where the label changes. Either way the result is verified, not assumed.
 */

export interface TimeWindow {
  /** Stable name of the window, used in Redis key names. */
  id: string;
  /** First instant inside the window (epoch ms). */
  start: number;
  /** First instant after the window (epoch ms). */
  end: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** How far the binary search may look: no hour label lasts longer than this… */
const HOUR_SEARCH_SPAN_MS = 3 * HOUR_MS;
/** …and no day label lasts longer than this (longest real days are 25 hours). */
const DAY_SEARCH_SPAN_MS = 50 * HOUR_MS;

interface LocalClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Local time minus UTC, in ms (e.g. +19_800_000 for Asia/Kolkata). */
  offsetMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone: building an Intl.DateTimeFormat is much slower than using one. */
const formatterFor = (timeZone: string): Intl.DateTimeFormat => {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      // 'h23' gives 00..23; `hour12: false` alone can print "24" at midnight in some engines.
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
};

/** Throws a clear error if `timeZone` is not an IANA zone name this runtime knows. */
export const assertTimeZone = (timeZone: string): void => {
  try {
    formatterFor(timeZone);
  } catch {
    throw new RangeError(`multi-smtp: unknown time zone "${timeZone}" (expected an IANA name such as "Europe/Paris")`);
  }
};

/** What a wall clock in `timeZone` shows at instant `at`, and the UTC offset in force then. */
const localClockAt = (at: number, timeZone: string): LocalClock => {
  const fields: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(at)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const clock = {
    year: fields.year ?? NaN,
    month: fields.month ?? NaN,
    day: fields.day ?? NaN,
    hour: fields.hour ?? NaN,
    minute: fields.minute ?? NaN,
    second: fields.second ?? NaN,
  };
  // The wall clock read as if it were UTC, minus the real instant (both at whole seconds) = offset.
  const wallAsUtc = Date.UTC(clock.year, clock.month - 1, clock.day, clock.hour, clock.minute, clock.second);
  return { ...clock, offsetMs: wallAsUtc - Math.floor(at / 1000) * 1000 };
};

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

const formatOffset = (offsetMs: number) => {
  const sign = offsetMs < 0 ? '-' : '+';
  const totalMinutes = Math.round(Math.abs(offsetMs) / MINUTE_MS);
  return `${sign}${pad(Math.floor(totalMinutes / 60))}:${pad(totalMinutes % 60)}`;
};

const dayLabel = (clock: LocalClock) => `${pad(clock.year, 4)}-${pad(clock.month)}-${pad(clock.day)}`;
const hourLabel = (clock: LocalClock) => `${dayLabel(clock)}T${pad(clock.hour)}:00${formatOffset(clock.offsetMs)}`;

/**
 * Smallest instant x in (low, high] where `isTrue(x)` holds, given `isTrue(low)` is false, `isTrue(high)`
 * is true, and `isTrue` switches from false to true only once in between.
 */
const firstInstantWhere = (low: number, high: number, isTrue: (at: number) => boolean): number => {
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (isTrue(middle)) high = middle;
    else low = middle;
  }
  return high;
};

/**
 * The window around `at` whose instants all share `label(at)`.
 * `elapsedOnClock` is how long the local clock says the window has been running (the guess);
 * `usualLength` is the window's length when no clock change falls inside it.
 */
const windowAround = (
  at: number,
  timeZone: string,
  label: (clock: LocalClock) => string,
  elapsedOnClock: (clock: LocalClock) => number,
  usualLength: number,
  searchSpan: number
): TimeWindow => {
  const labelAt = (instant: number) => label(localClockAt(instant, timeZone));
  const clock = localClockAt(at, timeZone);
  const id = label(clock);
  const isInside = (instant: number) => labelAt(instant) === id;
  // An instant's label is verified by asking Intl again; the guesses are only shortcuts.
  const isFirstInstant = (instant: number) => isInside(instant) && !isInside(instant - 1);

  let start = at - elapsedOnClock(clock);
  if (!isFirstInstant(start)) {
    // A clock change since the window began: search the instant where the label starts.
    start = firstInstantWhere(at - searchSpan, at, isInside);
  }
  let end = start + usualLength;
  if (!(end > at && isInside(end - 1) && !isInside(end))) {
    // A clock change inside the window (a 23- or 25-hour day, a half-hour DST shift): search.
    end = firstInstantWhere(at, at + searchSpan, (instant) => !isInside(instant));
  }
  return { id, start, end };
};

const millisecondOf = (at: number) => ((at % 1000) + 1000) % 1000;

/** The local clock hour (in `timeZone`) that contains instant `at`. */
export const hourWindowAt = (at: number, timeZone: string): TimeWindow =>
  windowAround(
    at,
    timeZone,
    hourLabel,
    (clock) => (clock.minute * 60 + clock.second) * 1000 + millisecondOf(at),
    HOUR_MS,
    HOUR_SEARCH_SPAN_MS
  );

/** The local calendar day (in `timeZone`) that contains instant `at`. */
export const dayWindowAt = (at: number, timeZone: string): TimeWindow =>
  windowAround(
    at,
    timeZone,
    dayLabel,
    (clock) => ((clock.hour * 60 + clock.minute) * 60 + clock.second) * 1000 + millisecondOf(at),
    DAY_MS,
    DAY_SEARCH_SPAN_MS
  );

export interface WindowCalendar {
  hourAt(at: number): TimeWindow;
  dayAt(at: number): TimeWindow;
}

/**
 * Hour and day windows for one zone, remembering the last window of each kind: a worker asks for the
 * current window before every send, and the answer changes only once an hour.
 */
export const createWindowCalendar = (timeZone: string): WindowCalendar => {
  assertTimeZone(timeZone);
  let lastHour: TimeWindow | null = null;
  let lastDay: TimeWindow | null = null;
  const contains = (window: TimeWindow | null, at: number): window is TimeWindow =>
    window !== null && window.start <= at && at < window.end;

  return {
    hourAt(at) {
      if (!contains(lastHour, at)) lastHour = hourWindowAt(at, timeZone);
      return lastHour;
    },
    dayAt(at) {
      if (!contains(lastDay, at)) lastDay = dayWindowAt(at, timeZone);
      return lastDay;
    },
  };
};
