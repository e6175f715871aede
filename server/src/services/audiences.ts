import type { Core } from '@strapi/strapi';

import {
  audienceSchema,
  type Audience,
  type AudienceCount,
  type AudienceSource,
  type AttributeFilter,
} from '../../../shared/contracts/audiences';
import type { FieldError } from '../../../shared/contracts/common';
import { normaliseAddress } from '../engine/address';
import { classifyPage, isSendableAddress, type FanOutPage, type FanOutRecipient } from '../engine/fan-out';
import { listLinkTable, tableOf } from '../repositories/subscribers';
import { getService } from '../utils/get-service';
import { MAILING_LIST_UID, SUBSCRIBER_UID } from '../utils/uids';
import { throwFieldErrors, toFieldErrors } from '../utils/validation';
import { PLUGIN_ID } from '../../../shared/plugin-id';

/**
 * Who a campaign goes to, read fast enough for 200,000 recipients: a keyset page reader over the
 * database (knex for mailing lists, Strapi's query engine for collection types — never the document
 * service, whose per-row work is far too slow at that size), the live count the editor sees, and
 * the list of collection types an audience can be drawn from.
 *
 * Pages are ordered by a stable key (the subscriber's id for lists, the entry's id for collection
 * types) and read with `key > after`, so a page costs the same at the end of the audience as at
 * the start, and a cursor saved between pages resumes exactly.
 *
 * - Lists: every subscriber linked to ANY of the lists, once (EXISTS on the link table), whatever
 *   their status: unsubscribed or bounced ones are returned with their status so the fan-out can
 *   count them as skipped. Attribute filters are applied in JS on each page (attributes are free
 *   JSON whose types differ from one subscriber to the next; one set of rules for every database),
 *   and the cursor still moves by key, so a page may hold fewer recipients than it scanned.
 * - Collection types: entries matching the editor's Strapi where-filters, published ones only for
 *   draft & publish types. Two entries with the same address: the later one (by id) is marked
 *   `duplicate`, found with one look-back query per page, so no set of seen addresses has to be
 *   kept anywhere (Redis memory stays flat with the audience's size).
 */

/** Where-operators an editor may use in collection filters (Strapi's, less the internal ones). */
const FILTER_OPERATORS = new Set([
  '$eq', '$eqi', '$ne', '$nei', '$lt', '$lte', '$gt', '$gte', '$in', '$notIn', '$null', '$notNull', '$between',
  '$contains', '$notContains', '$containsi', '$notContainsi', '$startsWith', '$startsWithi', '$endsWith', '$endsWithi',
]);
const GROUP_OPERATORS = new Set(['$and', '$or']);
const MAX_FILTER_DEPTH = 6;
const SCALAR_TYPES = new Set([
  'string', 'text', 'email', 'uid', 'enumeration', 'integer', 'biginteger', 'float', 'decimal', 'boolean', 'date', 'datetime', 'time',
]);
/** Columns every entry has besides its schema's attributes. */
const SYSTEM_FIELDS = ['id', 'documentId', 'createdAt', 'updatedAt', 'publishedAt', 'locale'];
/** Page size of the live count's scan. */
const COUNT_PAGE_SIZE = 2000;

interface AttributeSchema {
  type: string;
  private?: boolean;
  target?: string;
  relation?: string;
}

interface ModelSchema {
  uid: string;
  kind?: string;
  info?: { displayName?: string };
  options?: { draftAndPublish?: boolean };
  attributes: Record<string, AttributeSchema>;
}

interface CollectionPlan {
  uid: string;
  emailField: string;
  nameField: string | null;
  /** Scalar, non-private attributes handed to templates as recipient.attributes. */
  fields: string[];
  where: Record<string, unknown>;
}

type AudienceError = FieldError;

const audienceError = (path: string[], message: string): AudienceError => ({ path: ['audience', ...path], message, name: 'ValidationError' });

/** An attribute's value at a dotted path of the subscriber's attributes. */
const valueAtPath = (attributes: Record<string, unknown>, path: string): unknown => {
  if (path in attributes) return attributes[path];
  return path.split('.').reduce<unknown>(
    (node, key) => (node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as Record<string, unknown>)[key] : undefined),
    attributes
  );
};

