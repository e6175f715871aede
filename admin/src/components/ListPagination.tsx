import { Pagination } from '@strapi/strapi/admin';

import type { Pagination as PaginationMeta } from '../../../shared/contracts/common';
import { DEFAULT_PAGE_SIZE } from '../hooks/useListParams';

/** Page size choice and page links under a list; both read and write `?page=&pageSize=`. */
export function ListPagination({ pagination }: { pagination: PaginationMeta }) {
  return (
    <Pagination.Root
      pageCount={pagination.pageCount}
      total={pagination.total}
      defaultPageSize={DEFAULT_PAGE_SIZE}
    >
      <Pagination.PageSize />
      <Pagination.Links />
    </Pagination.Root>
  );
}
