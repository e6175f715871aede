import { Badge, Box, Flex, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import type { CampaignProgress, CampaignStatus } from '../../../../shared/contracts/campaigns';
import { getTranslation } from '../../utils/getTranslation';

const STATUS_VARIANTS: Record<CampaignStatus, 'neutral' | 'secondary' | 'warning' | 'success' | 'danger' | 'alternative'> = {
  draft: 'neutral',
  scheduled: 'alternative',
  sending: 'secondary',
  paused: 'warning',
  completed: 'success',
  cancelled: 'neutral',
  failed: 'danger',
};

/** The campaign statuses, translated. */
export function useCampaignStatusLabel() {
  const { formatMessage } = useIntl();
  const labels: Record<CampaignStatus, string> = {
    draft: formatMessage({ id: getTranslation('campaignStatus.draft'), defaultMessage: 'Draft' }),
    scheduled: formatMessage({ id: getTranslation('campaignStatus.scheduled'), defaultMessage: 'Scheduled' }),
    sending: formatMessage({ id: getTranslation('campaignStatus.sending'), defaultMessage: 'Sending' }),
    paused: formatMessage({ id: getTranslation('campaignStatus.paused'), defaultMessage: 'Paused' }),
    completed: formatMessage({ id: getTranslation('campaignStatus.completed'), defaultMessage: 'Completed' }),
    cancelled: formatMessage({ id: getTranslation('campaignStatus.cancelled'), defaultMessage: 'Cancelled' }),
    failed: formatMessage({ id: getTranslation('campaignStatus.failed'), defaultMessage: 'Failed' }),
  };
  return (status: CampaignStatus) => labels[status] ?? status;
}

/** A campaign's status as a coloured badge. */
export function CampaignStatusBadge({ status }: { status: CampaignStatus }) {
  const label = useCampaignStatusLabel();
  return <Badge variant={STATUS_VARIANTS[status] ?? 'neutral'}>{label(status)}</Badge>;
}

/** "45 s", "3 min", "2 h 10 min": a duration rounded to what matters. */
export function useDurationText() {
  const { formatMessage } = useIntl();
  return (seconds: number) => {
    const whole = Math.max(0, Math.round(seconds));
    if (whole < 60) {
      return formatMessage({ id: getTranslation('duration.seconds'), defaultMessage: '{seconds} s' }, { seconds: whole });
    }
    const minutes = Math.round(whole / 60);
    if (minutes < 60) {
      return formatMessage({ id: getTranslation('duration.minutes'), defaultMessage: '{minutes} min' }, { minutes });
    }
    return formatMessage(
      { id: getTranslation('duration.hoursMinutes'), defaultMessage: '{hours} h {minutes} min' },
      { hours: Math.floor(minutes / 60), minutes: minutes % 60 },
    );
  };
}

/** How many are done (sent, failed, bounced or skipped) out of the total. */
export const doneCount = (progress: CampaignProgress) =>
  progress.sent + progress.failed + progress.bounced + progress.skipped;

interface CampaignProgressViewProps {
  progress: CampaignProgress;
  status: CampaignStatus;
  /** The campaign's name, for the bar's accessible name. */
  name: string;
  /** Shows the rate and time left while sending (lists show them in columns of their own). */
  showRate?: boolean;
  /** Also shows failed, bounced and skipped counts. */
  detailed?: boolean;
}

/**
 * A sending campaign's progress: a bar of finished / total, "120 / 500 sent", and while sending the
 * rate and the time left.
 */
export function CampaignProgressView({ progress, status, name, showRate = true, detailed = false }: CampaignProgressViewProps) {
  const { formatMessage, formatNumber } = useIntl();
  const duration = useDurationText();
  const text = (id: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);
  const percent = Math.max(0, Math.min(100, progress.percent));

  return (
    <Flex direction="column" alignItems="stretch" gap={1} minWidth="12rem">
      <Box
        role="progressbar"
        aria-label={text('campaign.progress.label', 'Progress of {name}', { name })}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={`${percent} %`}
        background="neutral150"
        hasRadius
        height="0.8rem"
        width="100%"
        overflow="hidden"
      >
        <Box
          background={status === 'completed' ? 'success500' : status === 'paused' ? 'warning500' : 'primary600'}
          height="100%"
          style={{ width: `${percent}%`, transition: 'width 0.5s ease-out' }}
        />
      </Box>
      <Typography variant="pi" textColor="neutral800" style={{ whiteSpace: 'nowrap' }}>
        {text('campaign.progress.sentOfTotal', '{sent} / {total} sent ({percent} %)', {
          sent: formatNumber(progress.sent),
          total: formatNumber(progress.total),
          percent: formatNumber(percent),
        })}
      </Typography>
      {showRate && status === 'sending' && (
        <Typography variant="pi" textColor="neutral600" style={{ whiteSpace: 'nowrap' }}>
          {text('campaign.progress.rate', '{rate}/s', { rate: formatNumber(progress.ratePerSec, { maximumFractionDigits: 1 }) })}
          {' · '}
          {progress.etaSeconds === null
            ? text('campaign.progress.etaUnknown', 'time left unknown')
            : text('campaign.progress.eta', '{duration} left', { duration: duration(progress.etaSeconds) })}
        </Typography>
      )}
      {detailed && (
        <Typography variant="pi" textColor="neutral600">
          {text(
            'campaign.progress.details',
            '{failed} failed · {bounced} bounced · {skipped} skipped · {inFlight} in flight',
            {
              failed: formatNumber(progress.failed),
              bounced: formatNumber(progress.bounced),
              skipped: formatNumber(progress.skipped),
              inFlight: formatNumber(progress.inFlight),
            },
          )}
        </Typography>
      )}
    </Flex>
  );
}
