import { Flex, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import type { AttemptRecord, MessageLogEntry } from '../../../../shared/contracts/messages';
import { toApiError } from '../../api/errors';
import { useMessage } from '../../api/queries';
import { CellText, DataTable } from '../../components/DataTable';
import { DetailList } from '../../components/DetailList';
import { ModalDialog } from '../../components/ModalDialog';
import { useLabels } from '../../hooks/useLabels';
import { getTranslation } from '../../utils/getTranslation';
import { describeDecision } from './decision';
import { MessageStatusBadge } from './MessageStatusBadge';

interface MessageDialogProps {
  /** The message's row in the list: shown at once, then replaced by the full, fresh entry. */
  entry: MessageLogEntry;
  onClose: () => void;
}

/** One message of the delivery log: where it stands, and every attempt with the server's reply. */
export function MessageDialog({ entry: rowEntry, onClose }: MessageDialogProps) {
  const { formatMessage } = useIntl();
  const labels = useLabels();
  const message = useMessage(rowEntry.id, rowEntry);
  const entry = message.data?.data ?? rowEntry;
  const text = (id: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);
  const code = (value: string | null) => (value ? <code>{value}</code> : null);

  return (
    <ModalDialog title={entry.subject || text('message.noSubject', '(no subject)')} onClose={onClose}>
      <Flex direction="column" alignItems="stretch" gap={6}>
        {message.isError && (
          <Typography variant="pi" textColor="danger600" role="status">
            {text('message.refreshFailed', 'Could not load the latest state: {message}', {
              message: toApiError(message.error).message,
            })}
          </Typography>
        )}
        <DetailList
          details={[
            { label: text('message.status', 'Status'), value: <MessageStatusBadge status={entry.status} /> },
            { label: text('message.recipients', 'Recipients'), value: entry.recipients.join(', ') },
            { label: text('message.from', 'From'), value: entry.from },
            { label: text('message.group', 'Group'), value: entry.group },
            { label: text('message.server', 'Server'), value: entry.serverName },
            { label: text('message.decision', 'Why here'), value: describeDecision(entry, text) },
            { label: text('message.queuedAt', 'Queued at'), value: labels.dateTime(entry.queuedAt) },
            { label: text('message.sentAt', 'Sent at'), value: entry.sentAt ? labels.dateTime(entry.sentAt) : null },
            {
              label: text('message.finishedAt', 'Finished at'),
              value: entry.finishedAt ? labels.dateTime(entry.finishedAt) : null,
            },
            { label: text('message.lastReply', 'Last reply'), value: code(entry.lastReply) },
            { label: text('message.id', 'ID'), value: code(entry.id) },
            { label: text('message.smtpMessageId', 'Message-ID'), value: code(entry.smtpMessageId) },
            { label: text('message.idempotencyKey', 'Idempotency key'), value: code(entry.idempotencyKey) },
            { label: text('message.source', 'Source'), value: entry.source },
          ]}
        />
        <Flex direction="column" alignItems="stretch" gap={3}>
          <Typography variant="delta" tag="h3">
            {text('message.attempts', 'Attempts ({count})', { count: entry.attempts.length })}
          </Typography>
          {entry.attempts.length === 0 ? (
            <Typography textColor="neutral600">{text('message.attempts.none', 'No attempt yet.')}</Typography>
          ) : (
            <AttemptsTable attempts={entry.attempts} />
          )}
        </Flex>
      </Flex>
    </ModalDialog>
  );
}

function AttemptsTable({ attempts }: { attempts: AttemptRecord[] }) {
  const { formatMessage } = useIntl();
  const labels = useLabels();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  return (
    <DataTable
      columns={[
        {
          key: 'time',
          header: text('attempt.column.time', 'Time'),
          render: (attempt) => (
            <Typography textColor="neutral800" style={{ whiteSpace: 'nowrap' }}>
              {labels.dateTime(attempt.at)}
            </Typography>
          ),
        },
        {
          key: 'server',
          header: text('attempt.column.server', 'Server'),
          render: (attempt) => <CellText>{attempt.serverName}</CellText>,
        },
        {
          key: 'outcome',
          header: text('attempt.column.outcome', 'Outcome'),
          render: (attempt) => (
            <Typography textColor={attempt.outcome === 'accepted' ? 'success600' : 'danger600'}>
              {labels.outcome(attempt.outcome)}
            </Typography>
          ),
        },
        {
          key: 'reply',
          header: text('attempt.column.reply', 'Reply'),
          render: (attempt) => (
            <Typography variant="pi" textColor="neutral800" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
              {attempt.reply ?? '—'}
            </Typography>
          ),
        },
        {
          key: 'latency',
          header: text('attempt.column.latency', 'Latency'),
          render: (attempt) => (
            <Typography textColor="neutral800" style={{ whiteSpace: 'nowrap' }}>
              {labels.milliseconds(attempt.latencyMs)}
            </Typography>
          ),
        },
      ]}
      rows={attempts}
      rowKey={(attempt, index) => `${attempt.at}-${index}`}
    />
  );
}
