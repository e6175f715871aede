import { Readable } from 'node:stream';

import type { Core } from '@strapi/strapi';
import { parse, type CsvError, type Options as CsvOptions } from 'csv-parse';
import { stringify } from 'csv-stringify';
import { z } from 'zod';

import {
  IMPORT_ERROR_LIMIT,
  MAX_ATTRIBUTES,
  SUBSCRIBER_STATUSES,
  importSubscribersOptionsSchema,
  type AttributeValue,
  type ImportRowError,
  type SubscriberImportReport,
  type SubscriberStatus,
} from '../../../shared/contracts/subscribers';
import { normaliseAddress } from '../engine/address';
import { createSubscriberRepository, type NewSubscriberRow, type SubscriberRow } from '../repositories/subscribers';
import { fieldError, parseInput } from '../utils/validation';

// ---------------------------------------------------------------------------------------------------
// Pure parts (unit-tested): header mapping, one row's validation, spreadsheet-formula escaping.

/** Columns with a meaning of their own; any other column is a custom attribute. */
const FIELD_COLUMNS = ['email', 'name', 'status', 'consentat'] as const;
/** Columns the export writes that an import reads past (they are derived or set by the server). */
const IGNORED_COLUMNS = ['lists', 'unsubscribedat', 'createdat', 'updatedat', 'documentid', 'id'] as const;
/** Prefix that marks an attribute column explicitly (the export uses it when a name would clash). */
export const ATTRIBUTE_PREFIX = 'attributes.';

export type ColumnRole =
  | { kind: 'field'; field: 'email' | 'name' | 'status' | 'consentAt' }
  | { kind: 'attribute'; name: string }
  | { kind: 'ignored' };

/** A problem with the file as a whole: the import is refused (400) before anything is written. */
export class ImportFileError extends Error {}

/**
 * What each header cell means. Field names match any case; `attributes.x` names attribute x; empty
 * header cells (a trailing comma) are ignored along with their column.
 */
export const mapHeader = (header: string[]): ColumnRole[] => {
  const roles = header.map((raw): ColumnRole => {
    // An exported header cell may carry the export's formula escape: the round trip is lossless.
    const name = unescapeCell(raw.trim());
    const lower = name.toLowerCase();
    if (name === '' || (IGNORED_COLUMNS as readonly string[]).includes(lower)) return { kind: 'ignored' };
    if ((FIELD_COLUMNS as readonly string[]).includes(lower)) {
      return { kind: 'field', field: lower === 'consentat' ? 'consentAt' : (lower as 'email' | 'name' | 'status') };
    }
    const attribute = lower.startsWith(ATTRIBUTE_PREFIX) ? name.slice(ATTRIBUTE_PREFIX.length) : name;
    if (attribute === '') throw new ImportFileError(`column "${name}" names no attribute`);
    if (attribute.length > 100) throw new ImportFileError(`column "${name.slice(0, 40)}..." is longer than 100 characters`);
    return { kind: 'attribute', name: attribute };
  });
  if (!roles.some((role) => role.kind === 'field' && role.field === 'email')) {
    throw new ImportFileError('the header row needs an "email" column');
  }
  const seen = new Set<string>();
  for (const role of roles) {
    if (role.kind === 'ignored') continue;
    const key = role.kind === 'field' ? `field:${role.field}` : `attribute:${role.name}`;
    if (seen.has(key)) throw new ImportFileError(`column "${role.kind === 'field' ? role.field : role.name}" appears twice`);
    seen.add(key);
  }
  const attributes = roles.filter((role) => role.kind === 'attribute').length;
  if (attributes > MAX_ATTRIBUTES) {
    throw new ImportFileError(`has ${attributes} attribute columns; at most ${MAX_ATTRIBUTES} are allowed`);
  }
  return roles;
};

/** A valid data row, ready to write. Attribute values stay strings: "01234" is a postcode, not 1234. */
export interface ImportRow {
  row: number;
  email: string;
  name: string | null;
  status: SubscriberStatus | null;
  consentAt: Date | null;
  attributes: Record<string, string>;
}

