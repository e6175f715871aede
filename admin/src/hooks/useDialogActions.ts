import * as React from 'react';

import { useNotification } from '@strapi/strapi/admin';
import type { z } from 'zod';

import { toApiError } from '../api/errors';
import { validateWith } from '../utils/validate';
import { useEditorActions } from './useEditorActions';

interface SubmitOptions {
  /** The shared zod schema the server checks the input with. */
  schema: z.ZodType;
  input: unknown;
  save: () => Promise<unknown>;
  savedMessage: string;
}

/**
 * Save and Delete for a record edited in a dialog (a list, a subscriber, a suppression): the edit
 * page's steps (check with the shared schema, save, notify; API field errors back to the fields),
 * then the dialog closes.
 */
export function useDialogActions(onClose: () => void) {
  const { toggleNotification } = useNotification();
  const { saveRecord } = useEditorActions();
  const [errors, setErrors] = React.useState<Record<string, string>>({});

  const submit = async (event: React.FormEvent<HTMLFormElement>, { schema, input, save, savedMessage }: SubmitOptions) => {
    event.preventDefault();
    // The dialog's form sits in a portal inside the page's React tree: keep its submit there.
    event.stopPropagation();
    let saved = false;
    await saveRecord({
      problems: validateWith(schema, input),
      setErrors,
      save: async () => {
        await save();
        saved = true;
      },
      savedMessage,
    });
    if (saved) {
      onClose();
    }
  };

  const confirmDelete = async (remove: () => Promise<unknown>, deletedMessage: string) => {
    try {
      await remove();
      toggleNotification({ type: 'success', message: deletedMessage });
      onClose();
    } catch (error) {
      toggleNotification({ type: 'danger', message: toApiError(error).message });
    }
  };

  return { errors, setErrors, submit, confirmDelete };
}
