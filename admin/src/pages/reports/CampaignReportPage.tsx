import { Button, Flex, Grid, Link, Typography } from '@strapi/design-system';
import { ArrowClockwise } from '@strapi/icons';
import { BackButton, Layouts, Page } from '@strapi/strapi/admin';
import { useQueryClient } from '@tanstack/react-query';
import { useIntl } from 'react-intl';
import { Link as RouterLink, useParams } from 'react-router-dom';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  LabelList,
  Legend,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';

import type { CampaignStatus } from '../../../../shared/contracts/campaigns';
import type {
  BounceReasonRow,
  CampaignReport,
  CampaignServerRow,
  TopLinkRow,
} from '../../../../shared/contracts/reports';
import { reportKeys, useCampaignReport, useReportsApi } from '../../api/reports';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { useLabels } from '../../hooks/useLabels';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';
import { CampaignStatusBadge } from '../campaigns/CampaignProgressView';
import {
  COLORS,
  CsvButton,
  type Figure,
  FigureCards,
  reportPageState,
  ReportSection,
  SeriesCharts,
  useReportFormat,
  useStatColumns,
} from './reportParts';

/**
 * One campaign from its start to now: the funnel (recipients -> accepted -> opened -> clicked) and
 * what went wrong (unsubscribes, bounces, complaints), its series, the top links, the bounce reasons
 * and the split per server. Every table exports as CSV.
 */
export function CampaignReportPage() {
  const { id } = useParams<{ id: string }>();
  const { formatMessage } = useIntl();
  const queryClient = useQueryClient();
  const api = useReportsApi();
  const report = useCampaignReport(id, {});
  const labels = useLabels();
  const text = (key: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(key), defaultMessage }, values);

  const pageState = reportPageState(
    report,
    text('reports.campaign.notFound', 'This campaign does not exist any more.')
  );
  if (pageState || !report.data) return pageState;
  const data = report.data.data;
  const csv = (table: Parameters<typeof api.campaignCsv>[2]) => () =>
    api.campaignCsv(data.campaign.documentId, {}, table);
  const started = data.campaign.startedAt ? labels.dateTime(Date.parse(data.campaign.startedAt)) : null;

  return (
    <Page.Main>
      <Page.Title>{data.campaign.name}</Page.Title>
      <Layouts.Header
        title={data.campaign.name}
        subtitle={
          started
            ? text('reports.campaign.subtitle', 'Campaign report · started {when}', { when: started })
            : text('reports.campaign.subtitle.notStarted', 'Campaign report · not started')
        }
        navigationAction={<BackButton fallback={paths.reports} />}
        primaryAction={
          <Button
            variant="secondary"
            startIcon={<ArrowClockwise />}
            onClick={() => void queryClient.invalidateQueries({ queryKey: reportKeys.all })}
            loading={report.isFetching}
          >
            {text('reports.refresh', 'Refresh')}
          </Button>
        }
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={6}>
          <Flex gap={3} wrap="wrap">
            <CampaignStatusBadge status={data.campaign.status as CampaignStatus} />
            <Link tag={RouterLink} to={paths.campaign(data.campaign.documentId)}>
              {text('reports.campaign.open', 'Open the campaign')}
            </Link>
            <Link tag={RouterLink} to={`${paths.log}?campaign=${encodeURIComponent(data.campaign.documentId)}`}>
              {text('reports.campaign.openLog', 'Its messages in the delivery log')}
            </Link>
          </Flex>
          <CampaignFigures report={data} />
          <ReportSection
            title={text('reports.campaign.funnel', 'Funnel')}
            subtitle={text(
              'reports.campaign.funnel.subtitle',
              'Opens and clicks count each recipient once (human opens only).'
            )}
            actions={<CsvButton fetchFile={csv('funnel')} />}
            testId="report-funnel"
          >
            <FunnelChart report={data} />
          </ReportSection>
          <ReportSection
            title={text('reports.overTime', 'Over time')}
            actions={<CsvButton fetchFile={csv('series')} />}
            testId="report-series"
          >
            <SeriesCharts series={data.series} range={data.range} />
          </ReportSection>
          <ReportSection
            title={text('reports.campaign.servers', 'Per server')}
            actions={<CsvButton fetchFile={csv('servers')} />}
            testId="report-campaign-servers"
            empty={
              data.servers.length === 0
                ? text('reports.campaign.servers.none', 'No message of this campaign went out yet.')
                : undefined
            }
          >
            <CampaignServers rows={data.servers} />
          </ReportSection>
          <Grid.Root gap={6}>
            <Grid.Item col={6} s={12} direction="column" alignItems="stretch">
              <ReportSection
                title={text('reports.campaign.bounceReasons', 'Bounce reasons')}
                subtitle={text(
                  'reports.campaign.bounceReasons.subtitle',
                  'From the delivery log (messages past its retention are not counted).'
                )}
                actions={<CsvButton fetchFile={csv('bounceReasons')} />}
                testId="report-bounce-reasons"
                empty={
                  data.bounceReasons.length === 0
                    ? text('reports.campaign.bounceReasons.none', 'No bounce.')
                    : undefined
                }
              >
                <BounceReasonsTable rows={data.bounceReasons} />
              </ReportSection>
            </Grid.Item>
            <Grid.Item col={6} s={12} direction="column" alignItems="stretch">
              <ReportSection
                title={text('reports.campaign.topLinks', 'Top links')}
                actions={<CsvButton fetchFile={csv('topLinks')} />}
                testId="report-top-links"
                empty={
                  data.topLinks.length === 0
                    ? text(
                        'reports.campaign.topLinks.none',
                        'No click recorded (click tracking is off for this campaign, or nobody clicked yet).'
                      )
                    : undefined
                }
              >
                <TopLinksTable rows={data.topLinks} />
              </ReportSection>
            </Grid.Item>
          </Grid.Root>
        </Flex>
      </Layouts.Content>
    </Page.Main>
  );
}

