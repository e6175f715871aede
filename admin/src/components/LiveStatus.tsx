import * as React from 'react';

import { Badge, Box, Flex, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import type { GroupStatus, ServerStatus } from '../../../shared/contracts/status';
import { toApiError } from '../api/errors';
import { useLabels } from '../hooks/useLabels';
import { getTranslation } from '../utils/getTranslation';

/*
 * Small pieces that show the sending engine's live state: a server's health, a quota bar, the last
 * hour's traffic and a group's wait. The servers list, the server page and the group pages share them.
 */

type Health = ServerStatus['health'];

/** The one-word state of a server's health, e.g. "Active" or "Suspended until 14:05". */
export function useHealthText() {
  const { formatMessage, formatNumber } = useIntl();
  const labels = useLabels();

  return (health: Health) => {
    if (health.state === 'open') {
      return health.suspendedUntil !== null
        ? formatMessage(
            { id: getTranslation('health.suspendedUntil'), defaultMessage: 'Suspended until {time}' },
            { time: labels.until(health.suspendedUntil) },
          )
        : formatMessage({ id: getTranslation('health.suspended'), defaultMessage: 'Suspended' });
    }
    if (health.state === 'half-open') {
      return formatMessage({ id: getTranslation('health.probing'), defaultMessage: 'Probing (half-open)' });
    }
    if (health.throttle) {
      return formatMessage(
        { id: getTranslation('health.throttled'), defaultMessage: 'Throttled to {rate}/s' },
        { rate: formatNumber(health.throttle.ratePerSecond) },
      );
    }
    return formatMessage({ id: getTranslation('health.active'), defaultMessage: 'Active' });
  };
}

const healthVariant = (health: Health) =>
  health.state === 'open' ? 'danger' : health.state === 'half-open' || health.throttle ? 'warning' : 'success';

/**
 * A server's health as a badge: Active (green), Suspended until HH:MM (red), Probing (half-open) or
 * Throttled to N/s (orange). With `showReason`, a suspension's reason is written under it.
 */
export function HealthBadge({ health, showReason = false }: { health: Health; showReason?: boolean }) {
  const healthText = useHealthText();
  const reason = health.state === 'open' && showReason ? health.reason : null;

  return (
    <Flex direction="column" alignItems="flex-start" gap={1}>
      <Badge variant={healthVariant(health)}>{healthText(health)}</Badge>
      {reason && (
        <Typography variant="pi" textColor="neutral600" title={reason} style={{ maxWidth: '14rem' }} ellipsis>
          {reason}
        </Typography>
      )}
    </Flex>
  );
}

/** At 80 % of a cap the bar turns orange, at the cap red. */
const WARNING_RATIO = 0.8;

interface QuotaBarProps {
  /** Accessible name of the bar, e.g. "Hour quota". */
  label: string;
  used: number;
  /** null = no cap: the text says "used / ∞" and no bar is drawn. */
  cap: number | null;
}

/** "used / cap" over a thin bar that fills as the quota is spent. */
export function QuotaBar({ label, used, cap }: QuotaBarProps) {
  const { formatMessage, formatNumber } = useIntl();
  const ratio = cap === null ? 0 : cap === 0 ? 1 : Math.min(1, used / cap);
  const color = ratio >= 1 ? 'danger600' : ratio >= WARNING_RATIO ? 'warning500' : 'success500';

  return (
    <Flex direction="column" alignItems="stretch" gap={1} minWidth="6.4rem">
      <Typography variant="pi" textColor="neutral800">
        {formatMessage(
          { id: getTranslation('quota.usedOfCap'), defaultMessage: '{used} / {cap}' },
          { used: formatNumber(used), cap: cap === null ? '∞' : formatNumber(cap) },
        )}
      </Typography>
      {cap !== null && (
        <Box
          role="progressbar"
          aria-label={label}
          aria-valuemin={0}
          aria-valuemax={cap}
          aria-valuenow={Math.min(used, cap)}
          background="neutral150"
          hasRadius
          height="0.6rem"
          width="100%"
          overflow="hidden"
        >
          <Box background={color} height="100%" style={{ width: `${Math.round(ratio * 100)}%` }} />
        </Box>
      )}
    </Flex>
  );
}

/** "12 sent / 1 failed", the failures in red when there are any. */
export function LastHourText({ lastHour }: { lastHour: ServerStatus['lastHour'] }) {
  const { formatMessage, formatNumber } = useIntl();
  return (
    <Typography
      variant="pi"
      textColor={lastHour.failed > 0 ? 'danger600' : 'neutral800'}
      style={{ whiteSpace: 'nowrap' }}
    >
      {formatMessage(
        { id: getTranslation('lastHour.sentFailed'), defaultMessage: '{sent} sent / {failed} failed' },
        { sent: formatNumber(lastHour.sent), failed: formatNumber(lastHour.failed) },
      )}
    </Typography>
  );
}

/**
 * Shown while a group's mail waits because every server it could use is at quota or suspended:
 * "Waiting for quota until 14:05", "Waiting (all servers suspended) until 14:05".
 */
export function GroupWaitBadge({ waiting }: { waiting: NonNullable<GroupStatus['waiting']> }) {
  const { formatMessage } = useIntl();
  const labels = useLabels();
  const time = labels.until(waiting.until);

  const text =
    waiting.reason === 'quota'
      ? formatMessage({ id: getTranslation('wait.quota'), defaultMessage: 'Waiting for quota until {time}' }, { time })
      : waiting.reason === 'suspended'
        ? formatMessage(
            { id: getTranslation('wait.suspended'), defaultMessage: 'Waiting (all servers suspended) until {time}' },
            { time },
          )
        : formatMessage(
            { id: getTranslation('wait.noServer'), defaultMessage: 'Waiting (no server available) until {time}' },
            { time },
          );

  return <Badge variant="warning">{text}</Badge>;
}

/** A dash for a live value that could not be loaded. */
export function NoValue() {
  return <Typography textColor="neutral500">—</Typography>;
}

/** "Live status unavailable: …", for a status query that failed. `inline` is the small, announced variant of lists. */
export function StatusUnavailable({ error, inline = false }: { error: unknown; inline?: boolean }) {
  const { formatMessage } = useIntl();
  const text = formatMessage(
    { id: getTranslation('status.unavailable'), defaultMessage: 'Live status unavailable: {message}' },
    { message: toApiError(error).message },
  );
  return inline ? (
    <Typography variant="pi" textColor="danger600" role="status">
      {text}
    </Typography>
  ) : (
    <Typography textColor="danger600">{text}</Typography>
  );
}

interface LiveStatusSectionProps {
  /** Spaces the children. */
  gap: 3 | 4;
  children: React.ReactNode;
  /** Rendered after the children, outside their column (dialogs). */
  overlay?: React.ReactNode;
}

/** The "Live status" panel of a server or group page. */
export function LiveStatusSection({ gap, children, overlay }: LiveStatusSectionProps) {
  const { formatMessage } = useIntl();
  return (
    <Box
      background="neutral0"
      hasRadius
      shadow="tableShadow"
      padding={6}
      tag="section"
      aria-label={formatMessage({ id: getTranslation('live.title'), defaultMessage: 'Live status' })}
    >
      <Flex direction="column" alignItems="stretch" gap={gap}>
        {children}
      </Flex>
      {overlay}
    </Box>
  );
}

/** The panel's "Live status" heading. */
export function LiveStatusTitle() {
  const { formatMessage } = useIntl();
  return (
    <Typography variant="delta" tag="h2">
      {formatMessage({ id: getTranslation('live.title'), defaultMessage: 'Live status' })}
    </Typography>
  );
}
