import type { Readable } from 'node:stream';

import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import type { ListResponse } from '../../../shared/contracts/common';
import {
  SUPPRESSION_EXPORT_COLUMNS,
  createSuppressionSchema,
  exportSuppressionsQuerySchema,
  listSuppressionsQuerySchema,
  type CreateSuppressionInput,
  type Suppression,
  type SuppressionKind,
} from '../../../shared/contracts/subscribers';
import { domainOf, normaliseAddress } from '../engine/address';
import { createSuppressionRepository, type SuppressionEntity } from '../repositories/suppressions';
import { getService } from '../utils/get-service';
import { parseInput } from '../utils/validation';
import { escapeCell, toCsvStream } from './csv-import';
import { readPage } from './mailing-lists';

/** Rows per page when walking the table (export, Redis rebuild). */
const PAGE = 1000;
/** Adds committed this long before a rebuild started are re-applied after it (a slow transaction's margin). */
const REBUILD_MARGIN_MS = 60_000;

/** The stored form of a suppression value: a normalised address, or a bare lower-case domain. */
export const normaliseSuppression = (value: string): { value: string; kind: SuppressionKind } => {
  const normal = normaliseAddress(value);
  const bare = normal.startsWith('@') ? normal.slice(1) : normal;
  return bare.includes('@') ? { value: bare, kind: 'address' } : { value: bare, kind: 'domain' };
};

/** The Redis set member for a stored value: addresses as they are, domains as "@domain". */
export const suppressionMember = (value: string, kind: SuppressionKind) => (kind === 'domain' ? `@${value}` : value);

/** The set members that would suppress an address: itself and its domain. */
export const membersFor = (email: string): [string, string] => {
  const address = normaliseAddress(email);
  return [address, `@${domainOf(address)}`];
};

