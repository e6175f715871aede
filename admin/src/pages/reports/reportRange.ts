import * as React from 'react';

import { useSearchParams } from 'react-router-dom';

import { MAX_REPORT_RANGE_DAYS, REPORT_INTERVALS, type ReportInterval } from '../../../../shared/contracts/reports';
import type { ReportRangeParams } from '../../api/reports';
import { fromIsoDay } from '../../utils/dates';

export const RANGE_PRESETS = ['24h', '7d', '30d', 'custom'] as const;
export type RangePreset = (typeof RANGE_PRESETS)[number];
/** The picker's interval choice: 'auto' lets the API choose (hour up to 7 days, day beyond). */
export type IntervalChoice = ReportInterval | 'auto';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const PRESET_SPAN_MS: Record<Exclude<RangePreset, 'custom'>, number> = {
  '24h': DAY_MS,
  '7d': 7 * DAY_MS,
  '30d': 30 * DAY_MS,
};
const DEFAULT_PRESET: RangePreset = '7d';

/** The range as it sits in the URL (`?range=custom&from=2025-05-01&to=2025-05-31&interval=day`). */
export interface RangeState {
  preset: RangePreset;
  /** 'YYYY-MM-DD' (custom only), '' = not set. */
  from: string;
  to: string;
  interval: IntervalChoice;
}

/** What is wrong with a custom range, or null. */
export type RangeProblem = 'order' | 'tooLong' | null;

const isPreset = (value: string): value is RangePreset => (RANGE_PRESETS as readonly string[]).includes(value);
const isInterval = (value: string): value is ReportInterval => (REPORT_INTERVALS as readonly string[]).includes(value);

/** Midnight (browser's time zone) after the given day: the exclusive end of a range that includes it. */
const dayAfter = (day: Date) => new Date(day.getFullYear(), day.getMonth(), day.getDate() + 1);

/**
 * The reports' time range, kept in the URL so a reload or a shared link shows the same report.
 * Presets run up to now (their start rounded down to the hour, so the query stays the same for an
 * hour); a custom range covers whole days in the browser's time zone, `to` included.
 * `refresh()` moves "now" forward (the Refresh button).
 */
export function useReportRange() {
  const [searchParams, setSearchParams] = useSearchParams();
  const [anchor, setAnchor] = React.useState(() => Date.now());

  const rawPreset = searchParams.get('range') ?? '';
  const rawInterval = searchParams.get('interval') ?? '';
  const state: RangeState = {
    preset: isPreset(rawPreset) ? rawPreset : DEFAULT_PRESET,
    from: fromIsoDay(searchParams.get('from') ?? '') ? (searchParams.get('from') ?? '') : '',
    to: fromIsoDay(searchParams.get('to') ?? '') ? (searchParams.get('to') ?? '') : '',
    interval: isInterval(rawInterval) ? rawInterval : 'auto',
  };

  const { params, problem } = React.useMemo((): { params: ReportRangeParams; problem: RangeProblem } => {
    const interval = state.interval === 'auto' ? undefined : state.interval;
    if (state.preset !== 'custom') {
      const from = Math.floor((anchor - PRESET_SPAN_MS[state.preset]) / HOUR_MS) * HOUR_MS;
      return { params: { from: new Date(from).toISOString(), interval }, problem: null };
    }
    const fromDay = fromIsoDay(state.from);
    const toDay = fromIsoDay(state.to);
    const from =
      fromDay ?? (toDay ? new Date(dayAfter(toDay).getTime() - 30 * DAY_MS) : new Date(anchor - 30 * DAY_MS));
    const to = toDay ? dayAfter(toDay) : undefined;
    const end = to?.getTime() ?? anchor;
    if (end <= from.getTime()) return { params: {}, problem: 'order' };
    if (end - from.getTime() > MAX_REPORT_RANGE_DAYS * DAY_MS) return { params: {}, problem: 'tooLong' };
    return { params: { from: from.toISOString(), to: to?.toISOString(), interval }, problem: null };
  }, [state.preset, state.from, state.to, state.interval, anchor]);

  const update = (changes: Partial<RangeState>) => {
    const next = new URLSearchParams(searchParams);
    const merged = { ...state, ...changes };
    next.set('range', merged.preset);
    for (const key of ['from', 'to'] as const) {
      if (merged.preset === 'custom' && merged[key]) next.set(key, merged[key]);
      else next.delete(key);
    }
    if (merged.interval === 'auto') next.delete('interval');
    else next.set('interval', merged.interval);
    setSearchParams(next, { replace: true });
  };

  return { state, params, problem, update, refresh: () => setAnchor(Date.now()) };
}

/** The range in a link to another report page (same preset, days and interval). */
export function rangeSearch(state: RangeState): string {
  const search = new URLSearchParams({ range: state.preset });
  if (state.preset === 'custom') {
    if (state.from) search.set('from', state.from);
    if (state.to) search.set('to', state.to);
  }
  if (state.interval !== 'auto') search.set('interval', state.interval);
  return `?${search.toString()}`;
}
