import { z } from 'zod';

import { paginationQuery, singleLine } from './common';

/** Where a message is in its life. */
/** `skipped`: never sent on purpose (campaign mail to a suppressed address, or of a cancelled campaign). */
export const MESSAGE_STATUSES = ['queued', 'sending', 'deferred', 'sent', 'failed', 'bounced', 'skipped'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** What one SMTP attempt's outcome means (see server/src/engine/classify.ts). */
export type AttemptOutcome =
  | 'accepted'
  | 'server-transient'
  | 'server-condemned'
  | 'recipient-hard'
  | 'recipient-soft'
  | 'message-rejected';

/** One try of one message on one server. */
export interface AttemptRecord {
  /** epoch ms when the attempt started */
  at: number;
  serverId: string;
  serverName: string;
  outcome: AttemptOutcome;
  /** The server's reply, e.g. "250 2.0.0 Ok: queued as 4F2A" or "550 5.1.1 <x@y>: User unknown". */
  reply: string | null;
  latencyMs: number;
}

/** How a message's group or server was chosen when it was queued (server/src/engine/route-decision.ts). */
export interface MessageRoute {
  via: 'server' | 'group' | 'rule' | 'segment' | 'default';
  ruleId?: string | null;
  ruleName?: string | null;
  /** e.g. `region = eu` */
  segment?: string | null;
}

/** Why a message went where it went: how its target was chosen, and the servers passed over and why. */
export interface MessageDecision {
  route: MessageRoute;
  skips: { server: string; reason: string }[];
}

/** A message as the delivery log shows it. */
export interface MessageLogEntry {
  /** The plugin's id for the message (also in the X-Multi-SMTP-ID header). */
  id: string;
  status: MessageStatus;
  from: string | null;
  recipients: string[];
  subject: string;
  /** Group slug it was routed in, or null when pinned to a server. */
  group: string | null;
  /** The server of the last attempt. */
  serverId: string | null;
  serverName: string | null;
  attempts: AttemptRecord[];
  lastReply: string | null;
  /** The Message-ID header the message went out with. */
  smtpMessageId: string | null;
  idempotencyKey: string | null;
  /** Who queued it: api, email-plugin, campaign, ... */
  source: string;
  /** Campaign mail: the campaign's and the subscriber's documentIds. */
  campaignId: string | null;
  subscriberId: string | null;
  queuedAt: number;
  sentAt: number | null;
  finishedAt: number | null;
  /** Null (or absent) for mail logged before decisions were recorded. */
  decision?: MessageDecision | null;
}

export const listMessagesQuerySchema = z.strictObject({
  ...paginationQuery,
  /** Part of a recipient address, case-insensitive. */
  recipient: singleLine(254).optional(),
  status: z.enum(MESSAGE_STATUSES, { error: `must be one of: ${MESSAGE_STATUSES.join(', ')}` }).optional(),
  /** A server's documentId. */
  server: z.string().min(1).optional(),
  /** A group's slug. */
  group: z.string().min(1).optional(),
  /** A campaign's documentId. */
  campaign: z.string().min(1).optional(),
  /** ISO date-times bounding queuedAt. */
  from: z.iso.datetime({ error: 'must be an ISO date-time', offset: true }).optional(),
  to: z.iso.datetime({ error: 'must be an ISO date-time', offset: true }).optional(),
  sort: z.enum(['queuedAt:desc', 'queuedAt:asc'], { error: 'must be queuedAt:desc or queuedAt:asc' }).default('queuedAt:desc'),
});

export type ListMessagesQuery = z.input<typeof listMessagesQuerySchema>;
