import * as React from 'react';

import { Button, Flex } from '@strapi/design-system';
import { Mail, Play } from '@strapi/icons';
import { Page } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useParams } from 'react-router-dom';

import type { SmtpGroup } from '../../../../shared/contracts/groups';
import { createServerSchema, updateServerSchema, type SmtpServer } from '../../../../shared/contracts/servers';
import { toApiError } from '../../api/errors';
import { useAllGroups, useDeleteServer, useSaveServer, useServer, useTestConnection } from '../../api/queries';
import { EditPageLayout } from '../../components/EditPageLayout';
import { useEditorActions } from '../../hooks/useEditorActions';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';
import { validateWith } from '../../utils/validate';
import { ServerFormFields } from './ServerFormFields';
import { ServerLiveStatus } from './ServerLiveStatus';
import { destinationLimitsProblem, missingRequiredNumbers, toFormValues, toServerInput, type ServerFormValues } from './serverFormValues';
import { TestConnectionDialog } from './TestConnectionDialog';
import { TestEmailDialog } from './TestEmailDialog';

/** Create (`servers/new`) or edit (`servers/:id`) one SMTP server. */
export function ServerEditPage() {
  const { id } = useParams<{ id: string }>();
  const { formatMessage } = useIntl();
  const permissions = usePluginPermissions();
  const server = useServer(id);
  const groups = useAllGroups();

  if (permissions.isLoading || (id && server.isPending) || groups.isPending) {
    return <Page.Loading />;
  }
  if (id && server.isError) {
    return (
      <Page.Error
        content={
          toApiError(server.error).status === 404
            ? formatMessage({ id: getTranslation('server.notFound'), defaultMessage: 'This server does not exist any more.' })
            : toApiError(server.error).message
        }
      />
    );
  }

  const savedServer = server.data?.data;
  return (
    <ServerEditor
      // A new key resets the form to the saved values after each save (and after "new" becomes an id).
      key={savedServer ? `${savedServer.documentId}:${savedServer.updatedAt}` : 'new'}
      server={savedServer}
      // A failed group list only empties the group select; the rest of the form still works.
      groups={groups.data?.data ?? []}
      canManage={permissions.canManage}
      canTest={permissions.canTest}
    />
  );
}

/** Where each form value's errors are reported by the API (most match the form key). */
const ERROR_KEY_OF: Partial<Record<keyof ServerFormValues, string>> = {
  removePassword: 'password',
  warmupEnabled: 'warmup.enabled',
  warmupStartDate: 'warmup.startDate',
  warmupCustomSteps: 'warmup.customSteps',
  imapHost: 'imap.host',
  imapPort: 'imap.port',
  imapSecurity: 'imap.security',
  imapUsername: 'imap.username',
  imapPassword: 'imap.password',
  imapMailbox: 'imap.mailbox',
  imapMoveTo: 'imap.processed',
  imapFlag: 'imap.processed',
};

/** Removes the error of one field, including errors inside it (`warmup.customSteps.2`). */
const withoutErrorsOf = (errors: Record<string, string>, key: string) =>
  Object.fromEntries(Object.entries(errors).filter(([path]) => path !== key && !path.startsWith(`${key}.`)));

type OpenDialog = 'test-connection' | 'test-email' | null;

interface ServerEditorProps {
  server?: SmtpServer;
  groups: SmtpGroup[];
  canManage: boolean;
  canTest: boolean;
}

