import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/** What one counting sink saw since the last reset (see sink-process.js). */
export interface SinkCounts {
  port: number;
  messages: number;
  /** Epoch ms of the first and the last message accepted; null before the first. */
  firstAt: number | null;
  lastAt: number | null;
  /** TCP connections accepted since the reset. */
  connections: number;
  /** TCP connections open now. */
  openConnections: number;
  /** The most TCP connections open at once since the reset (those open at the reset included). */
  peakConnections: number;
}

export interface SinkSnapshot {
  sinks: SinkCounts[];
  /** Distinct X-Multi-SMTP-ID values over every sink. */
  uniqueIds: number;
  /** Messages whose X-Multi-SMTP-ID had already arrived (at any sink) in this phase. */
  duplicates: number;
  /** Sum of messages over every sink. */
  total: number;
  /** The latest message over every sink (epoch ms), null when none arrived. */
  lastAt: number | null;
  /** CPU time (user + system, µs) the sink process used since it started. */
  cpuUs: number;
}

export interface CountingSinks {
  ports: number[];
  counts(): Promise<SinkSnapshot>;
  /** Forgets every count: the next phase starts from zero. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

const SCRIPT = path.join(__dirname, 'sink-process.js');

/** Starts `count` counting SMTP sinks in a child process, each on its own loopback port. */
export const startCountingSinks = (count: number): Promise<CountingSinks> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = fork(SCRIPT, [String(count)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const pending = new Map<number, (reply: Record<string, unknown>) => void>();
    let nextRequestId = 1;

    const request = <T>(type: string) =>
      new Promise<T>((done, fail) => {
        const requestId = nextRequestId++;
        const timer = setTimeout(() => fail(new Error(`sink process did not answer ${type} within 10 s`)), 10_000);
        pending.set(requestId, (reply) => {
          clearTimeout(timer);
          done(reply as T);
        });
        child.send({ type, requestId });
      });

    child.on('message', (message: { type: string; requestId?: number; ports?: number[] }) => {
      if (message.type === 'ready') {
        resolve({
          ports: message.ports!,
          async counts() {
            const reply = await request<{ sinks: SinkCounts[]; uniqueIds: number; duplicates: number; cpuUs: number }>(
              'counts'
            );
            const lasts = reply.sinks.map((sink) => sink.lastAt).filter((at): at is number => at !== null);
            return {
              ...reply,
              total: reply.sinks.reduce((sum, sink) => sum + sink.messages, 0),
              lastAt: lasts.length > 0 ? Math.max(...lasts) : null,
            };
          },
          async reset() {
            await request('reset');
          },
          close: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              const timer = setTimeout(() => {
                child.kill('SIGKILL');
                done();
              }, 5000);
              child.once('exit', () => {
                clearTimeout(timer);
                done();
              });
              child.send({ type: 'close' });
            }),
        });
        return;
      }
      const answer = message.requestId === undefined ? undefined : pending.get(message.requestId);
      if (answer) {
        pending.delete(message.requestId!);
        answer(message as Record<string, unknown>);
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`sink process exited early with code ${code}`)));
  });
