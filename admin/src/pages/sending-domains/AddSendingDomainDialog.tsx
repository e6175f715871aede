import * as React from 'react';

import { Button, Flex } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import {
  createSendingDomainSchema,
  type CreateSendingDomainInput,
  type SendingDomain,
} from '../../../../shared/contracts/sending-domains';
import { errorForField } from '../../api/errors';
import { useCreateSendingDomain } from '../../api/sending-domains';
import { SelectField, TextareaField, TextField } from '../../components/form/fields';
import { ModalDialog } from '../../components/ModalDialog';
import { useDialogActions } from '../../hooks/useDialogActions';
import { getTranslation } from '../../utils/getTranslation';

type KeyChoice = 'generate' | 'import';

interface AddSendingDomainDialogProps {
  onClose: () => void;
  /** The domain was registered: the page shows its DNS records next. */
  onCreated: (domain: SendingDomain) => void;
}

/** Registers a sending domain: its name, a selector, and a key generated here or pasted (PEM). */
export function AddSendingDomainDialog({ onClose, onCreated }: AddSendingDomainDialogProps) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const create = useCreateSendingDomain();
  const { errors, setErrors, submit } = useDialogActions(onClose);
  const [domain, setDomain] = React.useState('');
  // Selectors name a key; a dated one leaves room for the next key beside it.
  const [selector, setSelector] = React.useState(() => `s${new Date().getFullYear()}`);
  const [keyChoice, setKeyChoice] = React.useState<KeyChoice>('generate');
  const [privateKey, setPrivateKey] = React.useState('');
  const edited =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      setErrors({});
    };

  const onSubmit = (event: React.FormEvent<HTMLFormElement>) => {
    const input: CreateSendingDomainInput =
      keyChoice === 'generate' ? { domain, selector, generate: true } : { domain, selector, privateKey };
    return submit(event, {
      schema: createSendingDomainSchema,
      input,
      save: async () => onCreated((await create.mutateAsync(input)).data),
      savedMessage: text('sendingDomain.saved', 'Sending domain added: publish its DNS records'),
    });
  };

  return (
    <ModalDialog
      title={text('sendingDomain.new.title', 'Add a sending domain')}
      onClose={onClose}
      onSubmit={onSubmit}
      actions={
        <Button type="submit" loading={create.isPending}>
          {text('sendingDomain.add', 'Add domain')}
        </Button>
      }
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <TextField
          name="domain"
          label={text('sendingDomain.field.domain', 'Domain')}
          hint={text('sendingDomain.field.domain.hint', 'The domain of the From addresses, e.g. example.com.')}
          placeholder="example.com"
          required
          value={domain}
          onChange={edited(setDomain)}
          error={errorForField(errors, 'domain')}
        />
        <TextField
          name="selector"
          label={text('sendingDomain.field.selector', 'Selector')}
          hint={text(
            'sendingDomain.field.selector.hint',
            'Names the key in DNS: <selector>._domainkey.<domain>. Use a new one for each new key.'
          )}
          required
          value={selector}
          onChange={edited(setSelector)}
          error={errorForField(errors, 'selector')}
        />
        <SelectField
          name="keyChoice"
          label={text('sendingDomain.field.key', 'DKIM key')}
          value={keyChoice}
          onChange={(value) => edited(setKeyChoice)(value as KeyChoice)}
          options={[
            { value: 'generate', label: text('sendingDomain.key.generate', 'Generate a new 2048-bit RSA key') },
            { value: 'import', label: text('sendingDomain.key.import', 'Import a private key (PEM)') },
          ]}
          error={errorForField(errors, 'generate')}
        />
        {keyChoice === 'import' && (
          <TextareaField
            name="privateKey"
            label={text('sendingDomain.field.privateKey', 'Private key')}
            hint={text(
              'sendingDomain.field.privateKey.hint',
              'An unencrypted RSA key, -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----. It is stored encrypted and never shown again.'
            )}
            placeholder="-----BEGIN PRIVATE KEY-----"
            required
            value={privateKey}
            onChange={edited(setPrivateKey)}
            error={errorForField(errors, 'privateKey')}
          />
        )}
      </Flex>
    </ModalDialog>
  );
}
