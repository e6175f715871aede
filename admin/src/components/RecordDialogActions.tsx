import { Button, Flex } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import { getTranslation } from '../utils/getTranslation';
import { DeleteButton } from './DeleteButton';

interface RecordDialogActionsProps {
  /** Shows a Delete button (with confirmation) when given: for a record that exists. */
  deletion?: { confirmText: string; onConfirm: () => Promise<void> | void; loading: boolean };
  saving: boolean;
}

/** The footer buttons of a dialog that edits one record: Delete (existing records) and Save (submits the dialog's form). */
export function RecordDialogActions({ deletion, saving }: RecordDialogActionsProps) {
  const { formatMessage } = useIntl();
  return (
    <Flex gap={2}>
      {deletion && <DeleteButton {...deletion} />}
      <Button type="submit" loading={saving}>
        {formatMessage({ id: getTranslation('actions.save'), defaultMessage: 'Save' })}
      </Button>
    </Flex>
  );
}
