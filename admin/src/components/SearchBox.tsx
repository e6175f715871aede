import * as React from 'react';

import { SearchForm, Searchbar } from '@strapi/design-system';
import { useDebounce } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useSearchParams } from 'react-router-dom';

import { getTranslation } from '../utils/getTranslation';

interface SearchBoxProps {
  /** Accessible name of the search input, e.g. "Search servers". */
  label: string;
  placeholder?: string;
  /** The URL parameter it writes; `q` unless told (the delivery log searches `recipient`). */
  param?: string;
}

const SEARCH_DELAY_MS = 300;

/**
 * A search input that writes `?q=` (or another `param`) into the URL a moment after the user stops typing (or at once on
 * Enter), and goes back to page 1 because the old page number means nothing for new results.
 */
export function SearchBox({ label, placeholder, param = 'q' }: SearchBoxProps) {
  const { formatMessage } = useIntl();
  const [searchParams, setSearchParams] = useSearchParams();
  const currentQuery = searchParams.get(param) ?? '';
  const [text, setText] = React.useState(currentQuery);
  const debouncedText = useDebounce(text, SEARCH_DELAY_MS);

  const applySearch = React.useCallback(
    (value: string) => {
      const trimmed = value.trim();
      if (trimmed === currentQuery) {
        return;
      }
      const next = new URLSearchParams(searchParams);
      if (trimmed) {
        next.set(param, trimmed);
      } else {
        next.delete(param);
      }
      next.delete('page');
      setSearchParams(next, { replace: true });
    },
    [currentQuery, param, searchParams, setSearchParams],
  );

  React.useEffect(() => {
    applySearch(debouncedText);
  }, [debouncedText, applySearch]);

  return (
    <SearchForm
      onSubmit={(event: React.FormEvent<HTMLFormElement>) => {
        event.preventDefault();
        applySearch(text);
      }}
    >
      <Searchbar
        name="search"
        value={text}
        placeholder={placeholder}
        clearLabel={formatMessage({ id: getTranslation('search.clear'), defaultMessage: 'Clear search' })}
        onChange={(event: React.ChangeEvent<HTMLInputElement>) => setText(event.target.value)}
        onClear={() => {
          setText('');
          applySearch('');
        }}
      >
        {label}
      </Searchbar>
    </SearchForm>
  );
}
