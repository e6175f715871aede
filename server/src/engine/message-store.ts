import type { Redis } from 'ioredis';

import type { AttemptRecord, MessageLogEntry, MessageStatus } from '../../../shared/contracts/messages';
import type { OutgoingMessage } from './message';

/**
 * Each message lives once in Redis while it is in flight: its body, where it may go, and what
 * happened to it. The queue's jobs carry only the id, so a retry copies nothing and a large body is
 * stored once. Finished messages expire after `retentionSec` (the delivery log in the database
 * keeps their history).
 */
export interface MessageMeta {
  /** Group id it is routed in (null when pinned to a server). */
  groupId: string | null;
  groupSlug: string | null;
  /** A server it must go through, bypassing routing. */
  serverId: string | null;
  source: string;
  idempotencyKey: string | null;
  queuedAt: number;
  /** For the delivery log (cheaper than parsing the body again). */
  from: string | null;
  recipients: string[];
  subject: string;
}

export interface MessageRecord {
  id: string;
  message: OutgoingMessage;
  meta: MessageMeta;
  status: MessageStatus;
  attempts: AttemptRecord[];
  serverId: string | null;
  serverName: string | null;
  lastReply: string | null;
  smtpMessageId: string | null;
  sentAt: number | null;
  finishedAt: number | null;
}

export const FINAL_STATUSES: ReadonlySet<MessageStatus> = new Set(['sent', 'failed', 'bounced']);

export const toLogEntry = (record: MessageRecord): MessageLogEntry => ({
  id: record.id,
  status: record.status,
  from: record.meta.from,
  recipients: record.meta.recipients,
  subject: record.meta.subject,
  group: record.meta.groupSlug,
  serverId: record.serverId,
  serverName: record.serverName,
  attempts: record.attempts,
  lastReply: record.lastReply,
  smtpMessageId: record.smtpMessageId,
  idempotencyKey: record.meta.idempotencyKey,
  source: record.meta.source,
  queuedAt: record.meta.queuedAt,
  sentAt: record.sentAt,
  finishedAt: record.finishedAt,
});

export const createMessageStore = (redis: Redis, options: { keyPrefix: string; retentionSec: number; idempotencySec: number }) => {
  const messageKey = (id: string) => `${options.keyPrefix}:msg:${id}`;
  const idempotencyKeyOf = (key: string) => `${options.keyPrefix}:idem:${key}`;

  const parse = (id: string, fields: Record<string, string>): MessageRecord | null => {
    if (!fields.body || !fields.meta) return null;
    return {
      id,
      message: JSON.parse(fields.body) as OutgoingMessage,
      meta: JSON.parse(fields.meta) as MessageMeta,
      status: (fields.status ?? 'queued') as MessageStatus,
      attempts: fields.attempts ? (JSON.parse(fields.attempts) as AttemptRecord[]) : [],
      serverId: fields.serverId || null,
      serverName: fields.serverName || null,
      lastReply: fields.lastReply || null,
      smtpMessageId: fields.smtpMessageId || null,
      sentAt: fields.sentAt ? Number(fields.sentAt) : null,
      finishedAt: fields.finishedAt ? Number(fields.finishedAt) : null,
    };
  };

  return {
    /**
     * Claims an idempotency key for a new message id. Returns the id that owns the key: the new one,
     * or the earlier message's when the key was used before (then nothing new must be queued).
     */
    async claimIdempotencyKey(key: string, id: string): Promise<string> {
      const claimed = await redis.set(idempotencyKeyOf(key), id, 'EX', options.idempotencySec, 'NX');
      if (claimed) return id;
      return (await redis.get(idempotencyKeyOf(key))) ?? id;
    },

    /** Stores new messages; one round trip for any number of them. */
    async createMany(records: { id: string; message: OutgoingMessage; meta: MessageMeta }[]): Promise<void> {
      const pipeline = redis.pipeline();
      for (const { id, message, meta } of records) {
        pipeline.hset(messageKey(id), { body: JSON.stringify(message), meta: JSON.stringify(meta), status: 'queued' });
      }
      await pipeline.exec();
    },

    async get(id: string): Promise<MessageRecord | null> {
      return parse(id, await redis.hgetall(messageKey(id)));
    },

    /**
     * Writes what changed after an attempt; a final status starts the retention clock and, with
     * `finished`, takes the message off its group's depth counter in the same round trip.
     */
    async update(
      id: string,
      change: Partial<Pick<MessageRecord, 'status' | 'attempts' | 'serverId' | 'serverName' | 'lastReply' | 'smtpMessageId' | 'sentAt' | 'finishedAt'>>,
      finished?: { depthKey: string; depthField: string }
    ): Promise<void> {
      const fields: Record<string, string> = {};
      for (const [name, value] of Object.entries(change)) {
        if (value === undefined) continue;
        fields[name] = name === 'attempts' ? JSON.stringify(value) : value === null ? '' : String(value);
      }
      const pipeline = redis.pipeline().hset(messageKey(id), fields);
      if (change.status && FINAL_STATUSES.has(change.status)) pipeline.expire(messageKey(id), options.retentionSec);
      if (finished) pipeline.hincrby(finished.depthKey, finished.depthField, -1);
      await pipeline.exec();
    },

    async delete(id: string): Promise<void> {
      await redis.del(messageKey(id));
    },
  };
};

export type MessageStore = ReturnType<typeof createMessageStore>;
