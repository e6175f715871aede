import * as React from 'react';

import { Badge, Box, Button, Flex, IconButton, Status, Typography } from '@strapi/design-system';
import { ArrowClockwise, Duplicate } from '@strapi/icons';
import { useClipboard, useNotification } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

import type { DnsCheckStatus, DnsRecord, SendingDomain } from '../../../../shared/contracts/sending-domains';
import { toApiError } from '../../api/errors';
import { useDeleteSendingDomain, useSendingDomainDns } from '../../api/sending-domains';
import { ContentLoader } from '../../components/ContentLoader';
import { DeleteButton } from '../../components/DeleteButton';
import { ErrorBox } from '../../components/ErrorBox';
import { ModalDialog } from '../../components/ModalDialog';
import { useDialogActions } from '../../hooks/useDialogActions';
import { getTranslation } from '../../utils/getTranslation';

const STATUS_VARIANTS: Record<DnsCheckStatus, 'success' | 'warning' | 'danger' | 'neutral'> = {
  match: 'success',
  different: 'warning',
  missing: 'danger',
  unreachable: 'neutral',
};

interface SendingDomainDialogProps {
  domain: SendingDomain;
  canManage: boolean;
  onClose: () => void;
}

/**
 * One sending domain: the DNS records to publish (each with copy buttons), their check by lookup,
 * and Delete. The records show at once; the check runs when asked (it can take a few seconds).
 */
export function SendingDomainDialog({ domain, canManage, onClose }: SendingDomainDialogProps) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const [checking, setChecking] = React.useState(false);
  const records = useSendingDomainDns(domain.documentId, false);
  const checked = useSendingDomainDns(domain.documentId, true, { enabled: checking });
  const remove = useDeleteSendingDomain();
  const { confirmDelete } = useDialogActions(onClose);
  const shown = checked.data?.data ?? records.data?.data;
  const lookup = checked.data?.data.lookup ?? null;

  const checkButton = (
    <Button
      type="button"
      variant="secondary"
      startIcon={<ArrowClockwise />}
      loading={checked.isFetching}
      onClick={() => (checking ? void checked.refetch() : setChecking(true))}
    >
      {checking ? text('sendingDomain.dns.checkAgain', 'Check again') : text('sendingDomain.dns.check', 'Check DNS')}
    </Button>
  );

  return (
    <ModalDialog
      title={domain.domain}
      onClose={onClose}
      actions={
        <Flex gap={2}>
          {canManage && (
            <DeleteButton
              confirmText={formatMessage(
                {
                  id: getTranslation('sendingDomain.delete.confirm'),
                  defaultMessage:
                    'Delete the sending domain {domain}? Its mail goes out unsigned from then on, and its private key is deleted for good.',
                },
                { domain: domain.domain }
              )}
              onConfirm={() =>
                confirmDelete(
                  () => remove.mutateAsync(domain.documentId),
                  text('sendingDomain.deleted', 'Sending domain deleted')
                )
              }
              loading={remove.isPending}
            />
          )}
          {checkButton}
        </Flex>
      }
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <Typography textColor="neutral700">
          {formatMessage(
            {
              id: getTranslation('sendingDomain.dns.intro'),
              defaultMessage:
                'Mail From {domain} and its subdomains is signed with selector {selector} ({bits}-bit RSA). Publish these TXT records at your DNS host; the DKIM record is required, SPF and DMARC are suggestions to adapt.',
            },
            { domain: domain.domain, selector: domain.selector, bits: domain.keyBits }
          )}
        </Typography>
        {lookup && (
          <Status variant={lookup.reachable ? 'success' : 'warning'} role="status">
            <Typography>
              {lookup.reachable
                ? formatMessage(
                    {
                      id: getTranslation('sendingDomain.dns.checked'),
                      defaultMessage: 'Checked by DNS lookup in {ms} ms.',
                    },
                    { ms: lookup.durationMs }
                  )
                : lookup.message}
            </Typography>
          </Status>
        )}
        {checked.isError && (
          <ErrorBox
            title={text('sendingDomain.dns.checkFailed', 'The DNS check failed')}
            message={toApiError(checked.error).message}
          />
        )}
        {records.isError && !shown ? (
          <ErrorBox
            title={text('sendingDomain.dns.loadFailed', 'The DNS records could not be loaded')}
            message={toApiError(records.error).message}
          />
        ) : !shown ? (
          <ContentLoader />
        ) : (
          shown.records.map((record) => <DnsRecordBox key={record.kind} record={record} />)
        )}
      </Flex>
    </ModalDialog>
  );
}

