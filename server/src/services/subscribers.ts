import type { Readable } from 'node:stream';

import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import type { ListResponse } from '../../../shared/contracts/common';
import {
  SUBSCRIBER_EXPORT_COLUMNS,
  createSubscriberSchema,
  exportSubscribersQuerySchema,
  listSubscribersQuerySchema,
  updateSubscriberSchema,
  type Subscriber,
  type SubscriberStatus,
  type SuppressionReason,
} from '../../../shared/contracts/subscribers';
import { normaliseAddress } from '../engine/address';
import { createSubscriberRepository, type SubscriberEntity } from '../repositories/subscribers';
import { getService } from '../utils/get-service';
import { fieldError, parseInput } from '../utils/validation';
import { ATTRIBUTE_PREFIX, escapeCell, toCsvStream } from './csv-import';
import { readPage } from './mailing-lists';

/** Rows per keyset page in the export. */
const EXPORT_PAGE = 1000;
/** The export names at most this many attribute columns (the union over every exported subscriber). */
const MAX_EXPORT_ATTRIBUTE_COLUMNS = 500;

export const toSubscriberDto = (row: SubscriberEntity): Subscriber => ({
  documentId: row.documentId,
  email: row.email,
  name: row.name ?? null,
  attributes: row.attributes ?? {},
  status: row.status,
  lists: (row.lists ?? []).map((list) => ({ documentId: list.documentId, name: list.name })),
  consentAt: row.consentAt ?? null,
  unsubscribedAt: row.unsubscribedAt ?? null,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

/** Filters shared by the list and the export (document-service and query-engine syntax alike). */
const filtersOf = ({ q, status, list }: { q?: string; status?: string; list?: string }) => {
  const filters: Record<string, unknown> = {};
  if (q) filters.$or = [{ email: { $containsi: q } }, { name: { $containsi: q } }];
  if (status) filters.status = { $eq: status };
  if (list) filters.lists = { documentId: { $eq: list } };
  return filters;
};

const isUniqueViolation = (error: unknown) => /unique|duplicate/i.test(error instanceof Error ? error.message : '');

/** The export's column for an attribute; prefixed when its name would read back as a field. */
const attributeColumn = (name: string) => {
  const lower = name.toLowerCase();
  const clashes =
    (SUBSCRIBER_EXPORT_COLUMNS as readonly string[]).some((column) => column.toLowerCase() === lower) ||
    ['updatedat', 'documentid', 'id'].includes(lower) ||
    lower.startsWith(ATTRIBUTE_PREFIX);
  return clashes ? `${ATTRIBUTE_PREFIX}${name}` : name;
};

const isoOrEmpty = (value: string | Date | null | undefined) => (value ? new Date(value).toISOString() : '');

/** Subscribers: one row per normalised address, their lists, and the unsubscribe/bounce effects. */
const subscribers = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createSubscriberRepository(strapi);
  const suppressions = () => getService(strapi, 'suppressions');

  const requireSubscriber = async (documentId: string): Promise<SubscriberEntity> => {
    const subscriber = await repository.findOne(documentId);
    if (!subscriber) throw new errors.NotFoundError(`Subscriber ${documentId} not found`);
    return subscriber;
  };

  /** Checks what zod cannot: the address is free and every list exists. */
  const checkReferences = async (data: { email?: string; lists?: string[] }, exceptDocumentId?: string) => {
    if (data.email !== undefined && (await repository.findByEmail(data.email, exceptDocumentId))) {
      fieldError('email', 'is already a subscriber');
    }
    if (data.lists && data.lists.length > 0) {
      const found = await repository.listIds(data.lists);
      const unknown = data.lists.filter((id) => !found.has(id));
      if (unknown.length > 0) fieldError('lists', `unknown mailing list(s): ${unknown.join(', ')}`);
    }
  };

  /** Runs a write; a unique-index failure (a concurrent create of the same address) becomes the same 400. */
  const writing = async <T>(write: () => Promise<T>): Promise<T> => {
    try {
      return await strapi.db.transaction(write);
    } catch (error) {
      if (isUniqueViolation(error)) fieldError('email', 'is already a subscriber');
      throw error;
    }
  };

  /**
   * Sets a subscriber's status after a mail event, and suppresses the address so no campaign
   * reaches it again, whether or not it is a subscriber.
   */
  const markAddress = async (
    email: string,
    status: SubscriberStatus,
    suppression: { reason: SuppressionReason; source: string | null; note?: string | null },
    /** Statuses this event does not overwrite (a complaint outranks a later unsubscribe). */
    keep: SubscriberStatus[]
  ): Promise<{ subscriber: boolean; statusChanged: boolean; alreadySuppressed: boolean }> =>
    // One transaction: if the suppression cannot be written (or Redis is down) the status stays too.
    strapi.db.transaction(async () => {
      const address = normaliseAddress(email);
      const existing = await repository.findByEmail(address);
      const statusChanged = Boolean(existing && existing.status !== status && !keep.includes(existing.status));
      if (existing && statusChanged) {
        await repository.update(existing.documentId, {
          status,
          ...(status === 'unsubscribed' ? { unsubscribedAt: new Date() } : {}),
        });
      }
      const { created } = await suppressions().add({ value: address, ...suppression });
      // subscriber: the address is a subscriber; statusChanged: its status was changed now.
      return { subscriber: Boolean(existing), statusChanged, alreadySuppressed: !created };
    });

  const get = async (documentId: string): Promise<Subscriber> => toSubscriberDto(await requireSubscriber(documentId));

  return {
    async list(query: unknown): Promise<ListResponse<Subscriber>> {
      const { page, pageSize, sort, ...filters } = parseInput(listSubscribersQuerySchema, query);
      return readPage(repository.findPage, { page, pageSize, sort, filters: filtersOf(filters) }, (rows) =>
        rows.map(toSubscriberDto)
      );
    },

    get,

    async create(input: unknown): Promise<Subscriber> {
      const parsed = parseInput(createSubscriberSchema, input);
      const data = { ...parsed, email: normaliseAddress(parsed.email) };
      const created = await writing(async () => {
        await checkReferences(data);
        return repository.create({ ...data, unsubscribedAt: data.status === 'unsubscribed' ? new Date() : null });
      });
      return toSubscriberDto(created);
    },

    async update(documentId: string, input: unknown): Promise<Subscriber> {
      const parsed = parseInput(updateSubscriberSchema, input);
      const data = parsed.email === undefined ? parsed : { ...parsed, email: normaliseAddress(parsed.email) };
      const updated = await writing(async () => {
        const current = await requireSubscriber(documentId);
        await checkReferences(data, documentId);
        const unsubscribing = data.status === 'unsubscribed' && current.status !== 'unsubscribed';
        return repository.update(documentId, { ...data, ...(unsubscribing ? { unsubscribedAt: new Date() } : {}) });
      });
      return toSubscriberDto(updated);
    },

    /** Deletes the subscriber (and its list links). A suppression of the address, if any, stays. */
    async delete(documentId: string): Promise<void> {
      await requireSubscriber(documentId);
      await repository.delete(documentId);
    },

    /**
     * An unsubscribe (link, one-click POST, or admin): the subscriber, if there is one, becomes
     * unsubscribed, and the address is suppressed either way, so it also holds for recipients drawn
     * from other collections.
     */
    unsubscribe({ email, campaignId }: { email: string; campaignId?: string | null }) {
      return markAddress(
        email,
        'unsubscribed',
        { reason: 'unsubscribed', source: campaignId ? `campaign:${campaignId}` : 'unsubscribe' },
        ['bounced', 'complained']
      );
    },

    /** A hard bounce (or too many soft ones): status bounced, address suppressed. */
    markBounced(
      email: string,
      options: { source?: string | null; reason?: Extract<SuppressionReason, 'hard-bounce' | 'soft-bounces'>; note?: string | null } = {}
    ) {
      return markAddress(
        email,
        'bounced',
        { reason: options.reason ?? 'hard-bounce', source: options.source ?? null, note: options.note ?? null },
        ['complained']
      );
    },

    /** A spam complaint (feedback loop): status complained, address suppressed. */
    markComplained(email: string, options: { source?: string | null; note?: string | null } = {}) {
      return markAddress(email, 'complained', { reason: 'complaint', source: options.source ?? null, note: options.note ?? null }, []);
    },

    /** CSV import (see csv-import.ts). */
    import(input: Readable, options: unknown) {
      return getService(strapi, 'csvImport').importSubscribers(input, options);
    },

    /**
     * The matching subscribers as a CSV stream: fixed columns, then one column per custom attribute
     * found. Read in keyset pages (twice: once for the attribute names the header needs), so
     * memory does not grow with the number of subscribers. The query is checked before returning.
     */
    async exportCsv(query: unknown): Promise<{ filename: string; stream: Readable }> {
      const where = filtersOf(parseInput(exportSubscribersQuerySchema, query));
      const attributeNames = new Set<string>();
      scan: for (let after = 0; ; ) {
        const rows = await repository.attributesAfter(where, after, EXPORT_PAGE);
        if (rows.length === 0) break;
        for (const row of rows) {
          for (const name of Object.keys(row.attributes ?? {})) {
            attributeNames.add(name);
            if (attributeNames.size >= MAX_EXPORT_ATTRIBUTE_COLUMNS) break scan;
          }
        }
        after = rows[rows.length - 1]!.id;
      }
      const attributes = [...attributeNames].sort();
      const columns = [...SUBSCRIBER_EXPORT_COLUMNS, ...attributes.map(attributeColumn)];

      async function* rows(): AsyncGenerator<string[]> {
        for (let after = 0; ; ) {
          const page = await repository.pageAfter(where, after, EXPORT_PAGE);
          if (page.length === 0) return;
          for (const row of page) {
            const values = row.attributes ?? {};
            yield [
              escapeCell(row.email),
              escapeCell(row.name ?? ''),
              row.status,
              escapeCell((row.lists ?? []).map((list) => list.name).join('; ')),
              isoOrEmpty(row.consentAt),
              isoOrEmpty(row.unsubscribedAt),
              isoOrEmpty(row.createdAt),
              ...attributes.map((name) => {
                const value = values[name];
                return value === undefined || value === null ? '' : escapeCell(String(value));
              }),
            ];
          }
          after = page[page.length - 1]!.id;
        }
      }

      const date = new Date().toISOString().slice(0, 10);
      return { filename: `subscribers-${date}.csv`, stream: toCsvStream(columns, rows()) };
    },
  };
};

export type SubscribersService = ReturnType<typeof subscribers>;
export default subscribers;
