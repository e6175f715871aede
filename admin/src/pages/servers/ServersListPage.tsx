import * as React from 'react';

import {
  Box,
  Button,
  EmptyStateLayout,
  Flex,
  Table,
  Tbody,
  Td,
  Th,
  Thead,
  Tr,
  Typography,
} from '@strapi/design-system';
import { Plus } from '@strapi/icons';
import { Layouts, Page } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useNavigate } from 'react-router-dom';

import type { SmtpServer } from '../../../../shared/contracts/servers';
import type { ServerStatus } from '../../../../shared/contracts/status';
import { toApiError } from '../../api/errors';
import { useServerList, useStatus } from '../../api/queries';
import { EnabledBadge } from '../../components/EnabledBadge';
import { ContentLoader } from '../../components/ContentLoader';
import { ErrorBox } from '../../components/ErrorBox';
import { HealthBadge, LastHourText, NoValue, QuotaBar } from '../../components/LiveStatus';
import { ListPagination } from '../../components/ListPagination';
import { SearchBox } from '../../components/SearchBox';
import { useLabels } from '../../hooks/useLabels';
import { useListParams } from '../../hooks/useListParams';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';

const COLUMN_COUNT = 9;

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

  const title = formatMessage({ id: getTranslation('servers.title'), defaultMessage: 'SMTP servers' });

  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
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
              {formatMessage({ id: getTranslation('servers.add'), defaultMessage: 'Add server' })}
            </Button>
          ) : undefined
        }
      />
      <Layouts.Action
        startActions={
          <SearchBox
            label={formatMessage({ id: getTranslation('servers.search'), defaultMessage: 'Search servers' })}
            placeholder={formatMessage({
              id: getTranslation('servers.search.placeholder'),
              defaultMessage: 'Search by name or host',
            })}
          />
        }
      />
      <Layouts.Content>
        {servers.isPending ? (
          <ContentLoader />
        ) : servers.isError ? (
          <ErrorBox
            title={formatMessage({ id: getTranslation('servers.loadFailed'), defaultMessage: 'The servers could not be loaded' })}
            message={toApiError(servers.error).message}
          />
        ) : servers.data.data.length === 0 ? (
          <EmptyStateLayout
            content={
              q
                ? formatMessage({ id: getTranslation('servers.empty.search'), defaultMessage: 'No server matches this search.' })
                : formatMessage({ id: getTranslation('servers.empty'), defaultMessage: 'No SMTP server yet.' })
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
              <ServersTable
                servers={servers.data.data}
                statusById={statusById}
                onOpen={(server) => navigate(paths.server(server.documentId))}
              />
              <ListPagination pagination={servers.data.meta.pagination} />
            </Box>
          </Flex>
        )}
      </Layouts.Content>
    </Page.Main>
  );
}

interface ServersTableProps {
  servers: SmtpServer[];
  /** Live state by documentId; a server missing from it shows dashes. */
  statusById: Map<string, ServerStatus>;
  onOpen: (server: SmtpServer) => void;
}

function ServersTable({ servers, statusById, onOpen }: ServersTableProps) {
  const { formatMessage } = useIntl();
  const column = (id: string, defaultMessage: string) => (
    <Th>
      <Typography variant="sigma" textColor="neutral600">
        {formatMessage({ id: getTranslation(id), defaultMessage })}
      </Typography>
    </Th>
  );

  return (
    <Table colCount={COLUMN_COUNT} rowCount={servers.length + 1}>
      <Thead>
        <Tr>
          {column('servers.column.name', 'Name')}
          {column('servers.column.host', 'Host')}
          {column('servers.column.status', 'Status')}
          {column('servers.column.group', 'Group')}
          {column('servers.column.weight', 'Weight')}
          {column('servers.column.health', 'Health')}
          {column('servers.column.hour', 'Hour')}
          {column('servers.column.day', 'Day')}
          {column('servers.column.lastHour', 'Last hour')}
        </Tr>
      </Thead>
      <Tbody>
        {servers.map((server) => (
          <ServerRow
            key={server.documentId}
            server={server}
            status={statusById.get(server.documentId)}
            onOpen={() => onOpen(server)}
          />
        ))}
      </Tbody>
    </Table>
  );
}

function ServerRow({ server, status, onOpen }: { server: SmtpServer; status?: ServerStatus; onOpen: () => void }) {
  const labels = useLabels();
  const { formatMessage } = useIntl();

  return (
    <Tr onClick={onOpen} style={{ cursor: 'pointer' }}>
      <Td>
        <Typography fontWeight="semiBold" textColor="neutral800">
          {server.name}
        </Typography>
      </Td>
      <Td>
        <Flex direction="column" alignItems="flex-start">
          <Typography textColor="neutral800">{`${server.host}:${server.port}`}</Typography>
          <Typography variant="pi" textColor="neutral600">
            {labels.security(server.security)}
          </Typography>
        </Flex>
      </Td>
      <Td>
        <EnabledBadge enabled={server.enabled} />
      </Td>
      <Td>
        <Typography textColor="neutral800">
          {server.group?.name ??
            formatMessage({ id: getTranslation('servers.noGroup'), defaultMessage: 'No group' })}
        </Typography>
      </Td>
      <Td>
        <Typography textColor="neutral800">{server.weight}</Typography>
      </Td>
      <Td>{status ? <HealthBadge health={status.health} showReason /> : <NoValue />}</Td>
      <Td>
        {status ? (
          <QuotaBar
            label={formatMessage({ id: getTranslation('quota.hour'), defaultMessage: 'Hour quota' })}
            used={status.quota.hour.used}
            cap={status.quota.hour.cap}
          />
        ) : (
          <NoValue />
        )}
      </Td>
      <Td>
        {status ? (
          <QuotaBar
            label={formatMessage({ id: getTranslation('quota.day'), defaultMessage: 'Day quota' })}
            used={status.quota.day.used}
            cap={status.quota.day.cap}
          />
        ) : (
          <NoValue />
        )}
      </Td>
      <Td>{status ? <LastHourText lastHour={status.lastHour} /> : <NoValue />}</Td>
    </Tr>
  );
}