const emailSchema = z.email();
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Spreadsheets run a cell starting with = + - @ as a formula; the export prefixes such cells with an
 * apostrophe (OWASP's advice) and the import takes it off again, so a round trip is lossless.
 */
export const escapeCell = (value: string): string => (FORMULA_START.test(value) ? `'${value}` : value);
export const unescapeCell = (value: string): string =>
  value.startsWith("'") && FORMULA_START.test(value.slice(1)) ? value.slice(1) : value;

/** True for a row with no content (a blank line, or only separators). */
export const isBlankRow = (cells: string[]) => cells.every((cell) => cell.trim() === '');

/** Checks one data row; returns the row or every error found in it. */
export const readRow = (
  cells: string[],
  roles: ColumnRole[],
  row: number
): { ok: true; value: ImportRow } | { ok: false; errors: ImportRowError[] } => {
  const errors: ImportRowError[] = [];
  const fail = (field: string, message: string) => errors.push({ row, field, message });
  const value: ImportRow = { row, email: '', name: null, status: null, consentAt: null, attributes: {} };

  const extra = cells.slice(roles.length).filter((cell) => cell.trim() !== '');
  if (extra.length > 0) fail('row', `has ${cells.length} cells but the header has ${roles.length} columns`);

  roles.forEach((role, index) => {
    if (role.kind === 'ignored') return;
    const cell = unescapeCell((cells[index] ?? '').trim());
    if (role.kind === 'attribute') {
      if (cell === '') return;
      if (cell.length > 10_000) fail(role.name, 'must be at most 10000 characters');
      else value.attributes[role.name] = cell;
      return;
    }
    switch (role.field) {
      case 'email': {
        const email = normaliseAddress(cell);
        if (email === '') fail('email', 'is required');
        else if (email.length > 254 || /[\r\n]/.test(email) || !emailSchema.safeParse(email).success) {
          fail('email', 'is not a valid email address');
        } else value.email = email;
        return;
      }
      case 'name':
        if (cell.length > 200) fail('name', 'must be at most 200 characters');
        else if (/[\r\n]/.test(cell)) fail('name', 'must not contain a line break');
        else value.name = cell === '' ? null : cell;
        return;
      case 'status': {
        const status = cell.toLowerCase();
        if (status === '') return;
        if ((SUBSCRIBER_STATUSES as readonly string[]).includes(status)) value.status = status as SubscriberStatus;
        else fail('status', `must be one of: ${SUBSCRIBER_STATUSES.join(', ')}`);
        return;
      }
      case 'consentAt': {
        if (cell === '') return;
        const date = new Date(cell);
        if (Number.isNaN(date.getTime())) fail('consentAt', 'must be a date, e.g. 2024-05-01T09:00:00Z');
        else value.consentAt = date;
        return;
      }
    }
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
};

/** The changes an import row makes to an existing subscriber (`updateExisting`), or null when none. */
export const mergeExisting = (
  existing: SubscriberRow,
  row: ImportRow,
  now: Date
): { data: Record<string, unknown> } | { error: string } | null => {
  const data: Record<string, unknown> = {};
  if (row.name !== null && row.name !== existing.name) data.name = row.name;
  if (row.status !== null && row.status !== existing.status) {
    data.status = row.status;
    if (row.status === 'unsubscribed') data.unsubscribedAt = now;
  }
  if (row.consentAt) data.consentAt = row.consentAt;
  const current = existing.attributes ?? {};
  const changed = Object.entries(row.attributes).filter(([key, value]) => current[key] !== value);
  if (changed.length > 0) {
    const merged: Record<string, AttributeValue> = { ...current, ...row.attributes };
    if (Object.keys(merged).length > MAX_ATTRIBUTES) {
      return { error: `would give the subscriber more than ${MAX_ATTRIBUTES} attributes` };
    }
    data.attributes = merged;
  }
  return Object.keys(data).length > 0 ? { data } : null;
};

/**
 * Rows of cells -> a CSV byte stream with a header row (and a BOM, so spreadsheets read UTF-8). The
 * header cells are escaped like the others: attribute names come from imported files.
 */
export const toCsvStream = (columns: string[], rows: AsyncIterable<string[]>): Readable =>
  Readable.from(rows).pipe(stringify({ header: true, columns: columns.map(escapeCell), bom: true }));

// ---------------------------------------------------------------------------------------------------
// The import itself.

/** A CSV record with the line it starts on. */
interface ParsedRecord {
  row: number;
  cells: string[];
}

/** Rows written per transaction: big enough to be fast, small enough to keep memory and lock time low. */
const BATCH_SIZE = 500;
/** A single CSV record larger than this is refused (bounds memory on a malformed file). */
const MAX_RECORD_BYTES = 1024 * 1024;

/**
 * Streams subscribers in from CSV. Only the current batch of rows and the set of addresses already
 * seen in the file (to report duplicates) are held in memory, so file size is bounded by disk, not heap.
 */
const csvImport = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createSubscriberRepository(strapi);

  return {
    /**
     * Imports a CSV stream. The options and the header are checked before anything is written (400
     * naming the field); row problems are reported per row and the other rows are imported.
     */
    async importSubscribers(input: Readable, rawOptions: unknown): Promise<SubscriberImportReport> {
      const started = Date.now();
      const options = parseInput(importSubscribersOptionsSchema, rawOptions);
      const listIds = await repository.listIds(options.lists);
      const unknown = options.lists.filter((id) => !listIds.has(id));
      if (unknown.length > 0) fieldError('lists', `unknown mailing list(s): ${unknown.join(', ')}`);

      const report: SubscriberImportReport = {
        rows: 0,
        created: 0,
        updated: 0,
        skipped: 0,
        invalid: 0,
        errorCount: 0,
        errors: [],
        errorsTruncated: false,
        listed: 0,
        elapsedMs: 0,
      };
      const addErrors = (errors: ImportRowError[]) => {
        report.errorCount += errors.length;
        for (const error of errors) {
          if (report.errors.length < IMPORT_ERROR_LIMIT) report.errors.push(error);
          else report.errorsTruncated = true;
        }
      };
      const refuseRow = (errors: ImportRowError[]) => {
        report.invalid += 1;
        report.skipped += 1;
        addErrors(errors);
      };

      // Row numbers are the line a record starts on (header = 1), tracked inside the parser so that
      // records it skips as malformed are numbered in step with the ones it emits.
      let lastLine = 0;
      const malformed: ImportRowError[] = [];
      const parserOptions: CsvOptions<ParsedRecord, string[]> = {
        bom: true,
        relax_column_count: true,
        skip_records_with_error: true,
        max_record_size: MAX_RECORD_BYTES,
        on_record: (record, context) => {
          const row = lastLine + 1;
          lastLine = context.lines;
          return { row, cells: record };
        },
        on_skip: (error: CsvError | undefined) => {
          malformed.push({ row: lastLine + 1, field: 'row', message: `not valid CSV: ${error?.message ?? 'unreadable'}` });
          lastLine = typeof error?.lines === 'number' ? error.lines : lastLine + 1;
          return undefined;
        },
      };
      // csv-parse's typings only accept a record-changing on_record together with `columns`.
      const parser = input.pipe(parse(parserOptions as unknown as CsvOptions));
      input.on('error', (error) => parser.destroy(error));
      // Malformed records are reported where they fall among the others.
      const flushMalformed = (beforeRow: number) => {
        while (malformed.length > 0 && malformed[0]!.row < beforeRow) {
          report.rows += 1;
          refuseRow([malformed.shift()!]);
        }
      };

      const writeOptions = {
        updateExisting: options.updateExisting,
        status: options.status,
        listIds: [...listIds.values()],
        positions: new Map<number, number>(),
      };
      let roles: ColumnRole[] | null = null;
      const seen = new Map<string, number>();
      let batch: ImportRow[] = [];

      const flush = async () => {
        if (batch.length === 0) return;
        const rows = batch;
        batch = [];
        const outcome = await writeBatch(rows, writeOptions);
        report.created += outcome.created;
        report.updated += outcome.updated;
        report.skipped += outcome.unchanged;
        report.listed += outcome.listed;
        for (const refused of outcome.refused) refuseRow([refused]);
      };

      try {
        for await (const { row, cells } of parser as AsyncIterable<ParsedRecord>) {
          flushMalformed(row);
          if (!roles) {
            if (isBlankRow(cells)) continue;
            try {
              roles = mapHeader(cells);
            } catch (error) {
              if (error instanceof ImportFileError) fieldError('file', error.message);
              throw error;
            }
            continue;
          }
          if (isBlankRow(cells)) continue;
          report.rows += 1;
          const result = readRow(cells, roles, row);
          if (!result.ok) {
            refuseRow(result.errors);
            continue;
          }
          const first = seen.get(result.value.email);
          if (first !== undefined) {
            refuseRow([{ row, field: 'email', message: `repeats row ${first}` }]);
            continue;
          }
          seen.set(result.value.email, row);
          batch.push(result.value);
          if (batch.length >= BATCH_SIZE) await flush();
        }
        flushMalformed(Number.POSITIVE_INFINITY);
        if (!roles) fieldError('file', 'is empty: a header row with an "email" column is required');
        await flush();
      } finally {
        parser.destroy();
      }
      report.elapsedMs = Date.now() - started;
      return report;
    },
  };

  /**
   * Writes one batch in one transaction: new subscribers in bulk, existing ones updated (or left),
   * everyone linked to the chosen lists. Retried once if another writer created one of the
   * addresses in between.
   */
  async function writeBatch(
    rows: ImportRow[],
    options: { updateExisting: boolean; status?: SubscriberStatus; listIds: number[]; positions: Map<number, number> }
  ): Promise<{ created: number; updated: number; unchanged: number; listed: number; refused: ImportRowError[] }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await strapi.db.transaction(async ({ trx }) => {
          const now = new Date();
          const existing = new Map((await repository.findByEmails(rows.map((row) => row.email))).map((row) => [row.email, row]));
          const fresh: NewSubscriberRow[] = [];
          const outcome = { created: 0, updated: 0, unchanged: 0, listed: 0, refused: [] as ImportRowError[] };
          const existingIds: number[] = [];
          for (const row of rows) {
            const current = existing.get(row.email);
            if (!current) {
              const status = row.status ?? options.status ?? 'subscribed';
              fresh.push({
                email: row.email,
                name: row.name,
                attributes: row.attributes,
                status,
                consentAt: row.consentAt,
                unsubscribedAt: status === 'unsubscribed' ? now : null,
              });
              continue;
            }
            const change = options.updateExisting ? mergeExisting(current, row, now) : null;
            if (change && 'error' in change) {
              outcome.refused.push({ row: row.row, field: 'row', message: change.error });
              continue;
            }
            if (change) {
              await repository.updateRow(current.id, change.data);
              outcome.updated += 1;
            } else {
              outcome.unchanged += 1;
            }
            existingIds.push(current.id);
          }
          const created = await repository.insertMany(trx, fresh);
          outcome.created = fresh.length;
          outcome.listed = await repository.linkToLists(
            trx,
            { existingIds, freshIds: [...created.values()] },
            options.listIds,
            options.positions
          );
          return outcome;
        });
      } catch (error) {
        const raced = /unique|duplicate/i.test(error instanceof Error ? error.message : '');
        if (!raced || attempt >= 2) throw error;
      }
    }
  }
};

export type CsvImportService = ReturnType<typeof csvImport>;
export default csvImport;
