import { Badge, Button, Flex, Grid, Link, Typography } from '@strapi/design-system';
import { ArrowClockwise } from '@strapi/icons';
import { BackButton, Layouts, Page } from '@strapi/strapi/admin';
import { useQueryClient } from '@tanstack/react-query';
import { useIntl } from 'react-intl';
import { Link as RouterLink, useParams } from 'react-router-dom';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

import type { Alert } from '../../../../shared/contracts/alerts';
import type { LatencySummary, ServerReport } from '../../../../shared/contracts/reports';
import { reportKeys, useAlertList, useOverviewReport, useReportsApi, useServerReport } from '../../api/reports';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { QuotaBar } from '../../components/LiveStatus';
import { useLabels } from '../../hooks/useLabels';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';
import { AlertStatusBadge, useAlertRuleLabel } from './AlertsPage';
import {
  COLORS,
  CsvButton,
  type Figure,
  FigureCards,
  QueryContent,
  reportPageState,
  ReportSection,
  SeriesCharts,
  useReportFormat,
} from './reportParts';
import { ReportRangePicker } from './ReportRangePicker';
import { useReportRange } from './reportRange';
import { rulesAbove, thresholdsFrom } from './thresholds';

/** One server over a range: its figures, its series, its latency next to every server's, its recent alerts. */
export function ServerReportPage() {
  const { id } = useParams<{ id: string }>();
  const { formatMessage } = useIntl();
  const queryClient = useQueryClient();
  const range = useReportRange();
  const api = useReportsApi();
  const report = useServerReport(id, range.params);
  const overall = useOverviewReport(range.params);
  const alerts = useAlertList({ server: id, pageSize: 10 });
  const text = (key: string, defaultMessage: string) => formatMessage({ id: getTranslation(key), defaultMessage });

  const pageState = reportPageState(
    report,
    text('reports.server.notFound', 'This server does not exist and has no statistics.')
  );
  if (pageState || !report.data) return pageState;
  const data = report.data.data;
  const title = data.server.name;

  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
        subtitle={text('reports.server.subtitle', 'Server report')}
        navigationAction={<BackButton fallback={paths.reports} />}
        primaryAction={
          <Flex gap={2}>
            <Button
              variant="secondary"
              startIcon={<ArrowClockwise />}
              onClick={() => {
                range.refresh();
                void queryClient.invalidateQueries({ queryKey: reportKeys.all });
                void queryClient.invalidateQueries({ queryKey: reportKeys.alerts() });
              }}
              loading={report.isFetching}
            >
              {text('reports.refresh', 'Refresh')}
            </Button>
          </Flex>
        }
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={6}>
          <ReportRangePicker range={range} />
          <ServerFigures report={data} alerts={alerts.data?.data ?? []} />
          <ReportSection
            title={text('reports.overTime', 'Over time')}
            actions={
              <>
                <Link tag={RouterLink} to={`${paths.log}?server=${encodeURIComponent(data.server.serverId)}`}>
                  {text('reports.server.openLog', 'Its messages in the delivery log')}
                </Link>
                <CsvButton fetchFile={() => api.serverCsv(data.server.serverId, range.params)} />
              </>
            }
            testId="report-series"
          >
            <SeriesCharts series={data.series} range={data.range} />
          </ReportSection>
          <ReportSection
            title={text('reports.server.latency', 'SMTP latency')}
            subtitle={text(
              'reports.server.latency.subtitle',
              'Accepted attempts over the range: this server and all servers together.'
            )}
            testId="report-latency"
          >
            <LatencyChart
              server={data.server.latency}
              all={overall.data?.data.latency ?? null}
              serverName={data.server.name}
            />
          </ReportSection>
          <ReportSection
            title={text('reports.server.alerts', 'Recent alerts')}
            actions={
              <Link tag={RouterLink} to={`${paths.alerts}?server=${encodeURIComponent(data.server.serverId)}`}>
                {text('reports.server.alerts.all', 'All alerts of this server')}
              </Link>
            }
            testId="report-server-alerts"
          >
            <QueryContent
              query={alerts}
              errorTitle={text('alerts.loadFailed', 'The alerts could not be loaded')}
              isEmpty={({ data }) => data.length === 0}
              emptyText={text('reports.server.alerts.none', 'No protection alert for this server.')}
            >
              {({ data }) => <RecentAlertsTable alerts={data} />}
            </QueryContent>
          </ReportSection>
        </Flex>
      </Layouts.Content>
    </Page.Main>
  );
}

