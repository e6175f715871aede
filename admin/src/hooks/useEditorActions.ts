import { useNotification } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useNavigate } from 'react-router-dom';

import { toApiError } from '../api/errors';
import { getTranslation } from '../utils/getTranslation';

interface SaveOptions<T> {
  /** Errors found before saving (by field path); any of them stops the save. */
  problems: Record<string, string>;
  setErrors: (errors: Record<string, string>) => void;
  save: () => Promise<T>;
  savedMessage: string;
  /** For a new record: where its page is, once saved. */
  createdPath?: (saved: T) => string;
}

interface DeleteOptions {
  remove: () => Promise<unknown>;
  deletedMessage: string;
  /** Where to go once deleted. */
  listPath: string;
}

/**
 * The Save and Delete steps of an edit page: check, save, notify, then go to the new record's page;
 * delete, notify, then back to the list. API field errors go back to the form.
 */
export function useEditorActions() {
  const { formatMessage } = useIntl();
  const navigate = useNavigate();
  const { toggleNotification } = useNotification();

  const saveRecord = async <T>({ problems, setErrors, save, savedMessage, createdPath }: SaveOptions<T>) => {
    setErrors(problems);
    if (Object.keys(problems).length > 0) {
      toggleNotification({
        type: 'warning',
        message: formatMessage({ id: getTranslation('form.fixErrors'), defaultMessage: 'Some fields need a correction.' }),
      });
      return;
    }

    try {
      const saved = await save();
      toggleNotification({ type: 'success', message: savedMessage });
      if (createdPath) {
        navigate(createdPath(saved), { replace: true });
      }
    } catch (error) {
      const info = toApiError(error);
      setErrors(info.fieldErrors);
      toggleNotification({ type: 'danger', message: info.message });
    }
  };

  const deleteRecord = async ({ remove, deletedMessage, listPath }: DeleteOptions) => {
    try {
      await remove();
      toggleNotification({ type: 'success', message: deletedMessage });
      navigate(listPath);
    } catch (error) {
      toggleNotification({ type: 'danger', message: toApiError(error).message });
    }
  };

  return { saveRecord, deleteRecord };
}
