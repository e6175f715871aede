import { useIntl } from 'react-intl';

import type { GroupStrategy } from '../../../shared/contracts/groups';
import type { SecurityMode } from '../../../shared/contracts/servers';
import { getTranslation } from '../utils/getTranslation';

/** Display texts for the API's enum values and limits, translated. */
export function useLabels() {
  const { formatMessage, formatNumber } = useIntl();

  const securityLabels: Record<SecurityMode, string> = {
    none: formatMessage({ id: getTranslation('security.none'), defaultMessage: 'None' }),
    starttls: formatMessage({ id: getTranslation('security.starttls'), defaultMessage: 'STARTTLS' }),
    tls: formatMessage({ id: getTranslation('security.tls'), defaultMessage: 'TLS' }),
  };

  const strategyLabels: Record<GroupStrategy, string> = {
    'round-robin': formatMessage({ id: getTranslation('strategy.round-robin'), defaultMessage: 'Round robin' }),
    weighted: formatMessage({ id: getTranslation('strategy.weighted'), defaultMessage: 'Weighted' }),
    priority: formatMessage({ id: getTranslation('strategy.priority'), defaultMessage: 'Priority (failover)' }),
    adaptive: formatMessage({ id: getTranslation('strategy.adaptive'), defaultMessage: 'Adaptive' }),
  };

  return {
    security: (mode: SecurityMode) => securityLabels[mode] ?? mode,
    strategy: (strategy: GroupStrategy) => strategyLabels[strategy] ?? strategy,
    /** A limit for display: the number, or "unlimited" for null. */
    limit: (value: number | null) =>
      value === null
        ? formatMessage({ id: getTranslation('limits.unlimited'), defaultMessage: 'unlimited' })
        : formatNumber(value),
    milliseconds: (ms: number) =>
      formatMessage({ id: getTranslation('units.ms'), defaultMessage: '{ms} ms' }, { ms: formatNumber(ms) }),
  };
}
