import { Badge } from '@strapi/design-system';

import type { MessageStatus } from '../../../../shared/contracts/messages';
import { useLabels } from '../../hooks/useLabels';

const VARIANTS: Record<MessageStatus, 'neutral' | 'secondary' | 'warning' | 'success' | 'danger'> = {
  queued: 'neutral',
  sending: 'secondary',
  deferred: 'warning',
  sent: 'success',
  failed: 'danger',
  bounced: 'danger',
  skipped: 'neutral',
};

/** A message's status as a coloured badge: Sent (green), Deferred (orange), Failed (red)... */
export function MessageStatusBadge({ status }: { status: MessageStatus }) {
  const labels = useLabels();
  return <Badge variant={VARIANTS[status] ?? 'neutral'}>{labels.messageStatus(status)}</Badge>;
}
