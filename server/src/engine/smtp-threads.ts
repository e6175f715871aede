/**
 * SMTP off the main thread: a small pool of worker threads (node:worker_threads) that run the
 * nodemailer transports of the sending engine's connections (smtp-thread.ts). The main thread keeps
 * routing, quota leases, message state, the log and events; a thread builds the MIME, encodes it and
 * talks SMTP, and answers each send with the info or the error as plain data.
 *
 * Each connection lives on one thread for its whole life (the least loaded when it opened), so its
 * one SMTP connection and its lease stay one-to-one (transports.ts). A thread that dies (a crash, an
 * exit, terminate()) fails every send in flight on it as a lost connection (ECONNECTION: classify.ts
 * reads it as server-transient, so the message is tried again), its connections are reported dead
 * (transports.ts closes them and returns their leases), and the next connection opened starts a new
 * thread. Threads are unreferenced while no send is in flight: they never keep the process alive.
 *
 * Where the thread's code comes from (thread-source.ts): dist/smtp-thread/index.js in the built
 * package (package.json exports "./smtp-thread"), smtp-thread.ts through @swc/core from the sources.
 * With neither, or when threads fail to start twice in a row, open() answers null and the caller
 * sends on the main thread, as with `threads: 0` (a warning says so once).
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';

import type Mail from 'nodemailer/lib/mailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';

import { errorFromWire, SMTP_THREAD_ROLE } from './smtp-thread';
import { threadSource, type ThreadSource } from './thread-source';

/** SMTP threads by default: 1 on a machine with two cores or fewer, else one per core but one, at most 4. */
export function defaultSmtpThreads(cores: number = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length): number {
  return cores <= 2 ? 1 : Math.min(4, cores - 1);
}

/** What the sending engine uses of a connection's transport (a nodemailer Transporter has both). */
export interface SmtpSender {
  sendMail(mail: Mail.Options): Promise<SMTPPool.SentMessageInfo>;
  close(): void;
}

/** A thread that has not loaded after this long has failed to start. */
const STARTUP_LIMIT_MS = 20_000;

interface Pending {
  resolve: (info: SMTPPool.SentMessageInfo) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  dead: boolean;
  /** The connections opened on this thread, each with what to do when the thread dies. */
  connections: Map<number, () => void>;
  /** Sends in flight by sequence number. */
  pending: Map<number, Pending>;
  timer: NodeJS.Timeout | null;
}

type Reply = { ready: true } | { seq: number; info: SMTPPool.SentMessageInfo } | { seq: number; error: Record<string, unknown> };

/** A send that could not finish because its thread (and so its SMTP connection) is gone. */
const connectionLost = (why: string) =>
  Object.assign(new Error(`Connection closed unexpectedly: the SMTP thread stopped (${why})`), { code: 'ECONNECTION', command: 'CONN' });

export class SmtpThreadPool {
  readonly size: number;
  /** Threads started so far, and threads that died with connections or sends on them. */
  readonly stats = { threadsStarted: 0, deaths: 0 };
  private readonly slots: Slot[] = [];
  private readonly source: ThreadSource | null;
  private nextId = 1;
  private nextSeq = 1;
  private startupFailures = 0;
  private broken = false;

  constructor(options: { size: number }) {
    this.size = Math.max(1, Math.floor(options.size));
    this.source = threadSource('smtp-thread', 'smtp-thread');
    if (!this.source) this.fallBackInline('no SMTP thread script found beside the plugin');
  }

  /** Threads alive now. */
  get threads(): number {
    return this.slots.length;
  }

  /** The threads alive now (tests: to terminate one as a crash would). */
  get workers(): Worker[] {
    return this.slots.map((slot) => slot.worker);
  }

  /** True once threads can't be used: open() answers null and sends run on the main thread. */
  get inline(): boolean {
    return this.broken;
  }

  /**
   * A transport for one connection (`options` as toTransportOptions gives them), on the least loaded
   * thread; `onDead` runs if that thread dies while the connection is open. Null: send inline.
   */
  open(options: SMTPTransport.Options, onDead: () => void): SmtpSender | null {
    const slot = this.broken ? null : this.pick();
    if (!slot) return null;
    const id = this.nextId++;
    slot.connections.set(id, onDead);
    slot.worker.postMessage({ op: 'open', id, options });
    return {
      sendMail: (mail) => this.send(slot, id, mail),
      close: () => {
        if (slot.connections.delete(id) && !slot.dead) slot.worker.postMessage({ op: 'close', id });
      },
    };
  }