function ServerFigures({ report, alerts }: { report: ServerReport; alerts: Alert[] }) {
  const { formatMessage } = useIntl();
  const format = useReportFormat();
  const text = (id: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);
  const { totals, rates, latency, quota, health } = report.server;
  const broken = rulesAbove(rates, thresholdsFrom(alerts));

  const figures: Figure[] = [
    { key: 'accepted', label: text('stat.accepted', 'Accepted'), value: format.count(totals.accepted) },
    {
      key: 'deliverability',
      label: text('reports.rate.deliverability', 'Deliverability'),
      value: format.percent(rates.deliverability),
    },
    {
      key: 'bounceRate',
      label: text('reports.rate.bounceRate', 'Bounce rate'),
      value: format.percent(rates.bounceRate),
      hint: text('reports.figure.bounces', '{hard} hard, {soft} soft', {
        hard: format.count(totals.hardBounce),
        soft: format.count(totals.softBounce),
      }),
      tone: broken.includes('bounceRate') ? 'danger' : 'normal',
    },
    {
      key: 'complaintRate',
      label: text('reports.rate.complaintRate', 'Complaint rate'),
      value: format.percent(rates.complaintRate),
      hint: text('reports.figure.complaints', '{count} complaints', { count: format.count(totals.complaint) }),
      tone: broken.includes('complaintRate') ? 'danger' : 'normal',
    },
    { key: 'latencyP50', label: text('reports.latency.p50', 'Latency p50'), value: format.ms(latency.p50) },
    { key: 'latencyP95', label: text('reports.latency.p95', 'Latency p95'), value: format.ms(latency.p95) },
  ];

  return (
    <Flex direction="column" alignItems="stretch" gap={4}>
      <Flex gap={2} wrap="wrap">
        {health && (
          <Badge variant={health === 'open' ? 'danger' : health === 'half-open' ? 'warning' : 'success'}>
            {health === 'open'
              ? text('health.suspended', 'Suspended')
              : health === 'half-open'
                ? text('health.probing', 'Probing (half-open)')
                : text('health.active', 'Active')}
          </Badge>
        )}
        {!report.server.exists && <Badge>{text('reports.servers.deleted', 'Deleted')}</Badge>}
        {broken.length > 0 && (
          <Badge variant="danger">{text('reports.servers.aboveThreshold', 'Above threshold')}</Badge>
        )}
      </Flex>
      <FigureCards figures={figures} label={text('reports.totals', 'Totals')} />
      {quota && (
        <Grid.Root gap={4}>
          <Grid.Item col={3} s={6} direction="column" alignItems="stretch" gap={1}>
            <Typography variant="sigma" textColor="neutral600">
              {text('reports.quota.hour', 'Hour quota')}
            </Typography>
            <QuotaBar label={text('reports.quota.hour', 'Hour quota')} used={quota.hour.used} cap={quota.hour.cap} />
          </Grid.Item>
          <Grid.Item col={3} s={6} direction="column" alignItems="stretch" gap={1}>
            <Typography variant="sigma" textColor="neutral600">
              {text('reports.quota.day', 'Day quota')}
            </Typography>
            <QuotaBar label={text('reports.quota.day', 'Day quota')} used={quota.day.used} cap={quota.day.cap} />
          </Grid.Item>
        </Grid.Root>
      )}
    </Flex>
  );
}

/** p50, p95 and mean latency, this server next to all servers. */
function LatencyChart({
  server,
  all,
  serverName,
}: {
  server: LatencySummary;
  all: LatencySummary | null;
  serverName: string;
}) {
  const { formatMessage } = useIntl();
  const format = useReportFormat();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const allName = text('reports.server.latency.all', 'All servers');
  const data = [
    { name: 'p50', server: server.p50, all: all?.p50 ?? null },
    { name: 'p95', server: server.p95, all: all?.p95 ?? null },
    { name: text('reports.latency.avg', 'Mean'), server: server.avg, all: all?.avg ?? null },
  ];
  const label = text('reports.server.latency.chart', 'Latency p50, p95 and mean, this server and all servers');

  if (server.count === 0) {
    return (
      <Typography textColor="neutral600">
        {text('reports.server.latency.none', 'No accepted attempt in this range.')}
      </Typography>
    );
  }
  return (
    <Flex
      role="img"
      aria-label={label}
      data-testid="chart-latency"
      width="100%"
      direction="column"
      alignItems="stretch"
    >
      <ResponsiveContainer width="100%" height={240}>
        <BarChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="name" fontSize={12} />
          <YAxis fontSize={12} width={64} tickFormatter={(value: number) => format.ms(value)} />
          <Tooltip formatter={(value: number, name: string) => [format.ms(value), name]} />
          <Legend />
          <Bar dataKey="server" name={serverName} fill={COLORS.p95} isAnimationActive={false} />
          {all && <Bar dataKey="all" name={allName} fill={COLORS.p50} isAnimationActive={false} />}
        </BarChart>
      </ResponsiveContainer>
    </Flex>
  );
}

function RecentAlertsTable({ alerts }: { alerts: Alert[] }) {
  const { formatMessage } = useIntl();
  const labels = useLabels();
  const ruleLabel = useAlertRuleLabel();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const columns: Column<Alert>[] = [
    {
      key: 'createdAt',
      header: text('alerts.column.raised', 'Raised'),
      render: (alert) => (
        <Typography textColor="neutral800" style={{ whiteSpace: 'nowrap' }}>
          {labels.dateTime(Date.parse(alert.createdAt))}
        </Typography>
      ),
    },
    {
      key: 'rule',
      header: text('alerts.column.rule', 'Rule'),
      render: (alert) => <CellText>{ruleLabel(alert.rule)}</CellText>,
    },
    {
      key: 'summary',
      header: text('alerts.column.summary', 'Summary'),
      render: (alert) => <CellText>{alert.summary}</CellText>,
    },
    {
      key: 'status',
      header: text('alerts.column.status', 'Status'),
      render: (alert) => <AlertStatusBadge status={alert.status} />,
    },
  ];
  return <DataTable columns={columns} rows={alerts} rowKey={(alert) => alert.documentId} />;
}

export default ServerReportPage;
