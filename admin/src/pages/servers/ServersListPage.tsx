import {
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
import { toApiError } from '../../api/errors';
import { useServerList } from '../../api/queries';
import { EnabledBadge } from '../../components/EnabledBadge';
import { ContentLoader } from '../../components/ContentLoader';
import { ErrorBox } from '../../components/ErrorBox';
import { ListPagination } from '../../components/ListPagination';
import { SearchBox } from '../../components/SearchBox';
import { useLabels } from '../../hooks/useLabels';
import { useListParams } from '../../hooks/useListParams';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';

const COLUMN_COUNT = 7;

/** The list of SMTP servers: search, a page of rows, pagination. A row opens the server. */
export function ServersListPage() {
  const { formatMessage } = useIntl();
  const navigate = useNavigate();
  const { canManage } = usePluginPermissions();
  const { page, pageSize, q } = useListParams();
  const servers = useServerList({ page, pageSize, q, sort: 'name:asc' });

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
          <>
            <ServersTable servers={servers.data.data} onOpen={(server) => navigate(paths.server(server.documentId))} />
            <ListPagination pagination={servers.data.meta.pagination} />
          </>
        )}
      </Layouts.Content>
    </Page.Main>
  );
}

function ServersTable({ servers, onOpen }: { servers: SmtpServer[]; onOpen: (server: SmtpServer) => void }) {
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
          {column('servers.column.security', 'Security')}
          {column('servers.column.status', 'Status')}
          {column('servers.column.group', 'Group')}
          {column('servers.column.weight', 'Weight')}
          {column('servers.column.limits', 'Limits')}
        </Tr>
      </Thead>
      <Tbody>
        {servers.map((server) => (
          <ServerRow key={server.documentId} server={server} onOpen={() => onOpen(server)} />
        ))}
      </Tbody>
    </Table>
  );
}

function ServerRow({ server, onOpen }: { server: SmtpServer; onOpen: () => void }) {
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
        <Typography textColor="neutral800">{`${server.host}:${server.port}`}</Typography>
      </Td>
      <Td>
        <Typography textColor="neutral800">{labels.security(server.security)}</Typography>
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
      <Td>
        <ServerLimits server={server} />
      </Td>
    </Tr>
  );
}

function ServerLimits({ server }: { server: SmtpServer }) {
  const { formatMessage } = useIntl();
  const labels = useLabels();

  return (
    <Flex direction="column" alignItems="flex-start">
      <Typography variant="pi" textColor="neutral800">
        {formatMessage(
          { id: getTranslation('limits.perSecond'), defaultMessage: 'Per second: {value}' },
          { value: labels.limit(server.ratePerSecond) },
        )}
      </Typography>
      <Typography variant="pi" textColor="neutral800">
        {formatMessage(
          { id: getTranslation('limits.perHour'), defaultMessage: 'Per hour: {value}' },
          { value: labels.limit(server.hourlyLimit) },
        )}
      </Typography>
      <Typography variant="pi" textColor="neutral800">
        {formatMessage(
          { id: getTranslation('limits.perDay'), defaultMessage: 'Per day: {value}' },
          { value: labels.limit(server.dailyLimit) },
        )}
      </Typography>
    </Flex>
  );
}
