import type { Cluster, Redis } from 'ioredis';

import type { AttemptRecord, MessageLogEntry, MessageStatus } from '../../../shared/contracts/messages';
import type { OutgoingMessage } from './message';
import { redisScript } from './redis-script';
import type { RouteChoice, ServerSkip } from './route-decision';

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
  /** Campaign mail: the campaign and subscriber it is for (null for other mail). */
  campaignId?: string | null;
  subscriberId?: string | null;
  /** How its target was chosen at intake (explicit, rule, segment, default), for the delivery log. */
  route?: RouteChoice;
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
  /** A message of a batch job that went on in a job of its own (retries): the batch leaves it alone. */
  ownJob?: boolean;
  /**
   * Campaign mail is stored as its recipient and rendered by the worker when it is sent (the
   * fan-out then queues tens of thousands of recipients a second); until then `message` is empty.
   */
  recipient?: CampaignRecipient | null;
  /** Servers passed over at send time and why (engine/route-decision.ts), for the delivery log. */
  skips?: ServerSkip[];
}

/** Who a campaign message is for: what its template is rendered with. */
export interface CampaignRecipient {
  email: string;
  name: string | null;
  attributes: Record<string, unknown>;
}

export const FINAL_STATUSES: ReadonlySet<MessageStatus> = new Set(['sent', 'failed', 'bounced', 'skipped']);

/** The last accepted attempt, if any. */
export const lastAccepted = (attempts: readonly AttemptRecord[]): AttemptRecord | undefined => {
  for (let index = attempts.length - 1; index >= 0; index -= 1) if (attempts[index]!.outcome === 'accepted') return attempts[index];
  return undefined;
};

/**
 * A message's state as the delivery log holds it. `serverNameOf` names the servers it skipped (the
 * engine's directory); a server it no longer knows keeps its id.
 */
export const toLogEntry = (record: MessageRecord, serverNameOf?: (serverId: string) => string | undefined): MessageLogEntry => ({
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
  campaignId: record.meta.campaignId ?? null,
  subscriberId: record.meta.subscriberId ?? null,
  queuedAt: record.meta.queuedAt,
  sentAt: record.sentAt,
  finishedAt: record.finishedAt,
  decision: {
    route: record.meta.route ?? { via: record.meta.serverId ? 'server' : 'group' },
    skips: (record.skips ?? []).map((skip) => ({ server: serverNameOf?.(skip.serverId) ?? skip.serverId, reason: skip.reason })),
  },
});

/** Where a finished message is counted besides its group's depth. */
export interface FinishedCounters {
  depthKey: string;
  depthField: string;
  /** A campaign's counters hash: the final status is counted there once. */
  campaignCountsKey?: string | null;
}

/** A campaign batch is stored once: this marker says it was (see storeCampaignBatches). */
const BATCH_MARKER_SEC = 7 * 24 * 3600;

/** The meta fields that differ from one message of a campaign batch to the next. */
export type OwnMeta = Pick<MessageMeta, 'from' | 'recipients' | 'subject' | 'subscriberId'>;
/** The meta fields every message of a campaign batch shares (its target, campaign, time). */
export type SharedMeta = Omit<MessageMeta, keyof OwnMeta>;

/** One message of a campaign batch as stored: rendered (`message`) or its recipient. */
export interface CampaignBatchRecord {
  id: string;
  /** Its own meta fields; the batch's SharedMeta completes them. */
  own: OwnMeta;
  message?: OutgoingMessage;
  recipient?: CampaignRecipient | null;
}

/**
 * Stores several campaign batches at once. KEYS: the campaign's counters, the depth hash, each
 * batch's marker. ARGV: the depth field, the marker's lifetime, the prefix of message keys, the
 * number of batches, then per batch its size, its shared meta and its messages packed in one
 * string: four fields per message (id, content field, content, own meta), each ended by a newline
 * (JSON text has none, an id may not). One packed string per batch rather than four arguments per
 * message: the client's cost is per argument. The shared meta is the batch's SharedMeta as JSON
 * without its closing brace, sent once: each message's stored meta is that, a comma, and its own
 * meta's JSON without its opening brace (one JSON object, as if written whole), so the fan-out
 * neither serialises nor sends the same fields for every message. Message keys are built here
 * from the prefix: on Cluster they share the declared keys' hash tag, so the slot is the same
 * (BullMQ's scripts build job keys the same way). A batch whose marker exists is skipped whole.
 * Returns 1 or 0 per batch: stored here or before.
 */
