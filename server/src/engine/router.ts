/**
 * Chooses which SMTP server of a group sends the next message.
 *
 * Late binding: a worker asks at send time, gets the group's servers best first, and tries to
 * reserve a quota slot on each in turn (the first that succeeds sends). The router itself never
 * touches Redis: it decides from a snapshot of each server's state (enabled, suspended, at its
 * connection limit, quota known exhausted, health, quota headroom) that the caller passes in.
 *
 * Strategies (see GROUP_STRATEGIES):
 * - `round-robin`: every eligible server in turn, equally. Weight is ignored entirely, so a
 *   weight-0 server still takes its turn; priority is ignored too.
 * - `weighted`: smooth weighted round robin (below) on each server's weight. Weight-0 servers are
 *   left out entirely, not even listed as fallbacks.
 * - `priority`: like `weighted`, but only among the eligible servers of the best (lowest) priority
 *   value; the next level is used only when no server of a better level is eligible.
 * - `adaptive`: like `weighted`, on weight × acceptance × quota fraction (engine/adaptive.ts): a
 *   server that accepted half of its recent attempts gets about half the share of an equal one that
 *   accepted all, one with a quarter of its tightest quota left about a quarter; none at 0.
 * A strategy this version doesn't know (written by a newer version) is routed as `weighted`.
 *
 * Smooth weighted round robin (SWRR): each server keeps a "current" score. On every pick, each
 * eligible server's score grows by its weight, the highest score wins (ties: the earlier server in
 * the group's list), and the winner's score drops by the total weight. Over any run of `total`
 * picks each server is chosen exactly `weight` times, and the picks are spread out: weights 5/3/2
 * give a,b,c,a,a,b,a,c,b,a then repeat.
 *
 * The scores live in this process only. Each worker process's own sequence is exactly
 * proportional, so the combined traffic of several workers is proportional as well.
 *
 * A preferred server (group rotation `batch` or `sticky-domain`, rotation.ts) is the caller's: when
 * it is still eligible it goes first and no pick is made, so the rotation advances once per batch or
 * recipient domain (not per message) and weights hold over many of them.
 */
import type { GroupStrategy } from '../../../shared/contracts/groups';

/** One server as the router sees it at send time. */
export interface ServerSnapshot {
  /** The server's documentId. */
  id: string;
  /** Share of traffic, >= 0; 0 = never chosen by weight (but still in round-robin). */
  weight: number;
  /** Lower = preferred, like MX preference. Only the `priority` strategy looks at it. */
  priority: number;
  enabled: boolean;
  /** Epoch ms; the server is suspended while now < suspendedUntil (circuit breaker, response rules, manual). */
  suspendedUntil: number | null;
  /** All its connections were busy at the last quota read. */
  atConnectionLimit?: boolean;
  /** Epoch ms; a reservation failed for lack of quota, so skip the server until then. */
  quotaExhaustedUntil?: number | null;
  /** 0..1 recent acceptance rate: accepted / attempts (adaptive only); default 1. */
  health?: number;
  /** 0..1 remaining fraction of its tightest quota window (adaptive only); default 1; 0 = exhausted. */
  quotaHeadroom?: number;
}

export interface GroupSnapshot {
  /** The group's documentId. */
  id: string;
  strategy: GroupStrategy;
  /** Its servers, in a stable order (ties go to the earlier one). */
  servers: ServerSnapshot[];
  /** documentId of the group to use when none of this group's servers is eligible. */
  fallbackGroupId: string | null;
}

export interface RouteResult {
  /** The group that will send: the one asked for, or a fallback group. */
  groupId: string;
  /** Its servers to try, best first (never empty). */
  order: string[];
  /** True: order[0] is the preferred server the caller passed (no pick made). Absent: the strategy picked it now. */
  preferredKept?: true;
}

/** The server a group should keep using for this message (batch or sticky rotation), if any. */
export type PreferredServer = (groupId: string) => string | null | undefined;

/** Adaptive weights are scaled up so that weight × health × headroom stays a whole number and SWRR stays exact. */
const ADAPTIVE_SCALE = 1000;

const NO_EXCLUSIONS: ReadonlySet<string> = new Set();

/** Whether a server may be tried at `now`, whatever the group's strategy. */
export function isEligible(server: ServerSnapshot, now: number): boolean {
  if (!server.enabled) return false;
  if (server.suspendedUntil !== null && now < server.suspendedUntil) return false;
  if (server.atConnectionLimit === true) return false;
  if (server.quotaExhaustedUntil != null && now < server.quotaExhaustedUntil) return false;
  return true;
}

/** A 0..1 factor; missing or not a number means "no information yet", so 1. */
const unitFactor = (value: number | undefined): number => {
  if (value === undefined || Number.isNaN(value)) return 1;
  return Math.min(Math.max(value, 0), 1);
};

