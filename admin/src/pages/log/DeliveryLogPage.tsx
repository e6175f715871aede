import * as React from 'react';

import { Box, Button, Flex, Grid, Typography } from '@strapi/design-system';
import { ArrowClockwise, Cross } from '@strapi/icons';
import { useNotification } from '@strapi/strapi/admin';
import { useQuery } from '@tanstack/react-query';
import { useIntl } from 'react-intl';

import { MESSAGE_STATUSES, type MessageLogEntry } from '../../../../shared/contracts/messages';
import { campaignKeys, useCampaignApi } from '../../api/campaigns';
import { toApiError } from '../../api/errors';
import { useAllGroups, useAllServers, useMessage, useMessageList } from '../../api/queries';
import { toCsvDownload, useReportsApi } from '../../api/reports';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { DateField, SelectField, type SelectOption } from '../../components/form/fields';
import { ListPageLayout, ListResult } from '../../components/ListPageLayout';
import { useLabels } from '../../hooks/useLabels';
import { useListParams } from '../../hooks/useListParams';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import { CsvButton } from '../reports/reportParts';
import { isMessageId, toMessageListParams, useLogFilters, type LogFilterKey } from './logParams';
import { MessageDialog } from './MessageDialog';
import { MessageStatusBadge } from './MessageStatusBadge';

/** The select value meaning "no filter" (the design system's select cannot hold an empty value). */
const ANY = 'any';

/**
 * Every message the plugin queued, newest first: filters (recipient or message id, status, server,
 * group, campaign, dates) kept in the URL, a page of rows, pagination, and a CSV export of
 * everything the filters match. A row opens the message with each of its attempts and replies.
 */
export function DeliveryLogPage() {
  const { formatMessage } = useIntl();
  const { toggleNotification } = useNotification();
  const { page, pageSize } = useListParams();
  const { filters, setFilter, clearFilters, hasFilters, hasFieldFilters } = useLogFilters();
  const listParams = toMessageListParams(filters, page, pageSize);
  const list = useMessageList(listParams);
  // A message id in the search box is looked up directly (the list only searches recipients).
  const messageId = isMessageId(filters.recipient) ? filters.recipient.trim() : undefined;
  const single = useMessage(messageId);
  const messages = messageId ? singleMessageQuery(single) : list;
  const reportsApi = useReportsApi();
  const [opened, setOpened] = React.useState<MessageLogEntry | null>(null);
  const columns = useMessageColumns();

  const text = (id: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);

  /** Every message the filters match (up to CLIENT_EXPORT_MAX_ROWS): GET /messages has no CSV of its own. */
  const exportCsv = async () => {
    const { page: _page, pageSize: _pageSize, ...filterParams } = listParams;
    const { rows, total } = messageId
      ? { rows: single.data ? [single.data.data] : [], total: single.data ? 1 : 0 }
      : await reportsApi.allMessages(filterParams);
    if (total > rows.length) {
      toggleNotification({
        type: 'info',
        message: text('log.export.truncated', 'The export holds the newest {count} of {total} messages.', {
          count: rows.length,
          total,
        }),
      });
    }
    return toCsvDownload(
      ['id', 'queuedAt', 'status', 'recipients', 'subject', 'from', 'group', 'server', 'serverId', 'campaignId', 'source', 'attempts', 'lastReply', 'attemptReplies', 'smtpMessageId', 'sentAt', 'finishedAt'],
      rows.map((entry) => [
        entry.id,
        new Date(entry.queuedAt).toISOString(),
        entry.status,
        entry.recipients.join(' '),
        entry.subject,
        entry.from,
        entry.group,
        entry.serverName,
        entry.serverId,
        entry.campaignId,
        entry.source,
        entry.attempts.length,
        entry.lastReply,
        entry.attempts
          .map((attempt) => `${new Date(attempt.at).toISOString()} ${attempt.serverName} ${attempt.outcome} ${attempt.latencyMs}ms: ${attempt.reply ?? ''}`)
          .join(' | '),
        entry.smtpMessageId,
        entry.sentAt ? new Date(entry.sentAt).toISOString() : null,
        entry.finishedAt ? new Date(entry.finishedAt).toISOString() : null,
      ]),
      `multi-smtp-messages-${new Date().toISOString().slice(0, 10)}.csv`,
    );
  };

  return (
    <ListPageLayout
      title={text('log.title', 'Delivery log')}
      subtitle={
        messages.data
          ? formatMessage(
              { id: getTranslation('log.count'), defaultMessage: '{total, plural, one {# message} other {# messages}}' },
              { total: messages.data.meta.pagination.total },
            )
          : undefined
      }
      primaryAction={
        <Flex gap={2}>
          <CsvButton
            fetchFile={exportCsv}
            label={text('log.export', 'Export CSV')}
          />
          <Button
            variant="secondary"
            startIcon={<ArrowClockwise />}
            onClick={() => void (messageId ? single.refetch() : list.refetch())}
            loading={messageId ? single.isFetching && !single.isPending : list.isFetching && !list.isPending}
          >
            {text('log.refresh', 'Refresh')}
          </Button>
        </Flex>
      }
      search={{
        param: 'recipient',
        label: text('log.search', 'Search by recipient or message ID'),
        placeholder: text('log.search.placeholder', 'Recipient address or message ID'),
      }}
      overlay={opened && <MessageDialog entry={opened} onClose={() => setOpened(null)} />}
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <LogFilterFields filters={filters} onChange={setFilter} onClear={hasFieldFilters ? clearFilters : undefined} />
        <ListResult
          query={messages}
          errorTitle={text('log.loadFailed', 'The delivery log could not be loaded')}
          emptyText={
            hasFilters
              ? text('log.empty.filtered', 'No message matches these filters.')
              : text('log.empty', 'No message sent yet.')
          }
        >
          {(rows) => <DataTable columns={columns} rows={rows} rowKey={(entry) => entry.id} onRowClick={setOpened} />}
        </ListResult>
      </Flex>
    </ListPageLayout>
  );
}

