/**
 * A write-behind buffer for log records: callers add the latest full state of a record and return
 * at once; a loop writes what piled up in batches. Plain TypeScript, no Strapi import: the caller
 * supplies `write` (one batch, one transaction) and `onError`.
 *
 * - Coalescing: records are keyed; a later state of a key replaces the earlier one, so a message
 *   queued and sent within one interval is written once.
 * - One write at a time, in the order states were added, so an older state never lands after a
 *   newer one.
 * - A failed write keeps its records for the next flush (unless a newer state of the same key
 *   arrived meanwhile). Background retries back off (doubling, up to `maxRetryDelayMs`) so an
 *   outage is not retried and logged several times a second. Only past `maxPending` are the
 *   oldest records dropped, so a long database outage cannot exhaust the process's memory.
 */

export interface LogBufferOptions<Entry> {
  keyOf(entry: Entry): string;
  /** Writes one batch (at most maxBatch records); rejects to keep them for the next flush. */
  write(batch: Entry[]): Promise<void>;
  /** A write failed; its records are kept. */
  onError(error: unknown, keptCount: number): void;
  /** Records were dropped because maxPending was reached. */
  onDrop?(droppedCount: number): void;
  flushIntervalMs?: number;
  maxBatch?: number;
  maxPending?: number;
  maxRetryDelayMs?: number;
}

export interface LogBuffer<Entry> {
  /** Queues the latest state of a record. Never blocks, never throws on a database error. */
  add(entry: Entry): void;
  /** The latest state not yet committed, if any: lets readers see their own writes. */
  peek(key: string): Entry | undefined;
  /** Writes everything added before the call; rejects if a write failed (the records are kept). */
  flush(): Promise<void>;
  /** Flushes (reporting, not throwing, a failure) and stops the timer. */
  stop(): Promise<void>;
  /** Records waiting to be written, including the batch being written. */
  readonly size: number;
}

export const LOG_BUFFER_DEFAULTS = {
  flushIntervalMs: 250,
  maxBatch: 500,
  maxPending: 100_000,
  maxRetryDelayMs: 30_000,
} as const;

export const createLogBuffer = <Entry>(options: LogBufferOptions<Entry>): LogBuffer<Entry> => {
  const { keyOf, write, onError, onDrop } = options;
  const flushIntervalMs = options.flushIntervalMs ?? LOG_BUFFER_DEFAULTS.flushIntervalMs;
  const maxBatch = options.maxBatch ?? LOG_BUFFER_DEFAULTS.maxBatch;
  const maxPending = options.maxPending ?? LOG_BUFFER_DEFAULTS.maxPending;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? LOG_BUFFER_DEFAULTS.maxRetryDelayMs;

  /** Added, not yet taken by a write. A Map keeps insertion order and replaces by key. */
  let pending = new Map<string, Entry>();
  /** Taken by the write in progress, until it commits. */
  let writing = new Map<string, Entry>();
  let inFlight: Promise<void> | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  let failures = 0;
  /** Background flushes wait until then after a failure; an explicit flush() does not. */
  let retryAt = 0;

  /** Puts records of a failed write back, unless a newer state of the key is already pending. */
  const keep = (entries: Map<string, Entry>) => {
    const merged = new Map(entries);
    for (const [key, entry] of pending) merged.set(key, entry);
    pending = merged;
  };

  /** Writes everything pending now, batch by batch; stops at the first failure and keeps the rest. */
  const drain = async () => {
    writing = pending;
    pending = new Map();
    const entries = [...writing.entries()];
    try {
      for (let start = 0; start < entries.length; start += maxBatch) {
        const batch = entries.slice(start, start + maxBatch);
        await write(batch.map(([, entry]) => entry));
        for (const [key] of batch) writing.delete(key);
      }
    } catch (error) {
      const unwritten = writing;
      writing = new Map();
      keep(unwritten);
      failures += 1;
      retryAt = Date.now() + Math.min(flushIntervalMs * 2 ** failures, maxRetryDelayMs);
      onError(error, unwritten.size);
      throw error;
    }
    writing = new Map();
    failures = 0;
    retryAt = 0;
  };

  const flush = async (): Promise<void> => {
    // The write in progress holds older states; wait for it, then write what is pending now.
    while (inFlight) await inFlight.catch(() => undefined);
    if (pending.size === 0) return;
    inFlight = drain().finally(() => {
      inFlight = null;
    });
    await inFlight;
    // Records added during a long write may already fill a batch: start on them now.
    if (pending.size >= maxBatch) flushInBackground();
  };

  /** Background flushes report failures through onError; the records stay pending. */
  const flushInBackground = () => {
    if (!inFlight && Date.now() >= retryAt) flush().catch(() => undefined);
  };

  const dropOldest = () => {
    const excess = pending.size - maxPending;
    if (excess <= 0) return;
    const keys = pending.keys();
    for (let i = 0; i < excess; i += 1) pending.delete(keys.next().value as string);
    onDrop?.(excess);
  };

  return {
    add(entry) {
      const key = keyOf(entry);
      pending.set(key, entry);
      if (pending.size > maxPending) dropOldest();
      // Started on first use, so a process that never logs has no timer; unref'd so it never
      // keeps the process alive.
      if (!timer) {
        timer = setInterval(() => {
          if (pending.size > 0) flushInBackground();
        }, flushIntervalMs);
        timer.unref();
      }
      if (pending.size >= maxBatch) flushInBackground();
    },

    peek(key) {
      return pending.get(key) ?? writing.get(key);
    },

    flush,

    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await flush().catch(() => undefined);
    },

    get size() {
      return pending.size + writing.size;
    },
  };
};
