/**
 * Keeps one node's in-memory copy of admin-edited settings (sending domains, response rules) in step
 * with the database on every node:
 * - at once on the node that made a change (`changed()`, awaited before its response);
 * - on the other nodes within `pollMs`: a change bumps a counter in Redis, which every node with a
 *   running engine reads every `pollMs` (one GET), loading again when it moved;
 * - at the latest after `fullReloadMs` whatever Redis says (a change made around the API, or a
 *   counter bump lost while Redis was away).
 * Loads run one after the other, so an older one never overwrites what a newer one loaded.
 */

/** The two Redis commands the counter needs (an ioredis client, or a cluster). */
interface VersionStore {
  get(key: string): Promise<string | null>;
  incr(key: string): Promise<number>;
}

export interface VersionedReloadOptions {
  /** The Redis key of the change counter (read lazily: the engine's prefix is known once it runs). */
  versionKey: () => string;
  redis: () => VersionStore;
  /** Whether the engine runs: the poll stops with it, and `start()` begins it again. */
  running: () => boolean;
  /** Reads the settings from the database and puts them in place. */
  load: () => Promise<void>;
  warn: (message: string) => void;
  pollMs?: number;
  fullReloadMs?: number;
}

export const DEFAULT_POLL_MS = 2000;
export const DEFAULT_FULL_RELOAD_MS = 60_000;

export const createVersionedReload = (options: VersionedReloadOptions) => {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const fullReloadMs = options.fullReloadMs ?? DEFAULT_FULL_RELOAD_MS;
  let loadedAt = 0;
  let loadedVersion: string | null = null;
  let loads: Promise<void> = Promise.resolve();
  let poller: NodeJS.Timeout | null = null;
  let polling = false;

  /** The change counter in Redis, or null when Redis cannot be asked (then fullReloadMs applies). */
  const readVersion = async (): Promise<string | null> => {
    try {
      return await options.redis().get(options.versionKey());
    } catch {
      return null;
    }
  };

  const reload = (): Promise<void> => {
    const next = loads
      .catch(() => undefined)
      .then(async () => {
        // Read before the load: a change committed meanwhile bumps it again and is loaded next poll.
        const version = await readVersion();
        await options.load();
        loadedAt = Date.now();
        loadedVersion = version;
      });
    loads = next;
    return next;
  };

  /** Loads in the background; a failure keeps what is in place (and says so, with `what` it means). */
  const reloadSoon = (what = 'reloading failed') => {
    reload().catch((error: Error) => options.warn(`${what}: ${error.message}`));
  };

  const poll = async () => {
    if (polling) return;
    if (!options.running()) {
      // The engine stopped (shutdown): so does the poll; start() begins it again with the engine.
      if (poller) clearInterval(poller);
      poller = null;
      return;
    }
    polling = true;
    try {
      const version = await readVersion();
      if (version !== loadedVersion || Date.now() - loadedAt > fullReloadMs) await reload();
    } catch (error) {
      if (options.running()) options.warn(`reloading failed: ${(error as Error).message}`);
    } finally {
      polling = false;
    }
  };

  return {
    /** Loads now and keeps loading while the engine runs (called when the engine starts). */
    start(what?: string): void {
      reloadSoon(what);
      if (!poller) {
        poller = setInterval(() => void poll(), pollMs);
        poller.unref();
      }
    },

    reloadSoon,

    /** After a change on this node: tells the others, and loads here before the caller answers. */
    async changed(): Promise<void> {
      try {
        await options.redis().incr(options.versionKey());
      } catch (error) {
        options.warn(`announcing a change failed (${(error as Error).message}); other nodes see it within ${fullReloadMs / 1000} s`);
      }
      // Committed already: a failed load is retried by the poll rather than failing the request.
      await reload().catch((error: Error) => options.warn(`reloading failed: ${error.message}`));
    },

    /** Whether a load has finished at least once. */
    loaded: (): boolean => loadedAt > 0,

    /** Without a poll (no engine here), whether the copy is older than fullReloadMs: time for a load. */
    staleWithoutPoll: (): boolean => !poller && Date.now() - loadedAt > fullReloadMs,

    /** Waits for the loads asked for so far. */
    ready: (): Promise<void> => loads,
  };
};

export type VersionedReload = ReturnType<typeof createVersionedReload>;
