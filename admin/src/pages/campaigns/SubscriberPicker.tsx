import * as React from 'react';

import { Combobox, ComboboxOption, Field } from '@strapi/design-system';
import { useDebounce } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

import { useSubscriberList } from '../../api/campaign-queries';
import { getTranslation } from '../../utils/getTranslation';

const SEARCH_DELAY_MS = 300;
const CHOICES = 10;

interface SubscriberPickerProps {
  name: string;
  label: string;
  hint?: string;
  /** A subscriber's documentId, or '' for none. */
  value: string;
  onChange: (documentId: string) => void;
  disabled?: boolean;
}

/** Chooses one subscriber by typing part of their address; the choices come from the API as one types. */
export function SubscriberPicker({ name, label, hint, value, onChange, disabled }: SubscriberPickerProps) {
  const { formatMessage } = useIntl();
  const [search, setSearch] = React.useState('');
  const debouncedSearch = useDebounce(search, SEARCH_DELAY_MS);
  const subscribers = useSubscriberList({ page: 1, pageSize: CHOICES, q: debouncedSearch || undefined, sort: 'email:asc' });
  // Keep the chosen subscriber's address even when a new search no longer lists them.
  const [chosenEmail, setChosenEmail] = React.useState<Record<string, string>>({});
  const rows = subscribers.data?.data ?? [];
  const options = rows.map((subscriber) => ({ value: subscriber.documentId, label: subscriber.email }));
  if (value && !options.some((option) => option.value === value)) {
    options.push({ value, label: chosenEmail[value] ?? value });
  }

  return (
    <Field.Root name={name} hint={hint}>
      <Field.Label>{label}</Field.Label>
      <Combobox
        value={value || undefined}
        disabled={disabled}
        loading={subscribers.isFetching}
        placeholder={formatMessage({
          id: getTranslation('subscriberPicker.placeholder'),
          defaultMessage: 'Type an address',
        })}
        noOptionsMessage={() =>
          formatMessage({ id: getTranslation('subscriberPicker.none'), defaultMessage: 'No subscriber matches' })
        }
        onInputChange={(event: React.ChangeEvent<HTMLInputElement>) => setSearch(event.target.value)}
        onChange={(selected?: string) => {
          const documentId = selected ?? '';
          const email = rows.find((subscriber) => subscriber.documentId === documentId)?.email;
          if (email) {
            setChosenEmail((previous) => ({ ...previous, [documentId]: email }));
          }
          onChange(documentId);
        }}
        onClear={() => {
          setSearch('');
          onChange('');
        }}
      >
        {options.map((option) => (
          <ComboboxOption key={option.value} value={option.value}>
            {option.label}
          </ComboboxOption>
        ))}
      </Combobox>
      <Field.Hint />
    </Field.Root>
  );
}
