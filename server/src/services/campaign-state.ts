import type { Core } from '@strapi/strapi';

import { getService } from '../utils/get-service';

/**
 * The state of a campaign as the sending workers see it, kept in Redis so every process reads the
 * same answer: `${keyPrefix}:campaign:${id}:state` = 'sending' | 'paused' | 'cancelled' (final
 * states 'completed' and 'failed' are written too). The database row stays the record; every
 * status change writes both, through `set`.
 *
 * `get` is read before each campaign message is sent (by the gate), so it is cached in this process
 * for at most `CACHE_MS`: a pause or cancel reaches every worker within about a second, and a
 * campaign of 100,000 messages costs a handful of reads a second, not 100,000.
 */

export type CampaignRunState = 'sending' | 'paused' | 'cancelled' | 'completed' | 'failed' | 'scheduled' | 'draft';

const CACHE_MS = 1000;
/** Final states are kept a while (late queued messages still read them), then expire on their own. */
const FINAL_STATE_TTL_MS = 30 * 24 * 3600 * 1000;
const FINAL_STATES = new Set<CampaignRunState>(['completed', 'cancelled', 'failed']);

export const campaignStateKey = (keyPrefix: string, campaignId: string) => `${keyPrefix}:campaign:${campaignId}:state`;

const campaignState = ({ strapi }: { strapi: Core.Strapi }) => {
  const cache = new Map<string, { state: CampaignRunState | null; at: number }>();
  /** One read at a time per campaign: concurrent gate checks share it. */
  const pending = new Map<string, Promise<CampaignRunState | null>>();

  const engine = () => getService(strapi, 'engine');
  const keyOf = (campaignId: string) => campaignStateKey(engine().keyPrefix(), campaignId);

  return {
    async set(campaignId: string, state: CampaignRunState): Promise<void> {
      const key = keyOf(campaignId);
      if (FINAL_STATES.has(state)) await engine().redis().set(key, state, 'PX', FINAL_STATE_TTL_MS);
      else await engine().redis().set(key, state);
      cache.set(campaignId, { state, at: Date.now() });
    },

    /** The state, at most `CACHE_MS` old; null when none was written (or it expired). */
    async get(campaignId: string): Promise<CampaignRunState | null> {
      const cached = cache.get(campaignId);
      if (cached && Date.now() - cached.at < CACHE_MS) return cached.state;
      const inFlight = pending.get(campaignId);
      if (inFlight) return inFlight;
      const read = (async () => {
        try {
          const state = (await engine().redis().get(keyOf(campaignId))) as CampaignRunState | null;
          cache.set(campaignId, { state, at: Date.now() });
          if (cache.size > 1000) {
            // Drop stale entries so a long-lived process does not keep every campaign it ever saw.
            const now = Date.now();
            for (const [id, entry] of cache) if (now - entry.at >= CACHE_MS) cache.delete(id);
          }
          return state;
        } finally {
          pending.delete(campaignId);
        }
      })();
      pending.set(campaignId, read);
      return read;
    },

    /** Always from Redis (for the runner's decisions, not the per-message gate). */
    async getFresh(campaignId: string): Promise<CampaignRunState | null> {
      const state = (await engine().redis().get(keyOf(campaignId))) as CampaignRunState | null;
      cache.set(campaignId, { state, at: Date.now() });
      return state;
    },

    async clear(campaignId: string): Promise<void> {
      await engine().redis().del(keyOf(campaignId));
      cache.delete(campaignId);
    },
  };
};

export type CampaignStateService = ReturnType<typeof campaignState>;
export default campaignState;
