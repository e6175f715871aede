import { randomUUID } from 'node:crypto';

import type { Core } from '@strapi/strapi';
import type { Knex } from 'knex';

import type { TopLinkRow } from '../../../shared/contracts/reports';
import { TRACKING_EVENT_UID } from '../utils/uids';
import { epochOf } from './stats';

/** One open or click as stored (content type tracking-event). */
export interface TrackingEventRecord {
  messageId: string;
  campaignId: string | null;
  serverId: string | null;
  groupSlug: string | null;
  kind: 'open' | 'click';
  url: string | null;
  machine: boolean;
  machineReason: string | null;
  userAgent: string | null;
  ipHash: string | null;
  /** epoch ms */
  at: number;
}

/** `string` attributes are varchar(255) on Postgres and MySQL, which refuse longer values. */
const VARCHAR_MAX = 255;
/** Click URLs are at most 2,000 characters (engine/tracking.ts); a text column holds them. */
const URL_MAX = 4000;
/** Each row binds 14 values: 200 rows stay far below every database's limit on bound parameters. */
const ROWS_PER_STATEMENT = 200;
const MAX_TOP_LINKS = 50;

const clip = (value: string | null | undefined, max: number): string | null =>
  value == null ? null : value.length > max ? value.slice(0, max) : value;

const ATTRIBUTES = [
  'documentId',
  'messageId',
  'campaignId',
  'serverId',
  'groupSlug',
  'kind',
  'url',
  'machine',
  'machineReason',
  'userAgent',
  'ipHash',
  'createdAt',
  'updatedAt',
  'publishedAt',
] as const;
type Attribute = (typeof ATTRIBUTES)[number];

/**
 * Database access for tracking events; the only code that reads or writes their table. Plain knex
 * on the table Strapi created (names from its metadata): events are inserted in batches from a
 * timer, and the report reads are GROUP BY counts, neither of which the document service does.
 */
export const createTrackingRepository = (strapi: Core.Strapi) => {
  const layout = () => {
    const { tableName, attributes } = strapi.db.metadata.get(TRACKING_EVENT_UID);
    const columnOf = (attribute: Attribute): string => {
      const columnName = (attributes[attribute] as { columnName?: string } | undefined)?.columnName;
      if (!columnName) throw new Error(`multi-smtp: the tracking events table has no column for ${attribute}`);
      return columnName;
    };
    return {
      tableName,
      column: Object.fromEntries(ATTRIBUTES.map((attribute) => [attribute, columnOf(attribute)])) as Record<
        Attribute,
        string
      >,
    };
  };
  let cachedLayout: ReturnType<typeof layout> | null = null;
  const columns = () => (cachedLayout ??= layout());

  const knex = () => strapi.db.connection;
  const table = (connection: Knex | Knex.Transaction = knex()) => {
    const schemaName = strapi.db.getSchemaName();
    const builder = connection(columns().tableName);
    return schemaName ? builder.withSchema(schemaName) : builder;
  };

  return {
    /** Inserts the events in one transaction. */
    async insertMany(events: TrackingEventRecord[]): Promise<void> {
      if (events.length === 0) return;
      const { column } = columns();
      const rows = events.map((event) => {
        const at = new Date(event.at);
        return {
          [column.documentId]: randomUUID(),
          [column.messageId]: clip(event.messageId, VARCHAR_MAX),
          [column.campaignId]: clip(event.campaignId, VARCHAR_MAX),
          [column.serverId]: clip(event.serverId, VARCHAR_MAX),
          [column.groupSlug]: clip(event.groupSlug, VARCHAR_MAX),
          [column.kind]: event.kind,
          [column.url]: clip(event.url, URL_MAX),
          [column.machine]: event.machine,
          [column.machineReason]: clip(event.machineReason, VARCHAR_MAX),
          [column.userAgent]: clip(event.userAgent, VARCHAR_MAX),
          [column.ipHash]: clip(event.ipHash, VARCHAR_MAX),
          [column.createdAt]: at,
          [column.updatedAt]: at,
          [column.publishedAt]: at,
        };
      });
      // The raw knex connection, not strapi.db.transaction: the flush runs from a timer and must not
      // join whatever Strapi transaction was open when it started.
      await knex().transaction(async (trx) => {
        for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
          await table(trx).insert(rows.slice(start, start + ROWS_PER_STATEMENT));
        }
      });
    },

    /**
     * A campaign's links by human clicks in [from, to): total clicks, and unique clicks (the
     * messages that clicked the link, i.e. first clicks per message and link). Reads the
     * (campaign_id, kind, created_at) index.
     */
    async topLinks(campaignId: string, from: number, to: number, limit = MAX_TOP_LINKS): Promise<TopLinkRow[]> {
      const { column } = columns();
      const rows = (await table()
        .select(column.url)
        .select(knex().raw('COUNT(*) AS clicks'), knex().raw('COUNT(DISTINCT ??) AS unique_clicks', [column.messageId]))
        .where(column.campaignId, campaignId)
        .andWhere(column.kind, 'click')
        .andWhere(column.machine, false)
        .andWhere(column.createdAt, '>=', new Date(from))
        .andWhere(column.createdAt, '<', new Date(to))
        .groupBy(column.url)
        .orderBy([
          { column: 'clicks', order: 'desc' },
          { column: column.url, order: 'asc' },
        ])
        .limit(limit)) as Array<Record<string, unknown>>;
      return rows.map((row) => ({
        url: String(row[column.url] ?? ''),
        clicks: Number(row.clicks ?? 0),
        uniqueClicks: Number(row.unique_clicks ?? 0),
      }));
    },

    /** Events of one message, oldest first (tests, support). */
    async ofMessage(messageId: string): Promise<TrackingEventRecord[]> {
      const { column } = columns();
      const rows = (await table()
        .select('*')
        .where(column.messageId, messageId)
        .orderBy([column.createdAt, 'id'])) as Array<Record<string, unknown>>;
      return rows.map((row) => ({
        messageId: String(row[column.messageId]),
        campaignId: (row[column.campaignId] as string | null) ?? null,
        serverId: (row[column.serverId] as string | null) ?? null,
        groupSlug: (row[column.groupSlug] as string | null) ?? null,
        kind: row[column.kind] as 'open' | 'click',
        url: (row[column.url] as string | null) ?? null,
        // SQLite and MySQL answer 0/1.
        machine: Boolean(row[column.machine]),
        machineReason: (row[column.machineReason] as string | null) ?? null,
        userAgent: (row[column.userAgent] as string | null) ?? null,
        ipHash: (row[column.ipHash] as string | null) ?? null,
        at: epochOf(row[column.createdAt]),
      }));
    },

    /** Deletes up to `limit` events older than `before`; how many went (retention). */
    async deleteBefore(before: Date, limit: number): Promise<number> {
      const { column } = columns();
      const ids = (await table()
        .select('id')
        .where(column.createdAt, '<', before)
        .orderBy(column.createdAt)
        .limit(limit)) as Array<{ id: number }>;
      if (ids.length === 0) return 0;
      return Number(
        await table()
          .whereIn(
            'id',
            ids.map((row) => row.id)
          )
          .delete()
      );
    },
  };
};

export type TrackingRepository = ReturnType<typeof createTrackingRepository>;
