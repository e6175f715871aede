import { Box, Flex, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';
import { useNavigate } from 'react-router-dom';

import type { GroupMember, SmtpGroup } from '../../../../shared/contracts/groups';
import type { StatusResponse } from '../../../../shared/contracts/status';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { EnabledBadge } from '../../components/EnabledBadge';
import { HealthBadge, NoValue } from '../../components/LiveStatus';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';

/**
 * The servers of a group with each one's weight and the share of the group's traffic that weight
 * gives it (computed by the API over enabled servers). A row opens the server.
 */
export function GroupMembersTable({ group, status }: { group: SmtpGroup; status?: StatusResponse }) {
  const { formatMessage, formatNumber } = useIntl();
  const navigate = useNavigate();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  const columns: Column<GroupMember>[] = [
    {
      key: 'name',
      header: text('group.members.column.name', 'Name'),
      render: (member) => (
        <Typography fontWeight="semiBold" textColor="neutral800">
          {member.name}
        </Typography>
      ),
    },
    {
      key: 'host',
      header: text('group.members.column.host', 'Host'),
      render: (member) => <CellText>{`${member.host}:${member.port}`}</CellText>,
    },
    {
      key: 'weight',
      header: text('group.members.column.weight', 'Weight'),
      render: (member) => <CellText>{member.weight}</CellText>,
    },
    {
      key: 'share',
      header: text('group.members.column.share', 'Share'),
      // sharePct is a percentage (33.3); formatNumber's percent style wants a fraction (0.333).
      render: (member) => (
        <CellText>{formatNumber(member.sharePct / 100, { style: 'percent', maximumFractionDigits: 1 })}</CellText>
      ),
    },
    {
      key: 'priority',
      header: text('group.members.column.priority', 'Priority'),
      render: (member) => <CellText>{member.priority}</CellText>,
    },
    {
      key: 'status',
      header: text('group.members.column.status', 'Status'),
      render: (member) => <EnabledBadge enabled={member.enabled} />,
    },
    {
      key: 'health',
      header: text('group.members.column.health', 'Health'),
      render: (member) => {
        const server = status?.data.servers.find((entry) => entry.documentId === member.documentId);
        return server ? <HealthBadge health={server.health} /> : <NoValue />;
      },
    },
  ];

  return (
    <Box background="neutral0" hasRadius shadow="tableShadow" padding={6}>
      <Flex direction="column" alignItems="stretch" gap={4}>
        <Typography variant="delta" tag="h2">
          {formatMessage(
            { id: getTranslation('group.members.title'), defaultMessage: 'Servers in this group ({count})' },
            { count: group.servers.length },
          )}
        </Typography>
        {group.servers.length === 0 ? (
          <Typography textColor="neutral600">
            {text('group.members.empty', 'No server yet. Choose this group on a server’s page to add it.')}
          </Typography>
        ) : (
          <DataTable
            columns={columns}
            rows={group.servers}
            rowKey={(member) => member.documentId}
            onRowClick={(member) => navigate(paths.server(member.documentId))}
          />
        )}
      </Flex>
    </Box>
  );
}
