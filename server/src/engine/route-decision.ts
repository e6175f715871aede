/**
 * Why a message went where it went, for the delivery log: how its group (or server) was chosen
 * when it was queued, and which servers were passed over at send time and why.
 *
 * Plain data, written by the sending engine and its helpers (routing rules at intake; the From
 * domain check, destination limits, rotation, quota and health at send time), stored with the
 * message's log row and shown in the admin's delivery log.
 */

/** How a message's target was chosen when it was queued. */
export type RouteVia =
  /** The caller named a server (`server` option): no routing. */
  | 'server'
  /** The caller named a group (`group` option), or the campaign's own group. */
  | 'group'
  /** A routing rule matched. */
  | 'rule'
  /** A campaign's segment routing sent this recipient's part through its own group. */
  | 'segment'
  /** Nothing named a target and no rule matched: the default group. */
  | 'default';

/** Decided at intake; stored with the message (MessageMeta.route). */
export interface RouteChoice {
  via: RouteVia;
  /** The rule that matched (via 'rule'). */
  ruleId?: string | null;
  ruleName?: string | null;
  /** The segment's label, e.g. `region = eu` (via 'segment'). */
  segment?: string | null;
}

/** One server passed over for a message at send time. */
export interface ServerSkip {
  serverId: string;
  /** Short, human: "From domain example.org not allowed", "destination gmail.com: 20/min reached". */
  reason: string;
}

/** The most skips kept per message: a long outage must not grow a log row without bound. */
export const MAX_SKIPS_KEPT = 20;

/**
 * Notes that `serverId` was passed over for this message, once per server and reason.
 * `skips` is the message's list (kept in memory while it is being sent).
 */
export function noteSkip(skips: ServerSkip[], serverId: string, reason: string): void {
  if (skips.length >= MAX_SKIPS_KEPT) return;
  if (skips.some((skip) => skip.serverId === serverId && skip.reason === reason)) return;
  skips.push({ serverId, reason });
}
