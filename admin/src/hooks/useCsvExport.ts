import * as React from 'react';

import { useNotification } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

import { saveDownload, type CsvDownload } from '../api/audience';
import { toApiError } from '../api/errors';
import { getTranslation } from '../utils/getTranslation';

/**
 * An "Export CSV" button's action: fetch the file with the admin's token (a plain link would carry
 * none), then hand it to the browser as a download.
 */
export function useCsvExport(fetchFile: () => Promise<CsvDownload>) {
  const { formatMessage } = useIntl();
  const { toggleNotification } = useNotification();
  const [isRunning, setRunning] = React.useState(false);

  const run = async () => {
    setRunning(true);
    try {
      saveDownload(await fetchFile());
    } catch (error) {
      toggleNotification({
        type: 'danger',
        message: formatMessage(
          { id: getTranslation('export.failed'), defaultMessage: 'The export failed: {message}' },
          { message: toApiError(error).message },
        ),
      });
    } finally {
      setRunning(false);
    }
  };

  return { run, isRunning };
}
