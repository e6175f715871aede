import { Button, Dialog } from '@strapi/design-system';
import { Trash } from '@strapi/icons';
import { ConfirmDialog } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

import { getTranslation } from '../utils/getTranslation';

interface DeleteButtonProps {
  /** The question the confirmation dialog asks. */
  confirmText: string;
  onConfirm: () => Promise<void> | void;
  loading?: boolean;
}

/** A "Delete" button that asks for confirmation first. */
export function DeleteButton({ confirmText, onConfirm, loading }: DeleteButtonProps) {
  const { formatMessage } = useIntl();
  return (
    <Dialog.Root>
      <Dialog.Trigger>
        <Button type="button" variant="danger-light" startIcon={<Trash />} loading={loading}>
          {formatMessage({ id: getTranslation('actions.delete'), defaultMessage: 'Delete' })}
        </Button>
      </Dialog.Trigger>
      <ConfirmDialog variant="danger" onConfirm={onConfirm}>
        {confirmText}
      </ConfirmDialog>
    </Dialog.Root>
  );
}
