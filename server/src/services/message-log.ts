import type { Core } from '@strapi/strapi';

import type { ListResponse } from '../../../shared/contracts/common';
import { listMessagesQuerySchema, type MessageLogEntry } from '../../../shared/contracts/messages';
import { createLogBuffer } from '../engine/log-buffer';
import { createMessageRepository, describeDatabaseError, ensureMessageIndexes, type MessageEntity } from '../repositories/messages';
import { fieldError, parseInput } from '../utils/validation';

const epochMs = (iso: string | null | undefined): number | null => (iso ? Date.parse(iso) : null);

/** Row -> API shape, field by field. */
export const toMessageLogEntry = (row: MessageEntity): MessageLogEntry => ({
  id: row.messageId,
  status: row.status,
  from: row.fromAddress ?? null,
  recipients: row.recipients ? row.recipients.split(', ').filter(Boolean) : [],
  subject: row.subject ?? '',
  group: row.groupSlug ?? null,
  serverId: row.serverId ?? null,
  serverName: row.serverName ?? null,
  attempts: Array.isArray(row.attempts) ? row.attempts : [],
  lastReply: row.lastReply ?? null,
  smtpMessageId: row.smtpMessageId ?? null,
  idempotencyKey: row.idempotencyKey ?? null,
  source: row.source ?? '',
  campaignId: row.campaignId ?? null,
  subscriberId: row.subscriberId ?? null,
  queuedAt: epochMs(row.queuedAt) ?? 0,
  sentAt: epochMs(row.sentAt),
  finishedAt: epochMs(row.finishedAt),
  decision: row.decision && typeof row.decision === 'object' ? row.decision : null,
});

/** A private copy, so a caller that goes on mutating its entry cannot change what is queued for writing. */
const snapshot = (entry: MessageLogEntry): MessageLogEntry => ({
  ...entry,
  recipients: [...entry.recipients],
  attempts: [...entry.attempts],
});

/**
 * A 'queued' state is held back this long before it is buffered for writing: nearly every message
 * is sent (or deferred) within it, and then only its final state is written: one row write per
 * message instead of two. One that waits longer (scheduled, at quota) gets its queued row then.
 */
const QUEUED_HOLD_MS = 60_000;
/** How often held states are looked at. */
const HOLD_CHECK_MS = 1000;
/** Past this many held states the oldest go to the buffer at once (memory stays bounded, ~25 MB). */
const MAX_HELD = 50_000;

/**
 * The delivery log. Sends report each state change through `record()`, which only buffers; a
 * background loop writes the latest state of each message in batches (one transaction per batch,
 * upserts keyed on the message id). Searches read the table, so they trail `record()` by at most
 * one flush interval; `get()` also sees what is still buffered.
 */
const messageLog = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createMessageRepository(strapi);
  let indexesChecked: Promise<void> | null = null;

  const buffer = createLogBuffer<MessageLogEntry>({
    keyOf: (entry) => entry.id,
    async write(batch) {
      // The upsert needs the unique index on message_id; bootstrap normally made sure of it already.
      indexesChecked ??= ensureMessageIndexes(strapi).catch((error: unknown) => {
        indexesChecked = null;
        throw error;
      });
      await indexesChecked;
      await repository.upsertMany(batch);
    },
    // The reason only: never a recipient, subject or reply.
    onError: (error, keptCount) =>
      strapi.log.error(
        `multi-smtp: writing the delivery log failed; ${keptCount} entries are kept for the next try (${describeDatabaseError(error)})`
      ),
    onDrop: (droppedCount) =>
      strapi.log.error(`multi-smtp: the delivery log buffer is full; dropped the ${droppedCount} oldest unwritten entries`),
  });

  /** Queued states not yet buffered, oldest first (a Map keeps insertion order). */
  const held = new Map<string, { entry: MessageLogEntry; at: number }>();
  let holdTimer: ReturnType<typeof setInterval> | null = null;

  /** Moves held states older than the hold (or all of them) to the write buffer. */
  const releaseHeld = (all: boolean) => {
    const cutoff = Date.now() - QUEUED_HOLD_MS;
    for (const [id, { entry, at }] of held) {
      if (!all && at > cutoff && held.size <= MAX_HELD) break;
      held.delete(id);
      buffer.add(entry);
    }
  };

  return {
    /**
     * Buffers the latest full state of a message. Returns at once; never throws for a database
     * problem. The entry is kept as it is, not copied: the caller must not change it afterwards (the
     * engine makes a new entry for every state change).
     */
    record(entry: MessageLogEntry): void {
      if (entry.status === 'queued') {
        held.set(entry.id, { entry, at: Date.now() });
        if (held.size > MAX_HELD) releaseHeld(false);
        if (!holdTimer) {
          holdTimer = setInterval(() => releaseHeld(false), HOLD_CHECK_MS);
          holdTimer.unref();
        }
        return;
      }
      held.delete(entry.id);
      buffer.add(entry);
    },

    /** Writes everything recorded so far (tests, shutdown). Rejects if the write failed; the entries are kept. */
    flush(): Promise<void> {
      releaseHeld(true);
      return buffer.flush();
    },

    /** Final flush, then the timers stop. Called from the plugin's destroy. */
    stop(): Promise<void> {
      if (holdTimer) clearInterval(holdTimer);
      holdTimer = null;
      releaseHeld(true);
      return buffer.stop();
    },

    async get(messageId: string): Promise<MessageLogEntry | null> {
      const heldEntry = held.get(messageId);
      if (heldEntry) return snapshot(heldEntry.entry);
      const buffered = buffer.peek(messageId);
      if (buffered) return snapshot(buffered);
      const row = await repository.findOne(messageId);
      return row ? toMessageLogEntry(row) : null;
    },

    async search(query: unknown): Promise<ListResponse<MessageLogEntry>> {
      const { page, pageSize, sort, recipient, status, server, group, campaign, from, to } = parseInput(listMessagesQuerySchema, query);
      const fromMs = from ? Date.parse(from) : undefined;
      const toMs = to ? Date.parse(to) : undefined;
      if (fromMs !== undefined && toMs !== undefined && toMs < fromMs) fieldError('to', 'must not be before from');

      const where: Record<string, unknown> = {};
      if (recipient) where.recipients = { $containsi: recipient };
      if (status) where.status = status;
      if (server) where.serverId = server;
      if (group) where.groupSlug = group;
      if (campaign) where.campaignId = campaign;
      // Half-open [from, to), so consecutive windows never count a message twice.
      if (fromMs !== undefined || toMs !== undefined) {
        where.queuedAt = {
          ...(fromMs !== undefined ? { $gte: new Date(fromMs) } : {}),
          ...(toMs !== undefined ? { $lt: new Date(toMs) } : {}),
        };
      }
      const direction = sort === 'queuedAt:asc' ? 'asc' : 'desc';

      const { results, total } = await repository.findPage({
        where,
        // The id breaks ties between messages queued in the same millisecond, so pages never overlap.
        orderBy: [{ queuedAt: direction }, { id: direction }],
        offset: (page - 1) * pageSize,
        limit: pageSize,
      });
      return {
        data: results.map(toMessageLogEntry),
        meta: { pagination: { page, pageSize, pageCount: Math.ceil(total / pageSize), total } },
      };
    },
  };
};

export type MessageLogService = ReturnType<typeof messageLog>;
export default messageLog;
