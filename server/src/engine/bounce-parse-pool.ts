/**
 * Bounce parsing off the event loop: a small pool of worker threads (node:worker_threads), reused
 * across messages, each parse with a time limit. The parser is linear in its (capped) input, but a
 * message from anyone who can mail the bounce address must never stall sending and the API: if a
 * parse runs past the limit its thread is terminated (a new one starts when needed) and the message
 * is reported as unparsed, never a crash.
 *
 * Where the worker's code comes from (thread-source.ts): dist/bounce-parser/index.js in the built
 * package (package.json exports "./bounce-parser", built from bounce-worker.ts), bounce-worker.ts
 * through @swc/core from the sources; with neither the parse runs inline, still linear and capped,
 * and a warning says so once.
 * A worker that cannot start twice in a row does the same.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';

import { parseBounceSync, type ParsedBounce } from './bounce-parser';
import { threadSource, type ThreadSource } from './thread-source';

/** What one parse gave: the parsed message, or why there is none. */
export type PoolParse = { ok: true; parsed: ParsedBounce } | { ok: false; error: string };

export interface BounceParsePoolOptions {
  /** Worker threads at most (started on demand). Default: 2, or 1 on a machine with two cores or fewer. */
  size?: number;
  /** Longest one parse may take, in ms, before its thread is terminated. Default 2000. */
  timeLimitMs?: number;
  /** Test only: a message that contains this text never finishes parsing (to test the time limit). */
  testSlowMarker?: string;
}

export const DEFAULT_PARSE_TIME_LIMIT_MS = 2000;
/** A worker that has not loaded after this long has failed to start. */
const STARTUP_LIMIT_MS = 20_000;
const ROLE = 'multi-smtp-bounce-parser';

interface Task {
  id: number;
  bytes: Buffer;
  resolve: (outcome: PoolParse) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  task: Task | null;
  timer: NodeJS.Timeout | null;
}

/** How to start a parsing worker from where this module was loaded, or null (parse inline). */
export function workerSource(): ThreadSource | null {
  return threadSource('bounce-parser', 'bounce-worker');
}

export class BounceParsePool {
  readonly size: number;
  readonly timeLimitMs: number;
  /** Threads started so far, parses that ran out of time, and parses done inline (no worker). */
  readonly stats = { threadsStarted: 0, timeouts: 0, failures: 0, inline: 0 };
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private readonly source: ThreadSource | null;
  private readonly slowMarker: string | undefined;
  private nextId = 1;
  private startupFailures = 0;
  private broken = false;
  private destroyed = false;

  constructor(options: BounceParsePoolOptions = {}) {
    const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    this.size = Math.max(1, Math.min(2, options.size ?? (cores <= 2 ? 1 : 2)));
    this.timeLimitMs = Math.max(1, options.timeLimitMs ?? DEFAULT_PARSE_TIME_LIMIT_MS);
    this.slowMarker = options.testSlowMarker;
    this.source = workerSource();
    if (!this.source) this.fallBackInline('no worker script found beside the plugin');
  }

  /** Threads alive now (for tests and metrics). */
  get threads(): number {
    return this.slots.length;
  }

