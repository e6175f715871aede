import { createLogBuffer, type LogBufferOptions } from '../../server/src/engine/log-buffer';

interface Entry {
  id: string;
  state: string;
}

/** A buffer whose writes are recorded, and fail while `failing` is set. */
const setup = (options: Partial<LogBufferOptions<Entry>> = {}) => {
  const written: Entry[][] = [];
  const errors: Array<{ error: unknown; kept: number }> = [];
  const control = { failing: false };
  const buffer = createLogBuffer<Entry>({
    keyOf: (entry) => entry.id,
    async write(batch) {
      if (control.failing) throw new Error('database is down');
      written.push(batch);
    },
    onError: (error, kept) => errors.push({ error, kept }),
    flushIntervalMs: 60_000,
    ...options,
  });
  const rows = () => {
    const table = new Map<string, string>();
    for (const batch of written) for (const entry of batch) table.set(entry.id, entry.state);
    return table;
  };
  return { buffer, written, errors, control, rows };
};

describe('delivery log writer (write-behind buffer)', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('coalesces states of one message between flushes: only the latest is written', async () => {
    const { buffer, written } = setup();
    buffer.add({ id: 'a', state: 'queued' });
    buffer.add({ id: 'b', state: 'queued' });
    buffer.add({ id: 'a', state: 'sending' });
    buffer.add({ id: 'a', state: 'sent' });
    expect(buffer.size).toBe(2);
    await buffer.flush();
    expect(written).toEqual([
      [
        { id: 'a', state: 'sent' },
        { id: 'b', state: 'queued' },
      ],
    ]);
    expect(buffer.size).toBe(0);
    await buffer.flush();
    expect(written).toHaveLength(1);
  });

  it('writes in batches of at most maxBatch and starts a write as soon as a batch is full', async () => {
    const { buffer, written } = setup({ maxBatch: 3 });
    for (let i = 0; i < 2; i += 1) buffer.add({ id: `m${i}`, state: 'queued' });
    await Promise.resolve();
    expect(written).toHaveLength(0);
    buffer.add({ id: 'm2', state: 'queued' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(written.map((batch) => batch.length)).toEqual([3]);

    for (let i = 3; i < 10; i += 1) buffer.add({ id: `m${i}`, state: 'queued' });
    await buffer.flush();
    expect(written.flat()).toHaveLength(10);
    expect(Math.max(...written.map((batch) => batch.length))).toBeLessThanOrEqual(3);
  });

  it('keeps every entry of a failed write for the next flush, and reports the failure', async () => {
    const { buffer, errors, control, rows } = setup();
    buffer.add({ id: 'a', state: 'queued' });
    buffer.add({ id: 'b', state: 'queued' });
    buffer.add({ id: 'c', state: 'queued' });
    control.failing = true;
    await expect(buffer.flush()).rejects.toThrow('database is down');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.kept).toBe(3);
    expect(buffer.size).toBe(3);

    control.failing = false;
    await buffer.flush();
    expect(rows()).toEqual(new Map([['a', 'queued'], ['b', 'queued'], ['c', 'queued']]));
    expect(buffer.size).toBe(0);
  });

  it('keeps the batches that did not commit when a later batch of the same flush fails', async () => {
    let calls = 0;
    let release!: () => void;
    const written: Entry[][] = [];
    const kept: number[] = [];
    const buffer = createLogBuffer<Entry>({
      keyOf: (entry) => entry.id,
      async write(batch) {
        calls += 1;
        if (calls === 1) await new Promise<void>((resolve) => (release = resolve));
        if (calls === 2) throw new Error('second batch fails');
        written.push(batch);
      },
      onError: (_error, count) => kept.push(count),
      maxBatch: 2,
      flushIntervalMs: 60_000,
    });
    buffer.add({ id: 'a', state: 'queued' });
    buffer.add({ id: 'b', state: 'queued' }); // a full batch: written at once (held until release)
    for (const id of ['c', 'd', 'e']) buffer.add({ id, state: 'queued' });
    release();
    // The held write commits a+b; the next drain's [c, d] fails and [e] is not tried: all three
    // are kept, and the explicit flush writes them as [c, d] and [e].
    await expect(buffer.flush()).resolves.toBeUndefined();
    expect(kept).toEqual([3]);
    expect(calls).toBe(4);
    expect(written.flat().map((entry) => entry.id).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('never lets a retried older state overwrite a newer one recorded during the failed write', async () => {
    let release!: () => void;
    let failNext = true;
    const written: Entry[][] = [];
    const buffer = createLogBuffer<Entry>({
      keyOf: (entry) => entry.id,
      write: async (batch) => {
        if (failNext) {
          failNext = false;
          await new Promise<void>((resolve) => (release = resolve));
          throw new Error('timeout');
        }
        written.push(batch);
      },
      onError: () => undefined,
      flushIntervalMs: 60_000,
    });
    buffer.add({ id: 'a', state: 'sending' });
    buffer.add({ id: 'b', state: 'queued' });
    const failing = buffer.flush();
    buffer.add({ id: 'a', state: 'sent' });
    expect(buffer.peek('a')).toEqual({ id: 'a', state: 'sent' });
    expect(buffer.peek('b')).toEqual({ id: 'b', state: 'queued' });
    release();
    await expect(failing).rejects.toThrow('timeout');
    await buffer.flush();
    expect(written.flat()).toEqual(
      expect.arrayContaining([
        { id: 'a', state: 'sent' },
        { id: 'b', state: 'queued' },
      ])
    );
    expect(written.flat()).toHaveLength(2);
  });

  it('writes one batch at a time, in order: a flush waits for the write in progress', async () => {
    const events: string[] = [];
    let inProgress = 0;
    const buffer = createLogBuffer<Entry>({
      keyOf: (entry) => entry.id,
      write: async (batch) => {
        inProgress += 1;
        expect(inProgress).toBe(1);
        events.push(`start ${batch.map((entry) => entry.state).join(',')}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        events.push('end');
        inProgress -= 1;
      },
      onError: () => undefined,
      flushIntervalMs: 60_000,
    });
    buffer.add({ id: 'a', state: 'queued' });
    const first = buffer.flush();
    buffer.add({ id: 'a', state: 'sent' });
    await Promise.all([first, buffer.flush(), buffer.flush()]);
    expect(events).toEqual(['start queued', 'end', 'start sent', 'end']);
  });

  it('starts its timer on first use, flushes on it, and stop() flushes and clears it', async () => {
    jest.useFakeTimers();
    const { buffer, written } = setup({ flushIntervalMs: 250 });
    expect(jest.getTimerCount()).toBe(0);

    buffer.add({ id: 'a', state: 'queued' });
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(249);
    expect(written).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(written).toEqual([[{ id: 'a', state: 'queued' }]]);

    buffer.add({ id: 'b', state: 'queued' });
    await buffer.stop();
    expect(written).toHaveLength(2);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('backs off background retries while writes fail, then recovers', async () => {
    jest.useFakeTimers();
    const { buffer, errors, control, rows } = setup({ flushIntervalMs: 100, maxRetryDelayMs: 1_000 });
    control.failing = true;
    buffer.add({ id: 'a', state: 'queued' });
    await jest.advanceTimersByTimeAsync(100);
    expect(errors).toHaveLength(1);
    // The next try waits 200 ms, then 400 ms: not every 100 ms tick.
    await jest.advanceTimersByTimeAsync(100);
    expect(errors).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(100);
    expect(errors).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(300);
    expect(errors).toHaveLength(2);

    control.failing = false;
    await jest.advanceTimersByTimeAsync(200);
    expect(rows()).toEqual(new Map([['a', 'queued']]));
    await buffer.stop();
  });

  it('stop() reports a failed final flush instead of throwing', async () => {
    const { buffer, errors, control } = setup();
    buffer.add({ id: 'a', state: 'queued' });
    control.failing = true;
    await expect(buffer.stop()).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(buffer.size).toBe(1);
  });

  it('drops the oldest entries past maxPending, and says how many', async () => {
    const dropped: number[] = [];
    const { buffer, rows } = setup({ maxPending: 3, maxBatch: 100, onDrop: (count) => dropped.push(count) });
    for (const id of ['a', 'b', 'c', 'd', 'e']) buffer.add({ id, state: 'queued' });
    expect(dropped).toEqual([1, 1]);
    await buffer.stop();
    expect([...rows().keys()]).toEqual(['c', 'd', 'e']);
  });
});
