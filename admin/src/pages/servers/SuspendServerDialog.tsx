import * as React from 'react';

import { Button, Flex, Typography } from '@strapi/design-system';
import { Stop } from '@strapi/icons';
import { useNotification } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

import { suspendServerSchema, type SuspendServerInput } from '../../../../shared/contracts/status';
import { errorForField, toApiError } from '../../api/errors';
import { useSuspendServer } from '../../api/queries';
import { ModalDialog } from '../../components/ModalDialog';
import { ErrorBox } from '../../components/ErrorBox';
import { NumberField, TextField } from '../../components/form/fields';
import { getTranslation } from '../../utils/getTranslation';
import { validateWith } from '../../utils/validate';

const DEFAULT_MINUTES = 60;

interface SuspendServerDialogProps {
  serverDocumentId: string;
  serverName: string;
  onClose: () => void;
}

/** Takes a server out of rotation for some minutes, with a reason shown on its status. */
export function SuspendServerDialog({ serverDocumentId, serverName, onClose }: SuspendServerDialogProps) {
  const { formatMessage } = useIntl();
  const { toggleNotification } = useNotification();
  const suspend = useSuspendServer(serverDocumentId);
  const [minutes, setMinutes] = React.useState<number | undefined>(DEFAULT_MINUTES);
  const [reason, setReason] = React.useState('');
  const [fieldErrors, setFieldErrors] = React.useState<Record<string, string>>({});
  const [requestError, setRequestError] = React.useState<string>();

  const submit = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    // The dialog is rendered in a portal, but React still bubbles its submit to the server form.
    event.stopPropagation();

    if (minutes === undefined) {
      setFieldErrors({
        minutes: formatMessage({ id: getTranslation('form.required'), defaultMessage: 'is required' }),
      });
      return;
    }
    const input: SuspendServerInput = { minutes, ...(reason.trim() ? { reason: reason.trim() } : {}) };
    const problems = validateWith(suspendServerSchema, input);
    setFieldErrors(problems);
    setRequestError(undefined);
    if (Object.keys(problems).length > 0) {
      return;
    }

    try {
      await suspend.mutateAsync(input);
      toggleNotification({
        type: 'success',
        message: formatMessage({ id: getTranslation('suspend.done'), defaultMessage: 'Server suspended' }),
      });
      onClose();
    } catch (error) {
      const info = toApiError(error);
      setFieldErrors(info.fieldErrors);
      setRequestError(info.message);
    }
  };

  return (
    <ModalDialog
      title={formatMessage({ id: getTranslation('suspend.title'), defaultMessage: 'Suspend {name}' }, { name: serverName })}
      onClose={onClose}
      onSubmit={submit}
      closeText={formatMessage({ id: getTranslation('actions.cancel'), defaultMessage: 'Cancel' })}
      actions={
        <Button type="submit" variant="danger" startIcon={<Stop />} loading={suspend.isPending}>
          {formatMessage({ id: getTranslation('server.suspend'), defaultMessage: 'Suspend' })}
        </Button>
      }
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <Typography textColor="neutral600">
          {formatMessage({
            id: getTranslation('suspend.explanation'),
            defaultMessage:
              'The server gets no new messages until the time is up or you resume it. Its groups send through their other servers.',
          })}
        </Typography>
        <NumberField
          name="minutes"
          label={formatMessage({ id: getTranslation('suspend.minutes'), defaultMessage: 'Minutes' })}
          hint={formatMessage({
            id: getTranslation('suspend.minutes.hint'),
            defaultMessage: 'From 1 to 43200 (30 days).',
          })}
          required
          value={minutes}
          onChange={(value) => {
            setMinutes(value);
            setFieldErrors(({ minutes: _cleared, ...others }) => others);
          }}
          error={errorForField(fieldErrors, 'minutes')}
        />
        <TextField
          name="reason"
          label={formatMessage({ id: getTranslation('suspend.reason'), defaultMessage: 'Reason' })}
          placeholder={formatMessage({
            id: getTranslation('suspend.reason.placeholder'),
            defaultMessage: 'Suspended by hand',
          })}
          hint={formatMessage({ id: getTranslation('suspend.reason.hint'), defaultMessage: 'Optional. Shown on the server’s status.' })}
          value={reason}
          onChange={(value) => {
            setReason(value);
            setFieldErrors(({ reason: _cleared, ...others }) => others);
          }}
          error={errorForField(fieldErrors, 'reason')}
        />
        {requestError && Object.keys(fieldErrors).length === 0 && (
          <ErrorBox
            title={formatMessage({ id: getTranslation('suspend.failed'), defaultMessage: 'The server could not be suspended' })}
            message={requestError}
          />
        )}
      </Flex>
    </ModalDialog>
  );
}
