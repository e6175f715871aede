import * as React from 'react';

import { Badge, Button, Flex, Typography } from '@strapi/design-system';
import { Plus } from '@strapi/icons';
import { useIntl } from 'react-intl';
import { useNavigate } from 'react-router-dom';

import type { SmtpGroup } from '../../../../shared/contracts/groups';
import type { GroupStatus } from '../../../../shared/contracts/status';
import { useGroupList, useStatus } from '../../api/queries';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { ListPageLayout, ListResult } from '../../components/ListPageLayout';
import { GroupWaitBadge, NoValue, StatusUnavailable } from '../../components/LiveStatus';
import { useLabels } from '../../hooks/useLabels';
import { useListParams } from '../../hooks/useListParams';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';

/** The list of server groups, with each one's live queue (from the status query). A row opens the group. */
export function GroupsListPage() {
  const { formatMessage } = useIntl();
  const navigate = useNavigate();
  const { canManage } = usePluginPermissions();
  const { page, pageSize, q } = useListParams();
  const groups = useGroupList({ page, pageSize, q, sort: 'name:asc' });
  const status = useStatus();
  const statusById = React.useMemo(
    () => new Map((status.data?.data.groups ?? []).map((entry) => [entry.documentId, entry])),
    [status.data],
  );
  const columns = useGroupColumns(statusById);
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  return (
    <ListPageLayout
      title={text('groups.title', 'Server groups')}
      subtitle={text(
        'groups.subtitle',
        'A group shares its traffic between its servers and falls back to another group when none can send.',
      )}
      primaryAction={
        canManage ? (
          <Button startIcon={<Plus />} onClick={() => navigate(paths.newGroup)}>
            {text('groups.add', 'Add group')}
          </Button>
        ) : undefined
      }
      search={{
        label: text('groups.search', 'Search groups'),
        placeholder: text('groups.search.placeholder', 'Search by name or slug'),
      }}
    >
      <ListResult
        query={groups}
        errorTitle={text('groups.loadFailed', 'The groups could not be loaded')}
        emptyText={q ? text('groups.empty.search', 'No group matches this search.') : text('groups.empty', 'No group yet.')}
        notice={status.isError && <StatusUnavailable error={status.error} inline />}
      >
        {(rows) => (
          <DataTable
            columns={columns}
            rows={rows}
            rowKey={(group) => group.documentId}
            onRowClick={(group) => navigate(paths.group(group.documentId))}
          />
        )}
      </ListResult>
    </ListPageLayout>
  );
}

/** The table's columns; `statusById` holds the live queue by documentId (a group missing from it shows a dash). */
function useGroupColumns(statusById: Map<string, GroupStatus>): Column<SmtpGroup>[] {
  const { formatMessage, formatNumber } = useIntl();
  const labels = useLabels();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  return [
    {
      key: 'name',
      header: text('groups.column.name', 'Name'),
      render: (group) => (
        <Typography fontWeight="semiBold" textColor="neutral800">
          {group.name}
        </Typography>
      ),
    },
    { key: 'slug', header: text('groups.column.slug', 'Slug'), render: (group) => <CellText>{group.slug}</CellText> },
    {
      key: 'strategy',
      header: text('groups.column.strategy', 'Strategy'),
      render: (group) => <CellText>{labels.strategy(group.strategy)}</CellText>,
    },
    {
      key: 'default',
      header: text('groups.column.default', 'Default'),
      render: (group) =>
        group.isDefault && <Badge variant="primary">{text('groups.defaultBadge', 'Default')}</Badge>,
    },
    {
      key: 'servers',
      header: text('groups.column.servers', 'Servers'),
      render: (group) => <CellText>{group.servers.length}</CellText>,
    },
    {
      key: 'fallback',
      header: text('groups.column.fallback', 'Fallback group'),
      render: (group) => <CellText>{group.fallbackGroup?.name ?? '—'}</CellText>,
    },
    {
      key: 'queued',
      header: text('groups.column.queued', 'Queued'),
      render: (group) => {
        const status = statusById.get(group.documentId);
        return status ? (
          <Flex direction="column" alignItems="flex-start" gap={1}>
            <CellText>{formatNumber(status.depth)}</CellText>
            {status.waiting && <GroupWaitBadge waiting={status.waiting} />}
          </Flex>
        ) : (
          <NoValue />
        );
      },
    },
  ];
}