function ServerEditor({ server, groups, canManage, canTest }: ServerEditorProps) {
  const { formatMessage } = useIntl();
  const { saveRecord, deleteRecord } = useEditorActions();
  const [values, setValues] = React.useState(() => toFormValues(server, groups.find((group) => group.isDefault)?.documentId));
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const [openDialog, setOpenDialog] = React.useState<OpenDialog>(null);
  const save = useSaveServer(server?.documentId);
  const deleteServer = useDeleteServer();
  const testConnection = useTestConnection(server?.documentId ?? '');

  const changeValue = React.useCallback(<K extends keyof ServerFormValues>(key: K, value: ServerFormValues[K]) => {
    setValues((previous) => ({ ...previous, [key]: value }));
    setErrors((previous) => withoutErrorsOf(previous, ERROR_KEY_OF[key] ?? key));
  }, []);

  const submit = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!canManage) {
      return;
    }

    // Check with the same schema as the server first, so most mistakes show without a round trip.
    const input = toServerInput(values);
    await saveRecord({
      problems: {
        ...validateWith(server ? updateServerSchema : createServerSchema, input),
        ...missingRequiredNumbers(
          values,
          formatMessage({ id: getTranslation('form.required'), defaultMessage: 'is required' }),
        ),
        ...destinationLimitsProblem(values),
      },
      setErrors,
      save: () => save.mutateAsync(input),
      savedMessage: formatMessage({ id: getTranslation('server.saved'), defaultMessage: 'Server saved' }),
      createdPath: server ? undefined : (saved) => paths.server(saved.data.documentId),
    });
  };

  const confirmDelete = async () => {
    if (!server) {
      return;
    }
    await deleteRecord({
      remove: () => deleteServer.mutateAsync(server.documentId),
      deletedMessage: formatMessage({ id: getTranslation('server.deleted'), defaultMessage: 'Server deleted' }),
      listPath: paths.servers,
    });
  };

  const runConnectionTest = () => {
    setOpenDialog('test-connection');
    testConnection.mutate();
  };

  const title =
    server?.name ?? formatMessage({ id: getTranslation('server.new.title'), defaultMessage: 'New SMTP server' });

  return (
    <EditPageLayout
      title={title}
      subtitle={server ? `${server.host}:${server.port}` : undefined}
      backTo={paths.servers}
      onSubmit={submit}
      actions={
        server &&
        canTest && (
          <>
            <Button type="button" variant="secondary" startIcon={<Play />} onClick={runConnectionTest}>
              {formatMessage({ id: getTranslation('server.testConnection'), defaultMessage: 'Test connection' })}
            </Button>
            <Button type="button" variant="secondary" startIcon={<Mail />} onClick={() => setOpenDialog('test-email')}>
              {formatMessage({ id: getTranslation('server.sendTestEmail'), defaultMessage: 'Send test email' })}
            </Button>
          </>
        )
      }
      deletion={
        server && canManage
          ? {
              confirmText: formatMessage(
                {
                  id: getTranslation('server.delete.confirm'),
                  defaultMessage: 'Delete the server “{name}”? Messages will no longer be routed through it. A server that a routing rule sends to cannot be deleted: change the rule first.',
                },
                { name: server.name },
              ),
              onConfirm: confirmDelete,
              loading: deleteServer.isPending,
            }
          : undefined
      }
      canSave={canManage}
      saving={save.isPending}
      overlay={
        // Dialogs sit outside the form: their own buttons must not submit it.
        <>
          {server && openDialog === 'test-connection' && (
            <TestConnectionDialog
              serverName={server.name}
              onClose={() => setOpenDialog(null)}
              onRunAgain={() => testConnection.mutate()}
              isRunning={testConnection.isPending}
              result={testConnection.data?.data}
              requestError={testConnection.isError ? toApiError(testConnection.error) : undefined}
            />
          )}
          {server && openDialog === 'test-email' && (
            <TestEmailDialog
              serverDocumentId={server.documentId}
              serverName={server.name}
              onClose={() => setOpenDialog(null)}
            />
          )}
        </>
      }
    >
      <Flex direction="column" alignItems="stretch" gap={6}>
        {server && <ServerLiveStatus server={server} canManage={canManage} />}
        <ServerFormFields
          values={values}
          onChange={changeValue}
          errors={errors}
          server={server}
          groups={groups}
          readOnly={!canManage}
        />
      </Flex>
    </EditPageLayout>
  );
}
