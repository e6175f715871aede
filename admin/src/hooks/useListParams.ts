import { useSearchParams } from 'react-router-dom';

export const DEFAULT_PAGE_SIZE = 10;

const positiveInt = (raw: string | null, fallback: number) => {
  const value = Number(raw);
  return Number.isInteger(value) && value > 0 ? value : fallback;
};

/**
 * A list page's page, page size and search text, kept in the URL (`?page=2&pageSize=10&q=eu`) so
 * a reload or a shared link shows the same list. Strapi's Pagination component writes `page` and
 * `pageSize`; the SearchBox writes `q`.
 */
export function useListParams() {
  const [searchParams] = useSearchParams();
  return {
    page: positiveInt(searchParams.get('page'), 1),
    pageSize: Math.min(positiveInt(searchParams.get('pageSize'), DEFAULT_PAGE_SIZE), 100),
    q: searchParams.get('q') ?? '',
  };
}
