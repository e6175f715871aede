import type { Core } from '@strapi/strapi';

import type { AttemptRecord, MessageDecision, MessageLogEntry, MessageStatus } from '../../../shared/contracts/messages';
import messageSchema from '../content-types/message/schema.json';
import { MESSAGE_UID } from '../utils/uids';
import type { Page } from './types';

/** A delivery log row as Strapi's query engine returns it (JSON parsed, datetimes as ISO strings). */
export interface MessageEntity {
  id: number;
  documentId: string;
  messageId: string;
  status: MessageStatus;
  fromAddress: string | null;
  /** Lower-case addresses joined by ", ", so one LIKE finds any of them. */
  recipients: string | null;
  subject: string | null;
  groupSlug: string | null;
  serverId: string | null;
  serverName: string | null;
  attempts: AttemptRecord[] | null;
  attemptCount: number | null;
  lastReply: string | null;
  smtpMessageId: string | null;
  idempotencyKey: string | null;
  source: string | null;
  campaignId: string | null;
  subscriberId: string | null;
  queuedAt: string;
  sentAt: string | null;
  finishedAt: string | null;
  /** Why it went where it went (JSON); null for rows written before decisions were recorded. */
  decision: MessageDecision | null;
}

export interface MessagePageParams {
  where: Record<string, unknown>;
  orderBy: Array<Record<string, 'asc' | 'desc'>>;
  offset: number;
  limit: number;
}

/** Attributes the log writer fills; Strapi maps each to its column through the model's metadata. */
type MessageColumns = Omit<MessageEntity, 'id' | 'attempts' | 'queuedAt' | 'sentAt' | 'finishedAt' | 'decision'> & {
  attempts: string;
  /** JSON text, as `attempts`: each database casts it into its json column. */
  decision: string | null;
  queuedAt: Date;
  sentAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  publishedAt: Date;
  locale: null;
};

/** Set once, when the row is first written; an upsert of a later state leaves them alone. */
const INSERT_ONLY: ReadonlyArray<keyof MessageColumns> = ['documentId', 'messageId', 'createdAt', 'publishedAt', 'locale'];

/** `string` attributes are varchar(255) on Postgres and MySQL, which refuse longer values. */
const VARCHAR_MAX = 255;
const SUBJECT_MAX = 1000;
const REPLY_MAX = 2000;

/**
 * Rows per INSERT statement. Each row binds 25 values: 200 rows stay far below SQLite's 32,766 and
 * Postgres' and MySQL's 65,535 bound parameters whatever maxBatch is.
 */
const ROWS_PER_STATEMENT = 200;

const clip = (value: string | null | undefined, max: number): string | null =>
  value == null ? null : value.length > max ? value.slice(0, max) : value;

const toDate = (epochMs: number | null | undefined): Date | null =>
  typeof epochMs === 'number' && Number.isFinite(epochMs) ? new Date(epochMs) : null;

/** A log entry as the columns hold it. Values are clipped to their columns so one long value cannot fail a whole batch. */
const toColumns = (entry: MessageLogEntry, now: Date): MessageColumns => ({
  documentId: clip(entry.id, VARCHAR_MAX)!,
  messageId: clip(entry.id, VARCHAR_MAX)!,
  status: entry.status,
  fromAddress: clip(entry.from, VARCHAR_MAX),
  recipients: entry.recipients.map((address) => address.trim().toLowerCase()).join(', '),
  subject: clip(entry.subject, SUBJECT_MAX),
  groupSlug: clip(entry.group, VARCHAR_MAX),
  serverId: clip(entry.serverId, VARCHAR_MAX),
  serverName: clip(entry.serverName, VARCHAR_MAX),
  attempts: JSON.stringify(entry.attempts.map((attempt) => ({ ...attempt, reply: clip(attempt.reply, REPLY_MAX) }))),
  attemptCount: entry.attempts.length,
  lastReply: clip(entry.lastReply, REPLY_MAX),
  smtpMessageId: clip(entry.smtpMessageId, VARCHAR_MAX),
  idempotencyKey: clip(entry.idempotencyKey, VARCHAR_MAX),
  source: clip(entry.source, VARCHAR_MAX),
  campaignId: clip(entry.campaignId, VARCHAR_MAX),
  subscriberId: clip(entry.subscriberId, VARCHAR_MAX),
  queuedAt: toDate(entry.queuedAt) ?? now,
  sentAt: toDate(entry.sentAt),
  finishedAt: toDate(entry.finishedAt),
  decision: entry.decision ? JSON.stringify(entry.decision) : null,
  createdAt: now,
  updatedAt: now,
  publishedAt: now,
  locale: null,
});

/**
 * The driver's own words, without the SQL knex puts in front of them: knex inlines the bound values
 * (recipients, subjects) into its error messages, and those must not reach the logs.
 */
export const describeDatabaseError = (error: unknown): string => {
  // Duck-typed: driver errors (better-sqlite3's SqliteError) are not always `instanceof Error`.
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof message !== 'string') return 'unknown error';
  const driverMessage = message.split(' - ').pop() ?? '';
  return [typeof code === 'string' ? code : null, driverMessage.slice(0, 300)].filter(Boolean).join(': ');
};

/**
 * The indexes the log's searches need are declared in the content type's schema (`indexes`), so
 * Strapi's schema sync creates them on SQLite, Postgres and MySQL alike. Strapi only re-checks them
 * when the schema changes, though, and the writer's upsert cannot work without the unique index on
 * message_id; this creates any that are missing (dropped by hand, or a table Strapi's sync did not
 * touch). Idempotent and cheap: one catalog read when all are there. Safe with several nodes
 * booting at once.
 */
