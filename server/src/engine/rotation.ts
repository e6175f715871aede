/**
 * Group rotation modes beyond `message` (shared/contracts/groups.ts ROTATION_MODES): which server a
 * group should keep using for a message. The router stays pure (router.ts: a preferred server goes
 * first when still eligible, and no pick is made); this file holds the choices.
 *
 * - `batch`: the messages of one batch job (a campaign batch, a sendBulk chunk) keep the server
 *   picked for the batch's first message. A batch job runs in one worker at a time, so the choice
 *   lives in that worker's memory for the job's run; when the server becomes ineligible or fails,
 *   the next pick becomes the batch's server. A batch that waits and runs again picks afresh.
 * - `sticky-domain`: all mail of the group to one recipient domain goes through one server for
 *   `stickyMinutes`, agreed by every process through a Redis key set with SET NX PX (the first
 *   process to pick wins, the others adopt its choice). While the sticky server is ineligible
 *   (quota spent, suspended, all connections busy) or fails, mail to that domain goes to the
 *   strategy's next choice but the domain is NOT re-stuck: a short outage must not move a
 *   provider's traffic for a whole period, and the key still expires on time, after which the next
 *   message picks afresh. Only a sticky server that left the group, was disabled or drained
 *   (weight 0) is replaced at once. The domain of a message is its first recipient's. Stickiness is
 *   the group's own: mail that falls back to another group is routed there per message.
 */
import type { Cluster, Redis } from 'ioredis';

import { domainOf } from './from-domains';

export interface StickyStore {
  /** The server holding this group's mail to `domain`, or null when none does (or it expired). */
  holder(groupId: string, domain: string): Promise<string | null>;
  /**
   * Makes `serverId` the holder for `ttlMs` unless another process got there first; answers the
   * holder either way. `replace` overwrites a holder that can no longer send (left the group, disabled).
   */
  claim(groupId: string, domain: string, serverId: string, ttlMs: number, replace?: boolean): Promise<string>;
}

export const createStickyStore = (redis: Redis | Cluster, keyPrefix: string): StickyStore => {
  const keyOf = (groupId: string, domain: string) => `${keyPrefix}:sticky:${groupId}:${domain}`;
  return {
    holder(groupId, domain) {
      return redis.get(keyOf(groupId, domain));
    },
    async claim(groupId, domain, serverId, ttlMs, replace = false) {
      const key = keyOf(groupId, domain);
      if (replace) {
        await redis.set(key, serverId, 'PX', ttlMs);
        return serverId;
      }
      const set = await redis.set(key, serverId, 'PX', ttlMs, 'NX');
      if (set === 'OK') return serverId;
      // Another process holds it; if its key expired in between, ours is as good as any.
      return (await redis.get(key)) ?? serverId;
    },
  };
};

/** The recipient domain a sticky choice is kept for: the first recipient's; null when there is none. */
export const stickyDomainOf = (recipients: readonly string[]): string | null =>
  recipients.length > 0 ? domainOf(recipients[0]!) : null;

/** A batch job's servers, per group (a batch routed to a fallback group keeps one there too). */
export type BatchServers = Map<string, string>;
