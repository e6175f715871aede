import * as React from 'react';

import { Table, Tbody, Td, Th, Thead, Tr, Typography } from '@strapi/design-system';

/** One column of a {@link DataTable}: its (translated) header and how a row fills its cell. */
export interface Column<T> {
  /** Unique among the table's columns. */
  key: string;
  header: string;
  render: (row: T) => React.ReactNode;
}

interface DataTableProps<T> {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T, index: number) => React.Key;
  /** Makes each row clickable (pointer cursor). */
  onRowClick?: (row: T) => void;
}

/** A design-system table: a header row from the columns, then one row per item. */
export function DataTable<T>({ columns, rows, rowKey, onRowClick }: DataTableProps<T>) {
  return (
    <Table colCount={columns.length} rowCount={rows.length + 1}>
      <Thead>
        <Tr>
          {columns.map((column) => (
            <Th key={column.key}>
              <Typography variant="sigma" textColor="neutral600">
                {column.header}
              </Typography>
            </Th>
          ))}
        </Tr>
      </Thead>
      <Tbody>
        {rows.map((row, index) => (
          <Tr
            key={rowKey(row, index)}
            {...(onRowClick ? { onClick: () => onRowClick(row), style: { cursor: 'pointer' } } : {})}
          >
            {columns.map((column) => (
              <Td key={column.key}>{column.render(row)}</Td>
            ))}
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}

/** Plain cell text in the table's colour. */
export function CellText({ children }: { children: React.ReactNode }) {
  return <Typography textColor="neutral800">{children}</Typography>;
}