/**
 * weight × health (acceptance) × headroom (quota fraction), scaled by ADAPTIVE_SCALE to a whole
 * number, so SWRR stays exact for fixed inputs: over `sum` picks each server gets exactly its scaled
 * weight (shares are proportional to the product within 1/ADAPTIVE_SCALE of a weight unit). A
 * positive product never rounds down to 0 (it becomes 1), so only a real 0 (weight, health or
 * headroom) takes a server out.
 */
export function adaptiveWeight(server: ServerSnapshot): number {
  const product = Math.max(server.weight, 0) * unitFactor(server.health) * unitFactor(server.quotaHeadroom);
  if (product <= 0) return 0;
  return Math.max(1, Math.round(product * ADAPTIVE_SCALE));
}

const plainWeight = (server: ServerSnapshot): number => server.weight;
const equalWeight = (): number => 1;

type WeightOf = (server: ServerSnapshot) => number;

/** Per-group rotation state. */
interface GroupRotation {
  strategy: GroupStrategy;
  /**
   * Each server's SWRR score. A server that is ineligible for a while keeps its score (frozen),
   * so a short absence such as one message's `exclude` neither rewards nor punishes it.
   */
  scores: Map<string, number>;
}

export class Router {
  private readonly rotations = new Map<string, GroupRotation>();

  /**
   * The servers to try for one message, best first; advances the group's rotation by one pick.
   * Empty when no server is eligible (nothing is advanced then). `exclude` = servers already tried
   * for this message, so a failing server is never tried twice.
   */
  order(group: GroupSnapshot, now: number, exclude: ReadonlySet<string> = NO_EXCLUSIONS): string[] {
    return this.orderWithPreference(group, now, exclude, null).order;
  }

  /**
   * Like order(), but a `preferred` server the strategy would still consider (eligible, not
   * excluded, with weight where weight counts, of the best eligible level for `priority`) comes
   * first and the rotation does not advance.
   */
  orderWithPreference(
    group: GroupSnapshot,
    now: number,
    exclude: ReadonlySet<string>,
    preferred: string | null | undefined
  ): { order: string[]; preferredKept: boolean } {
    if (preferred) {
      const kept = this.keepPreferred(group, now, exclude, preferred);
      if (kept) return { order: kept, preferredKept: true };
    }
    return { order: this.pickOrder(group, now, exclude), preferredKept: false };
  }

  private keepPreferred(group: GroupSnapshot, now: number, exclude: ReadonlySet<string>, preferred: string): string[] | null {
    const weightOf: WeightOf = group.strategy === 'round-robin' ? equalWeight : group.strategy === 'adaptive' ? adaptiveWeight : plainWeight;
    const candidates = group.servers.filter((server) => isEligible(server, now) && !exclude.has(server.id) && weightOf(server) > 0);
    const server = candidates.find((candidate) => candidate.id === preferred);
    if (!server) return null;
    if (group.strategy === 'priority') {
      const bestPriority = Math.min(...candidates.map((candidate) => candidate.priority));
      if (server.priority !== bestPriority) return null;
      candidates.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
    } else if (group.strategy !== 'round-robin') {
      candidates.sort((a, b) => weightOf(b) - weightOf(a));
    }
    return withPickFirst(preferred, candidates);
  }

  private pickOrder(group: GroupSnapshot, now: number, exclude: ReadonlySet<string>): string[] {
    const rotation = this.rotationFor(group);
    switch (group.strategy) {
      case 'round-robin':
        return this.orderRoundRobin(group, rotation, now, exclude);
      case 'priority':
        return this.orderByPriority(group, rotation, now, exclude);
      case 'adaptive':
        return this.orderByWeight(group, rotation, now, exclude, adaptiveWeight);
      case 'weighted':
      default:
        return this.orderByWeight(group, rotation, now, exclude, plainWeight);
    }
  }

  /**
   * The first group, from `groupId` along the fallback chain, that has an eligible server, with its
   * order; null when none has one (the caller then waits for quota). Stops at a group it has
   * already visited (a fallback loop) and at a group `lookup` doesn't know (e.g. deleted).
   */
  route(
    groupId: string,
    lookup: (id: string) => GroupSnapshot | undefined,
    now: number,
    exclude: ReadonlySet<string> = NO_EXCLUSIONS,
    preferred?: PreferredServer
  ): RouteResult | null {
    const visited = new Set<string>();
    let nextId: string | null = groupId;
    while (nextId !== null && !visited.has(nextId)) {
      visited.add(nextId);
      const group = lookup(nextId);
      if (!group) return null;
      const { order, preferredKept } = this.orderWithPreference(group, now, exclude, preferred?.(group.id));
      if (order.length > 0) return preferredKept ? { groupId: group.id, order, preferredKept } : { groupId: group.id, order };
      nextId = group.fallbackGroupId;
    }
    return null;
  }

