import { Badge, Box, Button, Dialog, Flex, Grid, Link, Typography } from '@strapi/design-system';
import { ArrowClockwise, Play } from '@strapi/icons';
import { ConfirmDialog, Layouts, Page, useNotification } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { Link as RouterLink, useSearchParams } from 'react-router-dom';

import type { Alert, AlertStatus, ProtectionOutcome, ProtectionRuleId } from '../../../../shared/contracts/alerts';
import { toApiError } from '../../api/errors';
import { toCsvDownload, useAlertList, useLiftAlert, useReportsApi } from '../../api/reports';
import { CellText, DataTable } from '../../components/DataTable';
import { DetailList } from '../../components/DetailList';
import { ListPagination } from '../../components/ListPagination';
import { useLabels } from '../../hooks/useLabels';
import { useListParams } from '../../hooks/useListParams';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';
import { CsvButton, QueryContent, ReportSection, useReportFormat } from './reportParts';

/** "Bounce rate", "Complaint rate", "Failure rate". */
export function useAlertRuleLabel() {
  const { formatMessage } = useIntl();
  const labels: Record<ProtectionRuleId, string> = {
    bounceRate: formatMessage({ id: getTranslation('alerts.rule.bounceRate'), defaultMessage: 'Bounce rate' }),
    complaintRate: formatMessage({ id: getTranslation('alerts.rule.complaintRate'), defaultMessage: 'Complaint rate' }),
    failureRate: formatMessage({ id: getTranslation('alerts.rule.failureRate'), defaultMessage: 'Failure rate' }),
  };
  return (rule: ProtectionRuleId) => labels[rule] ?? rule;
}

export function AlertStatusBadge({ status }: { status: AlertStatus }) {
  const { formatMessage } = useIntl();
  return status === 'active' ? (
    <Badge variant="danger">
      {formatMessage({ id: getTranslation('alerts.status.active'), defaultMessage: 'Active' })}
    </Badge>
  ) : (
    <Badge variant="success">
      {formatMessage({ id: getTranslation('alerts.status.lifted'), defaultMessage: 'Lifted' })}
    </Badge>
  );
}

/**
 * Protection alerts: the active ones first, each with its evidence (the rule, the rate against its
 * threshold, the window, the counts, the latest replies) and a one-click Lift (with confirmation)
 * for admins who may manage servers; then the lifted ones, paginated. `?server=` narrows both to
 * one server.
 */
export function AlertsPage() {
  const { formatMessage } = useIntl();
  const [searchParams, setSearchParams] = useSearchParams();
  const { page, pageSize } = useListParams();
  const server = searchParams.get('server') || undefined;
  const api = useReportsApi();
  const active = useAlertList({ status: 'active', server, pageSize: 100 });
  const lifted = useAlertList({ status: 'lifted', server, page, pageSize });
  const text = (id: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);
  const title = text('alerts.title', 'Alerts');
  const serverName = active.data?.data[0]?.server.name ?? lifted.data?.data[0]?.server.name ?? server;

  const exportAll = async () => {
    const { rows } = await api.allAlerts({ server });
    return toCsvDownload(
      [
        'createdAt',
        'status',
        'serverId',
        'server',
        'rule',
        'action',
        'rate',
        'threshold',
        'sends',
        'window',
        'accepted',
        'hardBounce',
        'softBounce',
        'complaint',
        'failed',
        'summary',
        'liftedAt',
        'liftedBy',
        'emailedTo',
      ],
      rows.map((alert) => [
        alert.createdAt,
        alert.status,
        alert.server.documentId,
        alert.server.name,
        alert.rule,
        alert.action,
        alert.evidence.rate,
        alert.evidence.threshold,
        alert.evidence.sends,
        alert.evidence.window,
        alert.evidence.counts.accepted,
        alert.evidence.counts.hardBounce,
        alert.evidence.counts.softBounce,
        alert.evidence.counts.complaint,
        alert.evidence.counts.failed,
        alert.summary,
        alert.liftedAt,
        alert.liftedBy,
        alert.emailedTo.join(' '),
      ]),
      `multi-smtp-alerts-${new Date().toISOString().slice(0, 10)}.csv`
    );
  };

  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
        subtitle={text(
          'alerts.subtitle',
          'Raised by automatic protection when a server’s bounce, complaint or failure rate crosses its threshold.'
        )}
        primaryAction={
          <Flex gap={2}>
            <CsvButton fetchFile={exportAll} />
            <Button
              variant="secondary"
              startIcon={<ArrowClockwise />}
              onClick={() => {
                void active.refetch();
                void lifted.refetch();
              }}
              loading={active.isFetching && !active.isPending}
            >
              {text('reports.refresh', 'Refresh')}
            </Button>
          </Flex>
        }
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={6}>
          {server && (
            <Flex gap={2}>
              <Typography>
                {text('alerts.filteredBy', 'Alerts of {server}', { server: serverName ?? server })}
              </Typography>
              <Button
                variant="tertiary"
                size="S"
                onClick={() => {
                  const next = new URLSearchParams(searchParams);
                  next.delete('server');
                  next.delete('page');
                  setSearchParams(next, { replace: true });
                }}
              >
                {text('alerts.showAll', 'Show every server')}
              </Button>
            </Flex>
          )}
          <ReportSection
            title={text('alerts.active', 'Active')}
            subtitle={text(
              'alerts.active.subtitle',
              'The server stays paused (or its weight cut) until the alert is lifted.'
            )}
            testId="alerts-active"
          >
            <AlertCards
              query={active}
              emptyText={text('alerts.active.none', 'No active alert: every server is within its thresholds.')}
            />
          </ReportSection>
          <ReportSection title={text('alerts.lifted', 'Lifted')} testId="alerts-lifted">
            <AlertCards query={lifted} emptyText={text('alerts.lifted.none', 'No lifted alert.')} paginated />
          </ReportSection>
        </Flex>
      </Layouts.Content>
    </Page.Main>
  );
}

