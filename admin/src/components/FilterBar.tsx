import * as React from 'react';

import { Box, Grid } from '@strapi/design-system';

import { SelectField, type SelectOption } from './form/fields';

/** The select value meaning "no filter" (the design system's select cannot hold an empty value). */
const ANY = 'any';

export interface FilterSelect {
  /** The URL parameter it sets. */
  name: string;
  label: string;
  /** The "no filter" choice, e.g. "All statuses". */
  anyLabel: string;
  options: SelectOption[];
  /** '' = no filter. */
  value: string;
}

interface FilterBarProps {
  selects: FilterSelect[];
  onChange: (name: string, value: string) => void;
  /** More cells after the selects (buttons). */
  children?: React.ReactNode;
}

/** A white bar of filter selects above a list; each has an "All ..." choice that clears it. */
export function FilterBar({ selects, onChange, children }: FilterBarProps) {
  return (
    <Box background="neutral0" hasRadius shadow="tableShadow" padding={4}>
      <Grid.Root gap={4}>
        {selects.map((select) => {
          // A value from a link may be beyond the loaded choices (e.g. a list past the first page): keep it.
          const known = select.value === '' || select.options.some((option) => option.value === select.value);
          const options = [
            { value: ANY, label: select.anyLabel },
            ...select.options,
            ...(known ? [] : [{ value: select.value, label: select.value }]),
          ];
          return (
            <Grid.Item key={select.name} col={3} m={6} s={12} direction="column" alignItems="stretch">
              <SelectField
                name={select.name}
                label={select.label}
                options={options}
                value={select.value || ANY}
                onChange={(value) => onChange(select.name, value === ANY ? '' : value)}
              />
            </Grid.Item>
          );
        })}
        {children && (
          <Grid.Item col={3} m={6} s={12} direction="column" alignItems="stretch" justifyContent="flex-end">
            {children}
          </Grid.Item>
        )}
      </Grid.Root>
    </Box>
  );
}
