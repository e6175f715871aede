import { z } from 'zod';

import { paginationQuery, type ListResponse, type SingleResponse } from './common';

/**
 * Automatic protection (server/src/engine/protection.ts, server/src/services/protection.ts): per
 * server, a sliding window over its last N sends; when a rate in it crosses its threshold, the
 * server is paused or its weight cut, an alert is raised (this file's `Alert`) and mailed.
 */

/** What one send (or a later report about it) counted as in a server's window. */
export const PROTECTION_OUTCOMES = ['accepted', 'hardBounce', 'softBounce', 'complaint', 'failed'] as const;
export type ProtectionOutcome = (typeof PROTECTION_OUTCOMES)[number];

/**
 * The rates watched, each over the window's sends:
 * - bounceRate: (hardBounce + softBounce) / sends; synchronous 5.x.x refusals and asynchronous DSNs alike;
 * - complaintRate: complaint / sends;
 * - failureRate: failed / sends (messages refused, or given up after server trouble).
 */
export const PROTECTION_RULES = ['bounceRate', 'complaintRate', 'failureRate'] as const;
export type ProtectionRuleId = (typeof PROTECTION_RULES)[number];

/** pause: the server takes nothing until the alert is lifted; reduce-weight: its weight is multiplied by a factor until then. */
export const PROTECTION_ACTIONS = ['pause', 'reduce-weight'] as const;
export type ProtectionAction = (typeof PROTECTION_ACTIONS)[number];

export const ALERT_STATUSES = ['active', 'lifted'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/** A reply seen in the window (the latest few that were not acceptances). */
export interface AlertSample {
  outcome: ProtectionOutcome;
  /** The SMTP reply or the report's diagnostic, e.g. "550 5.7.1 <x@example.com>: Recipient address rejected". */
  reply: string;
  /** epoch ms */
  at: number;
}

/** Why the alert was raised: the window as it was when the threshold was crossed. */
export interface AlertEvidence {
  /** The configured window: the last N sends. */
  window: number;
  /** Sends in the window when it crossed (at least minSends). */
  sends: number;
  minSends: number;
  counts: Record<ProtectionOutcome, number>;
  /** The rate that crossed, 0..1, and its threshold. */
  rate: number;
  threshold: number;
  /** reduce-weight: the factor applied to the server's weight. */
  weightFactor: number | null;
  samples: AlertSample[];
  /** epoch ms when the threshold was crossed. */
  at: number;
}

export interface Alert {
  documentId: string;
  server: { documentId: string; name: string };
  rule: ProtectionRuleId;
  action: ProtectionAction;
  status: AlertStatus;
  /** One line for lists and the mail subject, e.g. "bounce rate 12.0 % over the last 100 sends (threshold 5 %): paused". */
  summary: string;
  evidence: AlertEvidence;
  /** Where the alert mail went (empty when no address is configured). */
  emailedTo: string[];
  /** The alert mail's message id in the delivery log; null when none was sent (or queueing it failed). */
  emailMessageId: string | null;
  createdAt: string;
  liftedAt: string | null;
  /** Who lifted it: the admin's name and email, e.g. "Jane Doe <jane@example.com>". */
  liftedBy: string | null;
}

/** GET /multi-smtp/alerts (reports.read): newest first. */
export const listAlertsQuerySchema = z.strictObject({
  ...paginationQuery,
  status: z.enum(ALERT_STATUSES, { error: `must be one of: ${ALERT_STATUSES.join(', ')}` }).optional(),
  /** A server's documentId. */
  server: z.string().trim().min(1, { error: 'must not be empty' }).max(255, { error: 'must be at most 255 characters' }).optional(),
  rule: z.enum(PROTECTION_RULES, { error: `must be one of: ${PROTECTION_RULES.join(', ')}` }).optional(),
  sort: z.enum(['createdAt:desc', 'createdAt:asc'], { error: 'must be createdAt:desc or createdAt:asc' }).default('createdAt:desc'),
});
export type ListAlertsQuery = z.input<typeof listAlertsQuerySchema>;

export type ListAlertsResponse = ListResponse<Alert>;
export type AlertResponse = SingleResponse<Alert>;

/**
 * POST /multi-smtp/alerts/:id/lift (servers.manage), empty body. Resumes the server (pause) or
 * restores its weight (reduce-weight), starts its window afresh and marks the alert lifted. Lifting
 * a lifted alert changes nothing and answers it as it is. While another active alert of the same
 * server still calls for a pause (or a cut weight), that action stays.
 */
export const liftAlertSchema = z.strictObject({}).optional();

/** An active alert as GET /status shows it per server (ServerStatus.alerts). */
export interface ServerAlertSummary {
  documentId: string;
  rule: ProtectionRuleId;
  action: ProtectionAction;
  summary: string;
  createdAt: string;
}
