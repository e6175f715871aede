import { Badge } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import { getTranslation } from '../utils/getTranslation';

/** A server's status as a badge: "Enabled" (green) or "Disabled" (grey). */
export function EnabledBadge({ enabled }: { enabled: boolean }) {
  const { formatMessage } = useIntl();
  return enabled ? (
    <Badge variant="success">
      {formatMessage({ id: getTranslation('status.enabled'), defaultMessage: 'Enabled' })}
    </Badge>
  ) : (
    <Badge variant="neutral">
      {formatMessage({ id: getTranslation('status.disabled'), defaultMessage: 'Disabled' })}
    </Badge>
  );
}