const textOf = (value: unknown): string | null => {
  if (value === null || value === undefined) return null;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
};

const numberOf = (value: unknown): number | null => {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  }
  return null;
};

const equalsLoosely = (actual: unknown, expected: unknown): boolean => {
  const left = numberOf(actual);
  const right = numberOf(expected);
  if (left !== null && right !== null) return left === right;
  const text = textOf(actual);
  return text !== null && text.toLowerCase() === String(expected ?? '').toLowerCase();
};

/**
 * Whether a subscriber's attributes satisfy one filter. Comparisons are loose on purpose (imports
 * bring numbers as text): eq/ne ignore case and compare numbers as numbers; contains is a
 * case-insensitive substring (or, on an array, an equal element); gt/lt compare numbers when both
 * sides are numbers, otherwise text (ISO dates order correctly as text); exists means present and
 * not empty (`value: false` asks for the opposite).
 */
export const matchesAttributeFilter = (attributes: Record<string, unknown>, filter: AttributeFilter): boolean => {
  const actual = valueAtPath(attributes, filter.attribute);
  switch (filter.operator) {
    case 'exists': {
      const present = actual !== undefined && actual !== null && actual !== '';
      return filter.value === false ? !present : present;
    }
    case 'eq':
      return Array.isArray(actual) ? actual.some((item) => equalsLoosely(item, filter.value)) : equalsLoosely(actual, filter.value);
    case 'ne':
      return !(Array.isArray(actual) ? actual.some((item) => equalsLoosely(item, filter.value)) : equalsLoosely(actual, filter.value));
    case 'contains': {
      if (Array.isArray(actual)) return actual.some((item) => equalsLoosely(item, filter.value));
      const text = textOf(actual);
      return text !== null && text.toLowerCase().includes(String(filter.value ?? '').toLowerCase());
    }
    case 'gt':
    case 'lt': {
      if (actual === undefined || actual === null || actual === '') return false;
      const left = numberOf(actual);
      const right = numberOf(filter.value);
      const order =
        left !== null && right !== null ? Math.sign(left - right) : (textOf(actual) ?? '').localeCompare(String(filter.value ?? ''));
      return filter.operator === 'gt' ? order > 0 : order < 0;
    }
    default:
      return false;
  }
};

