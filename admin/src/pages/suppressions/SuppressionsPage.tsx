import * as React from 'react';

import { Badge, Button, Dialog, Flex, IconButton, Typography } from '@strapi/design-system';
import { Download, Plus, Trash } from '@strapi/icons';
import { ConfirmDialog, useNotification } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

import {
  SUPPRESSION_KINDS,
  SUPPRESSION_REASONS,
  createSuppressionSchema,
  type CreateSuppressionInput,
  type Suppression,
  type SuppressionKind,
  type SuppressionReason,
} from '../../../../shared/contracts/subscribers';
import { useAudienceApi } from '../../api/audience';
import { useAddSuppression, useDeleteSuppression, useSuppressionList } from '../../api/campaign-queries';
import { errorForField, toApiError } from '../../api/errors';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { FilterBar } from '../../components/FilterBar';
import { SelectField, TextareaField, TextField } from '../../components/form/fields';
import { ListPageLayout, ListResult } from '../../components/ListPageLayout';
import { ModalDialog } from '../../components/ModalDialog';
import { useCsvExport } from '../../hooks/useCsvExport';
import { useDialogActions } from '../../hooks/useDialogActions';
import { useLabels } from '../../hooks/useLabels';
import { useListParams } from '../../hooks/useListParams';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { useUrlFilters } from '../../hooks/useUrlFilters';
import { getTranslation } from '../../utils/getTranslation';

/** Suppression kinds and reasons, translated. */
function useSuppressionLabels() {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const kinds: Record<SuppressionKind, string> = {
    address: text('suppressionKind.address', 'Address'),
    domain: text('suppressionKind.domain', 'Whole domain'),
  };
  const reasons: Record<SuppressionReason, string> = {
    manual: text('suppressionReason.manual', 'Added by hand'),
    unsubscribed: text('suppressionReason.unsubscribed', 'Unsubscribed'),
    'hard-bounce': text('suppressionReason.hard-bounce', 'Hard bounce'),
    'soft-bounces': text('suppressionReason.soft-bounces', 'Repeated soft bounces'),
    complaint: text('suppressionReason.complaint', 'Spam complaint'),
  };
  return {
    kind: (kind: SuppressionKind) => kinds[kind] ?? kind,
    reason: (reason: SuppressionReason) => reasons[reason] ?? reason,
  };
}

/**
 * Addresses and whole domains campaign mail never goes to: searchable, filtered by kind and reason,
 * with add, remove and a CSV export of what the filters select.
 */
export function SuppressionsPage() {
  const { formatMessage } = useIntl();
  const { campaignsManage } = usePluginPermissions();
  const { page, pageSize, q } = useListParams();
  const { filters, setFilter, hasFilters } = useUrlFilters({ kind: SUPPRESSION_KINDS, reason: SUPPRESSION_REASONS });
  const labels = useSuppressionLabels();
  const apiFilters = {
    q: q || undefined,
    kind: (filters.kind || undefined) as SuppressionKind | undefined,
    reason: (filters.reason || undefined) as SuppressionReason | undefined,
  };
  const suppressions = useSuppressionList({ page, pageSize, sort: 'createdAt:desc', ...apiFilters });
  const api = useAudienceApi();
  const exportCsv = useCsvExport(() => api.exportSuppressions(apiFilters));
  const [adding, setAdding] = React.useState(false);
  const columns = useSuppressionColumns(campaignsManage);
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  return (
    <ListPageLayout
      title={text('suppressions.title', 'Suppressions')}
      subtitle={text(
        'suppressions.subtitle',
        'Campaigns skip these addresses and domains: unsubscribes, hard bounces, complaints and those added by hand.',
      )}
      primaryAction={
        <Flex gap={2}>
          <Button variant="secondary" startIcon={<Download />} onClick={exportCsv.run} loading={exportCsv.isRunning}>
            {text('suppressions.export', 'Export CSV')}
          </Button>
          {campaignsManage && (
            <Button startIcon={<Plus />} onClick={() => setAdding(true)}>
              {text('suppressions.add', 'Add suppression')}
            </Button>
          )}
        </Flex>
      }
      search={{
        label: text('suppressions.search', 'Search suppressions'),
        placeholder: text('suppressions.search.placeholder', 'Search by address, domain, source or note'),
      }}
      overlay={adding && <AddSuppressionDialog onClose={() => setAdding(false)} />}
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <FilterBar
          selects={[
            {
              name: 'kind',
              label: text('suppressions.filter.kind', 'Kind'),
              anyLabel: text('suppressions.filter.kind.any', 'Addresses and domains'),
              options: SUPPRESSION_KINDS.map((kind) => ({ value: kind, label: labels.kind(kind) })),
              value: filters.kind,
            },
            {
              name: 'reason',
              label: text('suppressions.filter.reason', 'Reason'),
              anyLabel: text('suppressions.filter.reason.any', 'All reasons'),
              options: SUPPRESSION_REASONS.map((reason) => ({ value: reason, label: labels.reason(reason) })),
              value: filters.reason,
            },
          ]}
          onChange={(name, value) => setFilter(name as 'kind' | 'reason', value)}
        />
        <ListResult
          query={suppressions}
          errorTitle={text('suppressions.loadFailed', 'The suppressions could not be loaded')}
          emptyText={
            q || hasFilters
              ? text('suppressions.empty.search', 'No suppression matches this search.')
              : text('suppressions.empty', 'Nothing is suppressed yet.')
          }
        >
          {(rows) => <DataTable columns={columns} rows={rows} rowKey={(row) => row.documentId} />}
        </ListResult>
      </Flex>
    </ListPageLayout>
  );
}