interface LogFilterFieldsProps {
  filters: ReturnType<typeof useLogFilters>['filters'];
  onChange: (key: LogFilterKey, value: string) => void;
  /** Shown as a "Clear filters" button when some filter is set. */
  onClear?: () => void;
}

/** The most campaigns the campaign filter offers (the latest changed); a campaign from a link is kept too. */
const CAMPAIGN_CHOICES = 100;

function LogFilterFields({ filters, onChange, onClear }: LogFilterFieldsProps) {
  const { formatMessage } = useIntl();
  const labels = useLabels();
  const servers = useAllServers();
  const groups = useAllGroups();
  const { campaignsRead } = usePluginPermissions();
  const campaignApi = useCampaignApi();
  const campaignParams = { page: 1, pageSize: CAMPAIGN_CHOICES, sort: 'updatedAt:desc' };
  const campaigns = useQuery({
    queryKey: [...campaignKeys.list(campaignParams), 'log-filter'],
    queryFn: ({ signal }) => campaignApi.listCampaigns(campaignParams, signal),
    enabled: campaignsRead,
  });
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  const statusOptions: SelectOption[] = [
    { value: ANY, label: text('log.filter.status.any', 'All statuses') },
    ...MESSAGE_STATUSES.map((status) => ({ value: status, label: labels.messageStatus(status) })),
  ];
  const serverOptions: SelectOption[] = [
    { value: ANY, label: text('log.filter.server.any', 'All servers') },
    ...(servers.data?.data ?? []).map((server) => ({ value: server.documentId, label: server.name })),
  ];
  const groupOptions: SelectOption[] = [
    { value: ANY, label: text('log.filter.group.any', 'All groups') },
    ...(groups.data?.data ?? []).map((group) => ({ value: group.slug, label: group.name })),
  ];
  const campaignOptions: SelectOption[] = [
    { value: ANY, label: text('log.filter.campaign.any', 'All campaigns') },
    ...(campaigns.data?.data ?? [])
      .filter((campaign) => campaign.status !== 'draft')
      .map((campaign) => ({ value: campaign.documentId, label: campaign.name })),
  ];
  if (filters.campaign && !campaignOptions.some((option) => option.value === filters.campaign)) {
    campaignOptions.push({ value: filters.campaign, label: filters.campaign });
  }
  // A filter from a link may name a server or group beyond the first page: keep it choosable.
  if (filters.server && !serverOptions.some((option) => option.value === filters.server)) {
    serverOptions.push({ value: filters.server, label: filters.server });
  }
  if (filters.group && !groupOptions.some((option) => option.value === filters.group)) {
    groupOptions.push({ value: filters.group, label: filters.group });
  }

  const select = (key: 'status' | 'server' | 'group' | 'campaign', value: string) => onChange(key, value === ANY ? '' : value);

  return (
    <Box background="neutral0" hasRadius shadow="tableShadow" padding={4}>
      <Grid.Root gap={4}>
        <Grid.Item col={2} m={4} s={12} direction="column" alignItems="stretch">
          <SelectField
            name="status"
            label={text('log.filter.status', 'Status')}
            options={statusOptions}
            value={filters.status || ANY}
            onChange={(value) => select('status', value)}
          />
        </Grid.Item>
        <Grid.Item col={2} m={4} s={12} direction="column" alignItems="stretch">
          <SelectField
            name="server"
            label={text('log.filter.server', 'Server')}
            options={serverOptions}
            value={filters.server || ANY}
            onChange={(value) => select('server', value)}
          />
        </Grid.Item>
        <Grid.Item col={2} m={4} s={12} direction="column" alignItems="stretch">
          <SelectField
            name="group"
            label={text('log.filter.group', 'Group')}
            options={groupOptions}
            value={filters.group || ANY}
            onChange={(value) => select('group', value)}
          />
        </Grid.Item>
        <Grid.Item col={2} m={4} s={12} direction="column" alignItems="stretch">
          <SelectField
            name="campaign"
            label={text('log.filter.campaign', 'Campaign')}
            options={campaignOptions}
            value={filters.campaign || ANY}
            onChange={(value) => select('campaign', value)}
          />
        </Grid.Item>
        <Grid.Item col={2} m={4} s={12} direction="column" alignItems="stretch">
          <DateField
            name="from"
            label={text('log.filter.from', 'From')}
            value={filters.from}
            onChange={(value) => onChange('from', value)}
          />
        </Grid.Item>
        <Grid.Item col={2} m={4} s={12} direction="column" alignItems="stretch">
          <DateField
            name="to"
            label={text('log.filter.to', 'To')}
            value={filters.to}
            onChange={(value) => onChange('to', value)}
          />
        </Grid.Item>
        <Grid.Item col={2} m={4} s={12} direction="column" alignItems="stretch" justifyContent="flex-end">
          {onClear && (
            <Button variant="tertiary" startIcon={<Cross />} onClick={onClear} size="L">
              {text('log.filter.clear', 'Clear filters')}
            </Button>
          )}
        </Grid.Item>
      </Grid.Root>
    </Box>
  );
}

