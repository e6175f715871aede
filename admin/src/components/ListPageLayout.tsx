import * as React from 'react';

import { Box, EmptyStateLayout, Flex } from '@strapi/design-system';
import { Layouts, Page } from '@strapi/strapi/admin';

import type { Pagination } from '../../../shared/contracts/common';
import { toApiError } from '../api/errors';
import { ContentLoader } from './ContentLoader';
import { ErrorBox } from './ErrorBox';
import { ListPagination } from './ListPagination';
import { SearchBox } from './SearchBox';

interface ListPageLayoutProps {
  title: string;
  subtitle?: string;
  primaryAction?: React.ReactNode;
  search: {
    label: string;
    placeholder: string;
    /** The URL parameter the search writes (SearchBox's default when absent). */
    param?: string;
  };
  /** The page's content (usually a {@link ListResult}). */
  children: React.ReactNode;
  /** Rendered after the content, outside the layout (dialogs). */
  overlay?: React.ReactNode;
}

/** A list page: header with title and primary action, a search box, then the content. */
export function ListPageLayout({ title, subtitle, primaryAction, search, children, overlay }: ListPageLayoutProps) {
  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header title={title} subtitle={subtitle} primaryAction={primaryAction} />
      <Layouts.Action
        startActions={<SearchBox param={search.param} label={search.label} placeholder={search.placeholder} />}
      />
      <Layouts.Content>{children}</Layouts.Content>
      {overlay}
    </Page.Main>
  );
}

/** The part of a list query's state that {@link ListResult} reads. */
export interface ListQuery<T> {
  isPending: boolean;
  isError: boolean;
  error: unknown;
  data?: { data: T[]; meta: { pagination: Pagination } };
}

interface ListResultProps<T> {
  query: ListQuery<T>;
  errorTitle: string;
  emptyText: string;
  /** Shown above the rows (e.g. a live status warning). */
  notice?: React.ReactNode;
  /** Renders a non-empty page of rows (usually a DataTable); pagination follows it. */
  children: (rows: T[]) => React.ReactNode;
}

/** A page of a list: a loader, the load error, an empty state, or the rows with pagination. */
export function ListResult<T>({ query, errorTitle, emptyText, notice, children }: ListResultProps<T>) {
  if (query.isPending) {
    return <ContentLoader />;
  }
  if (query.isError) {
    return <ErrorBox title={errorTitle} message={toApiError(query.error).message} />;
  }
  if (!query.data) {
    return null;
  }
  if (query.data.data.length === 0) {
    return <EmptyStateLayout content={emptyText} />;
  }
  const box = (
    <Box>
      {children(query.data.data)}
      <ListPagination pagination={query.data.meta.pagination} />
    </Box>
  );
  return notice === undefined ? (
    box
  ) : (
    <Flex direction="column" alignItems="stretch" gap={4}>
      {notice}
      {box}
    </Flex>
  );
}
