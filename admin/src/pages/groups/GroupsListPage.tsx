import * as React from 'react';

import { Badge, Box, Button, EmptyStateLayout, Flex, Table, Tbody, Td, Th, Thead, Tr, Typography } from '@strapi/design-system';
import { Plus } from '@strapi/icons';
import { Layouts, Page } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useNavigate } from 'react-router-dom';

import type { SmtpGroup } from '../../../../shared/contracts/groups';
import type { GroupStatus } from '../../../../shared/contracts/status';
import { toApiError } from '../../api/errors';
import { useGroupList, useStatus } from '../../api/queries';
import { ContentLoader } from '../../components/ContentLoader';
import { ErrorBox } from '../../components/ErrorBox';
import { GroupWaitBadge, NoValue } from '../../components/LiveStatus';
import { ListPagination } from '../../components/ListPagination';
import { SearchBox } from '../../components/SearchBox';
import { useLabels } from '../../hooks/useLabels';
import { useListParams } from '../../hooks/useListParams';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';

const COLUMN_COUNT = 7;

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

  const title = formatMessage({ id: getTranslation('groups.title'), defaultMessage: 'Server groups' });

  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
        subtitle={formatMessage({
          id: getTranslation('groups.subtitle'),
          defaultMessage: 'A group shares its traffic between its servers and falls back to another group when none can send.',
        })}
        primaryAction={
          canManage ? (
            <Button startIcon={<Plus />} onClick={() => navigate(paths.newGroup)}>
              {formatMessage({ id: getTranslation('groups.add'), defaultMessage: 'Add group' })}
            </Button>
          ) : undefined
        }
      />
      <Layouts.Action
        startActions={
          <SearchBox
            label={formatMessage({ id: getTranslation('groups.search'), defaultMessage: 'Search groups' })}
            placeholder={formatMessage({
              id: getTranslation('groups.search.placeholder'),
              defaultMessage: 'Search by name or slug',
            })}
          />
        }
      />
      <Layouts.Content>
        {groups.isPending ? (
          <ContentLoader />
        ) : groups.isError ? (
          <ErrorBox
            title={formatMessage({ id: getTranslation('groups.loadFailed'), defaultMessage: 'The groups could not be loaded' })}
            message={toApiError(groups.error).message}
          />
        ) : groups.data.data.length === 0 ? (
          <EmptyStateLayout
            content={
              q
                ? formatMessage({ id: getTranslation('groups.empty.search'), defaultMessage: 'No group matches this search.' })
                : formatMessage({ id: getTranslation('groups.empty'), defaultMessage: 'No group yet.' })
            }
          />
        ) : (
          <Flex direction="column" alignItems="stretch" gap={4}>
            {status.isError && (
              <Typography variant="pi" textColor="danger600" role="status">
                {formatMessage(
                  { id: getTranslation('status.unavailable'), defaultMessage: 'Live status unavailable: {message}' },
                  { message: toApiError(status.error).message },
                )}
              </Typography>
            )}
            <Box>
              <GroupsTable
                groups={groups.data.data}
                statusById={statusById}
                onOpen={(group) => navigate(paths.group(group.documentId))}
              />
              <ListPagination pagination={groups.data.meta.pagination} />
            </Box>
          </Flex>
        )}
      </Layouts.Content>
    </Page.Main>
  );
}

interface GroupsTableProps {
  groups: SmtpGroup[];
  /** Live queue by documentId; a group missing from it shows a dash. */
  statusById: Map<string, GroupStatus>;
  onOpen: (group: SmtpGroup) => void;
}

function GroupsTable({ groups, statusById, onOpen }: GroupsTableProps) {
  const { formatMessage } = useIntl();
  const column = (id: string, defaultMessage: string) => (
    <Th>
      <Typography variant="sigma" textColor="neutral600">
        {formatMessage({ id: getTranslation(id), defaultMessage })}
      </Typography>
    </Th>
  );

  return (
    <Table colCount={COLUMN_COUNT} rowCount={groups.length + 1}>
      <Thead>
        <Tr>
          {column('groups.column.name', 'Name')}
          {column('groups.column.slug', 'Slug')}
          {column('groups.column.strategy', 'Strategy')}
          {column('groups.column.default', 'Default')}
          {column('groups.column.servers', 'Servers')}
          {column('groups.column.fallback', 'Fallback group')}
          {column('groups.column.queued', 'Queued')}
        </Tr>
      </Thead>
      <Tbody>
        {groups.map((group) => (
          <GroupRow
            key={group.documentId}
            group={group}
            status={statusById.get(group.documentId)}
            onOpen={() => onOpen(group)}
          />
        ))}
      </Tbody>
    </Table>
  );
}

function GroupRow({ group, status, onOpen }: { group: SmtpGroup; status?: GroupStatus; onOpen: () => void }) {
  const { formatMessage, formatNumber } = useIntl();
  const labels = useLabels();

  return (
    <Tr onClick={onOpen} style={{ cursor: 'pointer' }}>
      <Td>
        <Typography fontWeight="semiBold" textColor="neutral800">
          {group.name}
        </Typography>
      </Td>
      <Td>
        <Typography textColor="neutral800">{group.slug}</Typography>
      </Td>
      <Td>
        <Typography textColor="neutral800">{labels.strategy(group.strategy)}</Typography>
      </Td>
      <Td>
        {group.isDefault && (
          <Badge variant="primary">
            {formatMessage({ id: getTranslation('groups.defaultBadge'), defaultMessage: 'Default' })}
          </Badge>
        )}
      </Td>
      <Td>
        <Typography textColor="neutral800">{group.servers.length}</Typography>
      </Td>
      <Td>
        <Typography textColor="neutral800">{group.fallbackGroup?.name ?? '—'}</Typography>
      </Td>
      <Td>
        {status ? (
          <Flex direction="column" alignItems="flex-start" gap={1}>
            <Typography textColor="neutral800">{formatNumber(status.depth)}</Typography>
            {status.waiting && <GroupWaitBadge waiting={status.waiting} />}
          </Flex>
        ) : (
          <NoValue />
        )}
      </Td>
    </Tr>
  );
}