/** Long texts are cut to one line in the table; the dialog shows them whole. */
const CELL_MAX_WIDTH = '20rem';

function useMessageColumns(): Column<MessageLogEntry>[] {
  const { formatMessage, formatNumber } = useIntl();
  const labels = useLabels();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  const recipients = (entry: MessageLogEntry) => {
    const [firstRecipient, ...otherRecipients] = entry.recipients;
    return otherRecipients.length > 0
      ? formatMessage(
          { id: getTranslation('log.recipients.more'), defaultMessage: '{first} +{count} more' },
          { first: firstRecipient, count: otherRecipients.length },
        )
      : (firstRecipient ?? '—');
  };

  return [
    {
      key: 'queuedAt',
      header: text('log.column.queuedAt', 'Queued at'),
      render: (entry) => (
        <Typography textColor="neutral800" style={{ whiteSpace: 'nowrap' }}>
          {labels.dateTime(entry.queuedAt)}
        </Typography>
      ),
    },
    {
      key: 'recipients',
      header: text('log.column.recipients', 'Recipients'),
      render: (entry) => (
        <Typography textColor="neutral800" ellipsis title={entry.recipients.join(', ')} style={{ maxWidth: CELL_MAX_WIDTH }}>
          {recipients(entry)}
        </Typography>
      ),
    },
    {
      key: 'subject',
      header: text('log.column.subject', 'Subject'),
      render: (entry) => (
        <Typography textColor="neutral800" ellipsis title={entry.subject} style={{ maxWidth: CELL_MAX_WIDTH }}>
          {entry.subject || '—'}
        </Typography>
      ),
    },
    {
      key: 'status',
      header: text('log.column.status', 'Status'),
      render: (entry) => <MessageStatusBadge status={entry.status} />,
    },
    {
      key: 'server',
      header: text('log.column.server', 'Server'),
      render: (entry) => <CellText>{entry.serverName ?? '—'}</CellText>,
    },
    {
      key: 'attempts',
      header: text('log.column.attempts', 'Attempts'),
      render: (entry) => <CellText>{formatNumber(entry.attempts.length)}</CellText>,
    },
    {
      key: 'lastReply',
      header: text('log.column.lastReply', 'Last reply'),
      render: (entry) => (
        <Typography
          variant="pi"
          textColor="neutral800"
          ellipsis
          title={entry.lastReply ?? undefined}
          style={{ maxWidth: CELL_MAX_WIDTH, display: 'block' }}
        >
          {entry.lastReply ?? '—'}
        </Typography>
      ),
    },
  ];
}

/** The message a message-id search found, as a one-row page of the list; an unknown id is an empty page. */
function singleMessageQuery(query: ReturnType<typeof useMessage>) {
  const notFound = query.isError && toApiError(query.error).status === 404;
  const rows = query.data ? [query.data.data] : [];
  return {
    isPending: query.isPending && !notFound,
    isError: query.isError && !notFound,
    error: query.error,
    data:
      query.data || notFound
        ? { data: rows, meta: { pagination: { page: 1, pageSize: 1, pageCount: 1, total: rows.length } } }
        : undefined,
  };
}