/** A list of alert cards (with pagination under them when `paginated`), its loader, error or empty line. */
function AlertCards({
  query,
  emptyText,
  paginated = false,
}: {
  query: ReturnType<typeof useAlertList>;
  emptyText: string;
  paginated?: boolean;
}) {
  const { formatMessage } = useIntl();
  return (
    <QueryContent
      query={query}
      errorTitle={formatMessage({
        id: getTranslation('alerts.loadFailed'),
        defaultMessage: 'The alerts could not be loaded',
      })}
      isEmpty={({ data }) => data.length === 0}
      emptyText={emptyText}
    >
      {({ data, meta }) => (
        <Flex direction="column" alignItems="stretch" gap={4}>
          {data.map((alert) => (
            <AlertCard key={alert.documentId} alert={alert} />
          ))}
          {paginated && <ListPagination pagination={meta.pagination} />}
        </Flex>
      )}
    </QueryContent>
  );
}

/** One alert with its evidence; an active one has a Lift button. */
function AlertCard({ alert }: { alert: Alert }) {
  const { formatMessage } = useIntl();
  const labels = useLabels();
  const format = useReportFormat();
  const ruleLabel = useAlertRuleLabel();
  const { canManage } = usePluginPermissions();
  const text = (id: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);
  const { evidence } = alert;

  const outcomeLabels: Record<ProtectionOutcome, string> = {
    accepted: text('stat.accepted', 'Accepted'),
    hardBounce: text('stat.hardBounce', 'Hard bounces'),
    softBounce: text('stat.softBounce', 'Soft bounces'),
    complaint: text('stat.complaint', 'Complaints'),
    failed: text('stat.failed', 'Failed'),
  };
  /** One reply's outcome, in the samples table. */
  const sampleLabels: Record<ProtectionOutcome, string> = {
    accepted: text('alerts.outcome.accepted', 'Accepted'),
    hardBounce: text('alerts.outcome.hardBounce', 'Hard bounce'),
    softBounce: text('alerts.outcome.softBounce', 'Soft bounce'),
    complaint: text('alerts.outcome.complaint', 'Complaint'),
    failed: text('alerts.outcome.failed', 'Failed'),
  };
  const actionText =
    alert.action === 'pause'
      ? text('alerts.action.pause', 'Server paused')
      : text('alerts.action.reduceWeight', 'Weight cut to {factor} of its own', {
          factor: format.percent(evidence.weightFactor ?? 0, 0),
        });

  return (
    <Box
      padding={5}
      hasRadius
      borderColor={alert.status === 'active' ? 'danger200' : 'neutral200'}
      background={alert.status === 'active' ? 'danger100' : 'neutral100'}
      data-testid="alert-card"
      aria-label={`${alert.server.name}: ${alert.summary}`}
      tag="article"
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <Flex justifyContent="space-between" alignItems="flex-start" gap={4} wrap="wrap">
          <Flex direction="column" alignItems="flex-start" gap={1}>
            <Flex gap={2} wrap="wrap">
              <AlertStatusBadge status={alert.status} />
              <Typography variant="delta" tag="h3">
                <Link tag={RouterLink} to={paths.serverReport(alert.server.documentId)}>
                  {alert.server.name}
                </Link>
              </Typography>
              <Typography textColor="neutral600">
                {ruleLabel(alert.rule)} · {actionText}
              </Typography>
            </Flex>
            <Typography fontWeight="bold" textColor="neutral800">
              {alert.summary}
            </Typography>
          </Flex>
          {alert.status === 'active' && canManage && <LiftButton alert={alert} />}
        </Flex>
        <Grid.Root gap={4}>
          <Grid.Item col={6} s={12} direction="column" alignItems="stretch">
            <DetailList
              details={[
                {
                  label: text('alerts.evidence.rate', 'Rate'),
                  value: text('alerts.evidence.rate.value', '{rate} (threshold {threshold})', {
                    rate: format.percent(evidence.rate),
                    threshold: format.percent(evidence.threshold),
                  }),
                },
                {
                  label: text('alerts.evidence.window', 'Window'),
                  value: text(
                    'alerts.evidence.window.value',
                    '{sends} sends of the last {window} (judged from {minSends})',
                    {
                      sends: format.count(evidence.sends),
                      window: format.count(evidence.window),
                      minSends: format.count(evidence.minSends),
                    }
                  ),
                },
                {
                  label: text('alerts.evidence.counts', 'In the window'),
                  value: (Object.keys(outcomeLabels) as ProtectionOutcome[])
                    .map((outcome) => `${outcomeLabels[outcome]} ${format.count(evidence.counts[outcome] ?? 0)}`)
                    .join(' · '),
                },
                {
                  label: text('alerts.evidence.crossedAt', 'Crossed at'),
                  value: evidence.at ? labels.dateTime(evidence.at) : labels.dateTime(Date.parse(alert.createdAt)),
                },
              ]}
            />
          </Grid.Item>
          <Grid.Item col={6} s={12} direction="column" alignItems="stretch">
            <DetailList
              details={[
                { label: text('alerts.raisedAt', 'Raised'), value: labels.dateTime(Date.parse(alert.createdAt)) },
                {
                  label: text('alerts.emailedTo', 'Mailed to'),
                  value:
                    alert.emailedTo.length > 0
                      ? alert.emailedTo.join(', ')
                      : text('alerts.emailedTo.none', 'Nobody (no address configured)'),
                },
                {
                  label: text('alerts.liftedAt', 'Lifted'),
                  value: alert.liftedAt ? labels.dateTime(Date.parse(alert.liftedAt)) : null,
                },
                { label: text('alerts.liftedBy', 'Lifted by'), value: alert.liftedBy },
              ]}
            />
          </Grid.Item>
        </Grid.Root>
        {evidence.samples.length > 0 && (
          <Flex direction="column" alignItems="stretch" gap={2}>
            <Typography variant="sigma" textColor="neutral600">
              {text('alerts.samples', 'Latest replies in the window')}
            </Typography>
            <DataTable
              columns={[
                {
                  key: 'at',
                  header: text('alerts.samples.at', 'Time'),
                  render: (sample) => (
                    <Typography textColor="neutral800" style={{ whiteSpace: 'nowrap' }}>
                      {labels.dateTime(sample.at)}
                    </Typography>
                  ),
                },
                {
                  key: 'outcome',
                  header: text('alerts.samples.outcome', 'Outcome'),
                  render: (sample) => <CellText>{sampleLabels[sample.outcome]}</CellText>,
                },
                {
                  key: 'reply',
                  header: text('alerts.samples.reply', 'Reply'),
                  render: (sample) => (
                    <Typography
                      variant="pi"
                      textColor="neutral800"
                      style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}
                    >
                      <code>{sample.reply}</code>
                    </Typography>
                  ),
                },
              ]}
              rows={evidence.samples}
              rowKey={(sample, index) => `${sample.at}-${index}`}
            />
          </Flex>
        )}
      </Flex>
    </Box>
  );
}

