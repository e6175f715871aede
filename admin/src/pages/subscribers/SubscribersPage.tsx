import * as React from 'react';

import { Badge, Button, Flex, Typography } from '@strapi/design-system';
import { Download, Plus, Upload } from '@strapi/icons';
import { useIntl } from 'react-intl';

import { SUBSCRIBER_STATUSES, type Subscriber, type SubscriberStatus } from '../../../../shared/contracts/subscribers';
import { useAudienceApi } from '../../api/audience';
import { useAllMailingLists, useSubscriberList } from '../../api/campaign-queries';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { FilterBar } from '../../components/FilterBar';
import { ListPageLayout, ListResult } from '../../components/ListPageLayout';
import { useCsvExport } from '../../hooks/useCsvExport';
import { useLabels } from '../../hooks/useLabels';
import { useListParams } from '../../hooks/useListParams';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { useUrlFilters } from '../../hooks/useUrlFilters';
import { getTranslation } from '../../utils/getTranslation';
import { ImportDialog } from './ImportDialog';
import { SubscriberDialog } from './SubscriberDialog';

const STATUS_VARIANTS: Record<SubscriberStatus, 'success' | 'neutral' | 'danger' | 'warning'> = {
  subscribed: 'success',
  unsubscribed: 'neutral',
  bounced: 'danger',
  complained: 'warning',
};

/** The subscriber statuses, translated. */
export function useSubscriberStatusLabel() {
  const { formatMessage } = useIntl();
  const labels: Record<SubscriberStatus, string> = {
    subscribed: formatMessage({ id: getTranslation('subscriberStatus.subscribed'), defaultMessage: 'Subscribed' }),
    unsubscribed: formatMessage({ id: getTranslation('subscriberStatus.unsubscribed'), defaultMessage: 'Unsubscribed' }),
    bounced: formatMessage({ id: getTranslation('subscriberStatus.bounced'), defaultMessage: 'Bounced' }),
    complained: formatMessage({ id: getTranslation('subscriberStatus.complained'), defaultMessage: 'Complained' }),
  };
  return (status: SubscriberStatus) => labels[status] ?? status;
}

type OpenDialog = null | 'import' | 'new' | Subscriber;

/**
 * Subscribers, searchable and filtered by status and list (all kept in the URL), with CSV import and
 * an export of exactly what the filters select. A row opens the subscriber in a dialog.
 */
export function SubscribersPage() {
  const { formatMessage } = useIntl();
  const { campaignsManage } = usePluginPermissions();
  const { page, pageSize, q } = useListParams();
  const { filters, setFilter, hasFilters } = useUrlFilters({ status: SUBSCRIBER_STATUSES, list: true });
  const lists = useAllMailingLists();
  const statusLabel = useSubscriberStatusLabel();
  const apiFilters = {
    q: q || undefined,
    status: (filters.status || undefined) as SubscriberStatus | undefined,
    list: filters.list || undefined,
  };
  const subscribers = useSubscriberList({ page, pageSize, sort: 'createdAt:desc', ...apiFilters });
  const api = useAudienceApi();
  const exportCsv = useCsvExport(() => api.exportSubscribers(apiFilters));
  const [open, setOpen] = React.useState<OpenDialog>(null);
  const columns = useSubscriberColumns();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  return (
    <ListPageLayout
      title={text('subscribers.title', 'Subscribers')}
      subtitle={
        subscribers.data
          ? formatMessage(
              {
                id: getTranslation('subscribers.count'),
                defaultMessage: '{total, plural, one {# subscriber} other {# subscribers}}',
              },
              { total: subscribers.data.meta.pagination.total },
            )
          : undefined
      }
      primaryAction={
        <Flex gap={2}>
          {campaignsManage && (
            <>
              {/* The whole list of addresses: the server asks for campaigns.manage. */}
              <Button variant="secondary" startIcon={<Download />} onClick={exportCsv.run} loading={exportCsv.isRunning}>
                {text('subscribers.export', 'Export CSV')}
              </Button>
              <Button variant="secondary" startIcon={<Upload />} onClick={() => setOpen('import')}>
                {text('subscribers.import', 'Import CSV')}
              </Button>
              <Button startIcon={<Plus />} onClick={() => setOpen('new')}>
                {text('subscribers.add', 'Add subscriber')}
              </Button>
            </>
          )}
        </Flex>
      }
      search={{
        label: text('subscribers.search', 'Search subscribers'),
        placeholder: text('subscribers.search.placeholder', 'Search by address or name'),
      }}
      overlay={
        open === 'import' ? (
          <ImportDialog onClose={() => setOpen(null)} />
        ) : (
          open && (
            <SubscriberDialog
              subscriber={open === 'new' ? undefined : open}
              canManage={campaignsManage}
              onClose={() => setOpen(null)}
            />
          )
        )
      }
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <FilterBar
          selects={[
            {
              name: 'status',
              label: text('subscribers.filter.status', 'Status'),
              anyLabel: text('subscribers.filter.status.any', 'All statuses'),
              options: SUBSCRIBER_STATUSES.map((status) => ({ value: status, label: statusLabel(status) })),
              value: filters.status,
            },
            {
              name: 'list',
              label: text('subscribers.filter.list', 'List'),
              anyLabel: text('subscribers.filter.list.any', 'All lists'),
              options: (lists.data?.data ?? []).map((list) => ({ value: list.documentId, label: list.name })),
              value: filters.list,
            },
          ]}
          onChange={(name, value) => setFilter(name as 'status' | 'list', value)}
        />
        <ListResult
          query={subscribers}
          errorTitle={text('subscribers.loadFailed', 'The subscribers could not be loaded')}
          emptyText={
            q || hasFilters
              ? text('subscribers.empty.search', 'No subscriber matches this search.')
              : text('subscribers.empty', 'No subscriber yet. Add one or import a CSV file.')
          }
        >
          {(rows) => <DataTable columns={columns} rows={rows} rowKey={(row) => row.documentId} onRowClick={setOpen} />}
        </ListResult>
      </Flex>
    </ListPageLayout>
  );
}

function useSubscriberColumns(): Column<Subscriber>[] {
  const { formatMessage } = useIntl();
  const labels = useLabels();
  const statusLabel = useSubscriberStatusLabel();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  return [
    {
      key: 'email',
      header: text('subscribers.column.email', 'Email'),
      render: (subscriber) => (
        <Typography fontWeight="semiBold" textColor="neutral800">
          {subscriber.email}
        </Typography>
      ),
    },
    { key: 'name', header: text('subscribers.column.name', 'Name'), render: (subscriber) => <CellText>{subscriber.name ?? '—'}</CellText> },
    {
      key: 'status',
      header: text('subscribers.column.status', 'Status'),
      render: (subscriber) => <Badge variant={STATUS_VARIANTS[subscriber.status]}>{statusLabel(subscriber.status)}</Badge>,
    },
    {
      key: 'lists',
      header: text('subscribers.column.lists', 'Lists'),
      render: (subscriber) => (
        <Typography textColor="neutral800" ellipsis style={{ maxWidth: '20rem', display: 'block' }}>
          {subscriber.lists.map((list) => list.name).join(', ') || '—'}
        </Typography>
      ),
    },
    {
      key: 'createdAt',
      header: text('subscribers.column.createdAt', 'Added'),
      render: (subscriber) => <CellText>{labels.dateTime(Date.parse(subscriber.createdAt))}</CellText>,
    },
  ];
}
