import type { Core } from '@strapi/strapi';

import type { MessageMeta } from '../engine/message-store';
import type { GateDecision } from '../engine/sending-engine';
import { getService } from '../utils/get-service';

/**
 * Asked by a worker before each campaign message is routed: skip it when its recipient has been
 * suppressed since it was queued (an unsubscribe, a bounce) or the campaign was cancelled; hold it
 * while the campaign is paused; otherwise send.
 *
 * Cheap by design, as it runs for every message: the campaign's state comes from a cache at most
 * 1 s old (services/campaign-state.ts), so a check costs one Redis round trip (the suppression
 * lookup), and none at all for a cancelled or paused campaign.
 */

/** A held message comes back after 3-5 s: a resume is seen within seconds, and held jobs do not all return at once. */
const HOLD_MIN_MS = 3000;
const HOLD_JITTER_MS = 2000;

const campaignGate = ({ strapi }: { strapi: Core.Strapi }) => ({
  async check(meta: MessageMeta): Promise<GateDecision> {
    if (!meta.campaignId) return { kind: 'send' };
    const state = await getService(strapi, 'campaignState').get(meta.campaignId);
    if (state === 'cancelled') return { kind: 'skip', reason: 'campaign cancelled' };
    if (state === 'failed') return { kind: 'skip', reason: 'campaign failed' };
    if (state === 'paused') {
      // The engine's clock (shifted in tests), which is what it schedules the hold by.
      const now = getService(strapi, 'engine').get().now();
      return { kind: 'hold', untilMs: now + HOLD_MIN_MS + Math.floor(Math.random() * HOLD_JITTER_MS), reason: 'paused' };
    }
    const suppressions = getService(strapi, 'suppressions');
    const [recipient, ...others] = meta.recipients;
    const suppressed =
      others.length === 0
        ? recipient !== undefined && (await suppressions.isSuppressed(recipient))
        : (await suppressions.filterSuppressed(meta.recipients)).size > 0;
    if (suppressed) return { kind: 'skip', reason: 'recipient suppressed' };
    return { kind: 'send' };
  },
});

export type CampaignGateService = ReturnType<typeof campaignGate>;
export default campaignGate;
