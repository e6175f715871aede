import type { Core } from '@strapi/strapi';

import { hourOf } from '../engine/stat-aggregation';
import { describeDatabaseError } from '../repositories/messages';
import { createStatsRepository } from '../repositories/stats';
import { getService } from '../utils/get-service';
import { MESSAGE_UID } from '../utils/uids';
import { PLUGIN_ID } from '../../../shared/plugin-id';

const DAY_MS = 24 * 3600 * 1000;
/** How often the pruning runs (and once shortly after boot). */
const PRUNE_INTERVAL_MS = 3600 * 1000;
const FIRST_PRUNE_DELAY_MS = 5000;
/** Rows deleted per statement: short transactions, so senders writing the log never wait long. */
const BATCH = 2000;
/** One process prunes at a time; the lock outlives a slow run, and is freed at its end. */
const LOCK_MS = 15 * 60 * 1000;

const nextTick = () => new Promise((resolve) => setImmediate(resolve));

export interface PruneResult {
  /** Delivery log rows deleted (queued before messagesBefore). */
  messages: number;
  /** Open and click events deleted (before messagesBefore, like the log rows). */
  trackingEvents: number;
  /** Statistics buckets deleted (hours before bucketsBefore). */
  buckets: number;
  messagesBefore: string;
  bucketsBefore: string;
  /** False when another process held the lock (nothing was done). */
  ran: boolean;
}

/**
 * Retention (config `retention`): delivery log rows and open/click events older than
 * messageLogDays, and hourly statistics older than statsDays, are deleted in batches (oldest
 * first, by the queued_at and hour indexes), hourly and once after boot. The hourly statistics are kept independently, so
 * reports over a range whose log rows are gone still add up.
 */
const retention = ({ strapi }: { strapi: Core.Strapi }) => {
  let timer: ReturnType<typeof setInterval> | null = null;
  let firstRun: ReturnType<typeof setTimeout> | null = null;
  let running: Promise<PruneResult> | null = null;
  let stopping = false;

  const lockKey = () => `${getService(strapi, 'engine').keyPrefix()}:retention:lock`;

  /** Takes the cross-process lock; true when Redis is down too (pruning twice is harmless, never pruning is not). */
  const lock = async (): Promise<boolean> => {
    try {
      return (await getService(strapi, 'engine').redis().set(lockKey(), String(process.pid), 'PX', LOCK_MS, 'NX')) === 'OK';
    } catch {
      return true;
    }
  };
  const unlock = async () => {
    try {
      await getService(strapi, 'engine').redis().del(lockKey());
    } catch {
      // It expires by itself.
    }
  };

  const pruneMessages = async (before: Date): Promise<number> => {
    const query = strapi.db.query(MESSAGE_UID);
    let deleted = 0;
    while (!stopping) {
      const rows = (await query.findMany({
        select: ['id'],
        where: { queuedAt: { $lt: before } },
        orderBy: { queuedAt: 'asc' },
        limit: BATCH,
      })) as Array<{ id: number }>;
      if (rows.length === 0) break;
      const result = await query.deleteMany({ where: { id: { $in: rows.map((row) => row.id) } } });
      deleted += Number(result.count ?? rows.length);
      if (rows.length < BATCH) break;
      await nextTick();
    }
    return deleted;
  };

  /** Open and click events (services/tracking.ts), per message like the log rows, when tracking is there. */
  const pruneTrackingEvents = async (before: Date): Promise<number> => {
    const plugin = strapi.plugin(PLUGIN_ID);
    const tracking = plugin.services.tracking ? (plugin.service('tracking') as { pruneBefore?: unknown }) : null;
    if (typeof tracking?.pruneBefore !== 'function') return 0;
    const pruneBefore = tracking.pruneBefore as (before: Date, limit: number) => Promise<number>;
    let deleted = 0;
    while (!stopping) {
      const count = await pruneBefore(before, BATCH);
      deleted += count;
      if (count < BATCH) break;
      await nextTick();
    }
    return deleted;
  };

  const pruneBuckets = async (beforeHour: number): Promise<number> => {
    const repository = createStatsRepository(strapi);
    let deleted = 0;
    while (!stopping) {
      const count = await repository.deleteBefore(beforeHour, BATCH);
      deleted += count;
      if (count < BATCH) break;
      await nextTick();
    }
    return deleted;
  };

  const prune = async (now: number, force: boolean): Promise<PruneResult> => {
    const { messageLogDays, statsDays } = getService(strapi, 'runtime').config().retention;
    const messagesBefore = new Date(now - messageLogDays * DAY_MS);
    const bucketsBefore = hourOf(now - statsDays * DAY_MS);
    const result: PruneResult = {
      messages: 0,
      trackingEvents: 0,
      buckets: 0,
      messagesBefore: messagesBefore.toISOString(),
      bucketsBefore: new Date(bucketsBefore).toISOString(),
      ran: false,
    };
    if (!force && !(await lock())) return result;
    try {
      result.messages = await pruneMessages(messagesBefore);
      result.trackingEvents = await pruneTrackingEvents(messagesBefore);
      result.buckets = await pruneBuckets(bucketsBefore);
      result.ran = true;
    } finally {
      if (!force) await unlock();
    }
    if (result.messages > 0 || result.trackingEvents > 0 || result.buckets > 0) {
      strapi.log.info(
        `multi-smtp: retention deleted ${result.messages} delivery log rows, ${result.trackingEvents} open and click events and ${result.buckets} statistics buckets`
      );
    }
    return result;
  };

  const background = () => {
    if (running) return;
    running = prune(Date.now(), false);
    running
      .catch((error: unknown) => {
        strapi.log.error(`multi-smtp: pruning old delivery log rows and statistics failed (${describeDatabaseError(error)})`);
      })
      .finally(() => {
        running = null;
      });
  };

  return {
    /**
     * Deletes what is past retention now (or as of `now`, tests). Takes no lock: an admin or test
     * asking for it wants it done.
     */
    prune(now = Date.now()): Promise<PruneResult> {
      return prune(now, true);
    },

    /** Hourly pruning, the first run shortly after boot. */
    start() {
      if (timer) return;
      stopping = false;
      firstRun = setTimeout(background, FIRST_PRUNE_DELAY_MS);
      firstRun.unref();
      timer = setInterval(background, PRUNE_INTERVAL_MS);
      timer.unref();
    },

    /** Stops the loop; a run in progress ends after its current batch. */
    async stop() {
      stopping = true;
      if (firstRun) clearTimeout(firstRun);
      if (timer) clearInterval(timer);
      firstRun = null;
      timer = null;
      await running?.catch(() => undefined);
    },
  };
};

export type RetentionService = ReturnType<typeof retention>;
export default retention;
