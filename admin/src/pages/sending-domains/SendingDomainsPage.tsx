import * as React from 'react';

import { Button, Flex, TextButton, Typography } from '@strapi/design-system';
import { Plus } from '@strapi/icons';
import { useIntl } from 'react-intl';

import type { SendingDomain } from '../../../../shared/contracts/sending-domains';
import { useSendingDomainList } from '../../api/sending-domains';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { ListPageLayout, ListResult } from '../../components/ListPageLayout';
import { useLabels } from '../../hooks/useLabels';
import { useListParams } from '../../hooks/useListParams';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import { AddSendingDomainDialog } from './AddSendingDomainDialog';
import { SendingDomainDialog } from './SendingDomainDialog';

/** The dialog open on the page: none, adding a domain, or one domain's DNS records. */
type Open = null | 'add' | SendingDomain;

/**
 * Sending domains: the domains mail is sent From, each with the DKIM key its mail is signed with.
 * A row (or its "DNS records") opens the records to publish and their check.
 */
export function SendingDomainsPage() {
  const { formatMessage } = useIntl();
  const { canManage } = usePluginPermissions();
  const { page, pageSize, q } = useListParams();
  const domains = useSendingDomainList({ page, pageSize, q, sort: 'domain:asc' });
  const [open, setOpen] = React.useState<Open>(null);
  const columns = useColumns(setOpen);
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  return (
    <ListPageLayout
      title={text('sendingDomains.title', 'Sending domains')}
      subtitle={text(
        'sendingDomains.subtitle',
        'Mail From these domains (and their subdomains) is DKIM-signed on every server. Publish the DNS records each one shows.'
      )}
      primaryAction={
        canManage ? (
          <Button startIcon={<Plus />} onClick={() => setOpen('add')}>
            {text('sendingDomains.add', 'Add sending domain')}
          </Button>
        ) : undefined
      }
      search={{
        label: text('sendingDomains.search', 'Search sending domains'),
        placeholder: text('sendingDomains.search.placeholder', 'Search by domain'),
      }}
      overlay={
        open === 'add' ? (
          <AddSendingDomainDialog
            // After a save the dialog closes; a domain just created stays open, on its DNS records.
            onClose={() => setOpen((current) => (current === 'add' ? null : current))}
            onCreated={setOpen}
          />
        ) : (
          open && <SendingDomainDialog domain={open} canManage={canManage} onClose={() => setOpen(null)} />
        )
      }
    >
      <ListResult
        query={domains}
        errorTitle={text('sendingDomains.loadFailed', 'The sending domains could not be loaded')}
        emptyText={
          q
            ? text('sendingDomains.empty.search', 'No sending domain matches this search.')
            : text('sendingDomains.empty', 'No sending domain yet: mail goes out without a DKIM signature.')
        }
      >
        {(rows) => <DataTable columns={columns} rows={rows} rowKey={(row) => row.documentId} onRowClick={setOpen} />}
      </ListResult>
    </ListPageLayout>
  );
}

function useColumns(open: (domain: SendingDomain) => void): Column<SendingDomain>[] {
  const { formatMessage } = useIntl();
  const labels = useLabels();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  return [
    {
      key: 'domain',
      header: text('sendingDomains.column.domain', 'Domain'),
      render: (row) => (
        <Flex direction="column" alignItems="flex-start" gap={1}>
          <Typography fontWeight="semiBold" textColor="neutral800">
            {row.domain}
          </Typography>
          <Typography variant="pi" textColor="neutral600">
            {formatMessage(
              { id: getTranslation('sendingDomains.selector'), defaultMessage: 'selector {selector}' },
              { selector: row.selector }
            )}
          </Typography>
        </Flex>
      ),
    },
    {
      key: 'key',
      header: text('sendingDomains.column.key', 'DKIM key'),
      render: (row) => (
        <CellText>
          {formatMessage(
            {
              id: getTranslation('sendingDomains.keyDescription'),
              defaultMessage: '{bits}-bit RSA, {source, select, generated {generated here} other {imported}}',
            },
            { bits: row.keyBits, source: row.keySource }
          )}
        </CellText>
      ),
    },
    {
      key: 'createdAt',
      header: text('sendingDomains.column.createdAt', 'Added'),
      render: (row) => <CellText>{labels.dateTime(Date.parse(row.createdAt))}</CellText>,
    },
    {
      key: 'dns',
      header: text('sendingDomains.column.actions', 'Actions'),
      render: (row) => (
        <TextButton
          onClick={(event: React.MouseEvent) => {
            event.stopPropagation();
            open(row);
          }}
        >
          {text('sendingDomains.dnsRecords', 'DNS records')}
        </TextButton>
      ),
    },
  ];
}
