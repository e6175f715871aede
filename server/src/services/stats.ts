import type { Core } from '@strapi/strapi';

import type { MessageLogEntry } from '../../../shared/contracts/messages';
import type { StatEvent } from '../../../shared/contracts/reports';
import type { EngineEvent } from '../engine/sending-engine';
import { createStatAccumulator, statEventsOfEngineEvent } from '../engine/stat-aggregation';
import { describeDatabaseError } from '../repositories/messages';
import { createStatsRepository } from '../repositories/stats';
import { getService } from '../utils/get-service';

/** How often buffered statistics are written. */
const FLUSH_INTERVAL_MS = 1000;
/** After a failed write, background flushes wait this long at first, doubling up to the max. */
const RETRY_DELAY_MS = 1000;
const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Deliverability statistics in hourly buckets (content type stat-bucket), kept incrementally.
 *
 * `record(event)` only adds to an in-memory delta per bucket (the event's UTC hour x 'all', its
 * server, group, campaign, campaign x server) and returns; about once a second the deltas are
 * written as additive upserts, so several Strapi processes add up. A failed write keeps its deltas
 * for the next one. The same events feed the Prometheus counters (services/metrics.ts).
 */
const stats = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createStatsRepository(strapi);
  const accumulator = createStatAccumulator();
  let timer: ReturnType<typeof setInterval> | null = null;
  /** The write in progress; writes run one after the other. */
  let writing: Promise<void> = Promise.resolve();
  let failures = 0;
  let retryAt = 0;

  const metrics = () => getService(strapi, 'metrics');

  const writeBuckets = async () => {
    const deltas = accumulator.take();
    if (deltas.length === 0) return;
    try {
      await repository.addDeltas(deltas);
      failures = 0;
      retryAt = 0;
    } catch (error) {
      accumulator.restore(deltas);
      failures += 1;
      retryAt = Date.now() + Math.min(MAX_RETRY_DELAY_MS, RETRY_DELAY_MS * 2 ** (failures - 1));
      throw error;
    }
  };

  /**
   * Writes what was recorded before the call: the buckets, and the metrics counters (which report
   * their own failures and never reject).
   */
  const flush = (): Promise<void> => {
    const next = writing
      .catch(() => undefined)
      .then(async () => {
        await Promise.all([writeBuckets(), metrics().flush()]);
      });
    writing = next;
    return next;
  };

  const background = () => {
    if (Date.now() < retryAt) return;
    flush().catch((error: unknown) => {
      strapi.log.error(
        `multi-smtp: writing statistics failed (try ${failures}); ${accumulator.size} buckets are kept for the next try (${describeDatabaseError(error)})`
      );
    });
  };

  const ensureTimer = () => {
    if (timer) return;
    timer = setInterval(background, FLUSH_INTERVAL_MS);
    timer.unref();
  };

  const record = (event: StatEvent): void => {
    accumulator.add(event, Date.now());
    metrics().count(event);
    ensureTimer();
  };

  return {
    /**
     * Counts one event (see StatEvent). Cheap and synchronous: nothing is awaited, nothing thrown
     * for a database problem.
     */
    record,

    /** The sending engine's events, as statistics (see statEventsOfEngineEvent). */
    recordEngineEvent(event: EngineEvent, entry: MessageLogEntry): void {
      for (const statEvent of statEventsOfEngineEvent(event, entry, Date.now())) record(statEvent);
    },

    /** Writes everything recorded so far (tests, shutdown). Rejects if a write failed; the deltas are kept. */
    flush,

    /** Final flush, then the timer stops. Called from the plugin's destroy. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      try {
        await flush();
      } catch (error) {
        strapi.log.error(`multi-smtp: the last statistics flush failed; ${accumulator.size} buckets are lost (${describeDatabaseError(error)})`);
      }
    },

    repository: () => repository,
  };
};

export type StatsService = ReturnType<typeof stats>;
export default stats;