function CampaignFigures({ report }: { report: CampaignReport }) {
  const { formatMessage } = useIntl();
  const format = useReportFormat();
  const text = (id: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);
  const { funnel, rates, totals } = report;
  const ofAccepted = (count: number) =>
    text('reports.figure.rate', '{rate} of accepted', {
      rate: format.percent(funnel.accepted > 0 ? count / funnel.accepted : null),
    });

  const figures: Figure[] = [
    {
      key: 'recipients',
      label: text('reports.funnel.recipients', 'Recipients'),
      value: format.count(funnel.recipients),
    },
    {
      key: 'accepted',
      label: text('stat.accepted', 'Accepted'),
      value: format.count(funnel.accepted),
      hint: text('reports.figure.deliverability', '{rate} deliverability', {
        rate: format.percent(rates.deliverability),
      }),
    },
    {
      key: 'opens',
      label: text('stat.openHumanUnique', 'Unique opens'),
      value: format.count(funnel.opensUnique),
      hint: ofAccepted(funnel.opensUnique),
    },
    {
      key: 'clicks',
      label: text('stat.clickUnique', 'Unique clicks'),
      value: format.count(funnel.clicksUnique),
      hint: ofAccepted(funnel.clicksUnique),
    },
    {
      key: 'unsubscribes',
      label: text('stat.unsubscribe', 'Unsubscribes'),
      value: format.count(funnel.unsubscribes),
      hint: ofAccepted(funnel.unsubscribes),
    },
    {
      key: 'bounces',
      label: text('reports.funnel.bounces', 'Bounces'),
      value: format.count(funnel.bounces),
      hint: text('reports.figure.bounces', '{hard} hard, {soft} soft', {
        hard: format.count(totals.hardBounce),
        soft: format.count(totals.softBounce),
      }),
    },
    {
      key: 'complaints',
      label: text('stat.complaint', 'Complaints'),
      value: format.count(funnel.complaints),
      hint: text('reports.figure.complaintRate', '{rate} complaint rate', {
        rate: format.percent(rates.complaintRate),
      }),
    },
  ];
  return <FigureCards figures={figures} label={text('reports.totals', 'Totals')} />;
}

