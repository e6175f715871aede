import {
  batchIdOf,
  deterministicUuid,
  INITIAL_CURSOR,
  messageIdOf,
  NO_SEGMENT,
  partOf,
  runFanOut,
  type BatchMessage,
  type FanOutCursor,
  type FanOutDeps,
  type FanOutRecipient,
} from '../../server/src/engine/fan-out';
import { segmentMatcher } from '../../server/src/engine/segments';

interface Entry extends FanOutRecipient {
  /** Entries a fake audience filter leaves out (still scanned, as a JS filter would). */
  excluded?: boolean;
}

const entry = (id: number, extra: Partial<Entry> = {}): Entry => ({
  key: String(id),
  email: `user${id}@example.com`,
  name: `User ${id}`,
  subscriberId: `sub-${id}`,
  attributes: {},
  status: 'subscribed',
  ...extra,
});

class Crash extends Error {}

/**
 * A fake world: an audience in a table, a queue that refuses a batch id it has seen (as BullMQ
 * does with a job id), a cursor store, and "workers" that finish queued messages whenever the
 * fan-out sleeps.
 */
const world = (entries: Entry[], options: { suppressed?: string[]; drainPerSleep?: number } = {}) => {
  const table = [...entries];
  const batches = new Map<string, BatchMessage<string>[]>();
  let storedCursor: FanOutCursor | null = null;
  let unfinished = 0;
  let peakInFlight = 0;
  const suppressed = new Set(options.suppressed ?? []);
  const control = { crashAfterQueue: -1, crashBeforeQueue: -1, stopAfterPages: Infinity, pagesRead: 0, pagesDone: 0, cursorWrites: 0, dead: false };

  const deps: FanOutDeps<string> = {
    campaignId: 'c1',
    async readPage(after, limit, upTo) {
      control.pagesRead += 1;
      const afterKey = after === null ? -Infinity : Number(after);
      const upToKey = upTo === undefined ? Infinity : Number(upTo);
      const scanned = table
        .filter((row) => Number(row.key) > afterKey && Number(row.key) <= upToKey)
        .sort((a, b) => Number(a.key) - Number(b.key))
        .slice(0, limit);
      const exhausted = scanned.length < limit || Number(scanned.at(-1)!.key) === Math.max(...table.map((row) => Number(row.key)));
      return {
        recipients: scanned.filter((row) => !row.excluded),
        next: exhausted ? null : scanned.at(-1)!.key,
      };
    },
    async filterSuppressed(emails) {
      return new Set(emails.filter((email) => suppressed.has(email) || suppressed.has(`@${email.split('@')[1]}`)));
    },
    render: (recipient, id) => `${id}|${recipient.email}`,
    async queueBatch({ batchId, messages }) {
      // A page's batches are queued together: once the process died, the later ones never reach the queue.
      if (control.dead) throw new Crash('already dead');
      if (control.crashBeforeQueue === batches.size) {
        control.crashBeforeQueue = -1;
        throw new Crash('died before queueing');
      }
      if (batches.has(batchId)) return { queued: false };
      batches.set(batchId, messages);
      unfinished += messages.length;
      peakInFlight = Math.max(peakInFlight, unfinished);
      if (control.crashAfterQueue === batches.size) {
        control.crashAfterQueue = -1;
        control.dead = true;
        throw new Crash('died between queueing and the checkpoint');
      }
      return { queued: true };
    },
    async loadCursor() {
      control.dead = false; // a new process
      return storedCursor ? { ...storedCursor } : null;
    },
    async saveCursor(cursor) {
      control.cursorWrites += 1;
      if (!cursor.pending) control.pagesDone += 1;
      storedCursor = { ...cursor };
    },
    async inFlight() {
      return unfinished;
    },
    // Pages finished (their cursor saved), not pages read: the fan-out reads one page ahead.
    shouldStop: () => control.pagesDone >= control.stopAfterPages,
    async sleep() {
      unfinished = Math.max(0, unfinished - (options.drainPerSleep ?? Infinity));
    },
  };

  const queuedEmails = () => [...batches.values()].flat().map((message) => message.message.split('|')[1]!);
  return {
    deps,
    table,
    batches,
    control,
    queuedEmails,
    cursor: () => storedCursor,
    peakInFlight: () => peakInFlight,
    finishAll: () => {
      unfinished = 0;
    },
  };
};

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);