const parseAttributes = (raw: unknown): Record<string, unknown> => {
  if (raw === null || raw === undefined || raw === '') return {};
  if (typeof raw === 'string') {
    try {
      const parsed: unknown = JSON.parse(raw);
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
  return typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
};

/** Where a page of an audience starts, and how much of it to read. */
export interface PageOptions {
  after: string | null;
  pageSize: number;
  /** Read no further than this key (a replayed page; see engine/fan-out.ts). */
  upTo?: string;
}

const audiences = ({ strapi }: { strapi: Core.Strapi }) => {
  const knex = () => strapi.db.connection;
  const modelOf = (uid: string): ModelSchema | undefined => strapi.contentTypes[uid as keyof typeof strapi.contentTypes] as unknown as ModelSchema | undefined;

  /** Collection types of the app an audience may use: any with an email attribute, but not the admin's or this plugin's. */
  const isEligibleSource = (model: ModelSchema | undefined): model is ModelSchema =>
    !!model &&
    model.kind === 'collectionType' &&
    !model.uid.startsWith('admin::') &&
    !model.uid.startsWith(`plugin::${PLUGIN_ID}.`) &&
    Object.values(model.attributes).some((attribute) => attribute.type === 'email');

  const scalarFieldsOf = (model: ModelSchema) =>
    Object.entries(model.attributes)
      .filter(([, attribute]) => SCALAR_TYPES.has(attribute.type) && !attribute.private)
      .map(([name]) => name);

  /** Checks Strapi where-filters against the type's schema: known, non-private attributes and operators only. */
  const checkFilters = (model: ModelSchema, filters: unknown, path: string[], depth: number, errors: AudienceError[]) => {
    if (depth > MAX_FILTER_DEPTH) {
      errors.push(audienceError(path, `nests deeper than ${MAX_FILTER_DEPTH} levels`));
      return;
    }
    if (filters === null || typeof filters !== 'object' || Array.isArray(filters)) {
      errors.push(audienceError(path, 'must be an object of Strapi filters, e.g. { "blocked": { "$eq": false } }'));
      return;
    }
    for (const [key, value] of Object.entries(filters)) {
      const here = [...path, key];
      if (GROUP_OPERATORS.has(key)) {
        if (!Array.isArray(value)) errors.push(audienceError(here, `${key} must be an array of filters`));
        else value.forEach((item, index) => checkFilters(model, item, [...here, String(index)], depth + 1, errors));
        continue;
      }
      if (key === '$not') {
        checkFilters(model, value, here, depth + 1, errors);
        continue;
      }
      if (key.startsWith('$')) {
        errors.push(audienceError(here, `${key} is not allowed here (only $and, $or and $not at this level; operators go under an attribute)`));
        continue;
      }
      const attribute = SYSTEM_FIELDS.includes(key) ? { type: 'string' } : model.attributes[key];
      if (!attribute) {
        errors.push(audienceError(here, `"${key}" is not an attribute of ${model.uid}`));
        continue;
      }
      if (attribute.private || attribute.type === 'password') {
        errors.push(audienceError(here, `"${key}" is private and cannot be filtered on`));
        continue;
      }
      if (attribute.type === 'relation' && attribute.target) {
        const target = modelOf(attribute.target);
        if (!target) errors.push(audienceError(here, `"${key}" points to an unknown type`));
        else if (value !== null && typeof value === 'object' && !Array.isArray(value)) checkFilters(target, value, here, depth + 1, errors);
        continue;
      }
      if (!SCALAR_TYPES.has(attribute.type) && !SYSTEM_FIELDS.includes(key)) {
        errors.push(audienceError(here, `"${key}" (${attribute.type}) cannot be filtered on`));
        continue;
      }
      checkOperators(value, here, errors);
    }
  };

  const checkOperators = (value: unknown, path: string[], errors: AudienceError[]) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return; // a plain value means $eq
    for (const [operator, operand] of Object.entries(value)) {
      if (operator === '$not') checkOperators(operand, [...path, operator], errors);
      else if (!FILTER_OPERATORS.has(operator)) errors.push(audienceError([...path, operator], `${operator} is not a filter operator`));
      else if (operand !== null && typeof operand === 'object' && !Array.isArray(operand)) {
        errors.push(audienceError([...path, operator], 'must be a value or a list of values'));
      }
    }
  };

  const planCollection = (audience: Extract<Audience, { type: 'collection' }>): CollectionPlan => {
    const model = modelOf(audience.uid);
    if (!isEligibleSource(model)) {
      return throwFieldErrors([audienceError(['uid'], `${audience.uid} is not a collection type with an email attribute`)]);
    }
    const emailFields = Object.entries(model.attributes)
      .filter(([, attribute]) => attribute.type === 'email')
      .map(([name]) => name);
    const emailField = audience.emailField ?? emailFields[0]!;
    const errors: AudienceError[] = [];
    if (!emailFields.includes(emailField)) errors.push(audienceError(['emailField'], `must be an email attribute of ${audience.uid}: ${emailFields.join(', ')}`));
    const fields = scalarFieldsOf(model);
    let nameField: string | null = null;
    if (audience.nameField) {
      if (!fields.includes(audience.nameField)) errors.push(audienceError(['nameField'], `must be a text attribute of ${audience.uid}`));
      nameField = audience.nameField;
    } else {
      nameField = ['name', 'username', 'fullName', 'firstname', 'firstName'].find((field) => fields.includes(field)) ?? null;
    }
    checkFilters(model, audience.filters, ['filters'], 0, errors);
    if (errors.length > 0) throwFieldErrors(errors);
    const conditions: Record<string, unknown>[] = [];
    if (Object.keys(audience.filters).length > 0) conditions.push(audience.filters);
    if (model.options?.draftAndPublish) conditions.push({ publishedAt: { $notNull: true } });
    return { uid: audience.uid, emailField, nameField, fields, where: conditions.length > 0 ? { $and: conditions } : {} };
  };

  /** The ids of these mailing lists; unknown ones are reported (or left out, `strict: false`). */
  const listIdsOf = async (documentIds: string[], strict: boolean): Promise<number[]> => {
    const table = tableOf(strapi, MAILING_LIST_UID);
    const rows: { id: number; documentId: string }[] = await knex()(table.name)
      .select('id', `${table.column('documentId')} as documentId`)
      .whereIn(table.column('documentId'), documentIds);
    if (strict) {
      const found = new Set(rows.map((row) => row.documentId));
      const missing = documentIds.filter((id) => !found.has(id));
      if (missing.length > 0) throwFieldErrors([audienceError(['lists'], `no mailing list has the id ${missing.join(', ')}`)]);
    }
    return [...new Set(rows.map((row) => row.id))];
  };

  const listPage = async (
    audience: Extract<Audience, { type: 'lists' }>,
    listIds: number[],
    { after, pageSize, upTo }: PageOptions
  ): Promise<FanOutPage> => {
    if (listIds.length === 0) return { recipients: [], next: null };
    const subscribers = tableOf(strapi, SUBSCRIBER_UID);
    const link = listLinkTable(strapi);
    const db = knex();
    const query = db(`${subscribers.name} as s`)
      .select(
        's.id as id',
        `s.${subscribers.column('documentId')} as documentId`,
        `s.${subscribers.column('email')} as email`,
        `s.${subscribers.column('name')} as name`,
        `s.${subscribers.column('attributes')} as attributes`,
        `s.${subscribers.column('status')} as status`
      )
      .whereExists(
        db(`${link.name} as l`)
          .select(db.raw('1'))
          .whereRaw('?? = ??', [`l.${link.subscriberColumn}`, 's.id'])
          .whereIn(`l.${link.listColumn}`, listIds)
      )
      .orderBy('s.id', 'asc')
      .limit(pageSize);
    if (after !== null) query.where('s.id', '>', Number(after));
    if (upTo !== undefined) query.where('s.id', '<=', Number(upTo));
    const rows: { id: number; documentId: string; email: string; name: string | null; attributes: unknown; status: string }[] = await query;
    const recipients: FanOutRecipient[] = [];
    for (const row of rows) {
      const attributes = parseAttributes(row.attributes);
      if (!audience.filters.every((filter) => matchesAttributeFilter(attributes, filter))) continue;
      recipients.push({ key: String(row.id), email: row.email, name: row.name, subscriberId: row.documentId, attributes, status: row.status });
    }
    const last = rows.at(-1);
    return { recipients, next: rows.length < pageSize || !last ? null : String(last.id) };
  };

  const collectionPage = async (plan: CollectionPlan, { after, pageSize, upTo }: PageOptions): Promise<FanOutPage> => {
    const keyRange: Record<string, unknown>[] = [];
    if (after !== null) keyRange.push({ id: { $gt: Number(after) } });
    if (upTo !== undefined) keyRange.push({ id: { $lte: Number(upTo) } });
    const select = [...new Set(['id', plan.emailField, ...(plan.nameField ? [plan.nameField] : []), ...plan.fields])];
    const query = strapi.db.query(plan.uid as never);
    const rows = (await query.findMany({
      select,
      where: { $and: [plan.where, ...keyRange] },
      orderBy: { id: 'asc' },
      limit: pageSize,
    })) as Record<string, unknown>[];

    const recipients: FanOutRecipient[] = rows.map((row) => {
      const attributes: Record<string, unknown> = {};
      for (const field of plan.fields) if (row[field] !== undefined) attributes[field] = row[field];
      const name = plan.nameField ? textOf(row[plan.nameField]) : null;
      return { key: String(row.id), email: String(row[plan.emailField] ?? ''), name, subscriberId: null, attributes, status: null };
    });

    // Duplicates: an earlier entry (smaller id) of the audience with the same address, on an earlier
    // page or this one. One query per page, case-insensitive, within the same filters.
    const addresses = [...new Set(recipients.map((recipient) => normaliseAddress(recipient.email)).filter(isSendableAddress))];
    if (addresses.length > 0 && rows.length > 0) {
      const firstIdOf = new Map<string, number>();
      const earlier = (await query.findMany({
        select: ['id', plan.emailField],
        where: {
          $and: [plan.where, { id: { $lte: Number(rows.at(-1)!.id) } }, { $or: addresses.map((address) => ({ [plan.emailField]: { $eqi: address } })) }],
        },
        orderBy: { id: 'asc' },
      })) as Record<string, unknown>[];
      for (const row of earlier) {
        const address = normaliseAddress(String(row[plan.emailField] ?? ''));
        if (!firstIdOf.has(address)) firstIdOf.set(address, Number(row.id));
      }
      for (const recipient of recipients) {
        const first = firstIdOf.get(normaliseAddress(recipient.email));
        if (first !== undefined && first < Number(recipient.key)) recipient.duplicate = true;
      }
    }
    const last = rows.at(-1);
    return { recipients, next: rows.length < pageSize || !last ? null : String(last.id) };
  };

  /** Validates an audience (shape, lists, type, fields, filters); throws a 400 naming `audience.<field>`. */
  const parseAudience = (input: unknown): Audience => {
    const result = audienceSchema.safeParse(input);
    if (!result.success) {
      throwFieldErrors(toFieldErrors(result.error.issues, input).map((error) => ({ ...error, path: ['audience', ...error.path] })));
    }
    return (result as { data: Audience }).data;
  };

  /** A page reader bound to one audience, checked once. */
  const readerOf = async (input: unknown, { strict }: { strict: boolean }) => {
    const audience = parseAudience(input);
    if (audience.type === 'lists') {
      const listIds = await listIdsOf(audience.lists, strict);
      return (options: PageOptions) => listPage(audience, listIds, options);
    }
    const plan = planCollection(audience);
    return async (options: PageOptions) => {
      try {
        return await collectionPage(plan, options);
      } catch (error) {
        // What the schema check cannot see (a value of the wrong type for its column...): a 400 at count time.
        if (strict) throwFieldErrors([audienceError(['filters'], `cannot be applied: ${(error as Error).message}`)]);
        throw error;
      }
    };
  };

  return {
    /** Collection types of the app an audience can be drawn from. */
    sources(): AudienceSource[] {
      return Object.values(strapi.contentTypes as unknown as Record<string, ModelSchema>)
        .filter(isEligibleSource)
        .map((model) => ({
          uid: model.uid,
          displayName: model.info?.displayName ?? model.uid,
          emailFields: Object.entries(model.attributes)
            .filter(([, attribute]) => attribute.type === 'email')
            .map(([name]) => name),
          attributes: scalarFieldsOf(model),
        }))
        .sort((a, b) => a.displayName.localeCompare(b.displayName));
    },

    /** Checks an audience and returns it with defaults filled; a 400 naming `audience.<field>` when it is wrong. */
    async validate(input: unknown): Promise<Audience> {
      const reader = await readerOf(input, { strict: true });
      await reader({ after: null, pageSize: 1 });
      return parseAudience(input);
    },

    /**
     * A keyset page reader for the fan-out. Lists that no longer exist are left out (a campaign
     * keeps going to the others); a collection type that is gone or filters that no longer apply
     * throw (the campaign fails with that message).
     */
    async reader(input: unknown): Promise<(options: PageOptions) => Promise<FanOutPage>> {
      return readerOf(input, { strict: false });
    },

    /** One page of recipients after `after`, in key order. */
    async pages(input: unknown, options: PageOptions): Promise<FanOutPage> {
      return (await readerOf(input, { strict: false }))(options);
    },

    /**
     * The live count: every entry the audience matches, and how many of them would be skipped
     * (invalid address, not subscribed, duplicate, suppressed) — the same rules as the fan-out,
     * page by page, so the numbers agree with what a send does.
     */
    async count(input: unknown): Promise<AudienceCount> {
      const reader = await readerOf(input, { strict: true });
      const suppressions = getService(strapi, 'suppressions');
      let matched = 0;
      let skipped = 0;
      for (let after: string | null = null; ; ) {
        const page = await reader({ after, pageSize: COUNT_PAGE_SIZE });
        const classified = await classifyPage(page.recipients, (emails) => suppressions.filterSuppressed(emails));
        matched += page.recipients.length;
        skipped += page.recipients.length - classified.send.length;
        if (page.next === null) break;
        after = page.next;
      }
      return { matched, skipped, recipients: matched - skipped };
    },
  };
};

export type AudiencesService = ReturnType<typeof audiences>;
export default audiences;
