import { z } from 'zod';

import { emailAddress, paginationQuery, requiredLine, singleLine, optionalLine } from './common';

/**
 * The audience data: mailing lists, their subscribers, and the suppression list (addresses and
 * whole domains campaign mail is never sent to). Used by the admin API (server) and the admin pages.
 *
 * Addresses are stored normalised (trimmed, lower-cased): the server normalises every address it is
 * given, so `Ann@Example.com ` and `ann@example.com` are the same subscriber.
 */

// ---------------------------------------------------------------------------------------------------
// Shared pieces

/** A `field:asc|desc` sort string over a fixed set of fields. */
const sortOf = <const Fields extends readonly string[]>(fields: Fields, fallback: string) =>
  z
    .string()
    .regex(new RegExp(`^(${fields.join('|')}):(asc|desc)$`), {
      error: `must be field:asc or field:desc, with field one of: ${fields.join(', ')}`,
    })
    .default(fallback);

const description = () =>
  z
    .string()
    .max(2000, { error: 'must be at most 2000 characters' })
    .nullish()
    .transform((value) => value ?? null);

/** A documentId (of a mailing list, ...). */
const documentId = () => z.string().trim().min(1, { error: 'is required' }).max(100, { error: 'is too long' });

/** A query-string boolean: true/false, 1/0, yes/no, on/off (HTML forms send "on"). */
export const queryBoolean = () =>
  z
    .union([z.boolean(), z.string().trim().toLowerCase()])
    .refine((value) => typeof value === 'boolean' || ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', ''].includes(value), {
      error: 'must be true or false',
    })
    .transform((value) => (typeof value === 'boolean' ? value : ['true', '1', 'yes', 'on'].includes(value)));

/**
 * A list of documentIds given either as an array or as one comma-separated string (query strings and
 * multipart fields can only carry the latter).
 */
export const documentIdList = (max: number) =>
  z
    .union([z.array(z.string()), z.string()], { error: 'must be a list of documentIds (an array, or comma-separated)' })
    .transform((value) =>
      (Array.isArray(value) ? value : value.split(','))
        .map((id) => id.trim())
        .filter((id) => id.length > 0)
    )
    .pipe(z.array(documentId()).max(max, { error: `must name at most ${max}` }))
    // the same list named twice is the same link, not an error
    .transform((ids) => [...new Set(ids)]);

// ---------------------------------------------------------------------------------------------------
// Mailing lists

/** A list as other objects show it. */
export interface MailingListRef {
  documentId: string;
  name: string;
}

export interface MailingList extends MailingListRef {
  description: string | null;
  /** Every subscriber in the list, whatever their status. */
  subscriberCount: number;
  /** Those with status 'subscribed': who a campaign to this list reaches (before suppressions). */
  subscribedCount: number;
  createdAt: string;
  updatedAt: string;
}

const mailingListFields = {
  name: requiredLine(200),
  description: description(),
};

export const createMailingListSchema = z.strictObject({
  name: mailingListFields.name,
  description: mailingListFields.description.default(null),
});

export const updateMailingListSchema = z.strictObject({
  name: mailingListFields.name.optional(),
  description: mailingListFields.description.optional(),
});

export type CreateMailingListInput = z.input<typeof createMailingListSchema>;
export type CreateMailingListData = z.output<typeof createMailingListSchema>;
export type UpdateMailingListInput = z.input<typeof updateMailingListSchema>;
export type UpdateMailingListData = z.output<typeof updateMailingListSchema>;

export const MAILING_LIST_SORT_FIELDS = ['name', 'createdAt', 'updatedAt'] as const;

export const listMailingListsQuerySchema = z.strictObject({
  ...paginationQuery,
  sort: sortOf(MAILING_LIST_SORT_FIELDS, 'name:asc'),
  /** Part of the name or description, case-insensitive. */
  q: singleLine(200).optional(),
});

export type ListMailingListsQuery = z.input<typeof listMailingListsQuerySchema>;

// ---------------------------------------------------------------------------------------------------
// Subscribers

export const SUBSCRIBER_STATUSES = ['subscribed', 'unsubscribed', 'bounced', 'complained'] as const;
export type SubscriberStatus = (typeof SUBSCRIBER_STATUSES)[number];

export const subscriberStatus = () =>
  z.enum(SUBSCRIBER_STATUSES, { error: `must be one of: ${SUBSCRIBER_STATUSES.join(', ')}` });

/** A scalar custom attribute value (what CSV columns and audience filters deal in). */
export type AttributeValue = string | number | boolean | null;

export const MAX_ATTRIBUTES = 100;