  /** Parses one whole message (bytes as received) in a worker thread, within the time limit. Never rejects. */
  parse(raw: Buffer | string): Promise<PoolParse> {
    const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'latin1');
    if (this.broken || this.destroyed) return Promise.resolve(this.inline(bytes));
    return new Promise<PoolParse>((resolve) => {
      this.queue.push({ id: this.nextId++, bytes, resolve });
      this.pump();
    });
  }

  /** Stops every thread; parses still queued are done inline. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    for (const task of this.queue.splice(0)) task.resolve(this.inline(task.bytes));
    await Promise.all(this.slots.splice(0).map((slot) => this.stop(slot, { ok: false, error: 'the parser pool was stopped' })));
  }

  private inline(bytes: Buffer): PoolParse {
    this.stats.inline += 1;
    return { ok: true, parsed: parseBounceSync(bytes) };
  }

  private fallBackInline(why: string): void {
    if (!this.broken) process.emitWarning(`multi-smtp: bounces are parsed on the main thread (${why})`);
    this.broken = true;
    for (const task of this.queue.splice(0)) task.resolve(this.inline(task.bytes));
  }

  private pump(): void {
    while (this.queue.length && !this.broken) {
      const slot = this.slots.find((s) => s.ready && !s.task);
      if (!slot) {
        // One thread starting at a time, up to the pool's size.
        if (this.slots.length < this.size && this.slots.every((s) => s.ready)) this.start();
        return;
      }
      this.dispatch(slot, this.queue.shift()!);
    }
  }

  private start(): void {
    const source = this.source!;
    let worker: Worker;
    try {
      worker = new Worker(source.script, {
        eval: source.eval,
        workerData: { role: ROLE, slowMarker: this.slowMarker },
        // The worker's own heap: a capped parse of a 2 MiB message needs far less.
        resourceLimits: { maxOldGenerationSizeMb: 256 },
        stdout: false,
        stderr: false,
      });
    } catch (error) {
      this.fallBackInline(`a worker thread could not be created: ${String(error)}`);
      return;
    }
    this.stats.threadsStarted += 1;
    const slot: Slot = { worker, ready: false, task: null, timer: null };
    this.slots.push(slot);
    slot.timer = setTimeout(() => this.failed(slot, new Error('the worker did not load in time')), STARTUP_LIMIT_MS);
    slot.timer.unref();
    worker.on('message', (message: { ready?: boolean; id?: number; result?: ParsedBounce; error?: string }) => {
      if (message.ready) {
        if (slot.timer) clearTimeout(slot.timer);
        slot.timer = null;
        slot.ready = true;
        this.startupFailures = 0;
        worker.unref();
        this.pump();
        return;
      }
      const task = slot.task;
      if (!task || message.id !== task.id) return;
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      slot.task = null;
      worker.unref();
      task.resolve(message.result ? { ok: true, parsed: message.result } : { ok: false, error: message.error ?? 'no result' });
      this.pump();
    });
    worker.on('error', (error) => this.failed(slot, error));
    worker.on('exit', () => this.failed(slot, new Error('the worker exited')));
  }

  private dispatch(slot: Slot, task: Task): void {
    slot.task = task;
    slot.worker.ref();
    slot.timer = setTimeout(() => {
      this.stats.timeouts += 1;
      void this.stop(slot, { ok: false, error: `the parse took longer than ${this.timeLimitMs} ms` });
      this.pump();
    }, this.timeLimitMs);
    // A copy: the caller's Buffer may be a view into a larger pooled one.
    slot.worker.postMessage({ id: task.id, bytes: new Uint8Array(task.bytes) });
  }

  /** A worker that errored or exited: its message is unparsed; a worker that never loaded counts toward giving up. */
  private failed(slot: Slot, error: unknown): void {
    if (!this.slots.includes(slot)) return;
    const wasReady = slot.ready;
    if (slot.task) this.stats.failures += 1;
    void this.stop(slot, { ok: false, error: `the parser failed: ${error instanceof Error ? error.message : String(error)}` });
    if (!wasReady && ++this.startupFailures >= 2) this.fallBackInline(`the worker thread failed to start: ${String(error)}`);
    this.pump();
  }

  /** Removes a slot, answers its message with `outcome`, terminates its thread. */
  private async stop(slot: Slot, outcome: PoolParse): Promise<void> {
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    const task = slot.task;
    slot.task = null;
    task?.resolve(outcome);
    await slot.worker.terminate().catch(() => undefined);
  }
}

let shared: BounceParsePool | null = null;

/** The process's pool (created on first use). */
export function bounceParsePool(): BounceParsePool {
  shared ??= new BounceParsePool();
  return shared;
}

/** Replaces the process's pool with one with these options (tests; a different time limit). */
export async function configureBounceParsePool(options: BounceParsePoolOptions): Promise<BounceParsePool> {
  const previous = shared;
  shared = new BounceParsePool(options);
  await previous?.destroy();
  return shared;
}
