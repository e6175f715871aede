import { Badge, Button, Flex, Loader, Modal, Status, Table, Tbody, Td, Th, Thead, Tr, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import type { ConnectionTestResult } from '../../../../shared/contracts/tests';
import type { ApiErrorInfo } from '../../api/errors';
import { DetailList } from '../../components/DetailList';
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
    <Modal.Root open onOpenChange={(open: boolean) => !open && onClose()}>
      <Modal.Content>
        <Modal.Header closeLabel={formatMessage({ id: getTranslation('actions.closeDialog'), defaultMessage: 'Close dialog' })}>
          <Modal.Title>
            {formatMessage(
              { id: getTranslation('testConnection.title'), defaultMessage: 'Connection test: {name}' },
              { name: serverName },
            )}
          </Modal.Title>
        </Modal.Header>
        <Modal.Body>
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
        </Modal.Body>
        <Modal.Footer>
          <Modal.Close>
            <Button type="button" variant="tertiary">
              {formatMessage({ id: getTranslation('actions.close'), defaultMessage: 'Close' })}
            </Button>
          </Modal.Close>
          <Button type="button" variant="secondary" onClick={onRunAgain} disabled={isRunning}>
            {formatMessage({ id: getTranslation('testConnection.runAgain'), defaultMessage: 'Run again' })}
          </Button>
        </Modal.Footer>
      </Modal.Content>
    </Modal.Root>
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
    <Flex direction="column" alignItems="stretch" gap={4}>
      <Status variant={result.ok ? 'success' : 'danger'} role="status">
        <Typography fontWeight="bold">{headline}</Typography>
      </Status>
      <Typography>{result.message}</Typography>
      <DetailList
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
      />
      {result.steps.length > 0 && <StepTimings result={result} />}
    </Flex>
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
    <Table colCount={2} rowCount={result.steps.length + 1}>
      <Thead>
        <Tr>
          <Th>
            <Typography variant="sigma" textColor="neutral600">
              {formatMessage({ id: getTranslation('testConnection.step'), defaultMessage: 'Step' })}
            </Typography>
          </Th>
          <Th>
            <Typography variant="sigma" textColor="neutral600">
              {formatMessage({ id: getTranslation('testConnection.time'), defaultMessage: 'Time' })}
            </Typography>
          </Th>
        </Tr>
      </Thead>
      <Tbody>
        {result.steps.map((timing) => {
          const failedHere = !result.ok && timing.step === result.failedStep;
          return (
            <Tr key={timing.step}>
              <Td>
                <Typography textColor={failedHere ? 'danger600' : 'neutral800'} fontWeight={failedHere ? 'bold' : undefined}>
                  {timing.step}
                </Typography>
              </Td>
              <Td>
                <Typography textColor="neutral800">{labels.milliseconds(timing.ms)}</Typography>
              </Td>
            </Tr>
          );
        })}
      </Tbody>
    </Table>
  );
}
