import { z } from 'zod';

import type { ServerAlertSummary } from './alerts';
import { singleLine } from './common';

/** Live state of one server, as the servers list and server page show it. */
export interface ServerStatus {
  documentId: string;
  name: string;
  enabled: boolean;
  health: {
    /** closed = healthy; open = suspended; half-open = cooldown over, one probe message allowed. */
    state: 'closed' | 'open' | 'half-open';
    suspendedUntil: number | null;
    reason: string | null;
    source: 'breaker' | 'rule' | 'manual' | null;
    consecutiveFailures: number;
    throttle: { ratePerSecond: number; until: number } | null;
    /** Present while automatic protection cuts the server's weight (0..1 of its configured weight). */
    weightFactor?: number;
  };
  quota: {
    /** nextSlotAt: when the next paced send may start; null when one may start now (or there is no pace). */
    second: { cap: number | null; nextSlotAt: number | null };
    hour: { used: number; cap: number | null; resetsAt: number };
    day: { used: number; cap: number | null; resetsAt: number };
    connections: { used: number; cap: number };
  };
  /** Null when the server follows no warm-up plan. */
  warmup: { day: number; cap: number | null; done: boolean } | null;
  lastHour: { sent: number; failed: number };
  /** Active protection alerts of the server (shared/contracts/alerts.ts), oldest first. */
  alerts?: ServerAlertSummary[];
  /** Its use of each destination it has a limit toward (per-destination shaping), by destination key. */
  destinations?: {
    destination: string;
    inFlight: number;
    minute: number;
    hour: number;
    limits: { connections: number | null; perSecond: number | null; perMinute: number | null; perHour: number | null };
  }[];
}

export interface GroupStatus {
  documentId: string;
  name: string;
  slug: string;
  /** Messages queued or in flight for the group, not yet finished. */
  depth: number;
  /** Set while every server of the group (and its fallbacks) is at quota or suspended. */
  waiting: { until: number; reason: string } | null;
}

export interface StatusResponse {
  data: { servers: ServerStatus[]; groups: GroupStatus[]; pinnedDepth: number; at: number };
}

export const suspendServerSchema = z.strictObject({
  minutes: z
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(60 * 24 * 30, { error: 'must be at most 43200 (30 days)' }),
  reason: singleLine(300).default('Suspended by hand'),
});

export type SuspendServerInput = z.input<typeof suspendServerSchema>;
