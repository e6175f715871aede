import * as React from 'react';

import { Button, Flex, TextButton, Typography } from '@strapi/design-system';
import { Plus } from '@strapi/icons';
import { useIntl } from 'react-intl';
import { useNavigate } from 'react-router-dom';

import { createMailingListSchema, type MailingList } from '../../../../shared/contracts/subscribers';
import { useDeleteMailingList, useMailingLists, useSaveMailingList } from '../../api/campaign-queries';
import { errorForField } from '../../api/errors';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { TextareaField, TextField } from '../../components/form/fields';
import { ListPageLayout, ListResult } from '../../components/ListPageLayout';
import { RecordDialog } from '../../components/RecordDialog';
import { useLabels } from '../../hooks/useLabels';
import { useListParams } from '../../hooks/useListParams';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';
import { useDialogActions } from '../../hooks/useDialogActions';

/** The dialog's state: closed, a new list, or one list to edit. */
type Editing = null | 'new' | MailingList;

/** Mailing lists with their subscriber counts; a row opens the list in a dialog. */
export function MailingListsPage() {
  const { formatMessage } = useIntl();
  const { campaignsManage } = usePluginPermissions();
  const { page, pageSize, q } = useListParams();
  const lists = useMailingLists({ page, pageSize, q, sort: 'name:asc' });
  const [editing, setEditing] = React.useState<Editing>(null);
  const columns = useListColumns();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  return (
    <ListPageLayout
      title={text('lists.title', 'Mailing lists')}
      subtitle={text('lists.subtitle', 'Groups of subscribers a campaign can be sent to.')}
      primaryAction={
        campaignsManage ? (
          <Button startIcon={<Plus />} onClick={() => setEditing('new')}>
            {text('lists.add', 'Add list')}
          </Button>
        ) : undefined
      }
      search={{
        label: text('lists.search', 'Search lists'),
        placeholder: text('lists.search.placeholder', 'Search by name or description'),
      }}
      overlay={
        editing && (
          <MailingListDialog
            list={editing === 'new' ? undefined : editing}
            canManage={campaignsManage}
            onClose={() => setEditing(null)}
          />
        )
      }
    >
      <ListResult
        query={lists}
        errorTitle={text('lists.loadFailed', 'The lists could not be loaded')}
        emptyText={q ? text('lists.empty.search', 'No list matches this search.') : text('lists.empty', 'No mailing list yet.')}
      >
        {(rows) => <DataTable columns={columns} rows={rows} rowKey={(list) => list.documentId} onRowClick={setEditing} />}
      </ListResult>
    </ListPageLayout>
  );
}

function useListColumns(): Column<MailingList>[] {
  const { formatMessage, formatNumber } = useIntl();
  const navigate = useNavigate();
  const labels = useLabels();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  return [
    {
      key: 'name',
      header: text('lists.column.name', 'Name'),
      render: (list) => (
        <Flex direction="column" alignItems="flex-start" gap={1}>
          <Typography fontWeight="semiBold" textColor="neutral800">
            {list.name}
          </Typography>
          {list.description && (
            <Typography variant="pi" textColor="neutral600" ellipsis style={{ maxWidth: '30rem' }}>
              {list.description}
            </Typography>
          )}
        </Flex>
      ),
    },
    {
      key: 'subscribers',
      header: text('lists.column.subscribers', 'Subscribers'),
      render: (list) => (
        <CellText>
          {formatMessage(
            { id: getTranslation('lists.subscribedOfTotal'), defaultMessage: '{subscribed} subscribed of {total}' },
            { subscribed: formatNumber(list.subscribedCount), total: formatNumber(list.subscriberCount) },
          )}
        </CellText>
      ),
    },
    {
      key: 'createdAt',
      header: text('lists.column.createdAt', 'Created'),
      render: (list) => <CellText>{labels.dateTime(Date.parse(list.createdAt))}</CellText>,
    },
    {
      key: 'open',
      header: text('lists.column.actions', 'Actions'),
      render: (list) => (
        <TextButton
          onClick={(event: React.MouseEvent) => {
            // Not the row's click (that opens the dialog).
            event.stopPropagation();
            navigate(`${paths.subscribers}?list=${encodeURIComponent(list.documentId)}`);
          }}
        >
          {text('lists.viewSubscribers', 'View subscribers')}
        </TextButton>
      ),
    },
  ];
}

interface MailingListDialogProps {
  list?: MailingList;
  canManage: boolean;
  onClose: () => void;
}

/** Create or rename a list, or delete it (its subscribers stay, in their other lists). */
function MailingListDialog({ list, canManage, onClose }: MailingListDialogProps) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const save = useSaveMailingList(list?.documentId);
  const remove = useDeleteMailingList();
  const { errors, setErrors, submit, confirmDelete } = useDialogActions(onClose);
  const [name, setName] = React.useState(list?.name ?? '');
  const [description, setDescription] = React.useState(list?.description ?? '');

  const onSubmit = (event: React.FormEvent<HTMLFormElement>) => {
    const input = { name, description: description.trim() ? description : null };
    return submit(event, {
      schema: createMailingListSchema,
      input,
      save: () => save.mutateAsync(input),
      savedMessage: text('list.saved', 'List saved'),
    });
  };

  return (
    <RecordDialog
      title={list ? list.name : text('list.new.title', 'New mailing list')}
      onClose={onClose}
      onSubmit={onSubmit}
      canManage={canManage}
      saving={save.isPending}
      deletion={
        list && {
          confirmText: formatMessage(
            {
              id: getTranslation('list.delete.confirm'),
              defaultMessage: 'Delete the list “{name}”? Its subscribers are kept; campaigns to it lose it from their audience.',
            },
            { name: list.name },
          ),
          onConfirm: () => confirmDelete(() => remove.mutateAsync(list.documentId), text('list.deleted', 'List deleted')),
          loading: remove.isPending,
        }
      }
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <TextField
          name="name"
          label={text('list.field.name', 'Name')}
          required
          value={name}
          onChange={(value) => {
            setName(value);
            setErrors({});
          }}
          error={errorForField(errors, 'name')}
          disabled={!canManage}
        />
        <TextareaField
          name="description"
          label={text('list.field.description', 'Description')}
          value={description}
          onChange={setDescription}
          error={errorForField(errors, 'description')}
          disabled={!canManage}
        />
      </Flex>
    </RecordDialog>
  );
}
