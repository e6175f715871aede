import { randomUUID } from 'node:crypto';

import type { Core } from '@strapi/strapi';
import type { Knex } from 'knex';

import { STAT_TYPES, type StatCounts, type StatScope } from '../../../shared/contracts/reports';
import { LATENCY_BUCKETS } from '../engine/latency-histogram';
import { emptyCounts, type BucketDelta } from '../engine/stat-aggregation';
import { MESSAGE_UID, STAT_BUCKET_UID } from '../utils/uids';

/** The histogram's attributes in the content type: lat00 .. lat29. */
export const LATENCY_ATTRIBUTES = Array.from({ length: LATENCY_BUCKETS }, (_, index) => `lat${String(index).padStart(2, '0')}`);

/**
 * Rows per INSERT: each binds about 50 values, so 200 rows stay far below SQLite's 32,766 and
 * Postgres' and MySQL's 65,535 bound parameters.
 */
const ROWS_PER_STATEMENT = 200;

/** A bucket's counters summed over some rows. */
export interface SummedBucket {
  counts: StatCounts;
  latencySumMs: number;
  latency: number[];
}

export interface HourRow {
  hour: number;
  counts: StatCounts;
}

/** A datetime column as the driver returns it (SQLite: epoch ms; Postgres: a Date; others: a string). */
export const epochOf = (value: unknown): number =>
  value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(String(value));

/**
 * Database access for the hourly statistics; the only code that reads or writes their table.
 * Plain knex on the table Strapi created (names from Strapi's metadata), because the writes are
 * additive upserts and the reads are sums, neither of which the document service does.
 */
