import { useIntl } from 'react-intl';

import type { GroupStrategy } from '../../../shared/contracts/groups';
import type { AttemptOutcome, MessageStatus } from '../../../shared/contracts/messages';
import type { SecurityMode } from '../../../shared/contracts/servers';
import type { ServerStatus } from '../../../shared/contracts/status';
import { getTranslation } from '../utils/getTranslation';

type HealthSource = NonNullable<ServerStatus['health']['source']>;

/** True when two instants fall on the same local calendar day. */
const sameDay = (a: Date, b: Date) =>
  a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

/** Display texts for the API's enum values, limits and times, translated. */
export function useLabels() {
  const { formatMessage, formatNumber, formatDate, formatTime } = useIntl();

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

  const messageStatusLabels: Record<MessageStatus, string> = {
    queued: formatMessage({ id: getTranslation('messageStatus.queued'), defaultMessage: 'Queued' }),
    sending: formatMessage({ id: getTranslation('messageStatus.sending'), defaultMessage: 'Sending' }),
    deferred: formatMessage({ id: getTranslation('messageStatus.deferred'), defaultMessage: 'Deferred' }),
    sent: formatMessage({ id: getTranslation('messageStatus.sent'), defaultMessage: 'Sent' }),
    failed: formatMessage({ id: getTranslation('messageStatus.failed'), defaultMessage: 'Failed' }),
    bounced: formatMessage({ id: getTranslation('messageStatus.bounced'), defaultMessage: 'Bounced' }),
    skipped: formatMessage({ id: getTranslation('messageStatus.skipped'), defaultMessage: 'Skipped' }),
  };

  const outcomeLabels: Record<AttemptOutcome, string> = {
    accepted: formatMessage({ id: getTranslation('outcome.accepted'), defaultMessage: 'Accepted' }),
    'server-transient': formatMessage({
      id: getTranslation('outcome.server-transient'),
      defaultMessage: 'Server busy (tried another)',
    }),
    'server-condemned': formatMessage({
      id: getTranslation('outcome.server-condemned'),
      defaultMessage: 'Server refused us (suspended)',
    }),
    'recipient-hard': formatMessage({ id: getTranslation('outcome.recipient-hard'), defaultMessage: 'Recipient refused' }),
    'recipient-soft': formatMessage({
      id: getTranslation('outcome.recipient-soft'),
      defaultMessage: 'Recipient unavailable (retry later)',
    }),
    'message-rejected': formatMessage({ id: getTranslation('outcome.message-rejected'), defaultMessage: 'Message rejected' }),
  };

  const healthSourceLabels: Record<HealthSource, string> = {
    breaker: formatMessage({ id: getTranslation('health.source.breaker'), defaultMessage: 'Circuit breaker' }),
    rule: formatMessage({ id: getTranslation('health.source.rule'), defaultMessage: 'Response rule' }),
    manual: formatMessage({ id: getTranslation('health.source.manual'), defaultMessage: 'Manual' }),
  };

  /** A time of day as HH:MM (24-hour), with the date in front when it is not today. */
  const until = (epochMs: number, withSeconds = false) => {
    const date = new Date(epochMs);
    const time = formatTime(date, {
      hour: '2-digit',
      minute: '2-digit',
      ...(withSeconds ? { second: '2-digit' } : {}),
      hourCycle: 'h23',
    });
    return sameDay(date, new Date()) ? time : `${formatDate(date, { day: 'numeric', month: 'short' })} ${time}`;
  };

  return {
    messageStatus: (status: MessageStatus) => messageStatusLabels[status] ?? status,
    outcome: (outcome: AttemptOutcome) => outcomeLabels[outcome] ?? outcome,
    healthSource: (source: HealthSource) => healthSourceLabels[source] ?? source,
    until,
    /** A full date and time, e.g. for when a message was queued. */
    dateTime: (epochMs: number) =>
      formatDate(new Date(epochMs), {
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
      }),
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