  /** Terminates every thread (awaited); sends still in flight fail as lost connections. */
  async close(): Promise<void> {
    await Promise.all(this.slots.slice().map((slot) => this.died(slot, 'the SMTP threads were stopped', false)));
  }

  private send(slot: Slot, id: number, mail: Mail.Options): Promise<SMTPPool.SentMessageInfo> {
    if (slot.dead || !slot.connections.has(id)) return Promise.reject(connectionLost('before the send'));
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      try {
        slot.worker.postMessage({ op: 'send', id, seq, mail });
      } catch (error) {
        // Only what structured clone refuses (a stream, a function): the message has to change.
        reject(Object.assign(new Error(`The message cannot be handed to an SMTP thread: ${(error as Error).message}`), { code: 'EMESSAGE' }));
        return;
      }
      slot.pending.set(seq, { resolve, reject });
      // A send in flight keeps the process alive, as its socket would on the main thread.
      if (slot.pending.size === 1) slot.worker.ref();
    });
  }

  /** The thread with the fewest connections; a new one while the pool is below its size and every thread has some. */
  private pick(): Slot | null {
    let best: Slot | null = null;
    for (const slot of this.slots) if (!best || slot.connections.size < best.connections.size) best = slot;
    if (this.slots.length < this.size && (!best || best.connections.size > 0)) return this.start() ?? best;
    return best;
  }

  private start(): Slot | null {
    const source = this.source!;
    let worker: Worker;
    try {
      worker = new Worker(source.script, { eval: source.eval, workerData: { role: SMTP_THREAD_ROLE } });
    } catch (error) {
      this.fallBackInline(`a worker thread could not be created: ${String(error)}`);
      return null;
    }
    worker.unref();
    this.stats.threadsStarted += 1;
    const slot: Slot = { worker, ready: false, dead: false, connections: new Map(), pending: new Map(), timer: null };
    this.slots.push(slot);
    slot.timer = setTimeout(() => void this.died(slot, 'it did not load in time', true), STARTUP_LIMIT_MS);
    slot.timer.unref();
    worker.on('message', (reply: Reply) => {
      if ('ready' in reply) {
        if (slot.timer) clearTimeout(slot.timer);
        slot.timer = null;
        slot.ready = true;
        this.startupFailures = 0;
        return;
      }
      const pending = slot.pending.get(reply.seq);
      if (!pending) return;
      slot.pending.delete(reply.seq);
      if (slot.pending.size === 0 && !slot.dead) worker.unref();
      if ('error' in reply) pending.reject(errorFromWire(reply.error));
      else pending.resolve(reply.info);
    });
    worker.on('error', (error: Error) => void this.died(slot, `error: ${error.message}`, true));
    worker.on('exit', (code) => void this.died(slot, `exit code ${code}`, true));
    return slot;
  }

  /**
   * A thread gone (or being stopped): its sends fail as lost connections, its connections are
   * reported dead, it is terminated. One that never loaded counts toward falling back inline.
   */
  private died(slot: Slot, why: string, unexpected: boolean): Promise<void> {
    if (!slot.dead) {
      slot.dead = true;
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      if (unexpected) {
        if (slot.pending.size > 0 || slot.connections.size > 0) this.stats.deaths += 1;
        if (!slot.ready && ++this.startupFailures >= 2) this.fallBackInline(`the SMTP thread failed to start: ${why}`);
      }
      const pending = [...slot.pending.values()];
      slot.pending.clear();
      for (const send of pending) send.reject(connectionLost(why));
      const connections = [...slot.connections.values()];
      slot.connections.clear();
      for (const onDead of connections) onDead();
    }
    return slot.worker.terminate().then(
      () => undefined,
      () => undefined
    );
  }

  private fallBackInline(why: string): void {
    if (!this.broken) process.emitWarning(`multi-smtp: SMTP runs on the main thread (${why})`);
    this.broken = true;
  }
}