const STORE_BATCHES_LUA = `
local batches = tonumber(ARGV[4])
local prefix = ARGV[3]
local find, sub = string.find, string.sub
local total = 0
local stored = {}
for b = 1, batches do
  local size = tonumber(ARGV[2 + 3 * b])
  if redis.call('exists', KEYS[2 + b]) == 0 then
    local shared = ARGV[3 + 3 * b] .. ','
    local data = ARGV[4 + 3 * b]
    local pos = 1
    for i = 1, size do
      local idEnd = find(data, '\\n', pos, true)
      local fieldEnd = find(data, '\\n', idEnd + 1, true)
      local contentEnd = find(data, '\\n', fieldEnd + 1, true)
      local metaEnd = find(data, '\\n', contentEnd + 1, true)
      redis.call('hset', prefix .. sub(data, pos, idEnd - 1),
        sub(data, idEnd + 1, fieldEnd - 1), sub(data, fieldEnd + 1, contentEnd - 1),
        'meta', shared .. sub(data, contentEnd + 2, metaEnd - 1), 'status', 'queued')
      pos = metaEnd + 1
    end
    redis.call('set', KEYS[2 + b], size, 'EX', ARGV[2])
    total = total + size
    stored[b] = 1
  else
    stored[b] = 0
  end
end
if total > 0 then
  redis.call('hincrby', KEYS[1], 'queued', total)
  redis.call('hincrby', KEYS[2], ARGV[1], total)
end
return stored
`;
const storeBatchesScript = redisScript(STORE_BATCHES_LUA);

/**
 * Writes a message's state after an attempt, as a Lua function (used by FINISH_LUA below and by the
 * engine's one script per attempt, attempt-script.ts). A final status is counted exactly once, even
 * when a job runs twice: a message whose state is final already, or a campaign message whose key is
 * gone (removed when it finished), is neither written nor counted again. A message that is gone is
 * never brought back by a late write.
 *
 * msg, depth, campaign: keys (campaign is ignored unless hasCampaign is '1'); final: the final
 * status, or '' for a state that is not final; fields: a flat list of field, value pairs.
 * Returns 1 if it wrote, 0 if the message was gone or finished already.
 */
export const WRITE_STATE_FUNCTION_LUA = `
local function writeState(msg, depth, campaign, hasCampaign, final, depthField, retentionSec, fields)
  if final == '' then
    if redis.call('EXISTS', msg) == 0 then return 0 end
    if #fields > 0 then redis.call('HSET', msg, unpack(fields)) end
    return 1
  end
  if hasCampaign == '1' then
    if redis.call('DEL', msg) == 0 then return 0 end
    redis.call('HINCRBY', campaign, final, 1)
  else
    local status = redis.call('HGET', msg, 'status')
    if not status or status == 'sent' or status == 'failed' or status == 'bounced' or status == 'skipped' then return 0 end
    if #fields > 0 then redis.call('HSET', msg, unpack(fields)) end
    redis.call('HDEL', msg, 'body')
    redis.call('EXPIRE', msg, retentionSec)
  end
  redis.call('HINCRBY', depth, depthField, -1)
  return 1
end
`;

/** KEYS: message, depth, campaign counters (or depth again). ARGV: hasCampaign, final, depth field, retention, then field/value pairs. */
const FINISH_LUA = `${WRITE_STATE_FUNCTION_LUA}
local fields = {}
for index = 5, #ARGV do fields[#fields + 1] = ARGV[index] end
return writeState(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], fields)
`;
const finishScript = redisScript(FINISH_LUA);