export const ensureMessageIndexes = async (strapi: Core.Strapi): Promise<void> => {
  const { tableName } = strapi.db.metadata.get(MESSAGE_UID);
  const existing = new Set((await strapi.db.dialect.schemaInspector.getIndexes(tableName)).map((index) => index.name));
  for (const index of messageSchema.indexes) {
    if (existing.has(index.name)) continue;
    try {
      await strapi.db.getSchemaConnection().alterTable(tableName, (table) => {
        if (index.type === 'unique') table.unique(index.columns, { indexName: index.name });
        else table.index(index.columns, index.name);
      });
      strapi.log.info(`multi-smtp: created missing index ${index.name} on ${tableName}`);
    } catch (error) {
      // Another node created it between our read and our write.
      if (!/already exists|duplicate key name/i.test(describeDatabaseError(error))) throw error;
    }
  }
};

/** Database access for the delivery log; the only code that reads or writes its table. */
export const createMessageRepository = (strapi: Core.Strapi) => {
  const query = () => strapi.db.query(MESSAGE_UID);

  /** Table and column names from Strapi's metadata, so they match whatever Strapi created. */
  const layout = () => {
    const { tableName, attributes } = strapi.db.metadata.get(MESSAGE_UID);
    const columnOf = (attribute: keyof MessageColumns): string => {
      const columnName = (attributes[attribute] as { columnName?: string } | undefined)?.columnName;
      if (!columnName) throw new Error(`multi-smtp: the message log has no column for ${attribute}`);
      return columnName;
    };
    return { tableName, columnOf };
  };

  /**
   * The upsert as SQL written out (one statement per row count, made once): a plain multi-row
   * INSERT whose conflict on message_id updates every column but the insert-only ones. knex's query
   * builder spent more time building a 200-row upsert than the database took to run it.
   */
  const statementCache = new Map<string, (rowCount: number) => string>();
  const upsertStatements = (tableName: string, columnNames: string[], conflictColumn: string) => {
    const key = `${tableName}\u0000${columnNames.join(',')}`;
    const cached = statementCache.get(key);
    if (cached) return cached;
    const isMysql = /mysql/i.test(String(strapi.db.dialect.client ?? strapi.db.config.connection.client));
    // Column and table names come from Strapi's metadata (snake_case), never from input.
    const quote = (name: string) => (isMysql ? `\`${name}\`` : `"${name}"`);
    const schemaName = strapi.db.getSchemaName();
    const table = schemaName ? `${quote(schemaName)}.${quote(tableName)}` : quote(tableName);
    const insertOnly = new Set(INSERT_ONLY.map((attribute) => layout().columnOf(attribute)));
    const updated = columnNames.filter((column) => !insertOnly.has(column));
    const onConflict = isMysql
      ? ` on duplicate key update ${updated.map((column) => `${quote(column)} = values(${quote(column)})`).join(', ')}`
      : ` on conflict (${quote(conflictColumn)}) do update set ${updated.map((column) => `${quote(column)} = excluded.${quote(column)}`).join(', ')}`;
    const head = `insert into ${table} (${columnNames.map(quote).join(', ')}) values `;
    const tuple = `(${columnNames.map(() => '?').join(', ')})`;
    const byCount = new Map<number, string>();
    const statementFor = (rowCount: number) => {
      let sql = byCount.get(rowCount);
      if (!sql) {
        sql = head + Array.from({ length: rowCount }, () => tuple).join(', ') + onConflict;
        byCount.set(rowCount, sql);
      }
      return sql;
    };
    statementCache.set(key, statementFor);
    return statementFor;
  };

  return {
    /**
     * Writes the latest state of each message in one transaction: new ones are inserted, known
     * ones updated (upsert on message_id, which also settles two nodes writing the same message).
     */
    async upsertMany(entries: MessageLogEntry[]): Promise<void> {
      if (entries.length === 0) return;
      const { tableName, columnOf } = layout();
      const now = new Date();
      const attributes = Object.keys(toColumns(entries[0]!, now)) as Array<keyof MessageColumns>;
      const columns = attributes.map((attribute) => [attribute, columnOf(attribute)] as const);
      const rows = entries.map((entry) => {
        const values = toColumns(entry, now);
        return columns.map(([attribute]) => values[attribute]);
      });
      const statementFor = upsertStatements(tableName, columns.map(([, column]) => column), columnOf('messageId'));
      // The raw knex connection, not strapi.db.transaction: the flush runs from a timer, and must
      // not join whatever Strapi transaction was open when the timer was started.
      await strapi.db.connection.transaction(async (trx) => {
        for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
          const slice = rows.slice(start, start + ROWS_PER_STATEMENT);
          await trx.raw(statementFor(slice.length), slice.flat());
        }
      });
    },

    findOne(messageId: string): Promise<MessageEntity | null> {
      return query().findOne({ where: { messageId } });
    },

    async findPage({ where, orderBy, offset, limit }: MessagePageParams): Promise<Page<MessageEntity>> {
      const [results, total] = await Promise.all([
        query().findMany({ where, orderBy, offset, limit }),
        query().count({ where }),
      ]);
      return { results, total };
    },
  };
};

export type MessageRepository = ReturnType<typeof createMessageRepository>;
