import * as React from 'react';

import { Button, Dialog, type ButtonProps } from '@strapi/design-system';
import { ArrowClockwise, Clock, Cross, PaperPlane, Play, Stop } from '@strapi/icons';
import { ConfirmDialog, useNotification } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

import type { Campaign, CampaignAction } from '../../../../shared/contracts/campaigns';
import { useCampaignAction } from '../../api/campaign-queries';
import { toApiError, type ApiErrorInfo } from '../../api/errors';
import { useLabels } from '../../hooks/useLabels';
import { getTranslation } from '../../utils/getTranslation';

interface ConfirmButtonProps {
  label: string;
  icon: React.ReactNode;
  variant?: ButtonProps['variant'];
  /** The question the confirmation asks. */
  question: string;
  confirmVariant?: ButtonProps['variant'];
  loading: boolean;
  onConfirm: () => Promise<void>;
}

/** A header button that asks for confirmation before it acts. */
function ConfirmButton({ label, icon, variant = 'secondary', question, confirmVariant = 'default', loading, onConfirm }: ConfirmButtonProps) {
  return (
    <Dialog.Root>
      <Dialog.Trigger>
        <Button type="button" variant={variant} startIcon={icon} loading={loading}>
          {label}
        </Button>
      </Dialog.Trigger>
      <ConfirmDialog title={label} variant={confirmVariant} onConfirm={onConfirm}>
        {question}
      </ConfirmDialog>
    </Dialog.Root>
  );
}

interface CampaignActionsProps {
  campaign: Campaign;
  /** The schedule the form holds now (may be unsaved): ISO or ''. */
  scheduledAt: string;
  /** Saves unsaved edits first; false stops the action (the form shows why). */
  beforeStart: () => Promise<boolean>;
  /** Shows a refusal (e.g. "subject: is required to start the campaign") in the form. */
  onError: (info: ApiErrorInfo) => void;
}

/**
 * Start (or schedule), unschedule, pause, resume and cancel, each after a confirmation, shown as the
 * campaign's lifecycle allows them now. The page shows this only to admins with `campaigns.send`.
 */
export function CampaignActions({ campaign, scheduledAt, beforeStart, onError }: CampaignActionsProps) {
  const { formatMessage } = useIntl();
  const { toggleNotification } = useNotification();
  const labels = useLabels();
  const run = useCampaignAction(campaign.documentId);
  const [running, setRunning] = React.useState<CampaignAction | null>(null);
  const text = (id: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);

  const allowed = new Set(campaign.actions);
  const scheduleLater = scheduledAt !== '' && Date.parse(scheduledAt) > Date.now();

  const act = async (action: CampaignAction, doneMessage: string, body?: object) => {
    setRunning(action);
    try {
      if ((action === 'start' || action === 'schedule') && !(await beforeStart())) {
        return;
      }
      await run.mutateAsync({ action, body });
      toggleNotification({ type: 'success', message: doneMessage });
    } catch (error) {
      onError(toApiError(error));
    } finally {
      setRunning(null);
    }
  };

  const buttons: React.ReactNode[] = [];

  // A draft with a future date is scheduled; a scheduled campaign can still be sent at once.
  if (campaign.status === 'draft' && scheduleLater && allowed.has('schedule')) {
    const when = labels.dateTime(Date.parse(scheduledAt));
    buttons.push(
      <ConfirmButton
        key="schedule"
        label={text('campaign.action.schedule', 'Schedule')}
        icon={<Clock />}
        variant="default"
        question={text('campaign.action.schedule.confirm', 'Send “{name}” on {when}? It can be unscheduled until then.', {
          name: campaign.name,
          when,
        })}
        loading={running === 'schedule'}
        onConfirm={() => act('schedule', text('campaign.action.schedule.done', 'Campaign scheduled'), { scheduledAt })}
      />,
    );
  } else if (allowed.has('start')) {
    buttons.push(
      <ConfirmButton
        key="start"
        label={
          campaign.status === 'scheduled'
            ? text('campaign.action.sendNow', 'Send now')
            : text('campaign.action.start', 'Start sending')
        }
        icon={<PaperPlane />}
        variant="default"
        question={text(
          'campaign.action.start.confirm',
          'Start sending “{name}” now? Every recipient of its audience gets it; this cannot be undone, only paused or cancelled.',
          { name: campaign.name },
        )}
        loading={running === 'start'}
        onConfirm={() => act('start', text('campaign.action.start.done', 'Campaign started'))}
      />,
    );
  }
  if (allowed.has('unschedule')) {
    buttons.push(
      <ConfirmButton
        key="unschedule"
        label={text('campaign.action.unschedule', 'Unschedule')}
        icon={<ArrowClockwise />}
        question={text('campaign.action.unschedule.confirm', 'Turn “{name}” back into a draft? It will not be sent until started again.', {
          name: campaign.name,
        })}
        loading={running === 'unschedule'}
        onConfirm={() => act('unschedule', text('campaign.action.unschedule.done', 'Campaign unscheduled'))}
      />,
    );
  }
  if (allowed.has('pause')) {
    buttons.push(
      <ConfirmButton
        key="pause"
        label={text('campaign.action.pause', 'Pause')}
        icon={<Stop />}
        question={text(
          'campaign.action.pause.confirm',
          'Pause “{name}”? Sending stops within seconds; resume continues where it stopped.',
          { name: campaign.name },
        )}
        loading={running === 'pause'}
        onConfirm={() => act('pause', text('campaign.action.pause.done', 'Campaign paused'))}
      />,
    );
  }
  if (allowed.has('resume')) {
    buttons.push(
      <ConfirmButton
        key="resume"
        label={text('campaign.action.resume', 'Resume')}
        icon={<Play />}
        variant="default"
        question={text('campaign.action.resume.confirm', 'Resume sending “{name}” where it stopped?', { name: campaign.name })}
        loading={running === 'resume'}
        onConfirm={() => act('resume', text('campaign.action.resume.done', 'Campaign resumed'))}
      />,
    );
  }
  if (allowed.has('cancel')) {
    buttons.push(
      <ConfirmButton
        key="cancel"
        label={text('campaign.action.cancel', 'Cancel campaign')}
        icon={<Cross />}
        variant="danger-light"
        confirmVariant="danger"
        question={text(
          'campaign.action.cancel.confirm',
          'Cancel “{name}”? Nobody else gets it; messages already sent stay sent. A cancelled campaign cannot be started again.',
          { name: campaign.name },
        )}
        loading={running === 'cancel'}
        onConfirm={() => act('cancel', text('campaign.action.cancel.done', 'Campaign cancelled'))}
      />,
    );
  }

  return <>{buttons}</>;
}