/** One record: what it is, its name and value with copy buttons, and what the check found. */
function DnsRecordBox({ record }: { record: DnsRecord }) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const kindLabels: Record<DnsRecord['kind'], string> = {
    dkim: text('sendingDomain.dns.kind.dkim', 'DKIM (required)'),
    spf: text('sendingDomain.dns.kind.spf', 'SPF (suggestion)'),
    dmarc: text('sendingDomain.dns.kind.dmarc', 'DMARC (suggestion)'),
  };
  const statusLabels: Record<DnsCheckStatus, string> = {
    match: text('sendingDomain.dns.status.match', 'Published'),
    different: text('sendingDomain.dns.status.different', 'Different'),
    missing: text('sendingDomain.dns.status.missing', 'Missing'),
    unreachable: text('sendingDomain.dns.status.unreachable', 'DNS not reachable'),
  };

  return (
    <Box padding={4} hasRadius borderColor="neutral200" background="neutral100">
      <Flex direction="column" alignItems="stretch" gap={2}>
        <Flex justifyContent="space-between" gap={2}>
          <Typography variant="delta" tag="h3">
            {kindLabels[record.kind]}
          </Typography>
          {record.check && (
            <Badge variant={STATUS_VARIANTS[record.check.status]}>{statusLabels[record.check.status]}</Badge>
          )}
        </Flex>
        <CopyableValue
          label={formatMessage(
            { id: getTranslation('sendingDomain.dns.name'), defaultMessage: 'Name ({type})' },
            { type: record.type }
          )}
          value={record.name}
        />
        <CopyableValue label={text('sendingDomain.dns.value', 'Value')} value={record.value} />
        <Typography variant="pi" textColor="neutral600">
          {record.note}
        </Typography>
        {record.check && (
          <Flex direction="column" alignItems="stretch" gap={1}>
            <Typography textColor={record.check.status === 'match' ? 'success600' : 'neutral800'}>
              {record.check.message}
            </Typography>
            {record.check.status !== 'match' &&
              record.check.found.map((found) => (
                <Typography key={found} variant="pi" textColor="neutral600" style={{ wordBreak: 'break-all' }}>
                  {formatMessage(
                    { id: getTranslation('sendingDomain.dns.found'), defaultMessage: 'Published: {value}' },
                    { value: found }
                  )}
                </Typography>
              ))}
          </Flex>
        )}
      </Flex>
    </Box>
  );
}

/** A label, a value in a monospaced font, and a button that copies the value. */
function CopyableValue({ label, value }: { label: string; value: string }) {
  const { formatMessage } = useIntl();
  const { copy } = useClipboard();
  const { toggleNotification } = useNotification();
  const onCopy = async () => {
    const copied = await copy(value);
    toggleNotification({
      type: copied ? 'success' : 'warning',
      message: copied
        ? formatMessage({ id: getTranslation('sendingDomain.dns.copied'), defaultMessage: 'Copied' })
        : formatMessage({
            id: getTranslation('sendingDomain.dns.copyFailed'),
            defaultMessage: 'Could not copy: select the text instead',
          }),
    });
  };
  return (
    <Flex gap={2} alignItems="flex-start">
      <Box width="20%" shrink={0}>
        <Typography variant="sigma" textColor="neutral600">
          {label}
        </Typography>
      </Box>
      <Box grow={1} style={{ minWidth: 0 }}>
        <Typography tag="code" textColor="neutral800" style={{ fontFamily: 'monospace', wordBreak: 'break-all' }}>
          {value}
        </Typography>
      </Box>
      <IconButton
        type="button"
        variant="tertiary"
        label={formatMessage(
          { id: getTranslation('sendingDomain.dns.copy'), defaultMessage: 'Copy {what}' },
          { what: label }
        )}
        onClick={() => void onCopy()}
      >
        <Duplicate />
      </IconButton>
    </Flex>
  );
}
