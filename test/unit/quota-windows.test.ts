import {
  assertTimeZone,
  createWindowCalendar,
  dayWindowAt,
  hourWindowAt,
  type TimeWindow,
} from '../../server/src/engine/quota-windows';

const at = (iso: string) => Date.parse(iso);
const HOUR_MS = 3_600_000;

/** A window written with ISO strings, easier to read in a failing assertion. */
const readable = (window: TimeWindow) => ({
  id: window.id,
  start: new Date(window.start).toISOString(),
  end: new Date(window.end).toISOString(),
});

describe('quota time windows', () => {
  it('UTC: hour and day are the plain UTC hour and date', () => {
    expect(readable(hourWindowAt(at('2024-03-10T15:42:17.123Z'), 'UTC'))).toEqual({
      id: '2024-03-10T15:00+00:00',
      start: '2024-03-10T15:00:00.000Z',
      end: '2024-03-10T16:00:00.000Z',
    });
    expect(readable(dayWindowAt(at('2024-03-10T15:42:17.123Z'), 'UTC'))).toEqual({
      id: '2024-03-10',
      start: '2024-03-10T00:00:00.000Z',
      end: '2024-03-11T00:00:00.000Z',
    });
  });

  it('windows are half-open: the first instant belongs to the window, the end to the next', () => {
    const hour = hourWindowAt(at('2024-03-10T15:00:00.000Z'), 'UTC');
    expect(hour.start).toBe(at('2024-03-10T15:00:00.000Z'));
    expect(hourWindowAt(at('2024-03-10T15:59:59.999Z'), 'UTC')).toEqual(hour);
    expect(hourWindowAt(hour.end, 'UTC').id).toBe('2024-03-10T16:00+00:00');
    expect(dayWindowAt(at('2024-03-10T23:59:59.999Z'), 'UTC').id).toBe('2024-03-10');
    expect(dayWindowAt(at('2024-03-11T00:00:00.000Z'), 'UTC').id).toBe('2024-03-11');
  });

  it('Europe/Paris: the spring-forward day lasts 23 hours, and the skipped hour has no window', () => {
    // 2024-03-31: at 02:00 CET (01:00Z) clocks jump to 03:00 CEST.
    const day = dayWindowAt(at('2024-03-31T12:00:00Z'), 'Europe/Paris');
    expect(readable(day)).toEqual({
      id: '2024-03-31',
      start: '2024-03-30T23:00:00.000Z',
      end: '2024-03-31T22:00:00.000Z',
    });
    expect(day.end - day.start).toBe(23 * HOUR_MS);

    expect(readable(hourWindowAt(at('2024-03-31T00:30:00Z'), 'Europe/Paris'))).toEqual({
      id: '2024-03-31T01:00+01:00',
      start: '2024-03-31T00:00:00.000Z',
      end: '2024-03-31T01:00:00.000Z',
    });
    expect(readable(hourWindowAt(at('2024-03-31T01:30:00Z'), 'Europe/Paris'))).toEqual({
      id: '2024-03-31T03:00+02:00',
      start: '2024-03-31T01:00:00.000Z',
      end: '2024-03-31T02:00:00.000Z',
    });
  });

  it('Europe/Paris: the fall-back day lasts 25 hours, and the repeated 02:00 hour is two windows', () => {
    // 2024-10-27: at 03:00 CEST (01:00Z) clocks go back to 02:00 CET.
    const day = dayWindowAt(at('2024-10-27T12:00:00Z'), 'Europe/Paris');
    expect(readable(day)).toEqual({
      id: '2024-10-27',
      start: '2024-10-26T22:00:00.000Z',
      end: '2024-10-27T23:00:00.000Z',
    });
    expect(day.end - day.start).toBe(25 * HOUR_MS);

    const first = hourWindowAt(at('2024-10-27T00:30:00Z'), 'Europe/Paris');
    const second = hourWindowAt(at('2024-10-27T01:30:00Z'), 'Europe/Paris');
    expect(readable(first)).toEqual({
      id: '2024-10-27T02:00+02:00',
      start: '2024-10-27T00:00:00.000Z',
      end: '2024-10-27T01:00:00.000Z',
    });
    expect(readable(second)).toEqual({
      id: '2024-10-27T02:00+01:00',
      start: '2024-10-27T01:00:00.000Z',
      end: '2024-10-27T02:00:00.000Z',
    });
  });

  it('Asia/Kolkata: hours follow the local clock, so they start at :30 UTC', () => {
    // 2024-06-01T10:00Z is 15:30 IST (UTC+05:30).
    expect(readable(hourWindowAt(at('2024-06-01T10:00:00Z'), 'Asia/Kolkata'))).toEqual({
      id: '2024-06-01T15:00+05:30',
      start: '2024-06-01T09:30:00.000Z',
      end: '2024-06-01T10:30:00.000Z',
    });
    expect(readable(dayWindowAt(at('2024-06-01T10:00:00Z'), 'Asia/Kolkata'))).toEqual({
      id: '2024-06-01',
      start: '2024-05-31T18:30:00.000Z',
      end: '2024-06-01T18:30:00.000Z',
    });
  });

  it('Australia/Lord_Howe: a half-hour DST change cuts an hour window short', () => {
    // 2024-04-07 at 02:00 (+11:00, 15:00Z) clocks go back half an hour to 01:30 (+10:30).
    expect(readable(hourWindowAt(at('2024-04-06T14:45:00Z'), 'Australia/Lord_Howe'))).toEqual({
      id: '2024-04-07T01:00+11:00',
      start: '2024-04-06T14:00:00.000Z',
      end: '2024-04-06T15:00:00.000Z',
    });
    expect(readable(hourWindowAt(at('2024-04-06T15:10:00Z'), 'Australia/Lord_Howe'))).toEqual({
      id: '2024-04-07T01:00+10:30',
      start: '2024-04-06T15:00:00.000Z',
      end: '2024-04-06T15:30:00.000Z',
    });
  });

  it('America/Santiago: a day whose midnight is skipped starts at 01:00', () => {
    // 2024-09-08 at 00:00 (-04:00, 04:00Z) clocks jump to 01:00 (-03:00).
    expect(readable(dayWindowAt(at('2024-09-08T12:00:00Z'), 'America/Santiago'))).toEqual({
      id: '2024-09-08',
      start: '2024-09-08T04:00:00.000Z',
      end: '2024-09-09T03:00:00.000Z',
    });
  });

  it.each(['Europe/Paris', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/Santiago'])(
    '%s: over a whole year, windows tile time with no gap or overlap and stable ids',
    (timeZone) => {
      // Sampled, to stay fast (Intl formatting costs 15+ µs a call): the odd steps make the samples
      // drift across the minutes of the hour and the hours of the day, DST change days included.
      const problems: string[] = [];
      for (const [kind, windowAt, stepMs] of [
        ['hour', hourWindowAt, 131 * 60_000],
        ['day', dayWindowAt, 13 * HOUR_MS + 17 * 60_000],
      ] as const) {
        const seen = new Map<string, TimeWindow>();
        for (let instant = at('2024-01-01T00:00:00Z'); instant < at('2025-01-01T00:00:00Z'); instant += stepMs) {
          const window = windowAt(instant, timeZone);
          const where = `${kind} at ${new Date(instant).toISOString()}`;
          if (!(window.start <= instant && instant < window.end)) problems.push(`${where}: not inside its window`);
          // The next window starts exactly where this one ends.
          if (windowAt(window.end, timeZone).start !== window.end) problems.push(`${where}: gap or overlap after it`);
          // The same id always names the same span.
          const earlier = seen.get(window.id);
          if (earlier && (earlier.start !== window.start || earlier.end !== window.end)) {
            problems.push(`${where}: id ${window.id} names two different spans`);
          }
          seen.set(window.id, window);
        }
      }
      expect(problems).toEqual([]);
    }
  );

  it('the calendar returns the same window object while it lasts and moves on after', () => {
    const calendar = createWindowCalendar('Europe/Paris');
    const first = calendar.hourAt(at('2024-06-01T10:05:00Z'));
    expect(calendar.hourAt(at('2024-06-01T10:59:59.999Z'))).toBe(first);
    expect(calendar.hourAt(at('2024-06-01T11:00:00Z')).id).toBe('2024-06-01T13:00+02:00');
    expect(calendar.dayAt(at('2024-06-01T10:05:00Z')).id).toBe('2024-06-01');
    // Going back in time (a test clock) recomputes rather than trusting the cache.
    expect(calendar.hourAt(at('2024-06-01T09:00:00Z')).id).toBe('2024-06-01T11:00+02:00');
  });

  it('rejects an unknown time zone with a clear message', () => {
    expect(() => assertTimeZone('Mars/Olympus_Mons')).toThrow(/unknown time zone "Mars\/Olympus_Mons"/);
    expect(() => createWindowCalendar('Not/AZone')).toThrow(RangeError);
  });
});
