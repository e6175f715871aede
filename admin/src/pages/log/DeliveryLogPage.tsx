import * as React from 'react';

import {
  Box,
  Button,
  EmptyStateLayout,
  Flex,
  Grid,
  Table,
  Tbody,
  Td,
  Th,
  Thead,
  Tr,
  Typography,
} from '@strapi/design-system';
import { ArrowClockwise, Cross } from '@strapi/icons';
import { Layouts, Page } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

import { MESSAGE_STATUSES, type MessageLogEntry } from '../../../../shared/contracts/messages';
import { toApiError } from '../../api/errors';
import { useAllGroups, useAllServers, useMessageList } from '../../api/queries';
import { ContentLoader } from '../../components/ContentLoader';
import { ErrorBox } from '../../components/ErrorBox';
import { DateField, SelectField, type SelectOption } from '../../components/form/fields';
import { ListPagination } from '../../components/ListPagination';
import { SearchBox } from '../../components/SearchBox';
import { useLabels } from '../../hooks/useLabels';
import { useListParams } from '../../hooks/useListParams';
import { getTranslation } from '../../utils/getTranslation';
import { toMessageListParams, useLogFilters, type LogFilterKey } from './logParams';
import { MessageDialog } from './MessageDialog';
import { MessageStatusBadge } from './MessageStatusBadge';

const COLUMN_COUNT = 7;

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

  const title = formatMessage({ id: getTranslation('log.title'), defaultMessage: 'Delivery log' });

  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
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
            {formatMessage({ id: getTranslation('log.refresh'), defaultMessage: 'Refresh' })}
          </Button>
        }
      />
      <Layouts.Action
        startActions={
          <SearchBox
            param="recipient"
            label={formatMessage({ id: getTranslation('log.search'), defaultMessage: 'Search by recipient' })}
            placeholder={formatMessage({
              id: getTranslation('log.search.placeholder'),
              defaultMessage: 'Recipient address',
            })}
          />
        }
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={4}>
          <LogFilterFields
            filters={filters}
            onChange={setFilter}
            onClear={hasFieldFilters ? clearFilters : undefined}
          />
          {messages.isPending ? (
            <ContentLoader />
          ) : messages.isError ? (
            <ErrorBox
              title={formatMessage({ id: getTranslation('log.loadFailed'), defaultMessage: 'The delivery log could not be loaded' })}
              message={toApiError(messages.error).message}
            />
          ) : messages.data.data.length === 0 ? (
            <EmptyStateLayout
              content={
                hasFilters
                  ? formatMessage({ id: getTranslation('log.empty.filtered'), defaultMessage: 'No message matches these filters.' })
                  : formatMessage({ id: getTranslation('log.empty'), defaultMessage: 'No message sent yet.' })
              }
            />
          ) : (
            <Box>
              <MessagesTable messages={messages.data.data} onOpen={setOpened} />
              <ListPagination pagination={messages.data.meta.pagination} />
            </Box>
          )}
        </Flex>
      </Layouts.Content>
      {opened && <MessageDialog entry={opened} onClose={() => setOpened(null)} />}
    </Page.Main>
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

function MessagesTable({ messages, onOpen }: { messages: MessageLogEntry[]; onOpen: (entry: MessageLogEntry) => void }) {
  const { formatMessage } = useIntl();
  const column = (id: string, defaultMessage: string) => (
    <Th>
      <Typography variant="sigma" textColor="neutral600">
        {formatMessage({ id: getTranslation(id), defaultMessage })}
      </Typography>
    </Th>
  );

  return (
    <Table colCount={COLUMN_COUNT} rowCount={messages.length + 1}>
      <Thead>
        <Tr>
          {column('log.column.queuedAt', 'Queued at')}
          {column('log.column.recipients', 'Recipients')}
          {column('log.column.subject', 'Subject')}
          {column('log.column.status', 'Status')}
          {column('log.column.server', 'Server')}
          {column('log.column.attempts', 'Attempts')}
          {column('log.column.lastReply', 'Last reply')}
        </Tr>
      </Thead>
      <Tbody>
        {messages.map((entry) => (
          <MessageRow key={entry.id} entry={entry} onOpen={() => onOpen(entry)} />
        ))}
      </Tbody>
    </Table>
  );
}

/** Long texts are cut to one line in the table; the dialog shows them whole. */
const CELL_MAX_WIDTH = '20rem';

function MessageRow({ entry, onOpen }: { entry: MessageLogEntry; onOpen: () => void }) {
  const { formatMessage, formatNumber } = useIntl();
  const labels = useLabels();
  const [firstRecipient, ...otherRecipients] = entry.recipients;

  const recipients =
    otherRecipients.length > 0
      ? formatMessage(
          { id: getTranslation('log.recipients.more'), defaultMessage: '{first} +{count} more' },
          { first: firstRecipient, count: otherRecipients.length },
        )
      : (firstRecipient ?? '—');

  return (
    <Tr onClick={onOpen} style={{ cursor: 'pointer' }}>
      <Td>
        <Typography textColor="neutral800" style={{ whiteSpace: 'nowrap' }}>
          {labels.dateTime(entry.queuedAt)}
        </Typography>
      </Td>
      <Td>
        <Typography textColor="neutral800" ellipsis title={entry.recipients.join(', ')} style={{ maxWidth: CELL_MAX_WIDTH }}>
          {recipients}
        </Typography>
      </Td>
      <Td>
        <Typography textColor="neutral800" ellipsis title={entry.subject} style={{ maxWidth: CELL_MAX_WIDTH }}>
          {entry.subject || '—'}
        </Typography>
      </Td>
      <Td>
        <MessageStatusBadge status={entry.status} />
      </Td>
      <Td>
        <Typography textColor="neutral800">{entry.serverName ?? '—'}</Typography>
      </Td>
      <Td>
        <Typography textColor="neutral800">{formatNumber(entry.attempts.length)}</Typography>
      </Td>
      <Td>
        <Typography
          variant="pi"
          textColor="neutral800"
          ellipsis
          title={entry.lastReply ?? undefined}
          style={{ maxWidth: CELL_MAX_WIDTH, display: 'block' }}
        >
          {entry.lastReply ?? '—'}
        </Typography>
      </Td>
    </Tr>
  );
}
