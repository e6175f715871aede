import { useSearchParams } from 'react-router-dom';

/**
 * A list page's filter selects kept in the URL (`?status=bounced&list=abc`), so a reload or a shared
 * link shows the same list. Each key is checked against `allowed` (a list of values, or `true` for
 * any non-empty value); anything else in the URL is ignored. Changing a filter goes back to page 1.
 */
export function useUrlFilters<K extends string>(allowed: Record<K, readonly string[] | true>) {
  const [searchParams, setSearchParams] = useSearchParams();

  const filters = Object.fromEntries(
    (Object.keys(allowed) as K[]).map((key) => {
      const raw = searchParams.get(key) ?? '';
      const values = allowed[key];
      return [key, values === true || values.includes(raw) ? raw : ''];
    }),
  ) as Record<K, string>;

  const setFilter = (key: K, value: string) => {
    const next = new URLSearchParams(searchParams);
    if (value) {
      next.set(key, value);
    } else {
      next.delete(key);
    }
    next.delete('page');
    setSearchParams(next, { replace: true });
  };

  return { filters, setFilter, hasFilters: Object.values(filters).some(Boolean) };
}
