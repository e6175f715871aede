import { Box, Button, Flex, Link, Typography } from '@strapi/design-system';
import { ArrowClockwise } from '@strapi/icons';
import { Layouts, Page } from '@strapi/strapi/admin';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useIntl } from 'react-intl';
import { Link as RouterLink } from 'react-router-dom';

import type { Campaign } from '../../../../shared/contracts/campaigns';
import type { GroupReportRow, OverviewReport } from '../../../../shared/contracts/reports';
import { campaignKeys, useCampaignApi } from '../../api/campaigns';
import {
  reportKeys,
  useAlertList,
  useGroupsReport,
  useOverviewReport,
  useReportsApi,
  useServersReport,
} from '../../api/reports';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';
import { CampaignStatusBadge } from '../campaigns/CampaignProgressView';
import {
  CsvButton,
  type Figure,
  FigureCards,
  QueryContent,
  ReportSection,
  SeriesCharts,
  useReportFormat,
  useStatColumns,
} from './reportParts';
import { ReportRangePicker } from './ReportRangePicker';
import { rangeSearch, useReportRange } from './reportRange';
import { ServerComparisonCharts, ServerComparisonTable } from './ServerComparison';
import { thresholdsFrom, type Thresholds } from './thresholds';

/**
 * The deliverability overview: a time range, the totals with their rates, the series as charts,
 * every server side by side (charts that make a bad server stand out, and a table with quota use),
 * groups, and links to campaign reports. Every table exports as CSV.
 */
export function ReportsOverviewPage() {
  const { formatMessage } = useIntl();
  const queryClient = useQueryClient();
  const range = useReportRange();
  const api = useReportsApi();
  const enabled = range.problem === null;
  const overview = useOverviewReport(range.params);
  const servers = useServersReport(range.params);
  const groups = useGroupsReport(range.params);
  // Active alerts flag servers; the newest alerts of each rule tell the thresholds in force.
  const activeAlerts = useAlertList({ status: 'active', pageSize: 100 });
  const recentAlerts = useAlertList({ pageSize: 20 }, { refresh: false });
  const thresholds = thresholdsFrom(recentAlerts.data?.data);
  const alerted = new Set((activeAlerts.data?.data ?? []).map((alert) => alert.server.documentId));
  const format = useReportFormat();
  const search = rangeSearch(range.state);
  const text = (id: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);

  const title = text('reports.title', 'Reports');
  const loadFailed = text('reports.loadFailed', 'The report could not be loaded');
  const refresh = () => {
    range.refresh();
    void queryClient.invalidateQueries({ queryKey: reportKeys.all });
    void queryClient.invalidateQueries({ queryKey: reportKeys.alerts() });
  };
  const activeCount = activeAlerts.data?.meta.pagination.total ?? 0;

  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
        subtitle={
          overview.data
            ? format.rangeText(overview.data.data.range)
            : text('reports.subtitle', 'How mail is doing, per server.')
        }
        primaryAction={
          <Button
            variant="secondary"
            startIcon={<ArrowClockwise />}
            onClick={refresh}
            loading={overview.isFetching && !overview.isPending}
          >
            {text('reports.refresh', 'Refresh')}
          </Button>
        }
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={6}>
          <ReportRangePicker range={range} />
          {activeCount > 0 && (
            <Box
              background="danger100"
              borderColor="danger200"
              hasRadius
              padding={4}
              role="status"
              data-testid="active-alerts-notice"
            >
              <Flex gap={2} wrap="wrap">
                <Typography textColor="danger700" fontWeight="bold">
                  {text(
                    'reports.activeAlerts',
                    '{count, plural, one {# protection alert is active} other {# protection alerts are active}}',
                    { count: activeCount }
                  )}
                </Typography>
                <Link tag={RouterLink} to={paths.alerts}>
                  {text('reports.activeAlerts.link', 'See the alerts')}
                </Link>
              </Flex>
            </Box>
          )}
          {enabled && (
            <QueryContent query={overview} errorTitle={loadFailed}>
              {({ data }) => (
                <>
                  <OverviewFigures report={data} thresholds={thresholds} />
                  <ReportSection
                    title={text('reports.overTime', 'Over time')}
                    subtitle={text('reports.overTime.subtitle', 'Counted when each event happened, per interval.')}
                    actions={<CsvButton fetchFile={() => api.overviewCsv(range.params)} />}
                    testId="report-series"
                  >
                    <SeriesCharts series={data.series} range={data.range} />
                  </ReportSection>
                </>
              )}
            </QueryContent>
          )}
          {enabled && (
            <ReportSection
              title={text('reports.servers.title', 'Servers')}
              subtitle={text(
                'reports.servers.subtitle',
                'Rates over the range; red: above the protection threshold (bounce rate {bounce}, complaint rate {complaint}). Quota use is now.',
                { bounce: format.percent(thresholds.bounceRate), complaint: format.percent(thresholds.complaintRate) }
              )}
              actions={<CsvButton fetchFile={() => api.serversCsv(range.params)} />}
              testId="report-servers"
            >
              <QueryContent
                query={servers}
                errorTitle={loadFailed}
                isEmpty={({ data }) => data.servers.length === 0}
                emptyText={text('reports.servers.empty', 'No server yet.')}
              >
                {({ data }) => (
                  <Flex direction="column" alignItems="stretch" gap={6}>
                    <ServerComparisonCharts servers={data.servers} thresholds={thresholds} />
                    <ServerComparisonTable
                      servers={data.servers}
                      thresholds={thresholds}
                      alerted={alerted}
                      search={search}
                    />
                  </Flex>
                )}
              </QueryContent>
            </ReportSection>
          )}
          {enabled && (
            <ReportSection
              title={text('reports.groups.title', 'Groups')}
              actions={<CsvButton fetchFile={() => api.groupsCsv(range.params)} />}
              testId="report-groups"
            >
              <QueryContent
                query={groups}
                errorTitle={loadFailed}
                isEmpty={({ data }) => data.groups.length === 0}
                emptyText={text('reports.groups.empty', 'No group yet.')}
              >
                {({ data }) => <GroupsTable rows={data.groups} />}
              </QueryContent>
            </ReportSection>
          )}
          <CampaignReportsSection />
        </Flex>
      </Layouts.Content>
    </Page.Main>
  );
}

