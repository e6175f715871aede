import * as React from 'react';

import { Button, Flex } from '@strapi/design-system';
import { Check } from '@strapi/icons';
import { BackButton, Layouts, Page } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

import { getTranslation } from '../utils/getTranslation';
import { DeleteButton } from './DeleteButton';

interface EditPageLayoutProps {
  title: string;
  subtitle?: string;
  /** Where the back link goes when there is no history to go back to. */
  backTo: string;
  onSubmit: (event: React.FormEvent<HTMLFormElement>) => void;
  /** Header buttons before Delete and Save. */
  actions?: React.ReactNode;
  /** Shows a Delete button (with confirmation) when given. */
  deletion?: { confirmText: string; onConfirm: () => Promise<void> | void; loading: boolean };
  /** Shows the Save button. */
  canSave: boolean;
  saving: boolean;
  /** The form's content. */
  children: React.ReactNode;
  /** Rendered after the form, outside it (dialogs whose buttons must not submit it). */
  overlay?: React.ReactNode;
}

/** An edit page: a form whose header has a back link and the Delete and Save buttons. */
export function EditPageLayout({
  title,
  subtitle,
  backTo,
  onSubmit,
  actions,
  deletion,
  canSave,
  saving,
  children,
  overlay,
}: EditPageLayoutProps) {
  const { formatMessage } = useIntl();

  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <form onSubmit={onSubmit} noValidate>
        <Layouts.Header
          title={title}
          subtitle={subtitle}
          navigationAction={<BackButton fallback={backTo} />}
          primaryAction={
            <Flex gap={2} wrap="wrap">
              {actions}
              {deletion && (
                <DeleteButton confirmText={deletion.confirmText} onConfirm={deletion.onConfirm} loading={deletion.loading} />
              )}
              {canSave && (
                <Button type="submit" startIcon={<Check />} loading={saving}>
                  {formatMessage({ id: getTranslation('actions.save'), defaultMessage: 'Save' })}
                </Button>
              )}
            </Flex>
          }
        />
        <Layouts.Content>{children}</Layouts.Content>
      </form>
      {overlay}
    </Page.Main>
  );
}
