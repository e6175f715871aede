import { Badge, Button, Flex, Loader, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import type { ConnectionTestResult } from '../../../../shared/contracts/tests';
import type { ApiErrorInfo } from '../../api/errors';
import { CellText, DataTable } from '../../components/DataTable';
import { ModalDialog, TestOutcome } from '../../components/ModalDialog';
import { ErrorBox } from '../../components/ErrorBox';
import { useLabels } from '../../hooks/useLabels';
import { getTranslation } from '../../utils/getTranslation';

interface TestConnectionDialogProps {
  serverName: string;
  onClose: () => void;
  onRunAgain: () => void;
  isRunning: boolean;
  result?: ConnectionTestResult;
  /** The request itself failed (not the SMTP test): no permission, server gone, network... */
  requestError?: ApiErrorInfo;
}

/**
 * Shows a connection test as it runs and its outcome: OK or the step that failed, the SMTP reply,
 * the error code, what the server announced and how long each step took.
 */
export function TestConnectionDialog({
  serverName,
  onClose,
  onRunAgain,
  isRunning,
  result,
  requestError,
}: TestConnectionDialogProps) {
  const { formatMessage } = useIntl();

  return (
    <ModalDialog
      title={formatMessage(
        { id: getTranslation('testConnection.title'), defaultMessage: 'Connection test: {name}' },
        { name: serverName },
      )}
      onClose={onClose}
      actions={
        <Button type="button" variant="secondary" onClick={onRunAgain} disabled={isRunning}>
          {formatMessage({ id: getTranslation('testConnection.runAgain'), defaultMessage: 'Run again' })}
        </Button>
      }
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <Typography variant="pi" textColor="neutral600">
          {formatMessage({
            id: getTranslation('testConnection.savedSettings'),
            defaultMessage: 'The test uses the saved settings: save your changes first.',
          })}
        </Typography>
        {isRunning ? (
          <Flex gap={2}>
            <Loader small />
            <Typography>
              {formatMessage({ id: getTranslation('testConnection.running'), defaultMessage: 'Testing the connection…' })}
            </Typography>
          </Flex>
        ) : requestError ? (
          <ErrorBox
            title={formatMessage({ id: getTranslation('testConnection.requestFailed'), defaultMessage: 'The test could not run' })}
            message={requestError.message}
          />
        ) : result ? (
          <ConnectionResult result={result} />
        ) : null}
      </Flex>
    </ModalDialog>
  );
}

function ConnectionResult({ result }: { result: ConnectionTestResult }) {
  const { formatMessage } = useIntl();
  const labels = useLabels();

  const headline = result.ok
    ? formatMessage({ id: getTranslation('testConnection.ok'), defaultMessage: 'Connection OK' })
    : result.failedStep
      ? formatMessage(
          { id: getTranslation('testConnection.failedAt'), defaultMessage: 'Connection failed at {step}' },
          { step: result.failedStep },
        )
      : formatMessage({ id: getTranslation('testConnection.failed'), defaultMessage: 'Connection failed' });

  return (
    <TestOutcome
      ok={result.ok}
      headline={headline}
      message={result.message}
      details={[
        {
          label: formatMessage({ id: getTranslation('testConnection.reply'), defaultMessage: 'Server reply' }),
          value: result.reply ? <code>{result.reply}</code> : null,
        },
        {
          label: formatMessage({ id: getTranslation('testConnection.errorCode'), defaultMessage: 'Error code' }),
          value: result.errorCode ? <code>{result.errorCode}</code> : null,
        },
        {
          label: formatMessage({ id: getTranslation('testConnection.capabilities'), defaultMessage: 'Capabilities' }),
          value: result.capabilities.length > 0 ? <Capabilities capabilities={result.capabilities} /> : null,
        },
        {
          label: formatMessage({ id: getTranslation('testConnection.total'), defaultMessage: 'Total time' }),
          value: labels.milliseconds(result.totalMs),
        },
      ]}
    >
      {result.steps.length > 0 && <StepTimings result={result} />}
    </TestOutcome>
  );
}

function Capabilities({ capabilities }: { capabilities: string[] }) {
  return (
    <Flex gap={1} wrap="wrap">
      {capabilities.map((capability) => (
        <Badge key={capability}>{capability}</Badge>
      ))}
    </Flex>
  );
}

/** Each SMTP step with its duration; the failed one is marked. */
function StepTimings({ result }: { result: ConnectionTestResult }) {
  const { formatMessage } = useIntl();
  const labels = useLabels();

  return (
    <DataTable
      columns={[
        {
          key: 'step',
          header: formatMessage({ id: getTranslation('testConnection.step'), defaultMessage: 'Step' }),
          render: (timing) => {
            const failedHere = !result.ok && timing.step === result.failedStep;
            return (
              <Typography textColor={failedHere ? 'danger600' : 'neutral800'} fontWeight={failedHere ? 'bold' : undefined}>
                {timing.step}
              </Typography>
            );
          },
        },
        {
          key: 'time',
          header: formatMessage({ id: getTranslation('testConnection.time'), defaultMessage: 'Time' }),
          render: (timing) => <CellText>{labels.milliseconds(timing.ms)}</CellText>,
        },
      ]}
      rows={result.steps}
      rowKey={(timing) => timing.step}
    />
  );
}
