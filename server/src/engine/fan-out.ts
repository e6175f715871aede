import crypto, { createHash } from 'node:crypto';

import { domainOf, normaliseAddress } from './address';

/**
 * The fan-out of one campaign: reads its audience a page at a time after a keyset cursor, skips
 * who must not get it, renders a message for everyone else, queues the page in batches, and only
 * then saves the cursor. Plain TypeScript: every effect is a function handed in, so the loop is
 * tested with small fakes (test/unit/fan-out.test.ts) and run for real by the campaign runner.
 *
 * Exactly once, across crashes: before queueing page N the cursor notes its last key (`pending`);
 * its batches have the ids `${campaignId}:${N}:${part}`, each recipient's part a hash of its key,
 * and message ids are derived from the campaign and the key. A process that dies after queueing
 * but before saving the cursor reads exactly the same entries again after a restart, builds the
 * same batches, and the queue refuses those it holds (`queued: false`): nobody is skipped and
 * nobody is sent twice. A page is split into batches of about `batchSize` because a batch is one
 * queue job, sent one message after the other: smaller batches spread over more worker slots.
 *
 * Bounded: before each page it waits while the campaign's queued-but-unfinished messages plus the
 * next page would pass `maxInFlight`, so the queue (and Redis memory) never hold more than that,
 * whatever the audience's size.
 *
 * Skipped (counted in the cursor, never queued): an invalid address, a subscriber who is not
 * 'subscribed', a recipient the audience marks as a duplicate (an earlier entry has the same
 * address), an address repeated within the page, a suppressed address or domain, and (with segment
 * routing set to skip the rest) a recipient in no segment.
 *
 * Segment routing: `segmentOf` puts each recipient in a segment, and a page's batches are split by
 * segment as well as by part, so each batch goes through one group. A segment's batch of part P is
 * `${campaignId}:${seq}:${P}.${segment}`; recipients outside every segment keep the plain ids, so
 * a campaign without segments queues exactly what it did before.
 */

export interface FanOutRecipient {
  /** The keyset key, unique and ascending within the audience (subscriber id, entry id). */
  key: string;
  email: string;
  name: string | null;
  subscriberId: string | null;
  attributes: Record<string, unknown>;
  /** The subscriber's status, for list audiences; null for other sources. */
  status?: string | null;
  /** True when an earlier entry of the audience has the same (normalised) address. */
  duplicate?: boolean;
}

export interface FanOutPage {
  recipients: FanOutRecipient[];
  /** The key to read the next page after (the last key this page scanned); null when this was the last page. */
  next: string | null;
}

/** A page about to be queued: written before the batch, so a replay after a crash reads exactly the same entries. */
export interface PendingPage {
  /** Key of the page's last recipient: the replay reads (after, upTo]. */
  upTo: string;
  /** What the page's `next` was. */
  next: string | null;
  /** The page size it was read with. */
  limit: number;
  /** How many batches its messages were split into. */
  parts: number;
}

export interface FanOutCursor {
  /** Last key read (null: from the start). */
  after: string | null;
  /** Pages read so far; the next page's batch is `${campaignId}:${seq}`. */
  seq: number;
  /** Recipients skipped by the fan-out itself (the gate's skips are counted by the engine). */
  skipped: number;
  /** Recipients handed to the queue. */
  queued: number;
  /** Every entry read: nothing is left to fan out. */
  done: boolean;
  /** Set between reading a page and queueing it. */
  pending?: PendingPage | null;
}

export const INITIAL_CURSOR: FanOutCursor = { after: null, seq: 0, skipped: 0, queued: 0, done: false, pending: null };

export interface BatchMessage<M> {
  id: string;
  subscriberId: string | null;
  message: M;
}

export type SkipReason = 'invalid' | 'not-subscribed' | 'duplicate' | 'suppressed' | 'unsegmented';

