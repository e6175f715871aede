import * as React from 'react';

import { Button, Flex, Grid, Typography } from '@strapi/design-system';
import { Play, Stop } from '@strapi/icons';
import { useNotification } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

import type { SmtpServer } from '../../../../shared/contracts/servers';
import type { ServerStatus } from '../../../../shared/contracts/status';
import { toApiError } from '../../api/errors';
import { useResumeServer, useServerStatus } from '../../api/queries';
import { ContentLoader } from '../../components/ContentLoader';
import { DetailList } from '../../components/DetailList';
import { ErrorBox } from '../../components/ErrorBox';
import { HealthBadge, LastHourText, LiveStatusSection, LiveStatusTitle, QuotaBar } from '../../components/LiveStatus';
import { useLabels } from '../../hooks/useLabels';
import { getTranslation } from '../../utils/getTranslation';
import { SuspendServerDialog } from './SuspendServerDialog';

interface ServerLiveStatusProps {
  server: SmtpServer;
  /** May suspend and resume (`servers.manage`). */
  canManage: boolean;
}

/**
 * A saved server's live state, refreshed every few seconds: health (and why), quota use against
 * each cap, warm-up and the last hour's traffic; with Suspend and Resume for managers.
 */
export function ServerLiveStatus({ server, canManage }: ServerLiveStatusProps) {
  const { formatMessage } = useIntl();
  const { toggleNotification } = useNotification();
  const status = useServerStatus(server.documentId);
  const resume = useResumeServer(server.documentId);
  const [suspending, setSuspending] = React.useState(false);

  const health = status.data?.data.health;
  const isSuspended = health?.state === 'open';
  const canResume = Boolean(health && (health.state !== 'closed' || health.throttle));

  const runResume = async () => {
    try {
      await resume.mutateAsync();
      toggleNotification({
        type: 'success',
        message: formatMessage({ id: getTranslation('resume.done'), defaultMessage: 'Server resumed' }),
      });
    } catch (error) {
      toggleNotification({ type: 'danger', message: toApiError(error).message });
    }
  };

  return (
    <LiveStatusSection
      gap={4}
      overlay={
        // Rendered here, inside the server form's React tree; the dialog stops its own submit from reaching that form.
        suspending && (
          <SuspendServerDialog
            serverDocumentId={server.documentId}
            serverName={server.name}
            onClose={() => setSuspending(false)}
          />
        )
      }
    >
      <Flex justifyContent="space-between" alignItems="flex-start" gap={4} wrap="wrap">
        <Flex direction="column" alignItems="flex-start" gap={1}>
          <LiveStatusTitle />
          <Typography variant="pi" textColor="neutral600">
            {formatMessage({ id: getTranslation('live.refresh'), defaultMessage: 'Updated every 5 seconds.' })}
          </Typography>
        </Flex>
        {canManage && health && (
          <Flex gap={2}>
            {canResume && (
              <Button type="button" variant="secondary" startIcon={<Play />} onClick={runResume} loading={resume.isPending}>
                {formatMessage({ id: getTranslation('server.resume'), defaultMessage: 'Resume' })}
              </Button>
            )}
            {!isSuspended && (
              <Button type="button" variant="danger-light" startIcon={<Stop />} onClick={() => setSuspending(true)}>
                {formatMessage({ id: getTranslation('server.suspend'), defaultMessage: 'Suspend' })}
              </Button>
            )}
          </Flex>
        )}
      </Flex>

      {status.isPending ? (
        <ContentLoader />
      ) : status.isError ? (
        <ErrorBox
          title={formatMessage({ id: getTranslation('live.loadFailed'), defaultMessage: 'The live status could not be loaded' })}
          message={toApiError(status.error).message}
        />
      ) : (
        <LiveStatusDetails status={status.data.data} />
      )}
    </LiveStatusSection>
  );
}

/** A labelled block of the live status grid. */
function StatusItem({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Grid.Item col={3} m={6} s={12} direction="column" alignItems="stretch" gap={2}>
      <Typography variant="sigma" textColor="neutral600">
        {label}
      </Typography>
      {children}
    </Grid.Item>
  );
}

