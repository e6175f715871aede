import * as React from 'react';

import { Button, Flex } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import { getTranslation } from '../utils/getTranslation';
import { DeleteButton } from './DeleteButton';
import { ModalDialog } from './ModalDialog';

interface RecordDialogProps {
  title: React.ReactNode;
  onClose: () => void;
  onSubmit: (event: React.FormEvent<HTMLFormElement>) => void;
  /** May save and delete; without it the dialog only shows the record. */
  canManage: boolean;
  saving: boolean;
  /** Shows a Delete button (with confirmation) when given: for a record that exists. */
  deletion?: { confirmText: string; onConfirm: () => Promise<void> | void; loading: boolean };
  children: React.ReactNode;
}

/**
 * A dialog that edits one record (a list, a subscriber): its fields, then Delete (existing records)
 * and Save, which submits the dialog's form. Read-only for admins who may not manage.
 */
export function RecordDialog({ title, onClose, onSubmit, canManage, saving, deletion, children }: RecordDialogProps) {
  const { formatMessage } = useIntl();
  return (
    <ModalDialog
      title={title}
      onClose={onClose}
      onSubmit={canManage ? onSubmit : undefined}
      actions={
        canManage && (
          <Flex gap={2}>
            {deletion && <DeleteButton {...deletion} />}
            <Button type="submit" loading={saving}>
              {formatMessage({ id: getTranslation('actions.save'), defaultMessage: 'Save' })}
            </Button>
          </Flex>
        )
      }
    >
      {children}
    </ModalDialog>
  );
}