export const toSuppressionDto = (row: SuppressionEntity): Suppression => ({
  documentId: row.documentId,
  value: row.value,
  kind: row.kind,
  reason: row.reason,
  source: row.source ?? null,
  note: row.note ?? null,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

/** Filters shared by the list and the export (document-service and query-engine syntax alike). */
const filtersOf = ({ q, kind, reason }: { q?: string; kind?: string; reason?: string }) => {
  const filters: Record<string, unknown> = {};
  if (q) filters.$or = [{ value: { $containsi: q } }, { source: { $containsi: q } }, { note: { $containsi: q } }];
  if (kind) filters.kind = { $eq: kind };
  if (reason) filters.reason = { $eq: reason };
  return filters;
};

/**
 * The suppression list: addresses and whole domains campaign mail never goes to. The database is the
 * record; a Redis set mirrors it so the fan-out and the worker's gate check thousands of recipients
 * in one round trip.
 */
const suppressions = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createSuppressionRepository(strapi);
  const engine = () => getService(strapi, 'engine');
  const redis = () => engine().redis();
  const setKey = () => `${engine().keyPrefix()}:suppressed`;

  const requireSuppression = async (documentId: string) => {
    const row = await repository.findOne(documentId);
    if (!row) throw new errors.NotFoundError(`Suppression ${documentId} not found`);
    return row;
  };

  const isUniqueViolation = (error: unknown) =>
    /unique|duplicate/i.test(error instanceof Error ? `${error.message} ${(error as { code?: string }).code ?? ''}` : '');

  return {
    async list(query: unknown): Promise<ListResponse<Suppression>> {
      const { page, pageSize, sort, ...filters } = parseInput(listSuppressionsQuerySchema, query);
      return readPage(repository.findPage, { page, pageSize, sort, filters: filtersOf(filters) }, (rows) =>
        rows.map(toSuppressionDto)
      );
    },

    async get(documentId: string): Promise<Suppression> {
      return toSuppressionDto(await requireSuppression(documentId));
    },

    /**
     * Suppresses an address or a domain. Idempotent: a value already suppressed keeps its entry
     * (reason and source of the first time) and `created` is false.
     */
    async add(input: CreateSuppressionInput | unknown): Promise<{ suppression: Suppression; created: boolean }> {
      const data = parseInput(createSuppressionSchema, input);
      const { value, kind } = normaliseSuppression(data.value);
      const member = suppressionMember(value, kind);
      const existing = await repository.findByValue(value);
      if (existing) {
        // The set may have missed it (e.g. Redis was flushed); adding again is harmless.
        await redis().sadd(setKey(), member);
        return { suppression: toSuppressionDto(existing), created: false };
      }
      try {
        const row = await strapi.db.transaction(async ({ onCommit }) => {
          const created = await repository.create({ ...data, value, kind });
          // Inside the transaction: if Redis is down, no row is left that Redis does not know.
          await redis().sadd(setKey(), member);
          // Again after the commit, in case a rebuild swapped the set in between (see syncToRedis).
          onCommit(() => void redis().sadd(setKey(), member).catch(() => undefined));
          return created;
        });
        return { suppression: toSuppressionDto(row), created: true };
      } catch (error) {
        // Two adds of one value at once: the loser returns the winner's entry.
        const winner = isUniqueViolation(error) ? await repository.findByValue(value) : null;
        if (winner) return { suppression: toSuppressionDto(winner), created: false };
        throw error;
      }
    },

    async remove(documentId: string): Promise<void> {
      await strapi.db.transaction(async ({ onCommit }) => {
        const row = await requireSuppression(documentId);
        const member = suppressionMember(row.value, row.kind);
        await repository.delete(documentId);
        await redis().srem(setKey(), member);
        onCommit(() => void redis().srem(setKey(), member).catch(() => undefined));
      });
    },

    /** True when the address or its whole domain is suppressed. */
    async isSuppressed(email: string): Promise<boolean> {
      const flags = await redis().smismember(setKey(), ...membersFor(email));
      return flags.some((flag) => flag === 1);
    },

    /**
     * Which of these addresses are suppressed (by address or domain), in one Redis round trip.
     * The returned set holds each suppressed address as given and also in normalised form, so
     * callers may look up either.
     */
    async filterSuppressed(emails: string[]): Promise<Set<string>> {
      const suppressed = new Set<string>();
      if (emails.length === 0) return suppressed;
      const normalised = emails.map(normaliseAddress);
      const members = [...new Set(normalised.flatMap((address) => membersFor(address)))];
      const flags = await redis().smismember(setKey(), ...members);
      const hit = new Set(members.filter((_, index) => flags[index] === 1));
      emails.forEach((email, index) => {
        const [address, domain] = membersFor(normalised[index]!);
        if (hit.has(address) || hit.has(domain)) {
          suppressed.add(email);
          suppressed.add(address);
        }
      });
      return suppressed;
    },

    /**
     * Rebuilds the Redis set from the database (at bootstrap). Builds a fresh set page by page and
     * swaps it in with RENAME, so readers never see a half-built set; then re-applies what other
     * processes changed meanwhile: recent adds are added again, members whose row is gone removed.
     */
    async syncToRedis(): Promise<{ members: number; elapsedMs: number }> {
      const started = Date.now();
      const key = setKey();
      const temp = `${key}:rebuild:${process.pid}:${started}`;
      let members = 0;
      try {
        for (let after = 0; ; ) {
          const rows = await repository.pageAfter({}, after, PAGE);
          if (rows.length === 0) break;
          await redis().sadd(temp, ...rows.map((row) => suppressionMember(row.value, row.kind)));
          members += rows.length;
          after = rows[rows.length - 1]!.id;
        }
        if (members > 0) await redis().rename(temp, key);
        else await redis().del(key);
      } finally {
        await redis().del(temp);
      }

      // Adds that committed during the rebuild may have gone to the set that RENAME replaced.
      const since = new Date(started - REBUILD_MARGIN_MS);
      for (let after = 0; ; ) {
        const rows = await repository.pageAfter({ createdAt: { $gte: since } }, after, PAGE);
        if (rows.length === 0) break;
        await redis().sadd(key, ...rows.map((row) => suppressionMember(row.value, row.kind)));
        after = rows[rows.length - 1]!.id;
      }
      // Removals that committed during the rebuild may have been copied into the new set.
      let cursor = '0';
      do {
        const [next, batch] = await redis().sscan(key, cursor, 'COUNT', PAGE);
        cursor = next;
        const values = batch.map((member) => (member.startsWith('@') ? member.slice(1) : member));
        const present = await repository.existingValues(values);
        const stale = batch.filter((_, index) => !present.has(values[index]!));
        if (stale.length > 0) await redis().srem(key, ...stale);
      } while (cursor !== '0');

      return { members, elapsedMs: Date.now() - started };
    },

    /**
     * The matching suppressions as a CSV stream, read one keyset page at a time. The query is
     * checked here, before the caller starts the response.
     */
    exportCsv(query: unknown): { filename: string; stream: Readable } {
      const filters = filtersOf(parseInput(exportSuppressionsQuerySchema, query));
      async function* rows(): AsyncGenerator<string[]> {
        for (let after = 0; ; ) {
          const page = await repository.pageAfter(filters, after, PAGE);
          if (page.length === 0) return;
          for (const row of page) {
            yield [
              escapeCell(row.value),
              row.kind,
              row.reason,
              escapeCell(row.source ?? ''),
              escapeCell(row.note ?? ''),
              new Date(row.createdAt).toISOString(),
            ];
          }
          after = page[page.length - 1]!.id;
        }
      }
      const date = new Date().toISOString().slice(0, 10);
      return { filename: `suppressions-${date}.csv`, stream: toCsvStream([...SUPPRESSION_EXPORT_COLUMNS], rows()) };
    },
  };
};

export type SuppressionsService = ReturnType<typeof suppressions>;
export default suppressions;
