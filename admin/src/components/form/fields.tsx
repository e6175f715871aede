import * as React from 'react';

import {
  DatePicker,
  Field,
  NumberInput,
  SingleSelect,
  SingleSelectOption,
  TextInput,
  Textarea,
  Toggle,
  Typography,
} from '@strapi/design-system';
import { useIntl } from 'react-intl';

import { fromIsoDay, toIsoDay } from '../../utils/dates';
import { getTranslation } from '../../utils/getTranslation';

/**
 * Thin wrappers around the design system's Field parts: each renders a label (tied to its input,
 * so the input can be found by its label), the input, a hint and an error message.
 */
interface BaseFieldProps {
  /** Form field key; also the key of its error (`port`, `warmup.startDate`). */
  name: string;
  label: string;
  hint?: React.ReactNode;
  error?: string;
  required?: boolean;
  disabled?: boolean;
}

function FieldFrame({
  name,
  label,
  hint,
  error,
  required,
  children,
}: Omit<BaseFieldProps, 'disabled'> & { children: React.ReactNode }) {
  // The required mark sits beside the <label>, not inside it (as Field.Root's `required` would put
  // it), so the label's text is exactly the field's name: tests find inputs by label text.
  // The inputs themselves get `required`, which sets aria-required.
  const requiredMark = required ? (
    <Typography aria-hidden textColor="danger600" lineHeight="1em">
      *
    </Typography>
  ) : undefined;

  return (
    <Field.Root name={name} hint={hint} error={error}>
      <Field.Label action={requiredMark}>{label}</Field.Label>
      {children}
      <Field.Hint />
      <Field.Error />
    </Field.Root>
  );
}

interface TextFieldProps extends BaseFieldProps {
  value: string;
  onChange: (value: string) => void;
  type?: 'text' | 'email' | 'password' | 'date';
  placeholder?: string;
  autoComplete?: string;
  inputMode?: React.HTMLAttributes<HTMLInputElement>['inputMode'];
}

export function TextField({
  value,
  onChange,
  type = 'text',
  placeholder,
  autoComplete,
  inputMode,
  disabled,
  ...frame
}: TextFieldProps) {
  return (
    <FieldFrame {...frame}>
      <TextInput
        required={frame.required}
        type={type}
        value={value}
        placeholder={placeholder}
        autoComplete={autoComplete}
        inputMode={inputMode}
        disabled={disabled}
        onChange={(event: React.ChangeEvent<HTMLInputElement>) => onChange(event.target.value)}
      />
    </FieldFrame>
  );
}

interface TextareaFieldProps extends BaseFieldProps {
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
}

export function TextareaField({ value, onChange, placeholder, disabled, ...frame }: TextareaFieldProps) {
  return (
    <FieldFrame {...frame}>
      <Textarea
        required={frame.required}
        value={value}
        placeholder={placeholder}
        disabled={disabled}
        onChange={(event: React.ChangeEvent<HTMLTextAreaElement>) => onChange(event.target.value)}
      />
    </FieldFrame>
  );
}

interface NumberFieldProps extends BaseFieldProps {
  /** undefined = empty input. */
  value: number | undefined;
  onChange: (value: number | undefined) => void;
  placeholder?: string;
  step?: number;
}

export function NumberField({ value, onChange, placeholder, step, disabled, ...frame }: NumberFieldProps) {
  return (
    <FieldFrame {...frame}>
      <NumberInput
        required={frame.required}
        value={value}
        onValueChange={onChange}
        placeholder={placeholder}
        step={step}
        disabled={disabled}
      />
    </FieldFrame>
  );
}

export interface SelectOption {
  value: string;
  label: string;
}

interface SelectFieldProps extends BaseFieldProps {
  value: string;
  onChange: (value: string) => void;
  options: SelectOption[];
  placeholder?: string;
}

export function SelectField({ value, onChange, options, placeholder, disabled, ...frame }: SelectFieldProps) {
  return (
    <FieldFrame {...frame}>
      <SingleSelect
        required={frame.required}
        value={value}
        placeholder={placeholder}
        disabled={disabled}
        onChange={(selected: string | number) => onChange(String(selected))}
      >
        {options.map((option) => (
          <SingleSelectOption key={option.value} value={option.value}>
            {option.label}
          </SingleSelectOption>
        ))}
      </SingleSelect>
    </FieldFrame>
  );
}

interface ToggleFieldProps extends BaseFieldProps {
  checked: boolean;
  onChange: (checked: boolean) => void;
  onLabel?: string;
  offLabel?: string;
}

export function ToggleField({ checked, onChange, onLabel, offLabel, disabled, ...frame }: ToggleFieldProps) {
  const { formatMessage } = useIntl();
  return (
    <FieldFrame {...frame}>
      <Toggle
        checked={checked}
        disabled={disabled}
        onLabel={onLabel ?? formatMessage({ id: getTranslation('form.toggle.on'), defaultMessage: 'On' })}
        offLabel={offLabel ?? formatMessage({ id: getTranslation('form.toggle.off'), defaultMessage: 'Off' })}
        onChange={(event: React.ChangeEvent<HTMLInputElement>) => onChange(event.target.checked)}
      />
    </FieldFrame>
  );
}

interface DateFieldProps extends BaseFieldProps {
  /** 'YYYY-MM-DD', or '' for no date. */
  value: string;
  onChange: (value: string) => void;
}

/** A calendar date picker whose value is a 'YYYY-MM-DD' string ('' when cleared). */
export function DateField({ value, onChange, disabled, ...frame }: DateFieldProps) {
  const { formatMessage } = useIntl();
  return (
    <FieldFrame {...frame}>
      <DatePicker
        required={frame.required}
        value={fromIsoDay(value)}
        disabled={disabled}
        clearLabel={formatMessage({ id: getTranslation('form.date.clear'), defaultMessage: 'Clear date' })}
        onClear={() => onChange('')}
        onChange={(date: Date | undefined) => onChange(date ? toIsoDay(date) : '')}
      />
    </FieldFrame>
  );
}