/** The fields of a state change as stored (attempts as JSON, null as ''). */
export type StateChange = Partial<Pick<MessageRecord, 'status' | 'attempts' | 'serverId' | 'serverName' | 'lastReply' | 'smtpMessageId' | 'sentAt' | 'finishedAt' | 'ownJob' | 'skips'>>;
export const storedFieldsOf = (change: StateChange): string[] => {
  const fields: string[] = [];
  for (const [name, value] of Object.entries(change)) {
    if (value === undefined) continue;
    fields.push(name, name === 'attempts' || name === 'skips' ? JSON.stringify(value) : value === null ? '' : typeof value === 'boolean' ? (value ? '1' : '') : String(value));
  }
  return fields;
};

/** The keys and arguments of writeState for one change (see WRITE_STATE_FUNCTION_LUA). */
export const writeStateCall = (messageKey: string, change: StateChange, finished: FinishedCounters | undefined, retentionSec: number) => {
  const final = change.status !== undefined && FINAL_STATUSES.has(change.status) ? change.status : '';
  const depthKey = finished?.depthKey ?? messageKey;
  const campaignKey = finished?.campaignCountsKey ?? null;
  return {
    keys: [messageKey, depthKey, campaignKey ?? depthKey],
    args: [campaignKey ? '1' : '0', final, finished?.depthField ?? '', String(retentionSec)],
    fields: storedFieldsOf(change),
  };
};

