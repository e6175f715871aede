import * as React from 'react';

import { Button, Flex, Typography } from '@strapi/design-system';
import { Plus } from '@strapi/icons';
import { useIntl } from 'react-intl';
import { useNavigate } from 'react-router-dom';

import type { SmtpServer } from '../../../../shared/contracts/servers';
import type { ServerStatus } from '../../../../shared/contracts/status';
import { useServerList, useStatus } from '../../api/queries';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { EnabledBadge } from '../../components/EnabledBadge';
import { ListPageLayout, ListResult } from '../../components/ListPageLayout';
import { HealthBadge, LastHourText, NoValue, QuotaBar, StatusUnavailable } from '../../components/LiveStatus';
import { useLabels } from '../../hooks/useLabels';
import { useListParams } from '../../hooks/useListParams';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';

/**
 * The list of SMTP servers: search, a page of rows, pagination. A row opens the server. Each row
 * also shows the server's live state (health, quota use, last hour), from one status query that
 * refreshes every few seconds.
 */
export function ServersListPage() {
  const { formatMessage } = useIntl();
  const navigate = useNavigate();
  const { canManage } = usePluginPermissions();
  const { page, pageSize, q } = useListParams();
  const servers = useServerList({ page, pageSize, q, sort: 'name:asc' });
  const status = useStatus();
  const statusById = React.useMemo(
    () => new Map((status.data?.data.servers ?? []).map((entry) => [entry.documentId, entry])),
    [status.data],
  );
  const columns = useServerColumns(statusById);
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  return (
    <ListPageLayout
      title={text('servers.title', 'SMTP servers')}
      subtitle={
        servers.data
          ? formatMessage(
              { id: getTranslation('servers.count'), defaultMessage: '{total, plural, one {# server} other {# servers}}' },
              { total: servers.data.meta.pagination.total },
            )
          : undefined
      }
      primaryAction={
        canManage ? (
          <Button startIcon={<Plus />} onClick={() => navigate(paths.newServer)}>
            {text('servers.add', 'Add server')}
          </Button>
        ) : undefined
      }
      search={{
        label: text('servers.search', 'Search servers'),
        placeholder: text('servers.search.placeholder', 'Search by name or host'),
      }}
    >
      <ListResult
        query={servers}
        errorTitle={text('servers.loadFailed', 'The servers could not be loaded')}
        emptyText={
          q
            ? text('servers.empty.search', 'No server matches this search.')
            : text('servers.empty', 'No SMTP server yet.')
        }
        notice={status.isError && <StatusUnavailable error={status.error} inline />}
      >
        {(rows) => (
          <DataTable
            columns={columns}
            rows={rows}
            rowKey={(server) => server.documentId}
            onRowClick={(server) => navigate(paths.server(server.documentId))}
          />
        )}
      </ListResult>
    </ListPageLayout>
  );
}

/** The table's columns; `statusById` holds the live state by documentId (a server missing from it shows dashes). */
function useServerColumns(statusById: Map<string, ServerStatus>): Column<SmtpServer>[] {
  const { formatMessage } = useIntl();
  const labels = useLabels();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const live = (server: SmtpServer, render: (status: ServerStatus) => React.ReactNode) => {
    const status = statusById.get(server.documentId);
    return status ? render(status) : <NoValue />;
  };

  return [
    {
      key: 'name',
      header: text('servers.column.name', 'Name'),
      render: (server) => (
        <Typography fontWeight="semiBold" textColor="neutral800">
          {server.name}
        </Typography>
      ),
    },
    {
      key: 'host',
      header: text('servers.column.host', 'Host'),
      render: (server) => (
        <Flex direction="column" alignItems="flex-start">
          <CellText>{`${server.host}:${server.port}`}</CellText>
          <Typography variant="pi" textColor="neutral600">
            {labels.security(server.security)}
          </Typography>
        </Flex>
      ),
    },
    {
      key: 'status',
      header: text('servers.column.status', 'Status'),
      render: (server) => <EnabledBadge enabled={server.enabled} />,
    },
    {
      key: 'group',
      header: text('servers.column.group', 'Group'),
      render: (server) => <CellText>{server.group?.name ?? text('servers.noGroup', 'No group')}</CellText>,
    },
    {
      key: 'weight',
      header: text('servers.column.weight', 'Weight'),
      render: (server) => <CellText>{server.weight}</CellText>,
    },
    {
      key: 'health',
      header: text('servers.column.health', 'Health'),
      render: (server) => live(server, (status) => <HealthBadge health={status.health} showReason />),
    },
    {
      key: 'hour',
      header: text('servers.column.hour', 'Hour'),
      render: (server) =>
        live(server, (status) => (
          <QuotaBar label={text('quota.hour', 'Hour quota')} used={status.quota.hour.used} cap={status.quota.hour.cap} />
        )),
    },
    {
      key: 'day',
      header: text('servers.column.day', 'Day'),
      render: (server) =>
        live(server, (status) => (
          <QuotaBar label={text('quota.day', 'Day quota')} used={status.quota.day.used} cap={status.quota.day.cap} />
        )),
    },
    {
      key: 'lastHour',
      header: text('servers.column.lastHour', 'Last hour'),
      render: (server) => live(server, (status) => <LastHourText lastHour={status.lastHour} />),
    },
  ];
}