describe('campaign fan-out', () => {
  it('queues everyone once, a page per batch, with deterministic batch and message ids', async () => {
    const w = world(range(1, 25).map((id) => entry(id)));
    const result = await runFanOut(w.deps, { pageSize: 10, maxInFlight: 100 });
    expect(result.outcome).toBe('done');
    expect(result.cursor).toMatchObject({ done: true, queued: 25, skipped: 0, seq: 3, pending: null });
    expect([...w.batches.keys()]).toEqual(['c1:0:0', 'c1:1:0', 'c1:2:0']);
    expect(w.queuedEmails()).toEqual(range(1, 25).map((id) => `user${id}@example.com`));
    const first = w.batches.get('c1:0:0')![0]!;
    expect(first.id).toBe(messageIdOf('c1', '1'));
    expect(first.subscriberId).toBe('sub-1');
    expect(first.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(messageIdOf('c1', '1')).not.toBe(messageIdOf('c2', '1'));
    expect(deterministicUuid('a', 'b')).toBe(deterministicUuid('a', 'b'));
    // Pinned: a page replayed after an upgrade must carry the ids it was first queued with.
    expect(messageIdOf('c1', '1')).toBe('53f8fb8b-ae8e-570f-8e8b-4b77a23ad4fc');
    expect(batchIdOf('c1', 7, 2)).toBe('c1:7:2');
  });

  it.each([1, 2, 3])('loses and repeats no one when it dies between queueing batch %i and its checkpoint', async (crashAt) => {
    const w = world(range(1, 30).map((id) => entry(id)));
    w.control.crashAfterQueue = crashAt;
    await expect(runFanOut(w.deps, { pageSize: 10, maxInFlight: 100 })).rejects.toThrow(Crash);
    // The checkpoint still names the page that was being queued.
    expect(w.cursor()?.pending).toBeTruthy();
    // A new process picks it up from the stored cursor.
    const result = await runFanOut(w.deps, { pageSize: 10, maxInFlight: 100 });
    expect(result.outcome).toBe('done');
    expect(result.stats.replayedPages).toBe(1);
    expect(result.cursor.queued).toBe(30);
    const emails = w.queuedEmails();
    expect(emails).toHaveLength(30);
    expect(new Set(emails).size).toBe(30);
  });

  it('replays exactly the crashed page even when an entry of it was deleted meanwhile', async () => {
    const w = world(range(1, 30).map((id) => entry(id)));
    w.control.crashAfterQueue = 1;
    await expect(runFanOut(w.deps, { pageSize: 10, maxInFlight: 100 })).rejects.toThrow(Crash);
    // Entry 4 (in the queued page) is deleted before the restart: a page read by count would now
    // reach entry 11, which the refused replay batch would lose.
    w.table.splice(w.table.findIndex((row) => row.key === '4'), 1);
    const result = await runFanOut(w.deps, { pageSize: 10, maxInFlight: 100 });
    expect(result.outcome).toBe('done');
    const emails = w.queuedEmails();
    expect(emails).toHaveLength(30);
    expect(emails).toContain('user11@example.com');
    expect(new Set(emails).size).toBe(30);
  });

  it('loses no one when it dies after the checkpoint of the pending page but before queueing', async () => {
    const w = world(range(1, 30).map((id) => entry(id)));
    w.control.crashBeforeQueue = 1; // the second batch
    await expect(runFanOut(w.deps, { pageSize: 10, maxInFlight: 100 })).rejects.toThrow(Crash);
    const result = await runFanOut(w.deps, { pageSize: 10, maxInFlight: 100 });
    expect(result.stats.replayedPages).toBe(0);
    const emails = w.queuedEmails();
    expect(emails).toHaveLength(30);
    expect(new Set(emails).size).toBe(30);
  });

  it('splits a page into batches by a hash of the key, and a replay after a crash rebuilds the same batches', async () => {
    const w = world(range(1, 60).map((id) => entry(id)));
    w.control.crashAfterQueue = 3; // page 1 is split in 4 batches: die after the third
    await expect(runFanOut(w.deps, { pageSize: 20, maxInFlight: 100, batchSize: 5 })).rejects.toThrow(Crash);
    expect(w.batches.size).toBe(3);
    // Each recipient is in the batch its key hashes to.
    for (const [batchId, batch] of w.batches) {
      for (const message of batch) expect(`c1:0:${partOf(message.message.split('|')[1]!.replace(/\D/g, ''), 4)}`).toBe(batchId);
    }
    const result = await runFanOut(w.deps, { pageSize: 20, maxInFlight: 100, batchSize: 5 });
    expect(result.outcome).toBe('done');
    expect(result.stats.replayedPages).toBe(1);
    const emails = w.queuedEmails();
    expect(emails).toHaveLength(60);
    expect(new Set(emails).size).toBe(60);
    const sizes = [...w.batches.values()].map((batch) => batch.length);
    expect(Math.max(...sizes)).toBeLessThan(20);
    expect([...w.batches.keys()].every((id) => /^c1:[0-2]:[0-3]$/.test(id))).toBe(true);
  });

  it('keeps each recipient in its batch when the page changed between the crash and the replay', async () => {
    const entries = range(1, 20).map((id) => entry(id));
    const w = world(entries);
    w.control.crashAfterQueue = 2;
    await expect(runFanOut(w.deps, { pageSize: 20, maxInFlight: 100, batchSize: 5 })).rejects.toThrow(Crash);
    const queuedBefore = new Set(w.queuedEmails());
    // One recipient already queued and one not yet queued unsubscribe before the restart.
    const alreadyQueued = entries.find((row) => queuedBefore.has(row.email))!;
    const notQueued = entries.find((row) => !queuedBefore.has(row.email))!;
    alreadyQueued.status = 'unsubscribed';
    notQueued.status = 'unsubscribed';
    await runFanOut(w.deps, { pageSize: 20, maxInFlight: 100, batchSize: 5 });
    const emails = w.queuedEmails();
    expect(new Set(emails).size).toBe(emails.length);
    expect(emails).toHaveLength(19);
    expect(emails).toContain(alreadyQueued.email);
    expect(emails).not.toContain(notQueued.email);
  });

  it('never has more than maxInFlight messages queued and unfinished', async () => {
    const w = world(range(1, 500).map((id) => entry(id)), { drainPerSleep: 7 });
    const result = await runFanOut(w.deps, { pageSize: 40, maxInFlight: 100, pollMs: 1 });
    expect(result.outcome).toBe('done');
    expect(w.queuedEmails()).toHaveLength(500);
    expect(w.peakInFlight()).toBeLessThanOrEqual(100);
    expect(w.peakInFlight()).toBeGreaterThan(60);
    expect(result.stats.waitMs).toBeGreaterThanOrEqual(0);
  });

  it('uses pages no larger than maxInFlight, so a small bound still makes progress', async () => {
    const w = world(range(1, 50).map((id) => entry(id)), { drainPerSleep: 1 });
    const result = await runFanOut(w.deps, { pageSize: 500, maxInFlight: 5, pollMs: 1 });
    expect(result.outcome).toBe('done');
    expect(w.peakInFlight()).toBeLessThanOrEqual(5);
    expect(w.queuedEmails()).toHaveLength(50);
  });

  it('skips and counts invalid, unsubscribed, duplicate and suppressed recipients', async () => {
    const entries = [
      entry(1),
      entry(2, { email: 'not an address' }),
      entry(3, { status: 'unsubscribed' }),
      entry(4, { status: 'bounced' }),
      entry(5, { email: '  USER1@Example.com ' }), // the same address as 1, in the same page
      entry(6, { duplicate: true }), // the audience says an earlier entry has its address
      entry(7, { email: 'blocked@example.com' }),
      entry(8, { email: 'someone@blocked-domain.test' }),
      entry(9, { email: ' Mixed@Case.Example ', status: null, subscriberId: null }),
      entry(12, { email: 'user1@example.com' }), // a repeat in a later page: the audience marks it (duplicate)
      entry(13),
    ];
    entries[9]!.duplicate = true;
    const w = world(entries, { suppressed: ['blocked@example.com', '@blocked-domain.test'] });
    const result = await runFanOut(w.deps, { pageSize: 5, maxInFlight: 100 });
    expect(result.outcome).toBe('done');
    expect(w.queuedEmails()).toEqual(['user1@example.com', 'mixed@case.example', 'user13@example.com']);
    expect(result.stats.byReason).toEqual({ invalid: 1, 'not-subscribed': 2, duplicate: 3, suppressed: 2, unsegmented: 0 });
    expect(result.cursor.skipped).toBe(8);
    expect(result.cursor.queued).toBe(3);
    expect(result.cursor.skipped + result.cursor.queued).toBe(entries.length);
  });

  it('pages by key, not by matches: a page with no recipients moves the cursor on', async () => {
    const entries = range(1, 40).map((id) => entry(id, { excluded: id <= 30 }));
    const w = world(entries);
    const result = await runFanOut(w.deps, { pageSize: 10, maxInFlight: 100 });
    expect(result.outcome).toBe('done');
    expect(w.queuedEmails()).toEqual(range(31, 40).map((id) => `user${id}@example.com`));
    // Empty pages queue nothing but still take a sequence number: a batch id is never reused.
    expect([...w.batches.keys()]).toEqual(['c1:3:0']);
  });

  it('reads and renders the next page while a page is being queued, and counts that work, not waits', async () => {
    const w = world(range(1, 30).map((id) => entry(id)));
    const events: string[] = [];
    const readPage = w.deps.readPage;
    w.deps.readPage = async (after, limit, upTo) => {
      events.push(`read after ${after}`);
      return readPage(after, limit, upTo);
    };
    const queueBatch = w.deps.queueBatch;
    w.deps.queueBatch = async (batch) => {
      events.push(`queue ${batch.batchId}`);
      // A queue round trip that takes a while: the next page is read meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push(`queued ${batch.batchId}`);
      return queueBatch(batch);
    };
    const result = await runFanOut(w.deps, { pageSize: 10, maxInFlight: 100 });
    expect(result.outcome).toBe('done');
    expect(w.queuedEmails()).toEqual(range(1, 30).map((id) => `user${id}@example.com`));
    // The next page is read before the page ahead of it is done queueing (and the last page has no next).
    expect(events.indexOf('read after 10')).toBeLessThan(events.indexOf('queued c1:0:0'));
    expect(events.indexOf('read after 20')).toBeLessThan(events.indexOf('queued c1:1:0'));
    expect(events.filter((event) => event.startsWith('queue ')).map((event) => event.slice(6))).toEqual(['c1:0:0', 'c1:1:0', 'c1:2:0']);
    // Each page was read once: a prepared page is used, never read again.
    expect(w.control.pagesRead).toBe(3);
    expect(result.stats.waitMs).toBe(0);
    expect(result.stats.workMs).toBeGreaterThanOrEqual(15);
  });

  it('queues without waiting for a checkpoint to be written, yet returns only once every one is, and fails when one fails', async () => {
    const w = world(range(1, 30).map((id) => entry(id)));
    const events: string[] = [];
    const saveCursor = w.deps.saveCursor;
    w.deps.saveCursor = (cursor) => {
      const name = cursor.pending ? `pending ${cursor.seq}` : `checkpoint ${cursor.seq}`;
      events.push(`save ${name}`);
      // Applied at once (as Redis applies commands in order), acknowledged a round trip later.
      const applied = saveCursor(cursor);
      return new Promise((resolve) => setTimeout(resolve, 5)).then(() => {
        events.push(`saved ${name}`);
        return applied;
      });
    };
    const queueBatch = w.deps.queueBatch;
    w.deps.queueBatch = async (batch) => {
      events.push(`queue ${batch.batchId}`);
      return queueBatch(batch);
    };
    const result = await runFanOut(w.deps, { pageSize: 10, maxInFlight: 100 });
    expect(result.outcome).toBe('done');
    expect(w.queuedEmails()).toEqual(range(1, 30).map((id) => `user${id}@example.com`));
    // Each page's pending note is issued before its batches are queued, and they are queued without waiting for it.
    expect(events.slice(0, 3)).toEqual(['save pending 0', 'queue c1:0:0', 'saved pending 0']);
    // The next page is queued while the checkpoint before it is still being written.
    expect(events.indexOf('queue c1:1:0')).toBeLessThan(events.indexOf('saved checkpoint 1'));
    expect(events.indexOf('save checkpoint 1')).toBeLessThan(events.indexOf('save pending 1'));
    // The last checkpoint was written before the fan-out returned.
    expect(events.at(-1)).toBe('saved checkpoint 3');

    const failing = world(range(1, 30).map((id) => entry(id)));
    failing.deps.saveCursor = async (cursor) => {
      if (!cursor.pending && cursor.seq === 1) throw new Error('Redis away');
    };
    await expect(runFanOut(failing.deps, { pageSize: 10, maxInFlight: 100 })).rejects.toThrow('Redis away');
    // The failure surfaced with the next page's queueing: the page after it was never queued.
    expect(failing.batches.has('c1:2:0')).toBe(false);
  });

  it('stops when told and resumes from the cursor', async () => {
    const w = world(range(1, 50).map((id) => entry(id)));
    w.control.stopAfterPages = 2;
    const first = await runFanOut(w.deps, { pageSize: 10, maxInFlight: 100 });
    expect(first.outcome).toBe('stopped');
    expect(first.cursor).toMatchObject({ done: false, queued: 20, seq: 2 });
    w.control.stopAfterPages = Infinity;
    const second = await runFanOut(w.deps, { pageSize: 10, maxInFlight: 100 });
    expect(second.outcome).toBe('done');
    expect(w.queuedEmails()).toEqual(range(1, 50).map((id) => `user${id}@example.com`));
  });

  it('stops while waiting for room under maxInFlight', async () => {
    const w = world(range(1, 50).map((id) => entry(id)), { drainPerSleep: 0 });
    let checks = 0;
    w.deps.shouldStop = () => {
      checks += 1;
      return checks > 5;
    };
    const result = await runFanOut(w.deps, { pageSize: 10, maxInFlight: 20, pollMs: 1 });
    expect(result.outcome).toBe('stopped');
    expect(w.queuedEmails()).toHaveLength(20);
  });

  it('propagates a render error without saving a cursor past the page', async () => {
    const w = world(range(1, 20).map((id) => entry(id)));
    w.deps.render = (recipient) => {
      if (recipient.key === '15') throw new Error('template failed');
      return `x|${recipient.email}`;
    };
    await expect(runFanOut(w.deps, { pageSize: 10, maxInFlight: 100 })).rejects.toThrow('template failed');
    expect(w.cursor()).toMatchObject({ after: '10', seq: 1, queued: 10, pending: null });
  });

  it('an empty audience is done at once', async () => {
    const w = world([]);
    const result = await runFanOut(w.deps, { pageSize: 10, maxInFlight: 100 });
    expect(result).toMatchObject({ outcome: 'done', cursor: { ...INITIAL_CURSOR, done: true, seq: 1 } });
  });
});

describe('campaign fan-out queueing a page in one call (queueBatches)', () => {
  /** The world's queue, taking a whole page at once and atomically, as the engine's script does. */
  const pageQueue = (w: ReturnType<typeof world>, control: { crashAfterPage: number; calls: number[] }) => {
    let pages = 0;
    w.deps.queueBatches = async (page) => {
      control.calls.push(page.length);
      const results = page.map((batch) => ({ queued: !w.batches.has(batch.batchId) }));
      for (const batch of page) if (!w.batches.has(batch.batchId)) await w.deps.queueBatch(batch);
      pages += 1;
      if (control.crashAfterPage === pages) throw new Crash('died between queueing the page and its checkpoint');
      return results;
    };
  };

  it('queues each page in one call, and a page replayed after a crash queues nothing twice', async () => {
    const w = world(range(1, 60).map((id) => entry(id)));
    const control = { crashAfterPage: 2, calls: [] as number[] };
    pageQueue(w, control);
    await expect(runFanOut(w.deps, { pageSize: 20, maxInFlight: 100, batchSize: 5 })).rejects.toThrow(Crash);
    expect(w.cursor()?.pending).toBeTruthy();
    expect(w.batches.size).toBe(8);
    control.crashAfterPage = -1;
    const result = await runFanOut(w.deps, { pageSize: 20, maxInFlight: 100, batchSize: 5 });
    expect(result.outcome).toBe('done');
    expect(result.stats.replayedPages).toBe(1);
    // The replayed page was stored before: this run queued only the last page.
    expect(result.stats.queued).toBe(20);
    expect(result.cursor.queued).toBe(60);
    // One call per page (two, the replay, one): never one per batch.
    expect(control.calls).toEqual([4, 4, 4, 4]);
    const emails = w.queuedEmails();
    expect(emails).toHaveLength(60);
    expect(new Set(emails).size).toBe(60);
  });

  it('keeps under maxInFlight with pages that fill it exactly', async () => {
    const w = world(range(1, 230).map((id) => entry(id)), { drainPerSleep: 13 });
    const control = { crashAfterPage: -1, calls: [] as number[] };
    pageQueue(w, control);
    const result = await runFanOut(w.deps, { pageSize: 50, maxInFlight: 100, batchSize: 10, pollMs: 1 });
    expect(result.outcome).toBe('done');
    expect(w.peakInFlight()).toBeLessThanOrEqual(100);
    expect(w.peakInFlight()).toBeGreaterThan(50);
    expect(control.calls).toHaveLength(5);
    expect(new Set(w.queuedEmails()).size).toBe(230);
  });
});

describe('campaign fan-out with segment routing (segmentOf)', () => {
  /** Region of entry n: eu for n % 3 == 0, us for n % 3 == 1, none for the rest. */
  const regional = (id: number) => entry(id, { attributes: id % 3 === 0 ? { region: 'EU' } : id % 3 === 1 ? { region: 'us' } : {} });
  const routing = { attribute: 'region', routes: [{ value: 'eu' }, { value: 'US' }] };
  const recordSegments = (w: ReturnType<typeof world>) => {
    const segments = new Map<string, number | undefined>();
    const queueBatch = w.deps.queueBatch.bind(w.deps);
    // Noted before queueing (the fake queue may die after storing the batch), as first seen.
    w.deps.queueBatch = async (batch) => {
      if (!segments.has(batch.batchId)) segments.set(batch.batchId, batch.segment);
      return queueBatch(batch);
    };
    return segments;
  };
  const regionOf = (email: string) => {
    const id = Number(email.replace(/\D/g, ''));
    return id % 3 === 0 ? 0 : id % 3 === 1 ? 1 : undefined;
  };

  it('puts each segment in its own batches, the rest in the plain ones, and a replay after a crash queues no one twice', async () => {
    const w = world(range(1, 45).map(regional));
    const segments = recordSegments(w);
    const matcher = segmentMatcher({ ...routing, otherwise: 'campaign-group' });
    w.deps.segmentOf = (recipient) => matcher(recipient.attributes);
    w.control.crashAfterQueue = 4;
    await expect(runFanOut(w.deps, { pageSize: 20, maxInFlight: 100, batchSize: 10 })).rejects.toThrow(Crash);
    const result = await runFanOut(w.deps, { pageSize: 20, maxInFlight: 100, batchSize: 10 });
    expect(result.outcome).toBe('done');
    expect(result.stats.replayedPages).toBe(1);
    expect(result.cursor).toMatchObject({ queued: 45, skipped: 0 });
    const emails = w.queuedEmails();
    expect(emails).toHaveLength(45);
    expect(new Set(emails).size).toBe(45);
    // Every batch holds one segment's recipients, and its id says which.
    for (const [batchId, batch] of w.batches) {
      const segment = segments.get(batchId);
      expect(batchId).toBe(batchIdOf('c1', Number(batchId.split(':')[1]), Number(batchId.split(':')[2]!.split('.')[0]), segment ?? NO_SEGMENT));
      for (const message of batch) expect([message.message, regionOf(message.message.split('|')[1]!)]).toEqual([message.message, segment]);
    }
    expect(batchIdOf('c1', 3, 1, 0)).toBe('c1:3:1.0');
    expect(batchIdOf('c1', 3, 1)).toBe('c1:3:1');
  });

  it("skips and counts recipients in no segment when otherwise is 'skip'", async () => {
    const w = world(range(1, 12).map(regional));
    const matcher = segmentMatcher({ ...routing, otherwise: 'skip' });
    w.deps.segmentOf = (recipient) => matcher(recipient.attributes);
    const result = await runFanOut(w.deps, { pageSize: 5, maxInFlight: 100 });
    expect(result.stats.byReason.unsegmented).toBe(4);
    expect(result.cursor).toMatchObject({ queued: 8, skipped: 4 });
    expect(w.queuedEmails().every((email) => regionOf(email) !== undefined)).toBe(true);
  });
});

describe('segmentMatcher', () => {
  it('matches values case-insensitively, numbers and booleans as text, and sends the rest by otherwise', () => {
    const routes = [{ value: ' EU ' }, { value: '1' }, { value: 'true' }];
    const match = segmentMatcher({ attribute: 'region', routes, otherwise: 'campaign-group' });
    expect(match({ region: 'eu' })).toBe(0);
    expect(match({ region: 'Eu ' })).toBe(0);
    expect(match({ region: 1 })).toBe(1);
    expect(match({ region: '1' })).toBe(1);
    expect(match({ region: true })).toBe(2);
    expect(match({ region: 'eu-west' })).toBe(NO_SEGMENT);
    expect(match({ region: ['eu'] })).toBe(NO_SEGMENT);
    expect(match({ region: { eu: true } })).toBe(NO_SEGMENT);
    expect(match({ region: '' })).toBe(NO_SEGMENT);
    expect(match({})).toBe(NO_SEGMENT);
    expect(match(null)).toBe(NO_SEGMENT);
    const strict = segmentMatcher({ attribute: 'region', routes, otherwise: 'skip' });
    expect(strict({ region: 'EU' })).toBe(0);
    expect(strict({ region: 'apac' })).toBeNull();
    expect(strict({})).toBeNull();
  });
});