export const createMessageStore = (redis: Redis | Cluster, options: { keyPrefix: string; retentionSec: number; idempotencySec: number }) => {
  const messageKey = (id: string) => `${options.keyPrefix}:msg:${id}`;
  const idempotencyKeyOf = (key: string) => `${options.keyPrefix}:idem:${key}`;
  const batchMarkerKey = (batchId: string) => `${options.keyPrefix}:batch:${batchId}`;
  /** A stored message; `withBody: false` also reads a finished one, whose body is gone. */
  const parse = (id: string, fields: Record<string, string>, withBody = true): MessageRecord | null => {
    if (!fields.meta || (withBody && !fields.body && !fields.rcpt)) return null;
    return {
      id,
      message: (fields.body ? JSON.parse(fields.body) : { subject: '' }) as OutgoingMessage,
      meta: JSON.parse(fields.meta) as MessageMeta,
      status: (fields.status ?? 'queued') as MessageStatus,
      attempts: fields.attempts ? (JSON.parse(fields.attempts) as AttemptRecord[]) : [],
      serverId: fields.serverId || null,
      serverName: fields.serverName || null,
      lastReply: fields.lastReply || null,
      smtpMessageId: fields.smtpMessageId || null,
      sentAt: fields.sentAt ? Number(fields.sentAt) : null,
      finishedAt: fields.finishedAt ? Number(fields.finishedAt) : null,
      ownJob: fields.ownJob === '1',
      recipient: fields.rcpt ? (JSON.parse(fields.rcpt) as CampaignRecipient) : null,
      // Kept across runs (a retry, a wait) so the log explains every server passed over.
      ...(fields.skips ? { skips: JSON.parse(fields.skips) as ServerSkip[] } : {}),
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

    /**
     * Stores new messages and, with `depth`, counts them on their groups' queue depth, in one round
     * trip for any number of them. A pipeline rather than a transaction: Redis serves other clients
     * between its commands, where an EXEC of a sendBulk chunk (1,000 messages) held it for about 3 ms.
     * Throws when any write failed (exec() returns per-command errors rather than throwing them).
     */
    async createMany(
      records: { id: string; message: OutgoingMessage; meta: MessageMeta }[],
      depth?: { key: string; counts: Map<string, number> }
    ): Promise<void> {
      const pipeline = redis.pipeline();
      for (const { id, message, meta } of records) {
        pipeline.hset(messageKey(id), { body: JSON.stringify(message), meta: JSON.stringify(meta), status: 'queued' });
      }
      if (depth) for (const [field, count] of depth.counts) pipeline.hincrby(depth.key, field, count);
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([error]) => error);
      if (failed) throw failed[0];
    },

    /**
     * Stores campaign batches (a fan-out page's) unless each was stored before, and counts them, so
     * storing the same batch again (a fan-out resuming after a crash) neither duplicates nor
     * double-counts it. One script call for all of them: each batch's marker is checked and its
     * messages, marker and counters written atomically, so a page costs one round trip and one
     * command instead of one per message, and two fan-outs racing on a batch cannot both store it.
     * Returns, per batch, whether this call stored it. All batches share `counters` (one campaign,
     * one group).
     */
    async storeCampaignBatches(
      batches: { batchId: string; shared: SharedMeta; records: CampaignBatchRecord[] }[],
      counters: { depthKey: string; depthField: string; campaignCountsKey: string }
    ): Promise<boolean[]> {
      if (batches.length === 0) return [];
      const keys = [counters.campaignCountsKey, counters.depthKey, ...batches.map((batch) => batchMarkerKey(batch.batchId))];
      const args: string[] = [counters.depthField, String(BATCH_MARKER_SEC), messageKey(''), String(batches.length)];
      for (const batch of batches) {
        // Its JSON without the closing brace; it always has fields (source, queuedAt), so a comma may follow.
        const shared = JSON.stringify(batch.shared).slice(0, -1);
        const packed: string[] = [];
        for (const { id, message, recipient, own } of batch.records) {
          if (id.includes('\n')) throw new Error(`a message id cannot hold a newline: ${JSON.stringify(id)}`);
          // A rendered message, or (rendered by the worker) its recipient. `own` always has fields (recipients).
          const content = recipient ? `rcpt\n${JSON.stringify(recipient)}` : `body\n${JSON.stringify(message)}`;
          packed.push(`${id}\n${content}\n${JSON.stringify(own)}\n`);
        }
        // Joined once into a flat string (not grown by +=: a rope the socket write would flatten).
        args.push(String(batch.records.length), shared, packed.join(''));
      }
      const stored = await storeBatchesScript<number[]>(redis, keys, args);
      return batches.map((_, index) => Number(stored[index]) === 1);
    },

    async get(id: string): Promise<MessageRecord | null> {
      return parse(id, await redis.hgetall(messageKey(id)));
    },

    /** A message's state for status queries, also once it finished (its body is not read). */
    async getState(id: string): Promise<MessageRecord | null> {
      return parse(id, await redis.hgetall(messageKey(id)), false);
    },

    /** Several messages in one round trip (null where one is gone). */
    async getMany(ids: string[]): Promise<(MessageRecord | null)[]> {
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetall(messageKey(id));
      const results = (await pipeline.exec()) ?? [];
      return ids.map((id, index) => {
        const [error, fields] = results[index] ?? [null, {}];
        if (error) throw error;
        return parse(id, (fields ?? {}) as Record<string, string>);
      });
    },

    /**
     * Writes what changed after an attempt, in one script (WRITE_STATE_FUNCTION_LUA). A final status
     * (with `finished`) takes the message off its group's depth counter and counts it for its
     * campaign at the same time, exactly once even when a job runs twice. A finished message keeps only its state, for `retentionSec` (the body is not
     * needed again); a finished campaign message is removed at once (the delivery log holds its
     * history, and Redis memory must not grow with the size of an audience). A message that is gone
     * is never sent again (see the worker).
     */
    async update(id: string, change: StateChange, finished?: FinishedCounters): Promise<void> {
      const call = writeStateCall(messageKey(id), change, finished, options.retentionSec);
      await finishScript(redis, call.keys, [...call.args, ...call.fields]);
    },

    messageKey,
    retentionSec: options.retentionSec,

    /** Marks several messages deferred in one round trip. */
    async markDeferred(ids: string[]): Promise<void> {
      if (ids.length === 0) return;
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hset(messageKey(id), 'status', 'deferred');
      await pipeline.exec();
    },

    async delete(id: string): Promise<void> {
      await redis.del(messageKey(id));
    },
  };
};

export type MessageStore = ReturnType<typeof createMessageStore>;