/** Recipients -> queued -> accepted -> opened -> clicked, then what was lost, as horizontal bars. */
function FunnelChart({ report }: { report: CampaignReport }) {
  const { formatMessage } = useIntl();
  const format = useReportFormat();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const { funnel } = report;
  const steps = [
    { name: text('reports.funnel.recipients', 'Recipients'), value: funnel.recipients, color: COLORS.neutral },
    { name: text('reports.funnel.queued', 'Queued'), value: funnel.queued, color: COLORS.neutral },
    { name: text('stat.accepted', 'Accepted'), value: funnel.accepted, color: COLORS.accepted },
    { name: text('reports.funnel.opened', 'Opened'), value: funnel.opensUnique, color: COLORS.opens },
    { name: text('reports.funnel.clicked', 'Clicked'), value: funnel.clicksUnique, color: COLORS.clicks },
    { name: text('stat.unsubscribe', 'Unsubscribes'), value: funnel.unsubscribes, color: COLORS.unsubscribe },
    { name: text('reports.funnel.bounces', 'Bounces'), value: funnel.bounces, color: COLORS.hardBounce },
    { name: text('stat.complaint', 'Complaints'), value: funnel.complaints, color: COLORS.complaint },
  ];
  const label = text('reports.campaign.funnel.chart', 'Campaign funnel');
  return (
    <Flex role="img" aria-label={label} data-testid="chart-funnel" width="100%" direction="column" alignItems="stretch">
      <ResponsiveContainer width="100%" height={steps.length * 36 + 24}>
        <BarChart data={steps} layout="vertical" margin={{ top: 0, right: 48, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" horizontal={false} />
          <XAxis
            type="number"
            allowDecimals={false}
            fontSize={12}
            tickFormatter={(value: number) => format.count(value)}
          />
          <YAxis type="category" dataKey="name" width={110} fontSize={12} />
          <Tooltip formatter={(value: number) => [format.count(value), label]} />
          <Bar dataKey="value" isAnimationActive={false}>
            {steps.map((step) => (
              <Cell key={step.name} fill={step.color} />
            ))}
            <LabelList
              dataKey="value"
              position="right"
              fontSize={12}
              formatter={(value: number) => format.count(value)}
            />
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </Flex>
  );
}

function CampaignServers({ rows }: { rows: CampaignServerRow[] }) {
  const { formatMessage } = useIntl();
  const format = useReportFormat();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const data = rows.map((row) => ({
    name: row.name,
    accepted: row.totals.accepted,
    bounces: row.totals.hardBounce + row.totals.softBounce,
    complaints: row.totals.complaint,
  }));
  const chartLabel = text('reports.campaign.servers.chart', 'Accepted, bounced and complained messages per server');
  const stat = useStatColumns<CampaignServerRow>();
  const columns: Column<CampaignServerRow>[] = [
    {
      key: 'name',
      header: text('reports.servers.column.server', 'Server'),
      render: (row) => (
        <Link tag={RouterLink} to={paths.serverReport(row.serverId)}>
          {row.name}
        </Link>
      ),
    },
    stat.count('accepted'),
    stat.bounces(),
    stat.count('complaint'),
    stat.rate('deliverability'),
    stat.rate('bounceRate'),
    stat.rate('openRate'),
    stat.rate('clickRate'),
  ];

  return (
    <Flex direction="column" alignItems="stretch" gap={4}>
      <Flex
        role="img"
        aria-label={chartLabel}
        data-testid="chart-campaign-servers"
        width="100%"
        direction="column"
        alignItems="stretch"
      >
        <ResponsiveContainer width="100%" height={220}>
          <BarChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="name" fontSize={12} />
            <YAxis allowDecimals={false} fontSize={12} width={48} />
            <Tooltip formatter={(value: number, name: string) => [format.count(value), name]} />
            <Legend />
            <Bar
              dataKey="accepted"
              name={text('stat.accepted', 'Accepted')}
              fill={COLORS.accepted}
              isAnimationActive={false}
            />
            <Bar
              dataKey="bounces"
              name={text('reports.funnel.bounces', 'Bounces')}
              fill={COLORS.hardBounce}
              isAnimationActive={false}
            />
            <Bar
              dataKey="complaints"
              name={text('stat.complaint', 'Complaints')}
              fill={COLORS.complaint}
              isAnimationActive={false}
            />
          </BarChart>
        </ResponsiveContainer>
      </Flex>
      <DataTable columns={columns} rows={rows} rowKey={(row) => row.serverId} />
    </Flex>
  );
}

function BounceReasonsTable({ rows }: { rows: BounceReasonRow[] }) {
  const { formatMessage } = useIntl();
  const format = useReportFormat();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  return (
    <DataTable
      columns={[
        {
          key: 'reason',
          header: text('reports.bounceReasons.column.reason', 'Reason'),
          render: (row) => <CellText>{row.reason}</CellText>,
        },
        {
          key: 'status',
          header: text('reports.bounceReasons.column.status', 'Status'),
          render: (row) => <CellText>{row.status ?? '—'}</CellText>,
        },
        {
          key: 'count',
          header: text('reports.bounceReasons.column.count', 'Messages'),
          render: (row) => <CellText>{format.count(row.count)}</CellText>,
        },
        {
          key: 'example',
          header: text('reports.bounceReasons.column.example', 'Example reply'),
          render: (row) => (
            <Typography variant="pi" textColor="neutral800" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
              {row.example ? <code>{row.example}</code> : '—'}
            </Typography>
          ),
        },
      ]}
      rows={rows}
      rowKey={(row) => `${row.reason} ${row.status ?? ''}`}
    />
  );
}

function TopLinksTable({ rows }: { rows: TopLinkRow[] }) {
  const { formatMessage } = useIntl();
  const format = useReportFormat();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  return (
    <DataTable
      columns={[
        {
          key: 'url',
          header: text('reports.topLinks.column.url', 'Link'),
          render: (row) => (
            <Typography textColor="neutral800" ellipsis title={row.url} style={{ maxWidth: '28rem', display: 'block' }}>
              {row.url}
            </Typography>
          ),
        },
        {
          key: 'unique',
          header: text('stat.clickUnique', 'Unique clicks'),
          render: (row) => <CellText>{format.count(row.uniqueClicks)}</CellText>,
        },
        {
          key: 'clicks',
          header: text('stat.click', 'Clicks'),
          render: (row) => <CellText>{format.count(row.clicks)}</CellText>,
        },
      ]}
      rows={rows}
      rowKey={(row) => row.url}
    />
  );
}

export default CampaignReportPage;