/** segmentOf's answer for a recipient who goes through the campaign's own group. */
export const NO_SEGMENT = -1;

/** A batch as the fan-out hands it to the queue; `segment` is segmentOf's index (absent: the campaign's group). */
export interface FanOutBatch<M> {
  batchId: string;
  messages: BatchMessage<M>[];
  segment?: number;
}

export interface FanOutDeps<M> {
  campaignId: string;
  /** Up to `limit` entries with key > after (and <= upTo when given), in key order. */
  readPage(after: string | null, limit: number, upTo?: string): Promise<FanOutPage>;
  /** Of these normalised addresses, those suppressed (by address, or by their domain). */
  filterSuppressed(emails: string[]): Promise<Set<string>>;
  /** The message for one recipient (its address already normalised). May throw: the fan-out stops with that error. */
  render(recipient: FanOutRecipient & { email: string }, messageId: string): M;
  queueBatch(batch: FanOutBatch<M>): Promise<{ queued: boolean }>;
  /**
   * All of a page's batches in one call (the engine stores them with one script call and adds
   * their jobs in one pipeline), each idempotent on its id as queueBatch is; the result per batch,
   * in order. When given, used instead of queueBatch.
   */
  queueBatches?(batches: FanOutBatch<M>[]): Promise<{ queued: boolean }[]>;
  /**
   * Segment routing: the index of the segment a recipient is sent in, NO_SEGMENT for the
   * campaign's own group, or null to skip it ('unsegmented'). It must give the same answer for
   * the same entry every time, so a page read again after a crash builds the same batches.
   */
  segmentOf?(recipient: FanOutRecipient): number | null;
  loadCursor(): Promise<FanOutCursor | null>;
  /**
   * Saves the cursor. The fan-out does not wait for it before queueing (a round trip fewer per
   * checkpoint), so a save must take effect before anything queueBatch(es) writes after it is
   * called: the plugin keeps both on one Redis connection, whose commands run in the order issued.
   * A failed save fails the fan-out (it is awaited before the page after it is finished).
   */
  saveCursor(cursor: FanOutCursor): Promise<void>;
  /** Messages of this campaign queued and not finished yet. */
  inFlight(): Promise<number>;
  /** True when the fan-out must stop now (paused, cancelled, lock lost, process stopping). */
  shouldStop(): boolean | Promise<boolean>;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface FanOutOptions {
  pageSize: number;
  maxInFlight: number;
  /**
   * Messages per queued batch (default 50). A batch is one queue job whose messages go out one
   * after the other, so a page is split into several batches to spread over the worker slots.
   */
  batchSize?: number;
  /** How often in-flight is read again while waiting for room. */
  pollMs?: number;
}

export interface FanOutStats {
  pages: number;
  /** Queued by this run (a page the queue refused as already queued is not counted). */
  queued: number;
  skipped: number;
  byReason: Record<SkipReason, number>;
  /** Pages with a batch that had been queued before (a crash between queue and checkpoint). */
  replayedPages: number;
  /** Time spent waiting for room under maxInFlight. */
  waitMs: number;
  /** Time spent on everything else (reading, rendering, queueing, checkpointing). */
  workMs: number;
  /** Of workMs: reading pages, checking suppressions, rendering messages, queueing batches. */
  phaseMs: { read: number; suppressions: number; render: number; queue: number };
}

export interface FanOutResult {
  outcome: 'done' | 'stopped';
  cursor: FanOutCursor;
  stats: FanOutStats;
}

const SIMPLE_ADDRESS = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+\.[^\s@<>(),;:"[\]\\]+$/;

/** A plausible single mailbox after normalisation (the engine validates the message again). */
export const isSendableAddress = (email: string): boolean => email.length <= 254 && SIMPLE_ADDRESS.test(email);

/**
 * SHA-256 of a string: crypto.hash (Node 20.12+, one call, about three times faster than a Hash
 * object; the fan-out derives one id per recipient), else createHash. The same digest either way.
 */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }).hash;
