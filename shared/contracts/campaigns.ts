import { z } from 'zod';

import { audienceSchema, type Audience } from './audiences';
import { emailAddress, optionalEmailAddress, optionalLine, paginationQuery, requiredLine, singleLine } from './common';
import type { GroupRef } from './servers';

/**
 * Campaigns as the admin API takes and returns them. Content may be incomplete while a campaign is
 * a draft (no subject, no sender, no audience): those are checked when it is started, with a 400
 * naming the missing field.
 */

export const CAMPAIGN_STATUSES = ['draft', 'scheduled', 'sending', 'paused', 'completed', 'cancelled', 'failed'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/** Statuses in which content, audience, group and schedule may still be edited. */
export const EDITABLE_CAMPAIGN_STATUSES: readonly CampaignStatus[] = ['draft', 'scheduled'];
/** Statuses in which a campaign may be deleted. */
export const DELETABLE_CAMPAIGN_STATUSES: readonly CampaignStatus[] = ['draft', 'completed', 'cancelled', 'failed'];
/** Statuses a campaign never leaves. */
export const FINAL_CAMPAIGN_STATUSES: readonly CampaignStatus[] = ['completed', 'cancelled', 'failed'];

/** What an admin can ask of a campaign: POST /campaigns/:id/<action>. */
export const CAMPAIGN_ACTIONS = ['start', 'schedule', 'unschedule', 'pause', 'resume', 'cancel'] as const;
export type CampaignAction = (typeof CAMPAIGN_ACTIONS)[number];

const longText = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .max(max, { error: `must be at most ${max} characters` })
    .nullish()
    .transform((value) => (value ? value : null));

const documentIdRef = () =>
  z
    .string({ error: 'must be a documentId' })
    .min(1, { error: 'must be a documentId' })
    .max(100)
    .nullish()
    .transform((value) => value ?? null);

const isoDateTime = () => z.iso.datetime({ error: 'must be an ISO date-time with a time zone, e.g. 2030-01-31T09:00:00Z', offset: true });

/** What happens to recipients whose attribute matches no segment route. */
export const SEGMENT_OTHERWISE = ['campaign-group', 'skip'] as const;
export type SegmentOtherwise = (typeof SEGMENT_OTHERWISE)[number];

/** The most segment routes a campaign may have. */
export const MAX_SEGMENT_ROUTES = 50;

/** A segment's value, as compared: trimmed and lower-cased (matching is case-insensitive). */
export const segmentKeyOf = (value: string): string => value.trim().toLowerCase();

/**
 * Segment routing: the audience is split by one subscriber attribute, and each value's recipients
 * go through their own group (a group's documentId, as the campaign's own `group`). Values match
 * the attribute case-insensitively (numbers and booleans as text); a recipient without the
 * attribute, or with a value no route names, goes by `otherwise`: the campaign's group, or nowhere
 * (skipped). null = off: everyone goes through the campaign's group.
 */
export const segmentRoutingSchema = z.strictObject({
  /** A key of the subscriber's attributes, e.g. region or tier. */
  attribute: requiredLine(100),
  routes: z
    .array(
      z.strictObject({
        value: requiredLine(200),
        group: z.string({ error: 'must be a group documentId' }).trim().min(1, { error: 'is required' }).max(100),
      }),
      { error: 'must be a list of { value, group }' }
    )
    .min(1, { error: 'must have at least one route' })
    .max(MAX_SEGMENT_ROUTES, { error: `must have at most ${MAX_SEGMENT_ROUTES} routes` })
    .superRefine((routes, context) => {
      const seen = new Map<string, number>();
      routes.forEach((route, index) => {
        const key = segmentKeyOf(route.value);
        const first = seen.get(key);
        if (first === undefined) seen.set(key, index);
        else context.addIssue({ code: 'custom', path: [index, 'value'], message: `repeats route ${first + 1} (values are compared case-insensitively)` });
      });
    }),
  otherwise: z.enum(SEGMENT_OTHERWISE, { error: `must be one of: ${SEGMENT_OTHERWISE.join(', ')}` }).default('campaign-group'),
});
export type SegmentRoutingInput = z.input<typeof segmentRoutingSchema>;
export type SegmentRouting = z.output<typeof segmentRoutingSchema>;

/** Every field an admin may set on a campaign. */
const campaignFields = {
  name: requiredLine(200),
  /** May contain merge tags; required to start. */
  subject: optionalLine(998),
  /** Inbox preview text; may contain merge tags. */
  preheader: optionalLine(500),
  fromName: optionalLine(200),
  /** Required to start. */
  fromAddress: optionalEmailAddress(),
  replyTo: optionalEmailAddress(),
  /** HTML body (merge tags HTML-escaped). */
  html: longText(1_000_000),
  /** Plain-text body; generated from the HTML when empty. */
  text: longText(1_000_000),
  /** A group's documentId; null = the default group. */
  group: documentIdRef(),
  /** Required to start. */
  audience: audienceSchema.nullish().transform((value) => value ?? null),
  /** Splits the audience by an attribute, each part through its own group; null = off. */
  segmentRouting: segmentRoutingSchema.nullish().transform((value) => value ?? null),
  /** When set (and in the future) starting the campaign schedules it. */
  scheduledAt: isoDateTime()
    .nullish()
    .transform((value) => value ?? null),
  trackOpens: z.boolean({ error: 'must be true or false' }),
  trackClicks: z.boolean({ error: 'must be true or false' }),
  tags: z
    .array(requiredLine(50), { error: 'must be a list of strings' })
    .max(20, { error: 'must have at most 20 tags' })
    .transform((tags) => [...new Set(tags)]),
};

export const createCampaignSchema = z.strictObject({
  ...campaignFields,
  subject: campaignFields.subject.default(null),
  preheader: campaignFields.preheader.default(null),
  fromName: campaignFields.fromName.default(null),
  fromAddress: campaignFields.fromAddress.default(null),
  replyTo: campaignFields.replyTo.default(null),
  html: campaignFields.html.default(null),
  text: campaignFields.text.default(null),
  group: campaignFields.group.default(null),
  audience: campaignFields.audience.default(null),
  segmentRouting: campaignFields.segmentRouting.default(null),
  scheduledAt: campaignFields.scheduledAt.default(null),
  trackOpens: campaignFields.trackOpens.default(false),
  trackClicks: campaignFields.trackClicks.default(false),
  tags: campaignFields.tags.default([]),
});

export const updateCampaignSchema = z.strictObject({
  ...Object.fromEntries(Object.entries(campaignFields).map(([key, schema]) => [key, schema.optional()])),
} as { [K in keyof typeof campaignFields]: z.ZodOptional<(typeof campaignFields)[K]> });

export type CreateCampaignInput = z.input<typeof createCampaignSchema>;
export type CreateCampaignData = z.output<typeof createCampaignSchema>;
export type UpdateCampaignInput = z.input<typeof updateCampaignSchema>;
export type UpdateCampaignData = z.output<typeof updateCampaignSchema>;

/** POST /campaigns/:id/schedule */
export const scheduleCampaignSchema = z.strictObject({
  scheduledAt: isoDateTime(),
});
export type ScheduleCampaignInput = z.input<typeof scheduleCampaignSchema>;

export const CAMPAIGN_SORT_FIELDS = ['name', 'status', 'scheduledAt', 'startedAt', 'createdAt', 'updatedAt'] as const;

export const listCampaignsQuerySchema = z.strictObject({
  ...paginationQuery,
  sort: z
    .string()
    .regex(new RegExp(`^(${CAMPAIGN_SORT_FIELDS.join('|')}):(asc|desc)$`), {
      error: `must be field:asc or field:desc, with field one of: ${CAMPAIGN_SORT_FIELDS.join(', ')}`,
    })
    .default('updatedAt:desc'),
  /** Matches name or subject, case-insensitively. */
  q: singleLine(200).optional(),
  /** One status or several, comma-separated (e.g. "sending,paused"). */
  status: z
    .string()
    .transform((value) => value.split(',').map((part) => part.trim()).filter(Boolean))
    .pipe(
      z.array(z.enum(CAMPAIGN_STATUSES, { error: `must be one or more of: ${CAMPAIGN_STATUSES.join(', ')}` })).min(1, {
        error: `must be one or more of: ${CAMPAIGN_STATUSES.join(', ')}`,
      })
    )
    .optional(),
});
export type ListCampaignsQuery = z.input<typeof listCampaignsQuerySchema>;

/** Made-up recipient data for previews and test sends. */
export const sampleRecipientSchema = z.strictObject({
  email: emailAddress().optional(),
  name: optionalLine(200),
  attributes: z.record(z.string(), z.unknown(), { error: 'must be an object' }).default({}),
});
export type SampleRecipient = z.input<typeof sampleRecipientSchema>;

/** The template parts of a campaign; what validate-template checks and what a preview may override. */
export const templateContentSchema = z.strictObject({
  subject: z.string({ error: 'must be a string' }).max(998, { error: 'must be at most 998 characters' }).nullish(),
  preheader: z.string({ error: 'must be a string' }).max(500, { error: 'must be at most 500 characters' }).nullish(),
  html: z.string({ error: 'must be a string' }).max(1_000_000, { error: 'must be at most 1000000 characters' }).nullish(),
  text: z.string({ error: 'must be a string' }).max(1_000_000, { error: 'must be at most 1000000 characters' }).nullish(),
});
export type TemplateContentInput = z.input<typeof templateContentSchema>;

/** POST /campaigns/validate-template: the editor's live check. Answers 200 with ok/errors. */
export const validateTemplateSchema = templateContentSchema;
export type ValidateTemplateInput = TemplateContentInput;

/**
 * POST /campaigns/:id/preview. Renders for a subscriber (documentId) or sample data (default: a
 * made-up recipient). `content` renders unsaved editor content instead of the stored one.
 */
export const previewCampaignSchema = z.strictObject({
  subscriberId: z.string().min(1, { error: 'must be a documentId' }).max(100).optional(),
  sampleData: sampleRecipientSchema.optional(),
  content: templateContentSchema.optional(),
});
export type PreviewCampaignInput = z.input<typeof previewCampaignSchema>;

/** POST /campaigns/:id/test-send */
export const testSendCampaignSchema = z.strictObject({
  to: z
    .array(emailAddress(), { error: 'must be a list of email addresses' })
    .min(1, { error: 'must name at least one address' })
    .max(10, { error: 'must name at most 10 addresses' }),
  /** Render with this subscriber's data (documentId)... */
  subscriberId: z.string().min(1, { error: 'must be a documentId' }).max(100).optional(),
  /** ...or with this sample data (default: the first test address, no name). */
  sampleData: sampleRecipientSchema.optional(),
  /** Send through this server (documentId) instead of the campaign's group. */
  server: z.string().min(1, { error: 'must be a documentId' }).max(100).optional(),
});
export type TestSendCampaignInput = z.input<typeof testSendCampaignSchema>;

/** One template problem: the part, and where in it. */
export interface TemplateIssue {
  field: 'subject' | 'preheader' | 'html' | 'text';
  message: string;
  line?: number;
  column?: number;
}

export interface ValidateTemplateResult {
  ok: boolean;
  errors: TemplateIssue[];
}

export interface CampaignPreview {
  subject: string;
  html: string;
  text: string;
  /** Whose data it was rendered with. */
  recipient: { email: string; name: string | null; subscriberId: string | null };
}

export interface TestSendResult {
  to: string;
  accepted: boolean;
  /** The engine's final status: sent, bounced, failed or deferred. */
  status: string;
  /** The SMTP server's reply, e.g. "250 2.0.0 Ok: queued as 4F2A". */
  reply: string | null;
  server: { id: string; name: string } | null;
  /** The plugin's message id (delivery log). */
  messageId: string | null;
  /** Why it was not sent, when it was not. */
  error: string | null;
}

export interface TestSendResponse {
  subject: string;
  results: TestSendResult[];
}

/** Live progress, from the engine's Redis counters while sending, else from the stored counters. */
export interface CampaignProgress {
  /** Recipients to reach (known once fan-out finishes; until then the audience count at start). */
  total: number;
  queued: number;
  sent: number;
  failed: number;
  bounced: number;
  skipped: number;
  /** Queued and not yet finished. */
  inFlight: number;
  /** Messages finished per second over the last ~30 s. */
  ratePerSec: number;
  /** Seconds to finish at the current rate; null when unknown (not sending or no rate yet). */
  etaSeconds: number | null;
  /** (sent + failed + bounced + skipped) / total, 0..100, rounded to 0.1. */
  percent: number;
}

export interface Campaign {
  documentId: string;
  name: string;
  subject: string | null;
  preheader: string | null;
  fromName: string | null;
  fromAddress: string | null;
  replyTo: string | null;
  html: string | null;
  text: string | null;
  group: GroupRef | null;
  audience: Audience | null;
  /** Group references are documentIds, as saved (the admin names them from its list of groups). */
  segmentRouting: SegmentRouting | null;
  status: CampaignStatus;
  scheduledAt: string | null;
  trackOpens: boolean;
  trackClicks: boolean;
  tags: string[];
  totalRecipients: number;
  queuedCount: number;
  sentCount: number;
  failedCount: number;
  bouncedCount: number;
  skippedCount: number;
  startedAt: string | null;
  completedAt: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  /** Content, audience, group and schedule may be changed (draft or scheduled). */
  editable: boolean;
  /** The actions the lifecycle allows now (buttons to show). */
  actions: CampaignAction[];
  progress: CampaignProgress;
}