/** "Lift" with a confirmation: the server resumes (or gets its weight back) and its window starts afresh. */
function LiftButton({ alert }: { alert: Alert }) {
  const { formatMessage } = useIntl();
  const { toggleNotification } = useNotification();
  const lift = useLiftAlert();
  const text = (id: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);
  const label = text('alerts.lift', 'Lift');

  const confirm = async () => {
    try {
      await lift.mutateAsync(alert.documentId);
      toggleNotification({
        type: 'success',
        message: text('alerts.lift.done', 'Alert lifted: {server} is back in rotation', { server: alert.server.name }),
      });
    } catch (error) {
      toggleNotification({ type: 'danger', message: toApiError(error).message });
    }
  };

  return (
    <Dialog.Root>
      <Dialog.Trigger>
        <Button variant="default" startIcon={<Play />} loading={lift.isPending}>
          {label}
        </Button>
      </Dialog.Trigger>
      <ConfirmDialog title={text('alerts.lift.title', 'Lift the alert')} variant="default" onConfirm={confirm}>
        {alert.action === 'pause'
          ? text(
              'alerts.lift.confirm.pause',
              'Lift this alert? {server} takes mail again and its window starts afresh; the alert stays in the history.',
              { server: alert.server.name }
            )
          : text(
              'alerts.lift.confirm.reduceWeight',
              'Lift this alert? {server} gets its full weight back and its window starts afresh; the alert stays in the history.',
              { server: alert.server.name }
            )}
      </ConfirmDialog>
    </Dialog.Root>
  );
}

export default AlertsPage;
