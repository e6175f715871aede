import * as React from 'react';

import { Box, Button, Flex, Grid, Typography } from '@strapi/design-system';
import { Download } from '@strapi/icons';
import { Page } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { Area, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

import type {
  LatencySummary,
  ReportRange,
  ReportRates,
  SeriesPoint,
  StatCounts,
  StatType,
} from '../../../../shared/contracts/reports';
import type { CsvDownload } from '../../api/audience';
import { toApiError } from '../../api/errors';
import { ContentLoader } from '../../components/ContentLoader';
import { CellText, type Column } from '../../components/DataTable';
import { ErrorBox } from '../../components/ErrorBox';
import { useCsvExport } from '../../hooks/useCsvExport';
import { getTranslation } from '../../utils/getTranslation';

/*
 * Pieces every report page shares: number formats, a titled section with its CSV button, figure
 * cards and the time-series chart.
 */

/** Chart colours, close to the design system's palette. */
export const COLORS = {
  accepted: '#328048',
  deferred: '#f29d41',
  failed: '#8e8ea9',
  hardBounce: '#d02b20',
  softBounce: '#f29d41',
  complaint: '#7b2cbf',
  opens: '#4945ff',
  clicks: '#0c75af',
  machine: '#a5a5ba',
  unsubscribe: '#666687',
  neutral: '#4945ff',
  bad: '#d02b20',
  p50: '#7b79ff',
  p95: '#4945ff',
} as const;

const DAY_MS = 24 * 3_600_000;
/** Lines and areas draw themselves in this long (recharts' default is 1.5 s). */
const ANIMATION_MS = 500;

/** Counts, rates, durations and bucket times, formatted for the admin's locale. */
export function useReportFormat() {
  const { formatNumber, formatDate, formatMessage } = useIntl();
  const dash = '—';
  return {
    count: (value: number | null | undefined) => (value === null || value === undefined ? dash : formatNumber(value)),
    /** A 0..1 fraction as a percentage; null (nothing to divide by) as a dash. */
    percent: (value: number | null | undefined, digits = 2) =>
      value === null || value === undefined
        ? dash
        : formatNumber(value, { style: 'percent', maximumFractionDigits: digits }),
    ms: (value: number | null | undefined) =>
      value === null || value === undefined
        ? dash
        : formatMessage(
            { id: getTranslation('units.ms'), defaultMessage: '{ms} ms' },
            { ms: formatNumber(Math.round(value)) }
          ),
    /** An axis label for a bucket: the hour within a day-long range, day and hour beyond, the day for daily buckets. */
    axisTime: (at: string, range: ReportRange) => {
      const date = new Date(at);
      const { timeZone } = range;
      if (range.interval === 'day') return formatDate(date, { day: 'numeric', month: 'short', timeZone });
      const long = Date.parse(range.to) - Date.parse(range.from) > DAY_MS + 3_600_000;
      return long
        ? formatDate(date, {
            day: 'numeric',
            month: 'short',
            hour: '2-digit',
            minute: '2-digit',
            hourCycle: 'h23',
            timeZone,
          })
        : formatDate(date, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone });
    },
    /** A bucket in a tooltip: its full date (and hour). */
    fullTime: (at: string, range: ReportRange) =>
      formatDate(new Date(at), {
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        ...(range.interval === 'hour' ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' as const } : {}),
        timeZone: range.timeZone,
        timeZoneName: 'short',
      }),
    /** The whole range, e.g. "12 May 2025, 10:00 – 19 May 2025, 10:42 (UTC)". */
    rangeText: (range: ReportRange) => {
      const options = {
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
        timeZone: range.timeZone,
      } as const;
      return `${formatDate(new Date(range.from), options)} – ${formatDate(new Date(range.to), options)} (${range.timeZone})`;
    },
  };
}

/** A "Export CSV" button: the file comes through the admin's fetch client (with its token). */
export function CsvButton({ fetchFile, label }: { fetchFile: () => Promise<CsvDownload>; label?: string }) {
  const { formatMessage } = useIntl();
  const csv = useCsvExport(fetchFile);
  return (
    <Button variant="tertiary" size="S" startIcon={<Download />} onClick={() => void csv.run()} loading={csv.isRunning}>
      {label ?? formatMessage({ id: getTranslation('reports.exportCsv'), defaultMessage: 'Export CSV' })}
    </Button>
  );
}

/** The part of a query's state that {@link QueryContent} and {@link reportPageState} read. */
interface QueryState<T> {
  isPending: boolean;
  isError: boolean;
  error: unknown;
  data?: T;
}

interface QueryContentProps<T> {
  query: QueryState<T>;
  errorTitle: string;
  /** Whether the loaded data has nothing to show; then `emptyText` is shown instead of the children. */
  isEmpty?: (data: T) => boolean;
  emptyText?: string;
  children: (data: T) => React.ReactNode;
}

/** Inside a report section: a loader, the load error, a line saying there is nothing, or the content. */
export function QueryContent<T>({ query, errorTitle, isEmpty, emptyText, children }: QueryContentProps<T>) {
  if (query.isPending) return <ContentLoader />;
  if (query.isError) return <ErrorBox title={errorTitle} message={toApiError(query.error).message} />;
  if (query.data === undefined) return null;
  if (isEmpty?.(query.data)) return <Typography textColor="neutral600">{emptyText}</Typography>;
  return <>{children(query.data)}</>;
}

/** A report page's whole-page loader, or its error (`notFoundText` for a 404); null once the report is there. */
export function reportPageState(query: QueryState<unknown>, notFoundText: string): React.ReactElement | null {
  if (query.isPending) return <Page.Loading />;
  if (query.isError) {
    const error = toApiError(query.error);
    return <Page.Error content={error.status === 404 ? notFoundText : error.message} />;
  }
  return null;
}

/** A row of a report table: counters and rates over the range (server, group, campaign x server). */
interface StatRow {
  totals: StatCounts;
  rates: ReportRates;
}

/**
 * Columns the report tables share: a counter, hard / soft bounces, a rate (red and bold when
 * `isBad` says so), latency p50 / p95.
 */
export function useStatColumns<Row extends StatRow>() {
  const { formatMessage } = useIntl();
  const format = useReportFormat();
  const labels = useStatLabels();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const rateLabels: Record<keyof ReportRates, string> = {
    deliverability: text('reports.rate.deliverability', 'Deliverability'),
    bounceRate: text('reports.rate.bounceRate', 'Bounce rate'),
    hardBounceRate: text('reports.rate.hardBounceRate', 'Hard bounce rate'),
    complaintRate: text('reports.rate.complaintRate', 'Complaint rate'),
    openRate: text('reports.rate.openRate', 'Open rate'),
    clickRate: text('reports.rate.clickRate', 'Click rate'),
  };

  return {
    count: (type: StatType): Column<Row> => ({
      key: type,
      header: labels[type],
      render: (row) => <CellText>{format.count(row.totals[type])}</CellText>,
    }),
    bounces: (): Column<Row> => ({
      key: 'bounces',
      header: text('reports.servers.column.bounces', 'Bounces (hard / soft)'),
      render: (row) => (
        <CellText>
          {format.count(row.totals.hardBounce)} / {format.count(row.totals.softBounce)}
        </CellText>
      ),
    }),
    rate: (rate: keyof ReportRates, isBad?: (row: Row) => boolean): Column<Row> => ({
      key: rate,
      header: rateLabels[rate],
      render: (row) => {
        const bad = isBad?.(row) ?? false;
        return (
          <Typography textColor={bad ? 'danger600' : 'neutral800'} fontWeight={bad ? 'bold' : undefined}>
            {format.percent(row.rates[rate])}
          </Typography>
        );
      },
    }),
    latency: (latencyOf: (row: Row) => LatencySummary): Column<Row> => ({
      key: 'latency',
      header: text('reports.servers.column.latency', 'Latency p50 / p95'),
      render: (row) => (
        <Typography textColor="neutral800" style={{ whiteSpace: 'nowrap' }}>
          {format.ms(latencyOf(row).p50)} / {format.ms(latencyOf(row).p95)}
        </Typography>
      ),
    }),
  };
}

interface ReportSectionProps {
  title: string;
  subtitle?: React.ReactNode;
  /** Buttons at the right of the title (CSV export, links). */
  actions?: React.ReactNode;
  /** When set, this line is shown instead of the children (the table has no row). */
  empty?: string;
  children: React.ReactNode;
  testId?: string;
}

/** A white panel with a heading: one table or chart of a report. */
export function ReportSection({ title, subtitle, actions, empty, children, testId }: ReportSectionProps) {
  return (
    <Box
      background="neutral0"
      hasRadius
      shadow="tableShadow"
      padding={6}
      tag="section"
      aria-label={title}
      data-testid={testId}
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <Flex justifyContent="space-between" alignItems="flex-start" gap={4} wrap="wrap">
          <Flex direction="column" alignItems="flex-start" gap={1}>
            <Typography variant="delta" tag="h2">
              {title}
            </Typography>
            {subtitle && (
              <Typography variant="pi" textColor="neutral600">
                {subtitle}
              </Typography>
            )}
          </Flex>
          {actions && (
            <Flex gap={2} wrap="wrap">
              {actions}
            </Flex>
          )}
        </Flex>
        {empty === undefined ? children : <Typography textColor="neutral600">{empty}</Typography>}
      </Flex>
    </Box>
  );
}

export interface Figure {
  /** Stable id for tests (`data-testid="figure-<key>"`). */
  key: string;
  label: string;
  value: string;
  /** A second line, e.g. the count a rate is made of. */
  hint?: string;
  /** Red when the figure is bad (above a threshold). */
  tone?: 'normal' | 'danger' | 'success';
}

/** Key figures as a row of cards. */
export function FigureCards({ figures, label }: { figures: Figure[]; label: string }) {
  return (
    <Grid.Root gap={4} aria-label={label} tag="dl">
      {figures.map((figure) => (
        <Grid.Item key={figure.key} col={2} m={4} s={6} xs={12} direction="column" alignItems="stretch">
          <Box
            background="neutral0"
            hasRadius
            shadow="tableShadow"
            padding={4}
            height="100%"
            borderColor={figure.tone === 'danger' ? 'danger200' : undefined}
            data-testid={`figure-${figure.key}`}
          >
            <Flex direction="column" alignItems="flex-start" gap={1}>
              <Typography tag="dt" variant="sigma" textColor="neutral600">
                {figure.label}
              </Typography>
              <Typography
                tag="dd"
                variant="beta"
                textColor={
                  figure.tone === 'danger' ? 'danger600' : figure.tone === 'success' ? 'success600' : 'neutral800'
                }
                style={{ margin: 0 }}
              >
                {figure.value}
              </Typography>
              {figure.hint && (
                <Typography variant="pi" textColor="neutral600">
                  {figure.hint}
                </Typography>
              )}
            </Flex>
          </Box>
        </Grid.Item>
      ))}
    </Grid.Root>
  );
}

export interface SeriesLine {
  key: StatType;
  label: string;
  color: string;
}

interface SeriesChartProps {
  series: SeriesPoint[];
  range: ReportRange;
  lines: SeriesLine[];
  /** Areas (stacked volumes) or lines (rare events that must not hide under a big area). */
  kind?: 'area' | 'line';
  /** Accessible name of the chart. */
  label: string;
  height?: number;
  testId?: string;
}

/** Counters per interval over the range, one line (or area) per counter, with a tooltip and a legend. */
export function SeriesChart({ series, range, lines, kind = 'line', label, height = 280, testId }: SeriesChartProps) {
  const format = useReportFormat();
  return (
    <Box role="img" aria-label={label} data-testid={testId} width="100%">
      <ResponsiveContainer width="100%" height={height}>
        <ComposedChart data={series} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis
            dataKey="at"
            tickFormatter={(at: string) => format.axisTime(at, range)}
            minTickGap={24}
            fontSize={12}
          />
          <YAxis
            allowDecimals={false}
            fontSize={12}
            width={48}
            tickFormatter={(value: number) => format.count(value)}
          />
          <Tooltip
            labelFormatter={(at: string) => format.fullTime(at, range)}
            formatter={(value: number, name: string) => [format.count(value), name]}
          />
          <Legend />
          {lines.map((line) =>
            kind === 'area' ? (
              <Area
                key={line.key}
                type="monotone"
                dataKey={line.key}
                name={line.label}
                stroke={line.color}
                fill={line.color}
                fillOpacity={0.15}
                strokeWidth={2}
                animationDuration={ANIMATION_MS}
              />
            ) : (
              <Line
                key={line.key}
                type="monotone"
                dataKey={line.key}
                name={line.label}
                stroke={line.color}
                strokeWidth={2}
                dot={series.length <= 48}
                animationDuration={ANIMATION_MS}
              />
            )
          )}
        </ComposedChart>
      </ResponsiveContainer>
    </Box>
  );
}

/** The labels of every counter, translated. */
export function useStatLabels(): Record<StatType, string> {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  return {
    queued: text('stat.queued', 'Queued'),
    accepted: text('stat.accepted', 'Accepted'),
    deferred: text('stat.deferred', 'Deferred'),
    failed: text('stat.failed', 'Failed'),
    hardBounce: text('stat.hardBounce', 'Hard bounces'),
    softBounce: text('stat.softBounce', 'Soft bounces'),
    complaint: text('stat.complaint', 'Complaints'),
    openHuman: text('stat.openHuman', 'Opens'),
    openHumanUnique: text('stat.openHumanUnique', 'Unique opens'),
    openMachine: text('stat.openMachine', 'Machine opens'),
    click: text('stat.click', 'Clicks'),
    clickUnique: text('stat.clickUnique', 'Unique clicks'),
    unsubscribe: text('stat.unsubscribe', 'Unsubscribes'),
    skipped: text('stat.skipped', 'Skipped'),
  };
}

/** The three charts of a series: sending volume, bounces and complaints, engagement. */
export function SeriesCharts({ series, range }: { series: SeriesPoint[]; range: ReportRange }) {
  const { formatMessage } = useIntl();
  const labels = useStatLabels();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const line = (key: StatType, color: string): SeriesLine => ({ key, label: labels[key], color });
  const smallCharts = [
    {
      testId: 'chart-problems',
      title: text('reports.chart.problems.title', 'Bounces and complaints'),
      label: text('reports.chart.problems', 'Hard bounces, soft bounces and complaints over time'),
      lines: [
        line('hardBounce', COLORS.hardBounce),
        line('softBounce', COLORS.softBounce),
        line('complaint', COLORS.complaint),
      ],
    },
    {
      testId: 'chart-engagement',
      title: text('reports.chart.engagement.title', 'Opens and clicks'),
      label: text('reports.chart.engagement', 'Opens and clicks over time'),
      lines: [
        line('openHumanUnique', COLORS.opens),
        line('openMachine', COLORS.machine),
        line('clickUnique', COLORS.clicks),
        line('unsubscribe', COLORS.unsubscribe),
      ],
    },
  ];

  return (
    <Flex direction="column" alignItems="stretch" gap={6}>
      <SeriesChart
        kind="area"
        label={text('reports.chart.sending', 'Accepted, deferred and failed messages over time')}
        series={series}
        range={range}
        lines={[line('accepted', COLORS.accepted), line('deferred', COLORS.deferred), line('failed', COLORS.failed)]}
        testId="chart-sending"
      />
      <Grid.Root gap={6}>
        {smallCharts.map((chart) => (
          <Grid.Item key={chart.testId} col={6} s={12} direction="column" alignItems="stretch">
            <Typography variant="omega" fontWeight="bold" tag="h3">
              {chart.title}
            </Typography>
            <SeriesChart
              label={chart.label}
              series={series}
              range={range}
              lines={chart.lines}
              height={240}
              testId={chart.testId}
            />
          </Grid.Item>
        ))}
      </Grid.Root>
    </Flex>
  );
}
