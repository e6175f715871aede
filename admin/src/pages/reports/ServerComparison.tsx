import { Badge, Flex, Grid, Link, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';
import { Link as RouterLink } from 'react-router-dom';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';

import type { ServerReportRow } from '../../../../shared/contracts/reports';
import { DataTable, type Column } from '../../components/DataTable';
import { NoValue, QuotaBar } from '../../components/LiveStatus';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';
import { COLORS, useReportFormat, useStatColumns } from './reportParts';
import { rulesAbove, type Thresholds } from './thresholds';

interface ServerComparisonProps {
  servers: ServerReportRow[];
  thresholds: Thresholds;
  /** documentIds of servers with an active protection alert. */
  alerted: Set<string>;
  /** Appended to links to a server's report (the same range). */
  search: string;
}

/** Servers with something to compare: sent in the range, or still configured. */
const shown = (row: ServerReportRow) =>
  row.exists || row.totals.accepted + row.totals.failed + row.totals.hardBounce > 0;

/** The next round number (1, 2 or 5 times a power of ten) at or above a value: a y axis that ends on a clean tick. */
const niceCeiling = (value: number) => {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].find((step) => step * power >= value) ?? 10) * power;
};

interface ComparisonBarChartProps {
  title: string;
  testId: string;
  data: Array<{ name: string; value: number | null }>;
  tickFormat: (value: number) => string;
  /** Draws a dashed line at this value and the bars above it in red. */
  threshold?: { value: number; label: string };
}

