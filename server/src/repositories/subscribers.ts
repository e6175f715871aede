import type { Core } from '@strapi/strapi';
import type { Knex } from 'knex';

import type { AttributeValue, SubscriberStatus } from '../../../shared/contracts/subscribers';
import { MAILING_LIST_UID, SUBSCRIBER_UID } from '../utils/uids';
import { documentsOf, type DocumentAccess } from './documents';
import type { Page } from './types';

export interface MailingListRefEntity {
  id: number;
  documentId: string;
  name: string;
}

export interface SubscriberEntity {
  id: number;
  documentId: string;
  email: string;
  name: string | null;
  attributes: Record<string, AttributeValue> | null;
  status: SubscriberStatus;
  lists?: MailingListRefEntity[];
  consentAt: string | null;
  unsubscribedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What the bulk import needs of an existing subscriber. */
export type SubscriberRow = Pick<SubscriberEntity, 'id' | 'email' | 'name' | 'status' | 'attributes'>;

/** A new subscriber row for the bulk insert (attribute names as in the schema). */
export interface NewSubscriberRow {
  email: string;
  name: string | null;
  attributes: Record<string, AttributeValue>;
  status: SubscriberStatus;
  consentAt: Date | null;
  unsubscribedAt: Date | null;
}

const populate = { lists: { fields: ['name'], sort: 'name:asc' } } as const;

/**
 * The subscriber <-> mailing list join table, read from Strapi's metadata so the bulk paths use the
 * table and columns the document service uses.
 */
export const listLinkTable = (strapi: Core.Strapi) => {
  const attribute = strapi.db.metadata.get(SUBSCRIBER_UID).attributes.lists as unknown as {
    joinTable: {
      name: string;
      joinColumn: { name: string };
      inverseJoinColumn: { name: string };
      orderColumnName?: string;
      inverseOrderColumnName?: string;
    };
  };
  const { joinTable } = attribute;
  return {
    name: joinTable.name,
    subscriberColumn: joinTable.joinColumn.name,
    listColumn: joinTable.inverseJoinColumn.name,
    /** Position of the list among the subscriber's lists. */
    listOrderColumn: joinTable.orderColumnName,
    /** Position of the subscriber among the list's subscribers. */
    subscriberOrderColumn: joinTable.inverseOrderColumnName,
  };
};

/** The table and a column name of a content type, from Strapi's metadata. */
export const tableOf = (strapi: Core.Strapi, uid: string) => {
  const metadata = strapi.db.metadata.get(uid as never);
  const column = (attribute: string) =>
    (metadata.attributes[attribute] as { columnName?: string } | undefined)?.columnName ?? attribute;
  return { name: metadata.tableName, column };
};

/**
 * Strapi's own documentId generator for a content type (the default of its documentId column), so
 * rows written in bulk get ids of the same form as the document service's.
 */
const documentIdFactory = (strapi: Core.Strapi, uid: string): (() => string) => {
  const attribute = strapi.db.metadata.get(uid as never).attributes.documentId as { default?: unknown } | undefined;
  if (typeof attribute?.default === 'function') return attribute.default as () => string;
  throw new Error(`multi-smtp: no documentId generator for ${uid}`);
};

export interface PageParams {
  filters: Record<string, unknown>;
  sort: string;
  start: number;
  limit: number;
}

/** One page of documents and the total matching, read together. */
export const findDocumentPage = async <Entity>(
  documents: DocumentAccess<Entity>,
  params: PageParams & { populate?: unknown }
): Promise<Page<Entity>> => {
  const [results, total] = await Promise.all([documents.findMany({ ...params }), documents.count({ filters: params.filters })]);
  return { results, total };
};

/** SQLite caps bound parameters per statement; 500 per IN list stays well clear of every dialect's limit. */
const CHUNK = 500;

const chunks = <T>(items: T[], size = CHUNK): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/** Database access for subscribers: the document service for single rows, the query engine and knex in bulk. */
export const createSubscriberRepository = (strapi: Core.Strapi) => {
  const documents = () => documentsOf<SubscriberEntity>(strapi, SUBSCRIBER_UID);
  const query = () => strapi.db.query(SUBSCRIBER_UID as never);

  return {
    findPage(params: PageParams): Promise<Page<SubscriberEntity>> {
      return findDocumentPage(documents(), { ...params, populate });
    },

    findOne(documentId: string): Promise<SubscriberEntity | null> {
      return documents().findOne({ documentId, populate });
    },

    findByEmail(email: string, exceptDocumentId?: string): Promise<SubscriberEntity | null> {
      const filters: Record<string, unknown> = { email: { $eq: email } };
      if (exceptDocumentId) filters.documentId = { $ne: exceptDocumentId };
      return documents().findFirst({ filters });
    },

    create(data: Record<string, unknown>): Promise<SubscriberEntity> {
      return documents().create({ data, populate });
    },

    update(documentId: string, data: Record<string, unknown>): Promise<SubscriberEntity> {
      return documents().update({ documentId, data, populate });
    },

    async delete(documentId: string): Promise<void> {
      await documents().delete({ documentId });
    },

    // --- bulk paths (import, export) -------------------------------------------------------------

    /** Existing subscribers among these (normalised) addresses. */
    async findByEmails(emails: string[]): Promise<SubscriberRow[]> {
      const found: SubscriberRow[] = [];
      for (const part of chunks(emails)) {
        found.push(
          ...((await query().findMany({
            where: { email: { $in: part } },
            select: ['id', 'email', 'name', 'status', 'attributes'],
          })) as SubscriberRow[])
        );
      }
      return found;
    },

    /**
     * Inserts new subscribers with knex in multi-row statements (about three times faster than the
     * query engine's createMany, which matters at 100,000 rows) and returns their ids by address.
     * Values are stored as Strapi stores them: JSON as text, dates as Date (the driver's format).
     */
    async insertMany(trx: Knex.Transaction, rows: NewSubscriberRow[]): Promise<Map<string, number>> {
      if (rows.length === 0) return new Map();
      const table = tableOf(strapi, SUBSCRIBER_UID);
      const documentId = documentIdFactory(strapi, SUBSCRIBER_UID);
      const now = new Date();
      const records = rows.map((row) => ({
        [table.column('documentId')]: documentId(),
        [table.column('email')]: row.email,
        [table.column('name')]: row.name,
        [table.column('attributes')]: JSON.stringify(row.attributes),
        [table.column('status')]: row.status,
        [table.column('consentAt')]: row.consentAt,
        [table.column('unsubscribedAt')]: row.unsubscribedAt,
        [table.column('createdAt')]: now,
        [table.column('updatedAt')]: now,
        // Without draft & publish every entry is published; the document service only reads published rows.
        [table.column('publishedAt')]: now,
      }));
      // 10 values a row: 50 rows a statement stays under every dialect's parameter limit.
      for (const part of chunks(records, 50)) await trx(table.name).insert(part);
      const created: Record<string, unknown>[] = [];
      for (const part of chunks(rows.map((row) => row.email))) {
        created.push(...(await trx(table.name).select('id', `${table.column('email')} as email`).whereIn(table.column('email'), part)));
      }
      return new Map(created.map((row) => [String(row.email), Number(row.id)]));
    },

    async updateRow(id: number, data: Record<string, unknown>): Promise<void> {
      await query().update({ where: { id }, data });
    },

    /**
     * Links subscribers to lists in bulk, skipping links that exist. Returns how many subscribers
     * gained at least one list. `fresh` ids are new rows (they have no links to look up); `positions`
     * carries each list's next position from one batch to the next, so the maximum is read once.
     */
    async linkToLists(
      trx: Knex.Transaction,
      { existingIds, freshIds }: { existingIds: number[]; freshIds: number[] },
      listIds: number[],
      positions: Map<number, number>
    ): Promise<number> {
      if (listIds.length === 0 || existingIds.length + freshIds.length === 0) return 0;
      const link = listLinkTable(strapi);
      const linked = new Set<string>();
      for (const part of chunks(existingIds)) {
        const rows: Record<string, number>[] = await trx(link.name)
          .select(link.subscriberColumn, link.listColumn)
          .whereIn(link.subscriberColumn, part)
          .whereIn(link.listColumn, listIds);
        for (const row of rows) linked.add(`${row[link.subscriberColumn]}:${row[link.listColumn]}`);
      }
      // New subscribers go to the end of each list (the order the content manager shows).
      const unknown = listIds.filter((id) => !positions.has(id));
      if (link.subscriberOrderColumn && unknown.length > 0) {
        const maxima: Record<string, number | null>[] = await trx(link.name)
          .select(link.listColumn)
          .max(`${link.subscriberOrderColumn} as max`)
          .whereIn(link.listColumn, unknown)
          .groupBy(link.listColumn);
        for (const row of maxima) positions.set(Number(row[link.listColumn]), Number(row.max ?? 0) + 1);
      }
      const inserts: Record<string, number>[] = [];
      const gained = new Set<number>();
      for (const subscriberId of [...existingIds, ...freshIds]) {
        let position = 1;
        for (const listId of listIds) {
          if (linked.has(`${subscriberId}:${listId}`)) continue;
          const row: Record<string, number> = { [link.subscriberColumn]: subscriberId, [link.listColumn]: listId };
          if (link.listOrderColumn) row[link.listOrderColumn] = position++;
          if (link.subscriberOrderColumn) {
            const order = positions.get(listId) ?? 1;
            row[link.subscriberOrderColumn] = order;
            positions.set(listId, order + 1);
          }
          inserts.push(row);
          gained.add(subscriberId);
        }
      }
      // 4 values a row: 100 rows a statement stays under every dialect's parameter limit.
      for (const part of chunks(inserts, 100)) await trx(link.name).insert(part);
      return gained.size;
    },

    /** One keyset page for the export: rows after `afterId`, in id order, with their lists' names. */
    async pageAfter(where: Record<string, unknown>, afterId: number, limit: number): Promise<SubscriberEntity[]> {
      return (await query().findMany({
        where: { ...where, id: { $gt: afterId } },
        orderBy: { id: 'asc' },
        limit,
        populate: { lists: { select: ['name'], orderBy: { name: 'asc' } } },
      })) as SubscriberEntity[];
    },

    /** Attribute objects only, keyset-paged, to learn the export's attribute columns before writing the header. */
    async attributesAfter(where: Record<string, unknown>, afterId: number, limit: number) {
      return (await query().findMany({
        where: { ...where, id: { $gt: afterId } },
        orderBy: { id: 'asc' },
        limit,
        select: ['id', 'attributes'],
      })) as Pick<SubscriberEntity, 'id' | 'attributes'>[];
    },

    /** Ids of mailing lists by documentId (unknown ones are absent). */
    async listIds(documentIds: string[]): Promise<Map<string, number>> {
      if (documentIds.length === 0) return new Map();
      const rows = (await strapi.db.query(MAILING_LIST_UID as never).findMany({
        where: { documentId: { $in: documentIds } },
        select: ['id', 'documentId'],
      })) as { id: number; documentId: string }[];
      return new Map(rows.map((row) => [row.documentId, row.id]));
    },
  };
};

export type SubscriberRepository = ReturnType<typeof createSubscriberRepository>;
