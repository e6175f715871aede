import { Box, Flex, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import type { StatusResponse } from '../../../../shared/contracts/status';
import { toApiError } from '../../api/errors';
import { GroupWaitBadge } from '../../components/LiveStatus';
import { getTranslation } from '../../utils/getTranslation';

interface GroupLiveStatusProps {
  groupDocumentId: string;
  /** The status query's result (shared with the members table). */
  status?: StatusResponse;
  error?: unknown;
}

/** A saved group's queue: how many messages wait for it, and whether it waits for quota or a suspension. */
export function GroupLiveStatus({ groupDocumentId, status, error }: GroupLiveStatusProps) {
  const { formatMessage } = useIntl();
  const groupStatus = status?.data.groups.find((group) => group.documentId === groupDocumentId);

  return (
    <Box
      background="neutral0"
      hasRadius
      shadow="tableShadow"
      padding={6}
      tag="section"
      aria-label={formatMessage({ id: getTranslation('live.title'), defaultMessage: 'Live status' })}
    >
      <Flex direction="column" alignItems="stretch" gap={3}>
        <Typography variant="delta" tag="h2">
          {formatMessage({ id: getTranslation('live.title'), defaultMessage: 'Live status' })}
        </Typography>
        {error ? (
          <Typography textColor="danger600">
            {formatMessage(
              { id: getTranslation('status.unavailable'), defaultMessage: 'Live status unavailable: {message}' },
              { message: toApiError(error).message },
            )}
          </Typography>
        ) : (
          <Flex gap={3} wrap="wrap">
            <Typography textColor="neutral800">
              {groupStatus
                ? formatMessage(
                    {
                      id: getTranslation('group.live.queued'),
                      defaultMessage: 'Queued: {count, plural, =0 {no message} one {# message} other {# messages}}',
                    },
                    { count: groupStatus.depth },
                  )
                : '—'}
            </Typography>
            {groupStatus?.waiting && <GroupWaitBadge waiting={groupStatus.waiting} />}
          </Flex>
        )}
      </Flex>
    </Box>
  );
}
