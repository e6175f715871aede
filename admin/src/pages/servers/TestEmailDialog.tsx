import * as React from 'react';

import { Button, Flex } from '@strapi/design-system';
import { PaperPlane } from '@strapi/icons';
import { useIntl } from 'react-intl';

import { testEmailSchema, type TestEmailInput, type TestEmailResult } from '../../../../shared/contracts/tests';
import { errorForField, toApiError } from '../../api/errors';
import { useSendTestEmail } from '../../api/queries';
import { ModalDialog, TestOutcome } from '../../components/ModalDialog';
import { ErrorBox } from '../../components/ErrorBox';
import { TextField } from '../../components/form/fields';
import { useLabels } from '../../hooks/useLabels';
import { getTranslation } from '../../utils/getTranslation';
import { validateWith } from '../../utils/validate';

interface TestEmailDialogProps {
  serverDocumentId: string;
  serverName: string;
  onClose: () => void;
}

/** Sends one real message through the server and shows what the SMTP server answered. */
export function TestEmailDialog({ serverDocumentId, serverName, onClose }: TestEmailDialogProps) {
  const { formatMessage } = useIntl();
  const sendTestEmail = useSendTestEmail(serverDocumentId);
  const [to, setTo] = React.useState('');
  const [subject, setSubject] = React.useState('');
  const [fieldErrors, setFieldErrors] = React.useState<Record<string, string>>({});
  const [requestError, setRequestError] = React.useState<string>();

  const send = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    // This form sits in a portal inside the server form's React tree: keep its submit from reaching that form.
    event.stopPropagation();

    const input: TestEmailInput = { to: to.trim(), ...(subject.trim() ? { subject: subject.trim() } : {}) };
    const problems = validateWith(testEmailSchema, input);
    setFieldErrors(problems);
    setRequestError(undefined);
    if (Object.keys(problems).length > 0) {
      return;
    }

    try {
      await sendTestEmail.mutateAsync(input);
    } catch (error) {
      const info = toApiError(error);
      setFieldErrors(info.fieldErrors);
      setRequestError(info.message);
    }
  };

  const result = sendTestEmail.data?.data;

  return (
    <ModalDialog
      title={formatMessage({ id: getTranslation('testEmail.title'), defaultMessage: 'Test email through {name}' }, { name: serverName })}
      onClose={onClose}
      onSubmit={send}
      actions={
        <Button type="submit" startIcon={<PaperPlane />} loading={sendTestEmail.isPending}>
          {formatMessage({ id: getTranslation('testEmail.send'), defaultMessage: 'Send' })}
        </Button>
      }
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <TextField
          name="to"
          type="email"
          label={formatMessage({ id: getTranslation('testEmail.to'), defaultMessage: 'To' })}
          placeholder="you@example.com"
          required
          value={to}
          onChange={(value) => {
            setTo(value);
            setFieldErrors(({ to: _cleared, ...others }) => others);
          }}
          error={errorForField(fieldErrors, 'to')}
        />
        <TextField
          name="subject"
          label={formatMessage({ id: getTranslation('testEmail.subject'), defaultMessage: 'Subject' })}
          placeholder={formatMessage({
            id: getTranslation('testEmail.subject.placeholder'),
            defaultMessage: 'Test email from Multi SMTP',
          })}
          hint={formatMessage({ id: getTranslation('testEmail.subject.hint'), defaultMessage: 'Optional.' })}
          value={subject}
          onChange={setSubject}
          error={errorForField(fieldErrors, 'subject')}
        />
        {requestError && Object.keys(fieldErrors).length === 0 && (
          <ErrorBox
            title={formatMessage({ id: getTranslation('testEmail.requestFailed'), defaultMessage: 'The test email could not be sent' })}
            message={requestError}
          />
        )}
        {result && !sendTestEmail.isPending && <EmailResult result={result} />}
      </Flex>
    </ModalDialog>
  );
}

function EmailResult({ result }: { result: TestEmailResult }) {
  const { formatMessage } = useIntl();
  const labels = useLabels();
  const accepted = result.ok && result.accepted.length > 0;

  return (
    <TestOutcome
      ok={accepted}
      headline={
        accepted
          ? formatMessage({ id: getTranslation('testEmail.accepted'), defaultMessage: 'Accepted' })
          : formatMessage({ id: getTranslation('testEmail.rejected'), defaultMessage: 'Rejected' })
      }
      message={result.message}
      details={[
        {
          label: formatMessage({ id: getTranslation('testEmail.recipients'), defaultMessage: 'Recipients' }),
          value: result.accepted.join(', '),
        },
        {
          label: formatMessage({ id: getTranslation('testEmail.refusedRecipients'), defaultMessage: 'Refused recipients' }),
          value: result.rejected.join(', '),
        },
        {
          label: formatMessage({ id: getTranslation('testEmail.failedStep'), defaultMessage: 'Failed at step' }),
          value: result.failedStep,
        },
        {
          label: formatMessage({ id: getTranslation('testEmail.reply'), defaultMessage: 'SMTP reply' }),
          value: result.reply ? <code>{result.reply}</code> : null,
        },
        {
          label: formatMessage({ id: getTranslation('testEmail.errorCode'), defaultMessage: 'Error code' }),
          value: result.errorCode ? <code>{result.errorCode}</code> : null,
        },
        {
          label: formatMessage({ id: getTranslation('testEmail.messageId'), defaultMessage: 'Message ID' }),
          value: result.messageId ? <code>{result.messageId}</code> : null,
        },
        {
          label: formatMessage({ id: getTranslation('testEmail.time'), defaultMessage: 'Time taken' }),
          value: labels.milliseconds(result.totalMs),
        },
      ]}
    />
  );
}
