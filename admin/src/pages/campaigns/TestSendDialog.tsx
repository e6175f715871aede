import * as React from 'react';

import { Badge, Button, Flex, Typography } from '@strapi/design-system';
import { PaperPlane } from '@strapi/icons';
import { useIntl } from 'react-intl';

import { testSendCampaignSchema, type TestSendCampaignInput, type TestSendResult } from '../../../../shared/contracts/campaigns';
import { useTestSend } from '../../api/campaign-queries';
import { errorForField, toApiError } from '../../api/errors';
import { useAllServers } from '../../api/queries';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { ErrorBox } from '../../components/ErrorBox';
import { SelectField, TextareaField } from '../../components/form/fields';
import { ModalDialog } from '../../components/ModalDialog';
import { getTranslation } from '../../utils/getTranslation';
import { validateWith } from '../../utils/validate';
import { SubscriberPicker } from './SubscriberPicker';

/** The server select's value for "the campaign's group". */
const GROUP_ROUTING = 'group';

interface TestSendDialogProps {
  campaignId: string;
  campaignName: string;
  /** May list servers (to offer sending through one of them). */
  canChooseServer: boolean;
  /** Saves unsaved edits first, so the test shows what the editor sees; false stops the send. */
  beforeSend: () => Promise<boolean>;
  onClose: () => void;
}

/** Addresses from a textarea: one per line or separated by commas, semicolons or spaces. */
const splitAddresses = (value: string) =>
  value
    .split(/[\s,;]+/)
    .map((address) => address.trim())
    .filter(Boolean);

/**
 * Sends the campaign now to a few addresses (anyone, not only subscribers), rendered with a chosen
 * subscriber's data or sample data, through the campaign's group or one server; shows what each
 * address got: accepted or refused, and the SMTP server's reply.
 */
export function TestSendDialog({ campaignId, campaignName, canChooseServer, beforeSend, onClose }: TestSendDialogProps) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const testSend = useTestSend(campaignId);
  const [addresses, setAddresses] = React.useState('');
  const [subscriberId, setSubscriberId] = React.useState('');
  const [server, setServer] = React.useState(GROUP_ROUTING);
  const [fieldErrors, setFieldErrors] = React.useState<Record<string, string>>({});
  const [requestError, setRequestError] = React.useState<string>();

  const send = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    // This form sits in a portal inside the editor's React tree: keep its submit from reaching the editor's form.
    event.stopPropagation();

    const input: TestSendCampaignInput = {
      to: splitAddresses(addresses),
      ...(subscriberId ? { subscriberId } : {}),
      ...(server !== GROUP_ROUTING ? { server } : {}),
    };
    const problems = validateWith(testSendCampaignSchema, input);
    setFieldErrors(problems);
    setRequestError(undefined);
    if (Object.keys(problems).length > 0 || !(await beforeSend())) {
      return;
    }
    try {
      await testSend.mutateAsync(input);
    } catch (error) {
      const info = toApiError(error);
      setFieldErrors(info.fieldErrors);
      setRequestError(info.message);
    }
  };

  const response = testSend.data?.data;

  return (
    <ModalDialog
      title={formatMessage({ id: getTranslation('testSend.title'), defaultMessage: 'Send a test of “{name}”' }, { name: campaignName })}
      onClose={onClose}
      onSubmit={send}
      actions={
        <Button type="submit" startIcon={<PaperPlane />} loading={testSend.isPending}>
          {text('testSend.send', 'Send test')}
        </Button>
      }
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <TextareaField
          name="to"
          label={text('testSend.to', 'Send to')}
          hint={text('testSend.to.hint', 'Up to 10 addresses, one per line or separated by commas.')}
          placeholder="you@example.com"
          required
          value={addresses}
          onChange={(value) => {
            setAddresses(value);
            setFieldErrors(({ to: _cleared, ...others }) => others);
          }}
          error={errorForField(fieldErrors, 'to')}
        />
        <SubscriberPicker
          name="subscriberId"
          label={text('testSend.subscriber', 'Render with the data of')}
          hint={text('testSend.subscriber.hint', 'Optional: a subscriber whose data fills the merge tags; sample data otherwise.')}
          value={subscriberId}
          onChange={setSubscriberId}
        />
        {canChooseServer && <ServerChoice value={server} onChange={setServer} error={errorForField(fieldErrors, 'server')} />}
        {requestError && (
          <ErrorBox title={text('testSend.failed', 'The test could not be sent')} message={requestError} />
        )}
        {response && !testSend.isPending && <TestSendResults subject={response.subject} results={response.results} />}
      </Flex>
    </ModalDialog>
  );
}

/** The server select; only for admins who may list servers. */
function ServerChoice({ value, onChange, error }: { value: string; onChange: (value: string) => void; error?: string }) {
  const { formatMessage } = useIntl();
  const servers = useAllServers();
  return (
    <SelectField
      name="server"
      label={formatMessage({ id: getTranslation('testSend.server'), defaultMessage: 'Send through' })}
      options={[
        {
          value: GROUP_ROUTING,
          label: formatMessage({ id: getTranslation('testSend.server.group'), defaultMessage: 'The campaign’s group (normal routing)' }),
        },
        ...(servers.data?.data ?? []).map((candidate) => ({ value: candidate.documentId, label: candidate.name })),
      ]}
      value={value}
      onChange={onChange}
      error={error}
    />
  );
}

/** One row per address: accepted or refused, the engine's status and the SMTP reply. */
function TestSendResults({ subject, results }: { subject: string; results: TestSendResult[] }) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const columns: Column<TestSendResult>[] = [
    { key: 'to', header: text('testSend.column.to', 'Address'), render: (result) => <CellText>{result.to}</CellText> },
    {
      key: 'result',
      header: text('testSend.column.result', 'Result'),
      render: (result) =>
        result.accepted ? (
          <Badge variant="success">{text('testSend.accepted', 'Accepted')}</Badge>
        ) : (
          <Badge variant="danger">{text('testSend.refused', 'Refused')}</Badge>
        ),
    },
    {
      key: 'reply',
      header: text('testSend.column.reply', 'SMTP reply'),
      render: (result) => (
        <Typography variant="pi" textColor="neutral800" style={{ wordBreak: 'break-word' }}>
          {result.reply ?? result.error ?? result.status}
        </Typography>
      ),
    },
    {
      key: 'server',
      header: text('testSend.column.server', 'Server'),
      render: (result) => <CellText>{result.server?.name ?? '—'}</CellText>,
    },
  ];

  return (
    <Flex direction="column" alignItems="stretch" gap={2} role="status">
      <Typography variant="pi" textColor="neutral600">
        {formatMessage({ id: getTranslation('testSend.subject'), defaultMessage: 'Subject: {subject}' }, { subject })}
      </Typography>
      <DataTable columns={columns} rows={results} rowKey={(result) => result.to} />
    </Flex>
  );
}
