import { createHash, createHmac, hkdfSync, randomUUID } from 'node:crypto';

import type { Core } from '@strapi/strapi';

import type { StatEvent, StatType, TopLinkRow } from '../../../shared/contracts/reports';
import { createLogBuffer } from '../engine/log-buffer';
import { parseEncryptionKey } from '../engine/secret-box';
import { classifyTrackingRequest, trackMessage, type TrackingToken } from '../engine/tracking';
import { describeDatabaseError } from '../repositories/messages';
import { createTrackingRepository, type TrackingEventRecord } from '../repositories/tracking';
import { getService } from '../utils/get-service';

/**
 * Open and click tracking of campaign mail (the pure part is engine/tracking.ts):
 *
 * - `rewriterFor(campaign)`: what the campaign runner applies to each recipient's rendered HTML
 *   (signed click redirects, a pixel), or null when the campaign tracks nothing or publicUrl is unset.
 * - `hit(token, kind, request)`: the public endpoints' work. The token is checked at once (a forged
 *   or altered one gives null and records nothing); the recording runs after the answer: the message
 *   is looked up in the delivery log (small cache) for its server, group, campaign and send time,
 *   the request is classified (machine or person), the event is buffered and written in batches,
 *   and the statistics are counted: a person's open (openHuman, and openHumanUnique the first time
 *   per message), a machine's open (openMachine), a person's click (click, and clickUnique the first
 *   time per message and link). A machine's click is stored, flagged, and not counted.
 * - Unique counts: the first human open of a message and the first human click of each of its
 *   links are decided in Redis with HSETNX on one hash per message (`<prefix>:track:seen:<id>`,
 *   field `o` or `c:<hash of the url>`), expiring `tracking.uniqueForDays` after its last change.
 *   Atomic across every Strapi process and decided at request time, without a database round trip
 *   or a unique-constraint table to insert into first; its memory is bounded by the expiry. The
 *   price: a flushed Redis may count a second "first" open (a unique count a little high), never a
 *   lost event (the events table has every hit).
 */

/** Delivery log facts about a message, cached: stable once it has been sent. */
interface MessageFacts {
  serverId: string | null;
  groupSlug: string | null;
  campaignId: string | null;
  sentAt: number | null;
}

export interface TrackingRequestInfo {
  method: string;
  userAgent: string | null;
  ip: string | null;
}

const MESSAGE_CACHE_SIZE = 10_000;
const MESSAGE_CACHE_MS = 10 * 60_000;
/** Recordings under way at most; past it, hits are answered but not recorded (a flood must not exhaust memory). */
const MAX_PENDING = 10_000;
const DAY_S = 86_400;

