import { z } from 'zod';

/**
 * Who a campaign goes to. Either subscribers of mailing lists (optionally narrowed by their
 * attributes), or the entries of any collection type of the app that has an email attribute (e.g.
 * the users-permissions users), narrowed with Strapi's own filter syntax.
 */

export const ATTRIBUTE_FILTER_OPERATORS = ['eq', 'ne', 'contains', 'exists', 'gt', 'lt'] as const;
export type AttributeFilterOperator = (typeof ATTRIBUTE_FILTER_OPERATORS)[number];

/** A condition on a subscriber's custom attributes (subscriber.attributes[attribute]). */
export const attributeFilterSchema = z.strictObject({
  attribute: z
    .string()
    .min(1, { error: 'is required' })
    .max(100, { error: 'must be at most 100 characters' })
    .regex(/^[A-Za-z0-9_.-]+$/, { error: 'must be letters, digits, "_", "." or "-"' }),
  operator: z.enum(ATTRIBUTE_FILTER_OPERATORS, { error: `must be one of: ${ATTRIBUTE_FILTER_OPERATORS.join(', ')}` }),
  value: z.union([z.string().max(1000), z.number(), z.boolean()]).optional(),
});
export type AttributeFilter = z.infer<typeof attributeFilterSchema>;

export const listsAudienceSchema = z.strictObject({
  type: z.literal('lists'),
  /** Mailing list documentIds; a subscriber in any of them is in the audience (once). */
  lists: z.array(z.string().min(1)).min(1, { error: 'must name at least one mailing list' }).max(100),
  /** All must hold. */
  filters: z.array(attributeFilterSchema).max(20).default([]),
});

export const collectionAudienceSchema = z.strictObject({
  type: z.literal('collection'),
  /** A collection type's UID, e.g. plugin::users-permissions.user or api::member.member. */
  uid: z.string().regex(/^(api|plugin)::[a-z0-9-]+\.[a-z0-9-]+$/, { error: 'must be a collection type UID such as api::member.member' }),
  /** The attribute holding the address; defaults to the first attribute of type email. */
  emailField: z.string().min(1).max(100).optional(),
  /** The attribute used as the recipient's name in templates. */
  nameField: z.string().min(1).max(100).optional(),
  /** Strapi where-filters, e.g. { "blocked": { "$eq": false } }. */
  filters: z.record(z.string(), z.unknown()).default({}),
});

export const audienceSchema = z.discriminatedUnion('type', [listsAudienceSchema, collectionAudienceSchema], {
  error: 'must be { type: "lists", lists: [...] } or { type: "collection", uid: "..." }',
});
export type Audience = z.output<typeof audienceSchema>;
export type AudienceInput = z.input<typeof audienceSchema>;

/** A collection type an audience can be drawn from. */
export interface AudienceSource {
  uid: string;
  displayName: string;
  emailFields: string[];
  /** Scalar attributes usable in filters and templates. */
  attributes: string[];
}

export interface AudienceCount {
  /** Entries matched by the audience (before skipping). */
  matched: number;
  /** Of those, how many will be skipped: suppressed, unsubscribed/bounced, invalid address or a duplicate. */
  skipped: number;
  /** matched - skipped: what will be sent. */
  recipients: number;
}