/**
 * Custom attributes: a flat JSON object of scalars, usable in templates (`{{ recipient.attributes.city }}`)
 * and audience filters. Nested objects are refused: filters and CSV columns could not reach them.
 */
export const subscriberAttributes = () =>
  z
    .record(
      z.string().min(1, { error: 'attribute names must not be empty' }).max(100, { error: 'attribute names must be at most 100 characters' }),
      z.union([z.string().max(10_000, { error: 'must be at most 10000 characters' }), z.number(), z.boolean(), z.null()], {
        error: 'must be a string, number, boolean or null',
      }),
      { error: 'must be a JSON object' }
    )
    .refine((value) => Object.keys(value).length <= MAX_ATTRIBUTES, { error: `must have at most ${MAX_ATTRIBUTES} attributes` });

const isoDateTime = () =>
  z.iso
    .datetime({ error: 'must be an ISO date-time', offset: true })
    .nullish()
    .transform((value) => value ?? null);

export interface Subscriber {
  documentId: string;
  /** Normalised (trimmed, lower-case). */
  email: string;
  name: string | null;
  attributes: Record<string, AttributeValue>;
  status: SubscriberStatus;
  lists: MailingListRef[];
  consentAt: string | null;
  unsubscribedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

const subscriberFields = {
  email: emailAddress(),
  name: optionalLine(200),
  attributes: subscriberAttributes(),
  status: subscriberStatus(),
  /** Mailing list documentIds; replaces the subscriber's lists. Unknown ids are refused (400). */
  lists: documentIdList(1000),
  consentAt: isoDateTime(),
};

export const createSubscriberSchema = z.strictObject({
  email: subscriberFields.email,
  name: subscriberFields.name.default(null),
  attributes: subscriberFields.attributes.default({}),
  status: subscriberFields.status.default('subscribed'),
  lists: subscriberFields.lists.default([]),
  consentAt: subscriberFields.consentAt.default(null),
});

export const updateSubscriberSchema = z.strictObject({
  email: subscriberFields.email.optional(),
  name: subscriberFields.name.optional(),
  /** Replaces the attributes as a whole. */
  attributes: subscriberFields.attributes.optional(),
  status: subscriberFields.status.optional(),
  lists: subscriberFields.lists.optional(),
  consentAt: subscriberFields.consentAt.optional(),
});

export type CreateSubscriberInput = z.input<typeof createSubscriberSchema>;
export type CreateSubscriberData = z.output<typeof createSubscriberSchema>;
export type UpdateSubscriberInput = z.input<typeof updateSubscriberSchema>;
export type UpdateSubscriberData = z.output<typeof updateSubscriberSchema>;

export const SUBSCRIBER_SORT_FIELDS = ['email', 'name', 'status', 'createdAt', 'updatedAt'] as const;

/** Filters shared by the subscriber list and the CSV export. */
const subscriberFilters = {
  /** Part of the address or the name, case-insensitive. */
  q: singleLine(200).optional(),
  status: subscriberStatus().optional(),
  /** A mailing list's documentId: only its subscribers. */
  list: documentId().optional(),
};

export const listSubscribersQuerySchema = z.strictObject({
  ...paginationQuery,
  sort: sortOf(SUBSCRIBER_SORT_FIELDS, 'createdAt:desc'),
  ...subscriberFilters,
});
export type ListSubscribersQuery = z.input<typeof listSubscribersQuerySchema>;

/** GET /subscribers/export: the same filters as the list, every matching row. */
export const exportSubscribersQuerySchema = z.strictObject(subscriberFilters);
export type ExportSubscribersQuery = z.input<typeof exportSubscribersQuerySchema>;

/** Columns of the subscriber CSV export, in order; attribute columns follow, named by attribute. */
export const SUBSCRIBER_EXPORT_COLUMNS = ['email', 'name', 'status', 'lists', 'consentAt', 'unsubscribedAt', 'createdAt'] as const;

// ---------------------------------------------------------------------------------------------------
// CSV import: POST /subscribers/import, multipart/form-data (field `file`, options as fields), or the
// CSV as the body (text/csv for small files, application/octet-stream streamed; options in the query).
// Answers { data: SubscriberImportReport }.
// Export: GET /subscribers/export and GET /suppressions/export (same filters as the lists; CSV download).

/**
 * The options, as multipart fields (or query parameters with a text/csv body).
 * The file needs a header row with an `email` column (any case); `name` and `status` columns are
 * read as such; every other column becomes a custom attribute (empty cells are left out).
 */
export const importSubscribersOptionsSchema = z.object({
  /** Mailing list documentIds, comma-separated: every imported row (new or existing) is added to them. */
  lists: documentIdList(100).default([]),
  /** Existing subscribers get the row's name, status and attributes (merged); otherwise they are left as they are. */
  updateExisting: queryBoolean().default(false),
  /**
   * Status for new subscribers whose row has none (default 'subscribed'). Existing subscribers only
   * change status through a `status` cell, with updateExisting.
   */
  status: subscriberStatus().optional(),
});
export type ImportSubscribersOptions = z.input<typeof importSubscribersOptionsSchema>;

/** At most this many row errors are returned; `errorCount` says how many there were in all. */
export const IMPORT_ERROR_LIMIT = 1000;

export interface ImportRowError {
  /** Row number as a spreadsheet shows it: the header is row 1, the first data row is row 2. */
  row: number;
  /** The column (e.g. "email", "status", an attribute name) or "row" for the row as a whole. */
  field: string;
  message: string;
}

export interface SubscriberImportReport {
  /** Data rows read (header excluded). */
  rows: number;
  created: number;
  updated: number;
  /** Rows not written: refused with an error (`invalid`), or existing subscribers left as they were. */
  skipped: number;
  /** Rows refused with at least one error (part of `skipped`). */
  invalid: number;
  /** Every error found (a row may have more than one). */
  errorCount: number;
  /** The first IMPORT_ERROR_LIMIT errors, in file order. */
  errors: ImportRowError[];
  /** True when `errors` was cut at IMPORT_ERROR_LIMIT. */
  errorsTruncated: boolean;
  /** Subscribers newly linked to the chosen lists. */
  listed: number;
  elapsedMs: number;
}

// ---------------------------------------------------------------------------------------------------
// Suppressions

export const SUPPRESSION_KINDS = ['address', 'domain'] as const;
export type SuppressionKind = (typeof SUPPRESSION_KINDS)[number];

export const SUPPRESSION_REASONS = ['manual', 'unsubscribed', 'hard-bounce', 'soft-bounces', 'complaint'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export const suppressionReason = () =>
  z.enum(SUPPRESSION_REASONS, { error: `must be one of: ${SUPPRESSION_REASONS.join(', ')}` });

const DOMAIN_PATTERN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i;

/**
 * An address ("ann@example.com") or a whole domain ("example.com", also accepted as "@example.com").
 * The kind is inferred: a value with a local part is an address.
 */
export const suppressionValue = () =>
  singleLine(254)
    .refine((value) => value.length > 0, { error: 'is required' })
    .refine(
      (value) => {
        const domain = value.startsWith('@') ? value.slice(1) : value;
        if (!domain.includes('@')) return DOMAIN_PATTERN.test(domain);
        return z.email().safeParse(value).success;
      },
      { error: 'must be an email address or a domain (example.com)' }
    );

export interface Suppression {
  documentId: string;
  /** Normalised address, or a bare domain. */
  value: string;
  kind: SuppressionKind;
  reason: SuppressionReason;
  /** Where it came from, e.g. "campaign:<id>", "message:<id>", "admin". */
  source: string | null;
  note: string | null;
  createdAt: string;
  updatedAt: string;
}

/** POST /suppressions. Adding a value that is already suppressed returns the existing entry (200, not 201). */
export const createSuppressionSchema = z.strictObject({
  value: suppressionValue(),
  reason: suppressionReason().default('manual'),
  source: optionalLine(500).default(null),
  note: description().default(null),
});
export type CreateSuppressionInput = z.input<typeof createSuppressionSchema>;
export type CreateSuppressionData = z.output<typeof createSuppressionSchema>;

export const SUPPRESSION_SORT_FIELDS = ['value', 'kind', 'reason', 'createdAt'] as const;

const suppressionFilters = {
  /** Part of the value, source or note, case-insensitive. */
  q: singleLine(200).optional(),
  kind: z.enum(SUPPRESSION_KINDS, { error: `must be one of: ${SUPPRESSION_KINDS.join(', ')}` }).optional(),
  reason: suppressionReason().optional(),
};

export const listSuppressionsQuerySchema = z.strictObject({
  ...paginationQuery,
  sort: sortOf(SUPPRESSION_SORT_FIELDS, 'createdAt:desc'),
  ...suppressionFilters,
});
export type ListSuppressionsQuery = z.input<typeof listSuppressionsQuerySchema>;

export const exportSuppressionsQuerySchema = z.strictObject(suppressionFilters);
export type ExportSuppressionsQuery = z.input<typeof exportSuppressionsQuerySchema>;

/** Columns of the suppression CSV export, in order. */
export const SUPPRESSION_EXPORT_COLUMNS = ['value', 'kind', 'reason', 'source', 'note', 'createdAt'] as const;
