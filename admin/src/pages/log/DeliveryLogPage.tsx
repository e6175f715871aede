import * as React from 'react';

import { Box, Button, Flex, Grid, Typography } from '@strapi/design-system';
import { ArrowClockwise, Cross } from '@strapi/icons';
import { useIntl } from 'react-intl';

import { MESSAGE_STATUSES, type MessageLogEntry } from '../../../../shared/contracts/messages';
import { useAllGroups, useAllServers, useMessageList } from '../../api/queries';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { DateField, SelectField, type SelectOption } from '../../components/form/fields';
import { ListPageLayout, ListResult } from '../../components/ListPageLayout';
import { useLabels } from '../../hooks/useLabels';
import { useListParams } from '../../hooks/useListParams';
import { getTranslation } from '../../utils/getTranslation';
import { toMessageListParams, useLogFilters, type LogFilterKey } from './logParams';
import { MessageDialog } from './MessageDialog';
import { MessageStatusBadge } from './MessageStatusBadge';

/** The select value meaning "no filter" (the design system's select cannot hold an empty value). */
const ANY = 'any';

/**
 * Every message the plugin queued, newest first: filters (recipient, status, server, group, dates)
 * kept in the URL, a page of rows, pagination. A row opens the message with each of its attempts.
 */
export function DeliveryLogPage() {
  const { formatMessage } = useIntl();
  const { page, pageSize } = useListParams();
  const { filters, setFilter, clearFilters, hasFilters, hasFieldFilters } = useLogFilters();
  const messages = useMessageList(toMessageListParams(filters, page, pageSize));
  const [opened, setOpened] = React.useState<MessageLogEntry | null>(null);
  const columns = useMessageColumns();

  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

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
        <Button
          variant="secondary"
          startIcon={<ArrowClockwise />}
          onClick={() => void messages.refetch()}
          loading={messages.isFetching && !messages.isPending}
        >
          {text('log.refresh', 'Refresh')}
        </Button>
      }
      search={{
        param: 'recipient',
        label: text('log.search', 'Search by recipient'),
        placeholder: text('log.search.placeholder', 'Recipient address'),
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

function LogFilterFields({ filters, onChange, onClear }: LogFilterFieldsProps) {
  const { formatMessage } = useIntl();
  const labels = useLabels();
  const servers = useAllServers();
  const groups = useAllGroups();
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
  // A filter from a link may name a server or group beyond the first page: keep it choosable.
  if (filters.server && !serverOptions.some((option) => option.value === filters.server)) {
    serverOptions.push({ value: filters.server, label: filters.server });
  }
  if (filters.group && !groupOptions.some((option) => option.value === filters.group)) {
    groupOptions.push({ value: filters.group, label: filters.group });
  }

  const select = (key: 'status' | 'server' | 'group', value: string) => onChange(key, value === ANY ? '' : value);

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