const tracking = ({ strapi }: { strapi: Core.Strapi }) => {
  const repository = createTrackingRepository(strapi);
  const runtime = () => getService(strapi, 'runtime');
  const engine = () => getService(strapi, 'engine');
  const stats = () => getService(strapi, 'stats');

  const buffer = createLogBuffer<TrackingEventRecord & { key: string }>({
    keyOf: (event) => event.key,
    write: (batch) => repository.insertMany(batch),
    onError: (error, keptCount) =>
      strapi.log.error(
        `multi-smtp: writing tracking events failed; ${keptCount} are kept for the next try (${describeDatabaseError(error)})`
      ),
    onDrop: (droppedCount) =>
      strapi.log.error(
        `multi-smtp: the tracking event buffer is full; dropped the ${droppedCount} oldest unwritten events`
      ),
    flushIntervalMs: 500,
  });

  const pending = new Set<Promise<void>>();
  let warnedOverload = false;
  let warnedNoPublicUrl = false;
  const messages = new Map<string, { facts: MessageFacts; expires: number }>();
  let ipKey: Buffer | undefined;

  /** HMAC of the client IP (its own key, derived from the encryption key): equal IPs compare equal, no IP is stored. */
  const ipHashOf = (ip: string | null): string | null => {
    if (!ip) return null;
    ipKey ??= Buffer.from(
      hkdfSync(
        'sha256',
        parseEncryptionKey(runtime().config().encryptionKey),
        Buffer.alloc(0),
        'multi-smtp tracking ip v1',
        32
      )
    );
    return createHmac('sha256', ipKey).update(ip).digest('base64url').slice(0, 32);
  };

  const factsOf = async (messageId: string, now: number): Promise<MessageFacts | null> => {
    const cached = messages.get(messageId);
    if (cached && cached.expires > now) return cached.facts;
    const entry = await getService(strapi, 'messageLog')
      .get(messageId)
      .catch((error: unknown) => {
        strapi.log.warn(`multi-smtp: tracking could not read message ${messageId} (${describeDatabaseError(error)})`);
        return null;
      });
    if (!entry) return null;
    const facts: MessageFacts = {
      serverId: entry.serverId,
      groupSlug: entry.group,
      campaignId: entry.campaignId,
      sentAt: entry.sentAt,
    };
    // Until it is sent its server may still change: not cached.
    if (facts.sentAt !== null) {
      messages.delete(messageId);
      messages.set(messageId, { facts, expires: now + MESSAGE_CACHE_MS });
      if (messages.size > MESSAGE_CACHE_SIZE) messages.delete(messages.keys().next().value as string);
    }
    return facts;
  };

  /** True the first time `field` is seen for the message (atomic across processes); null when Redis did not answer. */
  const firstTime = async (messageId: string, field: string): Promise<boolean | null> => {
    const key = `${engine().keyPrefix()}:track:seen:${messageId}`;
    try {
      const results = await engine()
        .redis()
        .multi()
        .hsetnx(key, field, '1')
        .expire(key, runtime().config().tracking.uniqueForDays * DAY_S)
        .exec();
      const [error, set] = results?.[0] ?? [new Error('no answer'), 0];
      if (error) throw error;
      return Number(set) === 1;
    } catch (error) {
      strapi.log.warn(
        `multi-smtp: tracking could not tell a first open or click, not counted as unique (${(error as Error).message})`
      );
      return null;
    }
  };

  const linkField = (url: string) => `c:${createHash('sha256').update(url).digest('base64url').slice(0, 22)}`;

  const record = async (token: TrackingToken, request: TrackingRequestInfo, at: number): Promise<void> => {
    const facts = await factsOf(token.messageId, at);
    const verdict = classifyTrackingRequest(
      { ...request, sinceSentMs: facts?.sentAt != null ? at - facts.sentAt : null },
      token.kind
    );
    buffer.add({
      key: randomUUID(),
      messageId: token.messageId,
      campaignId: facts?.campaignId ?? null,
      serverId: facts?.serverId ?? null,
      groupSlug: facts?.groupSlug ?? null,
      kind: token.kind,
      url: token.kind === 'click' ? token.url : null,
      machine: verdict.machine,
      machineReason: verdict.reason,
      userAgent: request.userAgent,
      ipHash: ipHashOf(request.ip),
      at,
    });
    const count = (type: StatType) => {
      const event: StatEvent = {
        type,
        at,
        serverId: facts?.serverId ?? null,
        groupSlug: facts?.groupSlug ?? null,
        campaignId: facts?.campaignId ?? null,
      };
      stats().record(event);
    };
    if (token.kind === 'open') {
      if (verdict.machine) return count('openMachine');
      count('openHuman');
      if (await firstTime(token.messageId, 'o')) count('openHumanUnique');
      return;
    }
    // A scanner following every link is not a click.
    if (verdict.machine) return;
    count('click');
    if (await firstTime(token.messageId, linkField(token.url))) count('clickUnique');
  };

  const waitForPending = async () => {
    while (pending.size > 0) await Promise.all([...pending]);
  };

  return {
    /**
     * Rewrites a campaign's rendered HTML for one recipient: null when the campaign tracks nothing,
     * or when publicUrl is not configured (a warning, and the mail goes out untracked).
     */
    rewriterFor(campaign: { trackOpens?: boolean | null; trackClicks?: boolean | null }) {
      const trackOpens = campaign.trackOpens === true;
      const trackClicks = campaign.trackClicks === true;
      if (!trackOpens && !trackClicks) return null;
      const publicUrl = runtime().config().publicUrl;
      if (!publicUrl) {
        if (!warnedNoPublicUrl)
          strapi.log.warn(
            'multi-smtp: campaigns ask for open or click tracking, but publicUrl is not configured: sent untracked'
          );
        warnedNoPublicUrl = true;
        return null;
      }
      const tokens = runtime().trackingTokens();
      /** `skipUrls`: links left as they are (the recipient's unsubscribe link). */
      return (html: string, messageId: string, skipUrls: string[] = []): string =>
        trackMessage({ html, messageId, tokens, publicUrl, trackOpens, trackClicks, skipUrls: new Set(skipUrls) });
    },

    /**
     * A request to a tracking endpoint. Returns what the token says (the open, or the click and its
     * URL), or null for a token this site did not sign or of another kind: then nothing is recorded.
     * The recording happens after the call returns; `flush()` waits for it.
     */
    hit(token: unknown, kind: 'open' | 'click', request: TrackingRequestInfo): TrackingToken | null {
      if (typeof token !== 'string') return null;
      const verified = runtime().trackingTokens().verify(token);
      if (!verified || verified.kind !== kind) return null;
      if (pending.size >= MAX_PENDING) {
        if (!warnedOverload)
          strapi.log.warn(`multi-smtp: over ${MAX_PENDING} tracking events waiting; some are not recorded`);
        warnedOverload = true;
        return verified;
      }
      const at = Date.now();
      const work: Promise<void> = record(verified, request, at)
        .catch((error: unknown) => {
          strapi.log.error(`multi-smtp: a tracking event was not recorded (${describeDatabaseError(error)})`);
        })
        .finally(() => pending.delete(work));
      pending.add(work);
      return verified;
    },

    /** The campaign's links by human clicks in [from, to) (the campaign report's topLinks). */
    topLinks(campaignId: string, range: { from: number; to: number }): Promise<TopLinkRow[]> {
      return repository.topLinks(campaignId, range.from, range.to);
    },

    /** A message's opens and clicks, oldest first. Sees only written events: `flush()` first. */
    eventsOf(messageId: string): Promise<TrackingEventRecord[]> {
      return repository.ofMessage(messageId);
    },

    /** Deletes up to `limit` events older than `before` (retention); how many went. */
    pruneBefore(before: Date, limit: number): Promise<number> {
      return repository.deleteBefore(before, limit);
    },

    /** Waits for the recordings under way, then writes every buffered event (tests, shutdown). Rejects if the write failed. */
    async flush(): Promise<void> {
      await waitForPending();
      await buffer.flush();
    },

    /** Final flush, then the timer stops. Called from the plugin's destroy, before the statistics' own. */
    async stop(): Promise<void> {
      await waitForPending();
      await buffer.stop();
    },
  };
};

export type TrackingService = ReturnType<typeof tracking>;
export default tracking;
