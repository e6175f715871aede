import { Box, Flex, Table, Tbody, Td, Th, Thead, Tr, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';
import { useNavigate } from 'react-router-dom';

import type { GroupMember, SmtpGroup } from '../../../../shared/contracts/groups';
import type { ServerStatus, StatusResponse } from '../../../../shared/contracts/status';
import { EnabledBadge } from '../../components/EnabledBadge';
import { HealthBadge, NoValue } from '../../components/LiveStatus';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';

const COLUMN_COUNT = 7;

/**
 * The servers of a group with each one's weight and the share of the group's traffic that weight
 * gives it (computed by the API over enabled servers). A row opens the server.
 */
export function GroupMembersTable({ group, status }: { group: SmtpGroup; status?: StatusResponse }) {
  const { formatMessage } = useIntl();
  const navigate = useNavigate();

  const column = (id: string, defaultMessage: string) => (
    <Th>
      <Typography variant="sigma" textColor="neutral600">
        {formatMessage({ id: getTranslation(id), defaultMessage })}
      </Typography>
    </Th>
  );

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
            {formatMessage({
              id: getTranslation('group.members.empty'),
              defaultMessage: 'No server yet. Choose this group on a server’s page to add it.',
            })}
          </Typography>
        ) : (
          <Table colCount={COLUMN_COUNT} rowCount={group.servers.length + 1}>
            <Thead>
              <Tr>
                {column('group.members.column.name', 'Name')}
                {column('group.members.column.host', 'Host')}
                {column('group.members.column.weight', 'Weight')}
                {column('group.members.column.share', 'Share')}
                {column('group.members.column.priority', 'Priority')}
                {column('group.members.column.status', 'Status')}
                {column('group.members.column.health', 'Health')}
              </Tr>
            </Thead>
            <Tbody>
              {group.servers.map((member) => (
                <MemberRow
                  key={member.documentId}
                  member={member}
                  status={status?.data.servers.find((server) => server.documentId === member.documentId)}
                  onOpen={() => navigate(paths.server(member.documentId))}
                />
              ))}
            </Tbody>
          </Table>
        )}
      </Flex>
    </Box>
  );
}

function MemberRow({ member, status, onOpen }: { member: GroupMember; status?: ServerStatus; onOpen: () => void }) {
  const { formatNumber } = useIntl();
  return (
    <Tr onClick={onOpen} style={{ cursor: 'pointer' }}>
      <Td>
        <Typography fontWeight="semiBold" textColor="neutral800">
          {member.name}
        </Typography>
      </Td>
      <Td>
        <Typography textColor="neutral800">{`${member.host}:${member.port}`}</Typography>
      </Td>
      <Td>
        <Typography textColor="neutral800">{member.weight}</Typography>
      </Td>
      <Td>
        {/* sharePct is a percentage (33.3); formatNumber's percent style wants a fraction (0.333). */}
        <Typography textColor="neutral800">
          {formatNumber(member.sharePct / 100, { style: 'percent', maximumFractionDigits: 1 })}
        </Typography>
      </Td>
      <Td>
        <Typography textColor="neutral800">{member.priority}</Typography>
      </Td>
      <Td>
        <EnabledBadge enabled={member.enabled} />
      </Td>
      <Td>{status ? <HealthBadge health={status.health} /> : <NoValue />}</Td>
    </Tr>
  );
}
