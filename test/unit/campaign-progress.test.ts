import { computeProgress, rateFromSamples, shouldSample, type StoredCounters } from '../../server/src/engine/campaign-progress';

const stored = (overrides: Partial<StoredCounters> = {}): StoredCounters => ({
  totalRecipients: 0,
  queuedCount: 0,
  sentCount: 0,
  failedCount: 0,
  bouncedCount: 0,
  skippedCount: 0,
  ...overrides,
});

describe('campaign progress', () => {
  it('merges live and stored counters, taking the larger of each', () => {
    const progress = computeProgress({
      status: 'sending',
      stored: stored({ totalRecipients: 100, sentCount: 10, skippedCount: 7 }),
      live: { queued: 40, sent: 20, failed: 1, bounced: 2, skipped: 3 },
      ratePerSec: 5,
    });
    // skipped: the stored 7 (fan-out skips copied to the row) beats the engine's 3.
    expect(progress).toEqual({
      total: 100,
      queued: 40,
      sent: 20,
      failed: 1,
      bounced: 2,
      skipped: 7,
      inFlight: 14, // 40 queued - 26 finished by the engine
      ratePerSec: 5,
      etaSeconds: 14, // (100 - 30) / 5
      percent: 30,
    });
  });

  it('has no rate or ETA unless sending, and 100 % for a completed campaign with no one left', () => {
    const paused = computeProgress({ status: 'paused', stored: stored({ totalRecipients: 10, sentCount: 4 }), live: null, ratePerSec: 3 });
    expect(paused).toMatchObject({ ratePerSec: 0, etaSeconds: null, percent: 40, inFlight: 0 });
    expect(computeProgress({ status: 'completed', stored: stored(), live: null, ratePerSec: 0 }).percent).toBe(100);
    expect(computeProgress({ status: 'draft', stored: stored(), live: null, ratePerSec: 0 })).toMatchObject({ percent: 0, etaSeconds: null });
    // Sending but no rate known yet: ETA unknown.
    expect(computeProgress({ status: 'sending', stored: stored({ totalRecipients: 5 }), live: null, ratePerSec: 0 }).etaSeconds).toBeNull();
  });

  it('never shows a total below what is already accounted for', () => {
    const progress = computeProgress({ status: 'sending', stored: stored({ totalRecipients: 5 }), live: { queued: 9, sent: 6, failed: 0, bounced: 0, skipped: 0 }, ratePerSec: 1 });
    expect(progress).toMatchObject({ total: 9, inFlight: 3, percent: 66.7, etaSeconds: 3 });
  });

  it('computes the rate from the oldest sample of the last 30 s, else the newest older one', () => {
    const now = 100_000;
    const current = { at: now, finished: 500 };
    expect(rateFromSamples([], current)).toBe(0);
    expect(
      rateFromSamples(
        [
          { at: now - 1_000, finished: 490 },
          { at: now - 20_000, finished: 300 },
          { at: now - 45_000, finished: 0 },
        ],
        current
      )
    ).toBe(10); // (500 - 300) / 20 s
    expect(rateFromSamples([{ at: now - 120_000, finished: 140 }], current)).toBe(3); // (500 - 140) / 120 s
    expect(rateFromSamples([{ at: now - 11 * 60_000, finished: 0 }], current)).toBe(0); // too old to mean anything
    expect(rateFromSamples([{ at: now - 5_000, finished: 600 }], current)).toBe(0); // counters never go back
  });

  it('keeps samples at least a second apart', () => {
    expect(shouldSample([], { at: 10_000, finished: 1 })).toBe(true);
    expect(shouldSample([{ at: 9_500, finished: 0 }], { at: 10_000, finished: 1 })).toBe(false);
    expect(shouldSample([{ at: 9_000, finished: 0 }], { at: 10_000, finished: 1 })).toBe(true);
  });
});