function OverviewFigures({ report, thresholds }: { report: OverviewReport; thresholds: Thresholds }) {
  const { formatMessage } = useIntl();
  const format = useReportFormat();
  const text = (id: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);
  const { totals, rates, latency } = report;

  const figures: Figure[] = [
    {
      key: 'accepted',
      label: text('stat.accepted', 'Accepted'),
      value: format.count(totals.accepted),
      hint: text('reports.figure.queued', '{count} queued', { count: format.count(totals.queued) }),
    },
    {
      key: 'deliverability',
      label: text('reports.rate.deliverability', 'Deliverability'),
      value: format.percent(rates.deliverability),
      hint: text('reports.figure.failed', '{count} failed', { count: format.count(totals.failed) }),
    },
    {
      key: 'bounceRate',
      label: text('reports.rate.bounceRate', 'Bounce rate'),
      value: format.percent(rates.bounceRate),
      hint: text('reports.figure.bounces', '{hard} hard, {soft} soft', {
        hard: format.count(totals.hardBounce),
        soft: format.count(totals.softBounce),
      }),
      tone: rates.bounceRate !== null && rates.bounceRate > thresholds.bounceRate ? 'danger' : 'normal',
    },
    {
      key: 'complaintRate',
      label: text('reports.rate.complaintRate', 'Complaint rate'),
      value: format.percent(rates.complaintRate),
      hint: text('reports.figure.complaints', '{count} complaints', { count: format.count(totals.complaint) }),
      tone: rates.complaintRate !== null && rates.complaintRate > thresholds.complaintRate ? 'danger' : 'normal',
    },
    {
      key: 'opens',
      label: text('stat.openHumanUnique', 'Unique opens'),
      value: format.count(totals.openHumanUnique),
      hint: text('reports.figure.rate', '{rate} of accepted', { rate: format.percent(rates.openRate) }),
    },
    {
      key: 'clicks',
      label: text('stat.clickUnique', 'Unique clicks'),
      value: format.count(totals.clickUnique),
      hint: text('reports.figure.rate', '{rate} of accepted', { rate: format.percent(rates.clickRate) }),
    },
    {
      key: 'deferred',
      label: text('stat.deferred', 'Deferred'),
      value: format.count(totals.deferred),
    },
    {
      key: 'unsubscribes',
      label: text('stat.unsubscribe', 'Unsubscribes'),
      value: format.count(totals.unsubscribe),
    },
    {
      key: 'latencyP50',
      label: text('reports.latency.p50', 'Latency p50'),
      value: format.ms(latency.p50),
    },
    {
      key: 'latencyP95',
      label: text('reports.latency.p95', 'Latency p95'),
      value: format.ms(latency.p95),
      hint: text('reports.figure.latencyCount', 'over {count} accepted attempts', {
        count: format.count(latency.count),
      }),
    },
  ];
  return <FigureCards figures={figures} label={text('reports.totals', 'Totals')} />;
}

