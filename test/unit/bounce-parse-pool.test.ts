/**
 * Bounce parsing in worker threads (engine/bounce-parse-pool.ts): the same results as the parser in
 * the main thread, threads reused across messages, the time limit enforced (the thread terminated,
 * the message unparsed, the next one parsed by a fresh thread), the event loop free meanwhile; and
 * the built worker bundle (dist/bounce-parser, when `npm run build` has run) answering too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { BounceParsePool } from '../../server/src/engine/bounce-parse-pool';
import { parseBounceSync } from '../../server/src/engine/bounce-parser';

const EMAILS = path.resolve(__dirname, '..', 'fixtures', 'bounces', 'emails');
const BUILT = path.resolve(__dirname, '..', '..', 'dist', 'bounce-parser', 'index.js');
const SLOW = 'X-Test-Never-Ending-Parse';

describe('bounce parse pool', () => {
  const pools: BounceParsePool[] = [];
  const pool = (options: ConstructorParameters<typeof BounceParsePool>[0]) => {
    const created = new BounceParsePool(options);
    pools.push(created);
    return created;
  };
  afterAll(() => Promise.all(pools.map((p) => p.destroy())));

  it('parses in a worker thread exactly as the parser does in the main thread, reusing its threads', async () => {
    const p = pool({ size: 2 });
    const files = fs.readdirSync(EMAILS).filter((f) => f.endsWith('.eml')).sort().slice(0, 40);
    const outcomes = await Promise.all(files.map((f) => p.parse(fs.readFileSync(path.join(EMAILS, f)))));
    outcomes.forEach((outcome, i) => {
      expect(outcome).toEqual({ ok: true, parsed: parseBounceSync(fs.readFileSync(path.join(EMAILS, files[i]!))) });
    });
    expect(p.stats).toMatchObject({ threadsStarted: 2, timeouts: 0, inline: 0 });
    expect(p.threads).toBe(2);
  });

  it('terminates a parse that runs past the time limit: unparsed, the event loop free, the next message parsed', async () => {
    const p = pool({ size: 1, timeLimitMs: 300, testSlowMarker: SLOW });
    const good = fs.readFileSync(path.join(EMAILS, 'lhost-postfix-01.eml'));
    expect((await p.parse(good)).ok).toBe(true);

    // The event loop keeps turning while the worker spins.
    let lag = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      lag = Math.max(lag, now - last - 10);
      last = now;
    }, 10);
    const started = performance.now();
    const slow = await p.parse(Buffer.concat([Buffer.from(`${SLOW}: 1\n`), good]));
    const took = performance.now() - started;
    clearInterval(ticker);

    expect(slow).toEqual({ ok: false, error: 'the parse took longer than 300 ms' });
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2000);
    expect(lag).toBeLessThan(200);
    expect(p.stats.timeouts).toBe(1);

    // A fresh thread takes the next message.
    const after = await p.parse(good);
    expect(after).toEqual({ ok: true, parsed: parseBounceSync(good) });
    expect(p.stats.threadsStarted).toBe(2);
    expect(p.threads).toBe(1);
  });

  it('queued messages wait for a thread; one slow message costs only its own', async () => {
    const p = pool({ size: 1, timeLimitMs: 300, testSlowMarker: SLOW });
    const good = fs.readFileSync(path.join(EMAILS, 'lhost-exim-01.eml'));
    const results = await Promise.all([p.parse(good), p.parse(`${SLOW}: 1\n\nx`), p.parse(good), p.parse(good)]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true, true]);
  });

  (fs.existsSync(BUILT) ? it : it.skip)('the built worker bundle (dist/bounce-parser) parses as the sources do', async () => {
    const worker = new Worker(BUILT, { workerData: { role: 'multi-smtp-bounce-parser' } });
    try {
      const good = fs.readFileSync(path.join(EMAILS, 'lhost-postfix-01.eml'));
      const answer = await new Promise<unknown>((resolve, reject) => {
        worker.on('error', reject);
        worker.on('message', (message: { ready?: boolean; result?: unknown }) => {
          if (message.ready) worker.postMessage({ id: 1, bytes: new Uint8Array(good) });
          else resolve(message.result);
        });
      });
      expect(answer).toEqual(parseBounceSync(good));
      // In the main thread it is the parser alone.
      const built = require(BUILT) as { parseBounceSync: typeof parseBounceSync };
      expect(built.parseBounceSync(good)).toEqual(parseBounceSync(good));
    } finally {
      await worker.terminate();
    }
  });
});
