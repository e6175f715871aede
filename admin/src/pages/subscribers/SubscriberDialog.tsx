import * as React from 'react';

import { Field, Flex, MultiSelect, MultiSelectOption } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import {
  SUBSCRIBER_STATUSES,
  createSubscriberSchema,
  updateSubscriberSchema,
  type CreateSubscriberInput,
  type Subscriber,
  type SubscriberStatus,
} from '../../../../shared/contracts/subscribers';
import { useAllMailingLists, useDeleteSubscriber, useSaveSubscriber } from '../../api/campaign-queries';
import { errorForField } from '../../api/errors';
import { SelectField, TextareaField, TextField } from '../../components/form/fields';
import { RecordDialog } from '../../components/RecordDialog';
import { useDialogActions } from '../../hooks/useDialogActions';
import { getTranslation } from '../../utils/getTranslation';
import { useSubscriberStatusLabel } from './SubscribersPage';

interface SubscriberDialogProps {
  subscriber?: Subscriber;
  canManage: boolean;
  onClose: () => void;
}

/** Attributes as the JSON the editor types; a value that is not JSON is sent as is, for the schema to refuse. */
const parseAttributes = (text: string): unknown => {
  if (!text.trim()) {
    return {};
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** Add or edit one subscriber: address, name, status, lists and custom attributes; or delete them. */
export function SubscriberDialog({ subscriber, canManage, onClose }: SubscriberDialogProps) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const statusLabel = useSubscriberStatusLabel();
  const lists = useAllMailingLists();
  const save = useSaveSubscriber(subscriber?.documentId);
  const remove = useDeleteSubscriber();
  const { errors, setErrors, submit, confirmDelete } = useDialogActions(onClose);
  const [email, setEmail] = React.useState(subscriber?.email ?? '');
  const [name, setName] = React.useState(subscriber?.name ?? '');
  const [status, setStatus] = React.useState<SubscriberStatus>(subscriber?.status ?? 'subscribed');
  const [listIds, setListIds] = React.useState(() => subscriber?.lists.map((list) => list.documentId) ?? []);
  const [attributes, setAttributes] = React.useState(() =>
    subscriber && Object.keys(subscriber.attributes).length > 0 ? JSON.stringify(subscriber.attributes, null, 2) : '',
  );

  const listOptions = (lists.data?.data ?? []).map((list) => ({ value: list.documentId, label: list.name }));
  // The subscriber's own lists stay choosable even beyond the first page of lists.
  for (const list of subscriber?.lists ?? []) {
    if (!listOptions.some((option) => option.value === list.documentId)) {
      listOptions.push({ value: list.documentId, label: list.name });
    }
  }

  const onSubmit = (event: React.FormEvent<HTMLFormElement>) => {
    const input = {
      email,
      name: name.trim() ? name : null,
      status,
      lists: listIds,
      attributes: parseAttributes(attributes),
    } as CreateSubscriberInput;
    return submit(event, {
      schema: subscriber ? updateSubscriberSchema : createSubscriberSchema,
      input,
      save: () => save.mutateAsync(input),
      savedMessage: text('subscriber.saved', 'Subscriber saved'),
    });
  };

  const clearError = (key: string) => setErrors(({ [key]: _cleared, ...others }) => others);

  return (
    <RecordDialog
      title={subscriber ? subscriber.email : text('subscriber.new.title', 'New subscriber')}
      onClose={onClose}
      onSubmit={onSubmit}
      canManage={canManage}
      saving={save.isPending}
      deletion={
        subscriber && {
          confirmText: formatMessage(
            {
              id: getTranslation('subscriber.delete.confirm'),
              defaultMessage:
                'Delete {email}? To stop mail to them for good, set them to unsubscribed or add a suppression instead: a deleted subscriber can be imported again.',
            },
            { email: subscriber.email },
          ),
          onConfirm: () =>
            confirmDelete(() => remove.mutateAsync(subscriber.documentId), text('subscriber.deleted', 'Subscriber deleted')),
          loading: remove.isPending,
        }
      }
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <TextField
          name="email"
          type="email"
          label={text('subscriber.field.email', 'Email')}
          required
          value={email}
          onChange={(value) => {
            setEmail(value);
            clearError('email');
          }}
          error={errorForField(errors, 'email')}
          disabled={!canManage}
        />
        <TextField
          name="name"
          label={text('subscriber.field.name', 'Name')}
          value={name}
          onChange={setName}
          error={errorForField(errors, 'name')}
          disabled={!canManage}
        />
        <SelectField
          name="status"
          label={text('subscriber.field.status', 'Status')}
          hint={text('subscriber.field.status.hint', 'Only subscribed subscribers get campaigns.')}
          options={SUBSCRIBER_STATUSES.map((value) => ({ value, label: statusLabel(value) }))}
          value={status}
          onChange={(value) => setStatus(value as SubscriberStatus)}
          error={errorForField(errors, 'status')}
          disabled={!canManage}
        />
        <Field.Root name="lists" error={errorForField(errors, 'lists')}>
          <Field.Label>{text('subscriber.field.lists', 'Lists')}</Field.Label>
          <MultiSelect
            value={listIds}
            withTags
            disabled={!canManage}
            placeholder={text('subscriber.field.lists.placeholder', 'No list')}
            onChange={setListIds}
            onClear={() => setListIds([])}
          >
            {listOptions.map((option) => (
              <MultiSelectOption key={option.value} value={option.value}>
                {option.label}
              </MultiSelectOption>
            ))}
          </MultiSelect>
          <Field.Error />
        </Field.Root>
        <TextareaField
          name="attributes"
          label={text('subscriber.field.attributes', 'Attributes (JSON)')}
          hint={formatMessage(
            {
              id: getTranslation('subscriber.field.attributes.hint'),
              defaultMessage:
                'A flat JSON object of text, numbers or true/false, e.g. {example}. Templates read them as recipient.attributes.city.',
            },
            { example: '{ "city": "Paris", "plan": "pro" }' },
          )}
          value={attributes}
          onChange={(value) => {
            setAttributes(value);
            clearError('attributes');
          }}
          error={errorForField(errors, 'attributes')}
          disabled={!canManage}
        />
      </Flex>
    </RecordDialog>
  );
}