/** One bar per server for one figure; with a threshold, a server above it is drawn red. */
function ComparisonBarChart({ title, testId, data, tickFormat, threshold }: ComparisonBarChartProps) {
  return (
    <Flex direction="column" alignItems="stretch" gap={2}>
      <Typography variant="omega" fontWeight="bold" tag="h3">
        {title}
      </Typography>
      <Flex role="img" aria-label={title} data-testid={testId} width="100%" direction="column" alignItems="stretch">
        <ResponsiveContainer width="100%" height={220}>
          <BarChart data={data} margin={{ top: 16, right: threshold ? 92 : 16, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis
              dataKey="name"
              fontSize={12}
              interval={0}
              tickFormatter={(name: string) => (name.length > 14 ? `${name.slice(0, 13)}…` : name)}
            />
            <YAxis
              fontSize={12}
              width={64}
              tickFormatter={tickFormat}
              domain={threshold ? [0, (max: number) => niceCeiling(Math.max(max, threshold.value * 1.5))] : [0, 'auto']}
            />
            <Tooltip formatter={(value: number) => [tickFormat(value), title]} />
            <Bar dataKey="value" isAnimationActive={false}>
              {data.map((entry) => (
                <Cell
                  key={entry.name}
                  fill={
                    threshold && entry.value !== null && entry.value > threshold.value ? COLORS.bad : COLORS.neutral
                  }
                />
              ))}
            </Bar>
            {/* After the bars, so the line and its label are drawn over them. */}
            {threshold && (
              <ReferenceLine
                y={threshold.value}
                stroke={COLORS.bad}
                strokeDasharray="4 4"
                label={{ value: threshold.label, position: 'right', fontSize: 11, fill: COLORS.bad }}
              />
            )}
          </BarChart>
        </ResponsiveContainer>
      </Flex>
    </Flex>
  );
}

/**
 * Every server side by side: bar charts of bounce rate, complaint rate (each with its protection
 * threshold; a server above it is drawn red) and latency p95.
 */
export function ServerComparisonCharts({ servers, thresholds }: Pick<ServerComparisonProps, 'servers' | 'thresholds'>) {
  const { formatMessage } = useIntl();
  const format = useReportFormat();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const rows = servers.filter(shown);
  const thresholdOf = (key: keyof Thresholds) => ({
    value: thresholds[key],
    label: formatMessage(
      { id: getTranslation('reports.servers.threshold'), defaultMessage: 'Threshold {value}' },
      { value: format.percent(thresholds[key]) }
    ),
  });
  const percent = (value: number) => format.percent(value, 1);
  const charts: ComparisonBarChartProps[] = [
    {
      title: text('reports.servers.chart.bounceRate', 'Bounce rate'),
      testId: 'chart-server-bounce-rate',
      data: rows.map((row) => ({ name: row.name, value: row.rates.bounceRate })),
      tickFormat: percent,
      threshold: thresholdOf('bounceRate'),
    },
    {
      title: text('reports.servers.chart.complaintRate', 'Complaint rate'),
      testId: 'chart-server-complaint-rate',
      data: rows.map((row) => ({ name: row.name, value: row.rates.complaintRate })),
      tickFormat: percent,
      threshold: thresholdOf('complaintRate'),
    },
    {
      title: text('reports.servers.chart.latency', 'Latency p95'),
      testId: 'chart-server-latency',
      data: rows.map((row) => ({ name: row.name, value: row.latency.p95 })),
      tickFormat: (value: number) => format.ms(value),
    },
  ];

  return (
    <Grid.Root gap={6}>
      {charts.map((chart) => (
        <Grid.Item key={chart.testId} col={4} m={6} s={12} direction="column" alignItems="stretch">
          <ComparisonBarChart {...chart} />
        </Grid.Item>
      ))}
    </Grid.Root>
  );
}

/** The comparison table: a server's name links to its report; a server above a threshold is flagged. */
export function ServerComparisonTable({ servers, thresholds, alerted, search }: ServerComparisonProps) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const stat = useStatColumns<ServerReportRow>();
  const isAbove = (rule: keyof Thresholds) => (row: ServerReportRow) =>
    rulesAbove(row.rates, thresholds).includes(rule);

  const columns: Column<ServerReportRow>[] = [
    {
      key: 'name',
      header: text('reports.servers.column.server', 'Server'),
      render: (row) => {
        const broken = rulesAbove(row.rates, thresholds);
        return (
          <Flex direction="column" alignItems="flex-start" gap={1}>
            <Link tag={RouterLink} to={`${paths.serverReport(row.serverId)}${search}`}>
              {row.name}
            </Link>
            <Flex gap={1} wrap="wrap">
              {broken.length > 0 && (
                <Badge variant="danger">{text('reports.servers.aboveThreshold', 'Above threshold')}</Badge>
              )}
              {alerted.has(row.serverId) && (
                <Badge variant="warning">{text('reports.servers.activeAlert', 'Active alert')}</Badge>
              )}
              {!row.exists && <Badge>{text('reports.servers.deleted', 'Deleted')}</Badge>}
              {row.exists && !row.enabled && <Badge>{text('reports.servers.disabled', 'Disabled')}</Badge>}
            </Flex>
          </Flex>
        );
      },
    },
    {
      key: 'health',
      header: text('reports.servers.column.health', 'Health'),
      render: (row) =>
        row.health === null ? (
          <NoValue />
        ) : (
          <Badge variant={row.health === 'open' ? 'danger' : row.health === 'half-open' ? 'warning' : 'success'}>
            {row.health === 'open'
              ? text('health.suspended', 'Suspended')
              : row.health === 'half-open'
                ? text('health.probing', 'Probing (half-open)')
                : text('health.active', 'Active')}
          </Badge>
        ),
    },
    stat.count('accepted'),
    stat.bounces(),
    stat.count('complaint'),
    stat.rate('deliverability'),
    stat.rate('bounceRate', isAbove('bounceRate')),
    stat.rate('complaintRate', isAbove('complaintRate')),
    stat.latency((row) => row.latency),
    {
      key: 'quotaHour',
      header: text('reports.servers.column.quotaHour', 'Quota (hour)'),
      render: (row) =>
        row.quota ? (
          <QuotaBar
            label={text('reports.quota.hour', 'Hour quota')}
            used={row.quota.hour.used}
            cap={row.quota.hour.cap}
          />
        ) : (
          <NoValue />
        ),
    },
    {
      key: 'quotaDay',
      header: text('reports.servers.column.quotaDay', 'Quota (day)'),
      render: (row) =>
        row.quota ? (
          <QuotaBar label={text('reports.quota.day', 'Day quota')} used={row.quota.day.used} cap={row.quota.day.cap} />
        ) : (
          <NoValue />
        ),
    },
  ];

  return <DataTable columns={columns} rows={servers.filter(shown)} rowKey={(row) => row.serverId} />;
}
