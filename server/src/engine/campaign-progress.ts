import type { CampaignProgress, CampaignStatus } from '../../../shared/contracts/campaigns';
import type { CampaignCounts as EngineCampaignCounts } from './sending-engine';

/**
 * A campaign's progress from two sources (plain TypeScript, no Strapi): the engine's live counters
 * in Redis (messages queued and finished) and the counters stored on the campaign row (copied there
 * by the fan-out, with the recipients it skipped before queueing). Each figure is the larger of the
 * two, so neither a stale row nor an expired Redis hash makes progress go backwards.
 *
 * The send rate comes from samples of the finished count taken as progress is read: the finished
 * messages between the oldest sample of the last `RATE_WINDOW_MS` and now, per second.
 */

/** The engine's live counters (in flight is worked out here again). */
export type CampaignCounts = Omit<EngineCampaignCounts, 'inFlight'>;

export interface StoredCounters {
  totalRecipients: number | null;
  queuedCount: number | null;
  sentCount: number | null;
  failedCount: number | null;
  bouncedCount: number | null;
  skippedCount: number | null;
}

/** The finished count at a moment. */
export interface ProgressSample {
  at: number;
  finished: number;
}

export const RATE_WINDOW_MS = 30_000;
/** When no sample is that recent, an older one up to this age still gives a (coarser) rate. */
export const RATE_FALLBACK_MS = 10 * 60_000;
/** Samples closer together than this are not worth keeping. */
export const SAMPLE_SPACING_MS = 1_000;
export const MAX_SAMPLES = 60;

const ZERO: CampaignCounts = { queued: 0, sent: 0, failed: 0, bounced: 0, skipped: 0 };

export const finishedOf = (counts: CampaignCounts): number => counts.sent + counts.failed + counts.bounced + counts.skipped;

/** Messages per second since the best reference sample; 0 when there is none. */
export const rateFromSamples = (samples: readonly ProgressSample[], current: ProgressSample): number => {
  const usable = samples.filter((sample) => sample.at < current.at && current.at - sample.at <= RATE_FALLBACK_MS);
  if (!usable.length) return 0;
  const inWindow = usable.filter((sample) => current.at - sample.at <= RATE_WINDOW_MS);
  // The oldest sample in the window smooths the rate; without one, the most recent older sample.
  const reference = inWindow.length
    ? inWindow.reduce((oldest, sample) => (sample.at < oldest.at ? sample : oldest))
    : usable.reduce((newest, sample) => (sample.at > newest.at ? sample : newest));
  const seconds = (current.at - reference.at) / 1000;
  const rate = Math.max(0, current.finished - reference.finished) / seconds;
  return Math.round(rate * 10) / 10;
};

/** Whether to store `current` as a new sample (not closer than SAMPLE_SPACING_MS to the newest one). */
export const shouldSample = (samples: readonly ProgressSample[], current: ProgressSample): boolean =>
  samples.every((sample) => current.at - sample.at >= SAMPLE_SPACING_MS);

export const computeProgress = (input: {
  status: CampaignStatus;
  stored: StoredCounters;
  live: CampaignCounts | null;
  ratePerSec: number;
}): CampaignProgress => {
  const live = input.live ?? ZERO;
  const stored = input.stored;
  const counts: CampaignCounts = {
    queued: Math.max(live.queued, stored.queuedCount ?? 0),
    sent: Math.max(live.sent, stored.sentCount ?? 0),
    failed: Math.max(live.failed, stored.failedCount ?? 0),
    bounced: Math.max(live.bounced, stored.bouncedCount ?? 0),
    skipped: Math.max(live.skipped, stored.skippedCount ?? 0),
  };
  // In flight = queued by the engine and not finished by it (skips before queueing are not queued).
  const inFlight = Math.max(0, live.queued - finishedOf(live));
  const finished = finishedOf(counts);
  const total = Math.max(stored.totalRecipients ?? 0, finished + inFlight);
  const sending = input.status === 'sending';
  const ratePerSec = sending ? input.ratePerSec : 0;
  const remaining = Math.max(0, total - finished);
  const etaSeconds = sending && ratePerSec > 0 ? Math.ceil(remaining / ratePerSec) : sending && remaining === 0 ? 0 : null;
  const percent = total > 0 ? Math.min(100, Math.round((finished / total) * 1000) / 10) : input.status === 'completed' ? 100 : 0;
  return { total, ...counts, inFlight, ratePerSec, etaSeconds, percent };
};