  private rotationFor(group: GroupSnapshot): GroupRotation {
    let rotation = this.rotations.get(group.id);
    // Scores of one strategy mean nothing to another (adaptive's are scaled): start afresh.
    if (!rotation || rotation.strategy !== group.strategy) {
      rotation = { strategy: group.strategy, scores: new Map() };
      this.rotations.set(group.id, rotation);
    }
    return rotation;
  }

  /** Equal turns: SWRR with every weight 1. Fallbacks: the servers that come next in the rotation. */
  private orderRoundRobin(
    group: GroupSnapshot,
    rotation: GroupRotation,
    now: number,
    exclude: ReadonlySet<string>
  ): string[] {
    const candidates = group.servers.filter((server) => isEligible(server, now) && !exclude.has(server.id));
    const picked = pickSmoothly(rotation, group, candidates, equalWeight);
    if (picked < 0) return [];
    const order: string[] = [];
    for (let step = 0; step < candidates.length; step += 1) {
      order.push(candidates[(picked + step) % candidates.length]!.id);
    }
    return order;
  }

  /** `weighted` and `adaptive`: SWRR on `weightOf`; fallbacks by descending weight. */
  private orderByWeight(
    group: GroupSnapshot,
    rotation: GroupRotation,
    now: number,
    exclude: ReadonlySet<string>,
    weightOf: WeightOf
  ): string[] {
    const candidates = group.servers.filter(
      (server) => isEligible(server, now) && !exclude.has(server.id) && weightOf(server) > 0
    );
    const picked = pickSmoothly(rotation, group, candidates, weightOf);
    if (picked < 0) return [];
    const pickedId = candidates[picked]!.id;
    // Array.prototype.sort is stable: equal weights keep the group's order.
    candidates.sort((a, b) => weightOf(b) - weightOf(a));
    return withPickFirst(pickedId, candidates);
  }

  /** SWRR within the best eligible priority level; fallbacks: the rest of that level, then the next levels. */
  private orderByPriority(
    group: GroupSnapshot,
    rotation: GroupRotation,
    now: number,
    exclude: ReadonlySet<string>
  ): string[] {
    const candidates = group.servers.filter(
      (server) => isEligible(server, now) && !exclude.has(server.id) && server.weight > 0
    );
    if (candidates.length === 0) return [];
    let bestPriority = Infinity;
    for (const server of candidates) bestPriority = Math.min(bestPriority, server.priority);
    const bestLevel = candidates.filter((server) => server.priority === bestPriority);
    const picked = pickSmoothly(rotation, group, bestLevel, plainWeight);
    const pickedId = bestLevel[picked]!.id;
    candidates.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
    return withPickFirst(pickedId, candidates);
  }
}

/**
 * One SWRR pick among `candidates` (all with weight > 0); returns the winner's index, or -1 when
 * there is none. Only the candidates' scores change.
 */
function pickSmoothly(
  rotation: GroupRotation,
  group: GroupSnapshot,
  candidates: ServerSnapshot[],
  weightOf: WeightOf
): number {
  if (candidates.length === 0) return -1;
  const { scores } = rotation;

  let total = 0;
  for (const server of candidates) total += weightOf(server);
  // With a fixed set of servers every score stays above -total (a winner's score is positive
  // before it loses total) and, as the scores add up to 0, below (n - 1) × total, so these bounds
  // never change a steady rotation. A server coming back after an absence, or after its weight
  // (or a neighbour's) changed, may hold a score from another total: bringing it within bounds
  // means it can neither grab a long burst nor wait for ages.
  const lowest = -total;
  const highest = (candidates.length - 1) * total;

  let winner = -1;
  let winnerScore = -Infinity;
  for (let index = 0; index < candidates.length; index += 1) {
    const server = candidates[index]!;
    const previous = clamp(scores.get(server.id) ?? 0, lowest, highest);
    const score = previous + weightOf(server);
    scores.set(server.id, score);
    if (score > winnerScore) {
      winner = index;
      winnerScore = score;
    }
  }
  scores.set(candidates[winner]!.id, winnerScore - total);

  // Servers that left the group would otherwise keep a score forever. More scores than servers
  // means some left; this is rare, so the allocation is fine.
  if (scores.size > group.servers.length) forgetServersNotIn(scores, group);
  return winner;
}

function forgetServersNotIn(scores: Map<string, number>, group: GroupSnapshot): void {
  const present = new Set(group.servers.map((server) => server.id));
  for (const id of scores.keys()) {
    if (!present.has(id)) scores.delete(id);
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

/** The picked id, then the others in the given order. */
function withPickFirst(pickedId: string, servers: ServerSnapshot[]): string[] {
  const order = [pickedId];
  for (const server of servers) {
    if (server.id !== pickedId) order.push(server.id);
  }
  return order;
}