function useSuppressionColumns(canManage: boolean): Column<Suppression>[] {
  const { formatMessage } = useIntl();
  const labels = useLabels();
  const suppressionLabels = useSuppressionLabels();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  const columns: Column<Suppression>[] = [
    {
      key: 'value',
      header: text('suppressions.column.value', 'Address or domain'),
      render: (suppression) => (
        <Typography fontWeight="semiBold" textColor="neutral800">
          {suppression.value}
        </Typography>
      ),
    },
    {
      key: 'kind',
      header: text('suppressions.column.kind', 'Kind'),
      render: (suppression) => (
        <Badge variant={suppression.kind === 'domain' ? 'warning' : 'neutral'}>{suppressionLabels.kind(suppression.kind)}</Badge>
      ),
    },
    {
      key: 'reason',
      header: text('suppressions.column.reason', 'Reason'),
      render: (suppression) => <CellText>{suppressionLabels.reason(suppression.reason)}</CellText>,
    },
    {
      key: 'source',
      header: text('suppressions.column.source', 'Source'),
      render: (suppression) => <CellText>{suppression.source ?? '—'}</CellText>,
    },
    {
      key: 'note',
      header: text('suppressions.column.note', 'Note'),
      render: (suppression) => (
        <Typography textColor="neutral800" ellipsis title={suppression.note ?? undefined} style={{ maxWidth: '16rem', display: 'block' }}>
          {suppression.note ?? '—'}
        </Typography>
      ),
    },
    {
      key: 'createdAt',
      header: text('suppressions.column.createdAt', 'Since'),
      render: (suppression) => <CellText>{labels.dateTime(Date.parse(suppression.createdAt))}</CellText>,
    },
  ];
  if (canManage) {
    columns.push({
      key: 'remove',
      header: text('suppressions.column.actions', 'Actions'),
      render: (suppression) => <RemoveSuppressionButton suppression={suppression} />,
    });
  }
  return columns;
}

/** A trash button that asks first, then lifts the suppression (campaigns may mail the address again). */
function RemoveSuppressionButton({ suppression }: { suppression: Suppression }) {
  const { formatMessage } = useIntl();
  const { toggleNotification } = useNotification();
  const remove = useDeleteSuppression();
  const text = (id: string, defaultMessage: string, values?: Record<string, string>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);

  const confirm = async () => {
    try {
      await remove.mutateAsync(suppression.documentId);
      toggleNotification({ type: 'success', message: text('suppression.removed', 'Suppression removed') });
    } catch (error) {
      toggleNotification({ type: 'danger', message: toApiError(error).message });
    }
  };

  return (
    <Dialog.Root>
      <Dialog.Trigger>
        <IconButton label={text('suppression.remove.label', 'Remove {value}', { value: suppression.value })} variant="ghost">
          <Trash />
        </IconButton>
      </Dialog.Trigger>
      <ConfirmDialog variant="danger" onConfirm={confirm}>
        {text(
          'suppression.remove.confirm',
          'Remove {value} from the suppression list? Campaigns may send to it again (an unsubscribed subscriber stays unsubscribed).',
          { value: suppression.value },
        )}
      </ConfirmDialog>
    </Dialog.Root>
  );
}

/** Suppress an address or a whole domain, with a reason and a note. */
function AddSuppressionDialog({ onClose }: { onClose: () => void }) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const labels = useSuppressionLabels();
  const add = useAddSuppression();
  const { errors, setErrors, submit } = useDialogActions(onClose);
  const [value, setValue] = React.useState('');
  const [reason, setReason] = React.useState<SuppressionReason>('manual');
  const [note, setNote] = React.useState('');

  const onSubmit = (event: React.FormEvent<HTMLFormElement>) => {
    const input: CreateSuppressionInput = { value, reason, note: note.trim() ? note : null };
    return submit(event, {
      schema: createSuppressionSchema,
      input,
      save: () => add.mutateAsync(input),
      savedMessage: text('suppression.added', 'Suppression added'),
    });
  };

  return (
    <ModalDialog
      title={text('suppression.new.title', 'Add a suppression')}
      onClose={onClose}
      onSubmit={onSubmit}
      actions={
        <Button type="submit" loading={add.isPending}>
          {text('suppression.add', 'Add')}
        </Button>
      }
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <TextField
          name="value"
          label={text('suppression.field.value', 'Address or domain')}
          hint={text('suppression.field.value.hint', 'ann@example.com for one address, example.com for every address of a domain.')}
          required
          value={value}
          onChange={(next) => {
            setValue(next);
            setErrors({});
          }}
          error={errorForField(errors, 'value')}
        />
        <SelectField
          name="reason"
          label={text('suppression.field.reason', 'Reason')}
          options={SUPPRESSION_REASONS.map((option) => ({ value: option, label: labels.reason(option) }))}
          value={reason}
          onChange={(next) => setReason(next as SuppressionReason)}
          error={errorForField(errors, 'reason')}
        />
        <TextareaField
          name="note"
          label={text('suppression.field.note', 'Note')}
          value={note}
          onChange={setNote}
          error={errorForField(errors, 'note')}
        />
      </Flex>
    </ModalDialog>
  );
}
