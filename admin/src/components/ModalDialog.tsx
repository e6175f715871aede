import * as React from 'react';

import { Button, Flex, Modal, Status, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import { getTranslation } from '../utils/getTranslation';
import { DetailList, type Detail } from './DetailList';

interface ModalDialogProps {
  title: React.ReactNode;
  onClose: () => void;
  /** Wraps the dialog in a form submitted by a submit button among `actions`. */
  onSubmit?: (event: React.FormEvent<HTMLFormElement>) => void;
  /** The dismiss button's text; "Close" unless told. */
  closeText?: string;
  /** Footer buttons after the dismiss button. */
  actions?: React.ReactNode;
  children: React.ReactNode;
}

/** An open modal: title with close button, body, and a footer with a dismiss button and the dialog's actions. */
export function ModalDialog({ title, onClose, onSubmit, closeText, actions, children }: ModalDialogProps) {
  const { formatMessage } = useIntl();
  const parts = (
    <>
      <Modal.Header closeLabel={formatMessage({ id: getTranslation('actions.closeDialog'), defaultMessage: 'Close dialog' })}>
        <Modal.Title>{title}</Modal.Title>
      </Modal.Header>
      <Modal.Body>{children}</Modal.Body>
      <Modal.Footer>
        <Modal.Close>
          <Button type="button" variant="tertiary">
            {closeText ?? formatMessage({ id: getTranslation('actions.close'), defaultMessage: 'Close' })}
          </Button>
        </Modal.Close>
        {actions}
      </Modal.Footer>
    </>
  );

  return (
    <Modal.Root open onOpenChange={(open: boolean) => !open && onClose()}>
      <Modal.Content>
        {onSubmit ? (
          <form onSubmit={onSubmit} noValidate>
            {parts}
          </form>
        ) : (
          parts
        )}
      </Modal.Content>
    </Modal.Root>
  );
}

interface TestOutcomeProps {
  ok: boolean;
  headline: string;
  message: string;
  details: Detail[];
  /** Shown under the details. */
  children?: React.ReactNode;
}

/** The outcome of a test run: a green or red headline, the message, then the details. */
export function TestOutcome({ ok, headline, message, details, children }: TestOutcomeProps) {
  return (
    <Flex direction="column" alignItems="stretch" gap={4}>
      <Status variant={ok ? 'success' : 'danger'} role="status">
        <Typography fontWeight="bold">{headline}</Typography>
      </Status>
      <Typography>{message}</Typography>
      <DetailList details={details} />
      {children}
    </Flex>
  );
}