export const sha256 = (data: string): Buffer => (oneShotHash ? oneShotHash('sha256', data, 'buffer') : createHash('sha256').update(data).digest());

/**
 * A UUID (version 5 layout, SHA-256 instead of SHA-1) that is always the same for the same
 * campaign and recipient key: a page fanned out again after a crash carries the same message ids.
 */
export const deterministicUuid = (namespace: string, name: string): string => {
  const bytes = sha256(`${namespace}\u0000${name}`).subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

export const batchIdOf = (campaignId: string, seq: number, part = 0, segment = NO_SEGMENT) =>
  segment === NO_SEGMENT ? `${campaignId}:${seq}:${part}` : `${campaignId}:${seq}:${part}.${segment}`;

/** FNV-1a: which batch of its page a recipient goes in, the same every time the page is read. */
export const partOf = (key: string, parts: number): number => {
  if (parts <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index += 1) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % parts;
};
export const messageIdOf = (campaignId: string, recipientKey: string) => deterministicUuid(`campaign:${campaignId}`, recipientKey);

export const emptyFanOutStats = (): FanOutStats => ({
  pages: 0,
  queued: 0,
  skipped: 0,
  byReason: { invalid: 0, 'not-subscribed': 0, duplicate: 0, suppressed: 0, unsegmented: 0 },
  replayedPages: 0,
  waitMs: 0,
  workMs: 0,
  phaseMs: { read: 0, suppressions: 0, render: 0, queue: 0 },
});

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Decides, for one page, who is sent and who is skipped. Pure except for the suppression lookup.
 */
export const classifyPage = async (
  recipients: FanOutRecipient[],
  filterSuppressed: (emails: string[]) => Promise<Set<string>>
): Promise<{ send: (FanOutRecipient & { email: string })[]; skipped: Record<SkipReason, number> }> => {
  const skipped: Record<SkipReason, number> = { invalid: 0, 'not-subscribed': 0, duplicate: 0, suppressed: 0, unsegmented: 0 };
  const candidates: (FanOutRecipient & { email: string })[] = [];
  const seen = new Set<string>();
  for (const recipient of recipients) {
    const email = normaliseAddress(recipient.email ?? '');
    if (!isSendableAddress(email)) skipped.invalid += 1;
    else if (recipient.status != null && recipient.status !== 'subscribed') skipped['not-subscribed'] += 1;
    else if (recipient.duplicate || seen.has(email)) skipped.duplicate += 1;
    else {
      seen.add(email);
      candidates.push({ ...recipient, email });
    }
  }
  if (candidates.length === 0) return { send: candidates, skipped };
  const suppressed = await filterSuppressed(candidates.map((recipient) => recipient.email));
  if (suppressed.size === 0) return { send: candidates, skipped };
  const send = candidates.filter((recipient) => {
    const blocked = suppressed.has(recipient.email) || suppressed.has(`@${domainOf(recipient.email)}`);
    if (blocked) skipped.suppressed += 1;
    return !blocked;
  });
  return { send, skipped };
};

/** A page read, sorted out and rendered, ready to be queued. */
interface PreparedPage<M> {
  page: FanOutPage;
  /** The page's `next` (for a replayed page: what it was when first read). */
  next: string | null;
  skipped: Record<SkipReason, number>;
  send: (FanOutRecipient & { email: string })[];
  /** Per recipient of `send`: its segment (null without segment routing). */
  segments: number[] | null;
  messages: BatchMessage<M>[];
}

/**
 * A promise awaited later rather than now: marked handled, so a rejection meanwhile is not reported
 * as unhandled; awaiting the returned promise still throws it.
 */
const guarded = <T>(promise: Promise<T>): Promise<T> => {
  promise.catch(() => undefined);
  return promise;
};

/**
 * Runs the fan-out until the audience is exhausted or `shouldStop` says so. Errors propagate (the caller fails the campaign).
 *
 * Pipelined: while a page is queued and checkpointed (round trips to Redis and the database), the
 * next one is read, sorted out and rendered, so the fan-out's CPU work overlaps its waits. The
 * next page is awaited before the loop looks for room again: its work counts in workMs, never in
 * the wait for room. A prepared page is only data; what is queued, and when the cursor moves, is as
 * without it (a crash loses the prepared page, which is read again).
 */
export const runFanOut = async <M>(deps: FanOutDeps<M>, options: FanOutOptions): Promise<FanOutResult> => {
  const sleep = deps.sleep ?? defaultSleep;
  const now = deps.now ?? (() => performance.now());
  const pollMs = options.pollMs ?? 100;
  // A page never holds more than the in-flight bound, so a page always fits once the queue drains.
  const pageSize = Math.max(1, Math.min(options.pageSize, options.maxInFlight));
  const batchSize = Math.max(1, options.batchSize ?? 50);
  const stats = emptyFanOutStats();
  let cursor: FanOutCursor = { ...INITIAL_CURSOR, ...(await deps.loadCursor()) };

  /** Reads the page after `after` (or exactly a pending one again), sorts it out and renders it. */
  const prepare = async (after: string | null, pending: PendingPage | null | undefined): Promise<PreparedPage<M>> => {
    const readStarted = now();
    // A page read before a crash and maybe queued: read exactly its entries again (same batch id).
    const page = pending ? await deps.readPage(after, pending.limit, pending.upTo) : await deps.readPage(after, pageSize);
    const next = pending ? pending.next : page.next;
    const classifyStarted = now();
    stats.phaseMs.read += classifyStarted - readStarted;
    const classified = await classifyPage(page.recipients, (emails) => deps.filterSuppressed(emails));
    const { skipped } = classified;
    let { send } = classified;
    // Segments are decided after the other skips, so 'unsegmented' counts only who would have been sent.
    let segments: number[] | null = null;
    if (deps.segmentOf) {
      const segmentOf = deps.segmentOf;
      const kept: (FanOutRecipient & { email: string })[] = [];
      segments = [];
      for (const recipient of send) {
        const segment = segmentOf(recipient);
        if (segment === null) skipped.unsegmented += 1;
        else {
          kept.push(recipient);
          segments.push(segment);
        }
      }
      send = kept;
    }
    const renderStarted = now();
    stats.phaseMs.suppressions += renderStarted - classifyStarted;
    const messages: BatchMessage<M>[] = send.map((recipient) => {
      const id = messageIdOf(deps.campaignId, recipient.key);
      return { id, subscriberId: recipient.subscriberId, message: deps.render(recipient, id) };
    });
    stats.phaseMs.render += now() - renderStarted;
    return { page, next, skipped, send, segments, messages };
  };

  /**
   * The next page, prepared while this one is queued: read after this page, which is where the
   * cursor stands when the loop comes round to it (only a run's first page can be a pending one).
   */
  let ahead: Promise<PreparedPage<M>> | null = null;
  /**
   * The last page's checkpoint, still being written: awaited with the next page's queueing (whose
   * writes it precedes, see saveCursor) or before the fan-out returns, never on its own.
   */
  let checkpoint: Promise<void> = Promise.resolve();
  const finished = async (outcome: FanOutResult['outcome']): Promise<FanOutResult> => {
    await checkpoint;
    return { outcome, cursor, stats };
  };

  for (;;) {
    if (cursor.done) return finished('done');
    if (await deps.shouldStop()) return finished('stopped');

    // Back-pressure: room for a whole page under maxInFlight.
    const waitStarted = now();
    let waited = false;
    while ((await deps.inFlight()) + pageSize > options.maxInFlight) {
      waited = true;
      if (await deps.shouldStop()) {
        stats.waitMs += now() - waitStarted;
        return finished('stopped');
      }
      await sleep(pollMs);
    }
    if (waited) stats.waitMs += now() - waitStarted;

    const workStarted = now();
    const { pending } = cursor;
    const prepared: PreparedPage<M> = ahead ? await ahead : await prepare(cursor.after, pending);
    ahead = null;
    const { page, next, skipped, send, segments, messages } = prepared;
    const after: string | null = next ?? page.recipients.at(-1)?.key ?? cursor.after;
    if (next !== null) {
      // The next page is prepared while this one is queued. A failure is thrown when it is used.
      ahead = guarded(prepare(after, null));
    }
    const queueStarted = now();
    let queuedHere = 0;
    let replayed = false;
    /** Checkpoints this page waits for before it is done: the last page's, and its own pending note. */
    const checkpoints: Promise<void>[] = [checkpoint];
    if (messages.length > 0) {
      // Split by a hash of each recipient's key, so a replayed page puts everyone in the same batch.
      const parts = pending?.parts ?? Math.max(1, Math.ceil(pageSize / batchSize));
      if (!pending) {
        const upTo = page.recipients.at(-1)!.key;
        // Applied before the batches are stored (saveCursor's contract); awaited with them below.
        checkpoints.push(guarded(deps.saveCursor({ ...cursor, pending: { upTo, next, limit: pageSize, parts } })));
      }
      // Keyed by segment and part: one batch per (segment, part), in a stable order.
      const batches = new Map<string, { part: number; segment: number; messages: BatchMessage<M>[] }>();
      send.forEach((recipient, index) => {
        const part = partOf(recipient.key, parts);
        const segment = segments ? segments[index]! : NO_SEGMENT;
        const key = `${segment}:${part}`;
        const batch = batches.get(key);
        if (batch) batch.messages.push(messages[index]!);
        else batches.set(key, { part, segment, messages: [messages[index]!] });
      });
      // All of a page's batches at once (in one call when the queue takes a page, else their
      // Redis commands share round trips); each is idempotent on its id, and the cursor moves
      // only after every one is queued.
      const ordered = [...batches.values()].sort((a, b) => a.segment - b.segment || a.part - b.part);
      const pageBatches: FanOutBatch<M>[] = ordered.map(({ part, segment, messages: batchMessages }) => ({
        batchId: batchIdOf(deps.campaignId, cursor.seq, part, segment),
        messages: batchMessages,
        ...(segment === NO_SEGMENT ? {} : { segment }),
      }));
      const results = deps.queueBatches ? await deps.queueBatches(pageBatches) : await Promise.all(pageBatches.map((batch) => deps.queueBatch(batch)));
      results.forEach((result, index) => {
        if (result.queued) queuedHere += pageBatches[index]!.messages.length;
        else replayed = true;
      });
    }
    await Promise.all(checkpoints);
    stats.phaseMs.queue += now() - queueStarted;
    const skippedHere = Object.values(skipped).reduce((sum, count) => sum + count, 0);
    cursor = {
      after,
      // Every page moves the sequence on, queued or not, so a batch id is never used for two pages.
      seq: cursor.seq + 1,
      skipped: cursor.skipped + skippedHere,
      queued: cursor.queued + messages.length,
      done: next === null,
      pending: null,
    };
    // Not awaited here: the next page's writes follow it in order (saveCursor), and it is awaited with them.
    checkpoint = guarded(deps.saveCursor(cursor));

    stats.pages += 1;
    stats.skipped += skippedHere;
    for (const reason of Object.keys(skipped) as SkipReason[]) stats.byReason[reason] += skipped[reason];
    stats.queued += queuedHere;
    if (replayed) stats.replayedPages += 1;
    // The next page's work is part of this turn's (never hidden in the wait for room that follows).
    if (ahead) await ahead.catch(() => undefined);
    stats.workMs += now() - workStarted;
  }
};
