import { Flex, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import type { StatusResponse } from '../../../../shared/contracts/status';
import { GroupWaitBadge, LiveStatusSection, LiveStatusTitle, StatusUnavailable } from '../../components/LiveStatus';
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
    <LiveStatusSection gap={3}>
      <LiveStatusTitle />
      {error ? (
        <StatusUnavailable error={error} />
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
    </LiveStatusSection>
  );
}
