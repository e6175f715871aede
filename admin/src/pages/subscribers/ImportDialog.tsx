import * as React from 'react';

import { Box, Button, Checkbox, Field, Flex, MultiSelect, MultiSelectOption, Typography } from '@strapi/design-system';
import { Upload } from '@strapi/icons';
import { useIntl } from 'react-intl';

import type { ImportRowError, SubscriberImportReport } from '../../../../shared/contracts/subscribers';
import { useAllMailingLists, useImportSubscribers } from '../../api/campaign-queries';
import { toApiError } from '../../api/errors';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { ErrorBox } from '../../components/ErrorBox';
import { ModalDialog, TestOutcome } from '../../components/ModalDialog';
import { getTranslation } from '../../utils/getTranslation';

/**
 * Imports subscribers from a CSV file (a header row with an `email` column; `name` and `status` are
 * read as such, any other column becomes an attribute). The server reads the file as a stream, so
 * large files are fine. Shows what happened: created, updated, skipped, and each refused row.
 */
export function ImportDialog({ onClose }: { onClose: () => void }) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const lists = useAllMailingLists();
  const importSubscribers = useImportSubscribers();
  const [file, setFile] = React.useState<File | null>(null);
  const [listIds, setListIds] = React.useState<string[]>([]);
  const [updateExisting, setUpdateExisting] = React.useState(false);
  const [fileError, setFileError] = React.useState<string>();
  const [requestError, setRequestError] = React.useState<string>();

  const submit = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    event.stopPropagation();
    setRequestError(undefined);
    if (!file) {
      setFileError(text('import.file.required', 'Choose a CSV file.'));
      return;
    }
    try {
      await importSubscribers.mutateAsync({ file, lists: listIds, updateExisting });
    } catch (error) {
      setRequestError(toApiError(error).message);
    }
  };

  const report = importSubscribers.data;

  return (
    <ModalDialog
      title={text('import.title', 'Import subscribers from CSV')}
      onClose={onClose}
      onSubmit={submit}
      actions={
        <Button type="submit" startIcon={<Upload />} loading={importSubscribers.isPending}>
          {text('import.submit', 'Import')}
        </Button>
      }
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <Typography textColor="neutral600">
          {text(
            'import.help',
            'The first row names the columns: email (required), name and status (subscribed, unsubscribed, bounced, complained); every other column becomes an attribute. Rows with an invalid address are reported, not imported.',
          )}
        </Typography>
        <Field.Root name="file" error={fileError}>
          <Field.Label>{text('import.file', 'CSV file')}</Field.Label>
          <Box paddingTop={1}>
            <input
              id="import-file"
              type="file"
              accept=".csv,text/csv"
              aria-label={text('import.file', 'CSV file')}
              onChange={(event) => {
                setFile(event.target.files?.[0] ?? null);
                setFileError(undefined);
              }}
            />
          </Box>
          <Field.Error />
        </Field.Root>
        <Field.Root name="lists" hint={text('import.lists.hint', 'Every imported subscriber joins these lists.')}>
          <Field.Label>{text('import.lists', 'Add to lists')}</Field.Label>
          <MultiSelect
            value={listIds}
            withTags
            placeholder={text('import.lists.placeholder', 'No list')}
            onChange={setListIds}
            onClear={() => setListIds([])}
          >
            {(lists.data?.data ?? []).map((list) => (
              <MultiSelectOption key={list.documentId} value={list.documentId}>
                {list.name}
              </MultiSelectOption>
            ))}
          </MultiSelect>
          <Field.Hint />
        </Field.Root>
        <Checkbox checked={updateExisting} onCheckedChange={(checked: boolean | 'indeterminate') => setUpdateExisting(checked === true)}>
          {text('import.updateExisting', 'Update subscribers who already exist (name, status, attributes)')}
        </Checkbox>
        {requestError && <ErrorBox title={text('import.failed', 'The file could not be imported')} message={requestError} />}
        {report && !importSubscribers.isPending && <ImportReport report={report} />}
      </Flex>
    </ModalDialog>
  );
}

/** The import's counts and, when rows were refused, a table of their errors. */
function ImportReport({ report }: { report: SubscriberImportReport }) {
  const { formatMessage, formatNumber } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const columns: Column<ImportRowError>[] = [
    { key: 'row', header: text('import.errors.row', 'Row'), render: (error) => <CellText>{error.row}</CellText> },
    { key: 'field', header: text('import.errors.field', 'Column'), render: (error) => <CellText>{error.field}</CellText> },
    { key: 'message', header: text('import.errors.message', 'Problem'), render: (error) => <CellText>{error.message}</CellText> },
  ];

  return (
    <TestOutcome
      ok={report.invalid === 0}
      headline={
        report.invalid === 0
          ? text('import.done', 'Import finished')
          : formatMessage(
              {
                id: getTranslation('import.doneWithErrors'),
                defaultMessage: 'Import finished; {count, plural, one {# row was} other {# rows were}} refused',
              },
              { count: report.invalid },
            )
      }
      message={formatMessage(
        {
          id: getTranslation('import.summary'),
          defaultMessage: '{rows} rows read: {created} created, {updated} updated, {skipped} skipped.',
        },
        {
          rows: formatNumber(report.rows),
          created: formatNumber(report.created),
          updated: formatNumber(report.updated),
          skipped: formatNumber(report.skipped),
        },
      )}
      details={[
        { label: text('import.listed', 'Added to the lists'), value: formatNumber(report.listed) },
        { label: text('import.time', 'Time taken'), value: `${formatNumber(report.elapsedMs / 1000, { maximumFractionDigits: 1 })} s` },
      ]}
    >
      {report.errors.length > 0 && (
        <Flex direction="column" alignItems="stretch" gap={2}>
          <Typography variant="sigma" textColor="neutral600">
            {formatMessage(
              { id: getTranslation('import.errors.title'), defaultMessage: 'Errors ({count})' },
              { count: formatNumber(report.errorCount) },
            )}
          </Typography>
          <Box maxHeight="30rem" overflow="auto">
            <DataTable columns={columns} rows={report.errors} rowKey={(error, index) => `${error.row}:${error.field}:${index}`} />
          </Box>
          {report.errorsTruncated && (
            <Typography variant="pi" textColor="neutral600">
              {formatMessage(
                { id: getTranslation('import.errors.truncated'), defaultMessage: 'Only the first {shown} errors are listed.' },
                { shown: formatNumber(report.errors.length) },
              )}
            </Typography>
          )}
        </Flex>
      )}
    </TestOutcome>
  );
}