function GroupsTable({ rows }: { rows: GroupReportRow[] }) {
  const { formatMessage } = useIntl();
  const format = useReportFormat();
  const stat = useStatColumns<GroupReportRow>();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const columns: Column<GroupReportRow>[] = [
    {
      key: 'name',
      header: text('reports.groups.column.group', 'Group'),
      render: (row) => <CellText>{row.name}</CellText>,
    },
    stat.count('accepted'),
    stat.rate('deliverability'),
    stat.rate('bounceRate'),
    stat.rate('complaintRate'),
    stat.latency((row) => row.latency),
    {
      key: 'queueDepth',
      header: text('reports.groups.column.queueDepth', 'Waiting now'),
      render: (row) => <CellText>{format.count(row.queueDepth)}</CellText>,
    },
  ];
  return <DataTable columns={columns} rows={rows} rowKey={(row) => row.slug} />;
}

/** Statuses with something to report. */
const REPORTED_STATUSES = 'sending,paused,completed,cancelled,failed';
const CAMPAIGNS_SHOWN = 10;

/** The latest campaigns that have sent, each with a link to its report. Only for admins who may read campaigns. */
function CampaignReportsSection() {
  const { formatMessage } = useIntl();
  const { campaignsRead } = usePluginPermissions();
  const campaignApi = useCampaignApi();
  const format = useReportFormat();
  const params = { page: 1, pageSize: CAMPAIGNS_SHOWN, sort: 'updatedAt:desc', status: REPORTED_STATUSES };
  const campaigns = useQuery({
    queryKey: [...campaignKeys.list(params), 'reports'],
    queryFn: ({ signal }) => campaignApi.listCampaigns(params, signal),
    enabled: campaignsRead,
  });
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  if (!campaignsRead) return null;

  const columns: Column<Campaign>[] = [
    {
      key: 'name',
      header: text('reports.campaigns.column.campaign', 'Campaign'),
      render: (campaign) => (
        <Link tag={RouterLink} to={paths.campaignReport(campaign.documentId)}>
          {campaign.name}
        </Link>
      ),
    },
    {
      key: 'status',
      header: text('reports.campaigns.column.status', 'Status'),
      render: (campaign) => <CampaignStatusBadge status={campaign.status} />,
    },
    {
      key: 'recipients',
      header: text('reports.campaigns.column.recipients', 'Recipients'),
      render: (campaign) => <CellText>{format.count(campaign.totalRecipients)}</CellText>,
    },
    {
      key: 'sent',
      header: text('reports.campaigns.column.sent', 'Sent'),
      render: (campaign) => <CellText>{format.count(campaign.sentCount)}</CellText>,
    },
    {
      key: 'bounced',
      header: text('reports.campaigns.column.bounced', 'Bounced'),
      render: (campaign) => <CellText>{format.count(campaign.bouncedCount)}</CellText>,
    },
  ];

  return (
    <ReportSection
      title={text('reports.campaigns.title', 'Campaign reports')}
      subtitle={text(
        'reports.campaigns.subtitle',
        'The latest campaigns that sent; each opens its funnel, links, bounce reasons and servers.'
      )}
      testId="report-campaigns"
    >
      <QueryContent
        query={campaigns}
        errorTitle={text('reports.campaigns.loadFailed', 'The campaigns could not be loaded')}
        isEmpty={({ data }) => data.length === 0}
        emptyText={text('reports.campaigns.empty', 'No campaign has sent yet.')}
      >
        {({ data }) => <DataTable columns={columns} rows={data} rowKey={(campaign) => campaign.documentId} />}
      </QueryContent>
    </ReportSection>
  );
}

export default ReportsOverviewPage;
