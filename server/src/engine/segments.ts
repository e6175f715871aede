import { NO_SEGMENT } from './fan-out';

/**
 * Segment routing for campaigns: which of a campaign's segment routes a recipient's attributes
 * fall in. Plain TypeScript (the campaign runner maps a segment to its group).
 */

export interface SegmentRoutes {
  attribute: string;
  routes: { value: string }[];
  otherwise: 'campaign-group' | 'skip';
}

/** An attribute's value as compared with the routes' values: text, trimmed, lower-cased; null when it cannot match. */
export const segmentValueOf = (value: unknown): string | null => {
  if (typeof value === 'string') return value.trim().toLowerCase() || null;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value).toLowerCase();
  // Missing, null, objects and lists match no route: they go by `otherwise`.
  return null;
};

/**
 * A function that gives a recipient's segment: the index of the route whose value equals the
 * attribute (case-insensitively), else NO_SEGMENT (the campaign's group) or null (skip), as
 * `otherwise` says. The same attributes always give the same answer.
 */
export const segmentMatcher = (routing: SegmentRoutes): ((attributes: Record<string, unknown> | null | undefined) => number | null) => {
  const indexes = new Map<string, number>();
  routing.routes.forEach((route, index) => {
    const key = segmentValueOf(route.value);
    // The contract refuses duplicate values; should one slip through, the first route wins.
    if (key !== null && !indexes.has(key)) indexes.set(key, index);
  });
  const rest = routing.otherwise === 'skip' ? null : NO_SEGMENT;
  return (attributes) => {
    const value = segmentValueOf(attributes?.[routing.attribute]);
    return (value === null ? undefined : indexes.get(value)) ?? rest;
  };
};