function LiveStatusDetails({ status }: { status: ServerStatus }) {
  const { formatMessage, formatNumber } = useIntl();
  const labels = useLabels();
  const text = (id: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);

  const { health, quota, warmup } = status;
  const resetsAt = (at: number) => text('live.resetsAt', 'Resets at {time}', { time: labels.until(at) });

  const warmupText =
    warmup === null
      ? text('live.warmup.none', 'No warm-up plan')
      : warmup.done
        ? text('live.warmup.done', 'Warm-up finished')
        : text('live.warmup.day', 'Day {day} — today’s cap {cap}', {
            day: formatNumber(warmup.day),
            cap: labels.limit(warmup.cap),
          });

  const perSecond =
    quota.second.cap === null
      ? labels.limit(null)
      : text('live.perSecond.cap', '{cap}/s', { cap: formatNumber(quota.second.cap) });
  const nextSlot =
    quota.second.cap === null
      ? null
      : quota.second.nextSlotAt === null || quota.second.nextSlotAt <= Date.now()
        ? text('live.perSecond.free', 'Next slot: now')
        : text('live.perSecond.next', 'Next slot at {time}', { time: labels.until(quota.second.nextSlotAt, true) });

  return (
    <Flex direction="column" alignItems="stretch" gap={6}>
      <Flex direction="column" alignItems="stretch" gap={3}>
        <HealthBadge health={health} />
        <DetailList
          details={[
            { label: text('live.reason', 'Reason'), value: health.reason },
            {
              label: text('live.source', 'Source'),
              value: health.source ? labels.healthSource(health.source) : null,
            },
            {
              label: text('live.suspendedUntil', 'Suspended until'),
              value: health.state === 'open' && health.suspendedUntil !== null ? labels.until(health.suspendedUntil) : null,
            },
            {
              label: text('live.throttle', 'Throttle'),
              value: health.throttle
                ? text('live.throttle.value', '{rate}/s until {time}', {
                    rate: formatNumber(health.throttle.ratePerSecond),
                    time: labels.until(health.throttle.until),
                  })
                : null,
            },
            { label: text('live.consecutiveFailures', 'Consecutive failures'), value: formatNumber(health.consecutiveFailures) },
          ]}
        />
      </Flex>
      <Grid.Root gap={6}>
        <StatusItem label={text('live.hour', 'This hour')}>
          <QuotaBar label={text('quota.hour', 'Hour quota')} used={quota.hour.used} cap={quota.hour.cap} />
          <Typography variant="pi" textColor="neutral600">
            {resetsAt(quota.hour.resetsAt)}
          </Typography>
        </StatusItem>
        <StatusItem label={text('live.day', 'Today')}>
          <QuotaBar label={text('quota.day', 'Day quota')} used={quota.day.used} cap={quota.day.cap} />
          <Typography variant="pi" textColor="neutral600">
            {resetsAt(quota.day.resetsAt)}
          </Typography>
        </StatusItem>
        <StatusItem label={text('live.connections', 'Connections')}>
          <QuotaBar
            label={text('quota.connections', 'Open connections')}
            used={quota.connections.used}
            cap={quota.connections.cap}
          />
        </StatusItem>
        <StatusItem label={text('live.perSecond', 'Per second')}>
          <Typography textColor="neutral800">{perSecond}</Typography>
          {nextSlot && (
            <Typography variant="pi" textColor="neutral600">
              {nextSlot}
            </Typography>
          )}
        </StatusItem>
        <StatusItem label={text('live.warmup', 'Warm-up')}>
          <Typography textColor="neutral800">{warmupText}</Typography>
        </StatusItem>
        <StatusItem label={text('live.lastHour', 'Last hour')}>
          <LastHourText lastHour={status.lastHour} />
        </StatusItem>
        {(status.destinations ?? []).length > 0 && (
          <StatusItem label={text('live.destinations', 'Destinations')}>
            {(status.destinations ?? []).map((entry) => (
              <Typography key={entry.destination} variant="pi" textColor="neutral800" tag="p">
                {text('live.destination', '{destination}: {inFlight} in flight, {minute} this minute, {hour} this hour', {
                  destination: entry.destination,
                  inFlight: entry.limits.connections === null ? formatNumber(entry.inFlight) : `${formatNumber(entry.inFlight)}/${formatNumber(entry.limits.connections)}`,
                  minute: entry.limits.perMinute === null ? formatNumber(entry.minute) : `${formatNumber(entry.minute)}/${formatNumber(entry.limits.perMinute)}`,
                  hour: entry.limits.perHour === null ? formatNumber(entry.hour) : `${formatNumber(entry.hour)}/${formatNumber(entry.limits.perHour)}`,
                })}
              </Typography>
            ))}
          </StatusItem>
        )}
      </Grid.Root>
    </Flex>
  );
}