export const createStatsRepository = (strapi: Core.Strapi) => {
  const layout = () => {
    const { tableName, attributes } = strapi.db.metadata.get(STAT_BUCKET_UID);
    const columnOf = (attribute: string): string => {
      const columnName = (attributes[attribute] as { columnName?: string } | undefined)?.columnName;
      if (!columnName) throw new Error(`multi-smtp: the statistics table has no column for ${attribute}`);
      return columnName;
    };
    const counters = STAT_TYPES.map((type) => [type, columnOf(type)] as const);
    const latency = LATENCY_ATTRIBUTES.map(columnOf);
    return {
      tableName,
      hour: columnOf('hour'),
      scope: columnOf('scope'),
      scopeId: columnOf('scopeId'),
      latencySum: columnOf('latencySumMs'),
      counters,
      latency,
      /** Every additive column. */
      additive: [...counters.map(([, column]) => column), columnOf('latencySumMs'), ...latency],
      documentId: columnOf('documentId'),
      createdAt: columnOf('createdAt'),
      updatedAt: columnOf('updatedAt'),
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

  /** `SUM(col) AS col` for every additive column. */
  const sums = () => columns().additive.map((column) => knex().raw('SUM(??) AS ??', [column, column]));

  const summedOf = (row: Record<string, unknown>): SummedBucket => {
    const layoutNow = columns();
    const counts = emptyCounts();
    for (const [type, column] of layoutNow.counters) counts[type] = Number(row[column] ?? 0);
    return {
      counts,
      latencySumMs: Number(row[layoutNow.latencySum] ?? 0),
      latency: layoutNow.latency.map((column) => Number(row[column] ?? 0)),
    };
  };

  const inRange = (builder: Knex.QueryBuilder, fromHour: number, to: number) =>
    builder.where(columns().hour, '>=', new Date(fromHour)).andWhere(columns().hour, '<', new Date(to));

  return {
    /**
     * Adds each delta to its bucket, creating the bucket when it is new: one transaction of
     * `INSERT ... ON CONFLICT (hour, scope, scope_id) DO UPDATE SET c = table.c + excluded.c`
     * (MySQL: `ON DUPLICATE KEY UPDATE c = c + VALUES(c)`). Additive, so any number of processes
     * flushing their own deltas add up.
     */
    async addDeltas(deltas: BucketDelta[]): Promise<void> {
      if (deltas.length === 0) return;
      const layoutNow = columns();
      const now = new Date();
      const rows = deltas.map((delta) => {
        const row: Record<string, unknown> = {
          [layoutNow.documentId]: randomUUID(),
          [layoutNow.hour]: new Date(delta.hour),
          [layoutNow.scope]: delta.scope,
          [layoutNow.scopeId]: delta.scopeId,
          [layoutNow.latencySum]: delta.latencySumMs,
          [layoutNow.createdAt]: now,
          [layoutNow.updatedAt]: now,
        };
        for (const [type, column] of layoutNow.counters) row[column] = delta.counts[type];
        layoutNow.latency.forEach((column, index) => {
          row[column] = delta.latency[index] ?? 0;
        });
        return row;
      });
      const isMysql = /mysql/i.test(String(strapi.db.dialect.client ?? strapi.db.config.connection.client));
      const merge: Record<string, Knex.Raw> = { [layoutNow.updatedAt]: knex().raw('?', [now]) };
      for (const column of layoutNow.additive) {
        merge[column] = isMysql
          ? knex().raw('?? + VALUES(??)', [column, column])
          : knex().raw('??.?? + excluded.??', [layoutNow.tableName, column, column]);
      }
      // The raw knex connection, not strapi.db.transaction: the flush runs from a timer and must not
      // join whatever Strapi transaction was open when it started.
      await knex().transaction(async (trx) => {
        for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
          await table(trx)
            .insert(rows.slice(start, start + ROWS_PER_STATEMENT))
            .onConflict([layoutNow.hour, layoutNow.scope, layoutNow.scopeId])
            .merge(merge);
        }
      });
    },

    /** One scope's buckets in [fromHour, to), summed per scopeId (optionally only these ids). */
    async sumByScopeId(scope: StatScope, fromHour: number, to: number, scopeIds?: string[]): Promise<Map<string, SummedBucket>> {
      if (scopeIds && scopeIds.length === 0) return new Map();
      const layoutNow = columns();
      const query = inRange(table().select(layoutNow.scopeId, ...sums()).where(layoutNow.scope, scope), fromHour, to).groupBy(
        layoutNow.scopeId
      );
      if (scopeIds) query.whereIn(layoutNow.scopeId, scopeIds);
      const rows = (await query) as Array<Record<string, unknown>>;
      return new Map(rows.map((row) => [String(row[layoutNow.scopeId]), summedOf(row)]));
    },

    /** One bucket series (one scope and id) in [fromHour, to): the counters of each hour (no latency). */
    async hoursOf(scope: StatScope, scopeId: string, fromHour: number, to: number): Promise<HourRow[]> {
      const layoutNow = columns();
      const rows = (await inRange(
        table()
          .select(layoutNow.hour, ...layoutNow.counters.map(([, column]) => column))
          .where(layoutNow.scope, scope)
          .andWhere(layoutNow.scopeId, scopeId),
        fromHour,
        to
      )) as Array<Record<string, unknown>>;
      return rows.map((row) => {
        const counts = emptyCounts();
        for (const [type, column] of layoutNow.counters) counts[type] = Number(row[column] ?? 0);
        return { hour: epochOf(row[layoutNow.hour]), counts };
      });
    },

    /** One scope id's buckets in [fromHour, to), summed (latency included). */
    async sumOf(scope: StatScope, scopeId: string, fromHour: number, to: number): Promise<SummedBucket> {
      const layoutNow = columns();
      const [row] = (await inRange(table().select(...sums()).where(layoutNow.scope, scope).andWhere(layoutNow.scopeId, scopeId), fromHour, to)) as Array<
        Record<string, unknown>
      >;
      return summedOf(row ?? {});
    },

    /** The scope ids with a bucket in [fromHour, to) (e.g. every server that sent in a range). */
    async scopeIdsIn(scope: StatScope, fromHour: number, to: number): Promise<string[]> {
      const layoutNow = columns();
      const rows = (await inRange(table().distinct(layoutNow.scopeId).where(layoutNow.scope, scope), fromHour, to)) as Array<
        Record<string, unknown>
      >;
      return rows.map((row) => String(row[layoutNow.scopeId]));
    },

    /**
     * A campaign's bounced messages in the delivery log, counted per last reply (the reply that
     * bounced it), queued in [from, to). The range is applied here rather than in SQL: with it in
     * the WHERE clause SQLite picks the (status, queued_at) index and reads every bounce of every
     * campaign in the range; without it, the (campaign_id, status) index reads this campaign's only.
     */
    async campaignBounceReplies(campaignId: string, from: number, to: number): Promise<Array<{ reply: string | null; count: number }>> {
      const { tableName, attributes } = strapi.db.metadata.get(MESSAGE_UID);
      const column = (attribute: string) => (attributes[attribute] as { columnName?: string } | undefined)?.columnName ?? attribute;
      const schemaName = strapi.db.getSchemaName();
      const builder = schemaName ? knex()(tableName).withSchema(schemaName) : knex()(tableName);
      const rows = (await builder
        .select(knex().raw('?? AS reply', [column('lastReply')]), knex().raw('?? AS queued', [column('queuedAt')]))
        .where(column('campaignId'), campaignId)
        .andWhere(column('status'), 'bounced')) as Array<{ reply: string | null; queued: unknown }>;
      const counts = new Map<string | null, number>();
      for (const row of rows) {
        const queuedAt = epochOf(row.queued);
        if (queuedAt >= from && queuedAt < to) counts.set(row.reply, (counts.get(row.reply) ?? 0) + 1);
      }
      return [...counts.entries()].map(([reply, count]) => ({ reply, count }));
    },

    /** Deletes up to `limit` buckets older than `beforeHour`; returns how many went. */
    async deleteBefore(beforeHour: number, limit: number): Promise<number> {
      const layoutNow = columns();
      const ids = (await table().select('id').where(layoutNow.hour, '<', new Date(beforeHour)).orderBy(layoutNow.hour).limit(limit)) as Array<{
        id: number;
      }>;
      if (ids.length === 0) return 0;
      await table()
        .whereIn(
          'id',
          ids.map((row) => row.id)
        )
        .delete();
      return ids.length;
    },

    /** Every bucket row of a scope (tests). */
    async count(where: { scope?: StatScope; scopeId?: string } = {}): Promise<number> {
      const layoutNow = columns();
      const query = table().count({ total: '*' });
      if (where.scope) query.where(layoutNow.scope, where.scope);
      if (where.scopeId) query.where(layoutNow.scopeId, where.scopeId);
      const [row] = (await query) as Array<{ total: number | string }>;
      return Number(row?.total ?? 0);
    },
  };
};

export type StatsRepository = ReturnType<typeof createStatsRepository>;
