import {
  attributeFilterSchema,
  audienceSchema,
  type AttributeFilter,
  type AudienceInput,
} from '../../../../shared/contracts/audiences';
import type { Campaign, CreateCampaignInput, SegmentOtherwise, TemplateContentInput } from '../../../../shared/contracts/campaigns';

/** The group select's value for "the default group" (the select cannot hold an empty value). */
export const DEFAULT_GROUP = 'default';

export type AudienceType = 'lists' | 'collection';

/** One row of the segment routing section: a value of the attribute and the group it goes through ('' = none chosen yet). */
export interface SegmentRouteValues {
  value: string;
  group: string;
}

/** The editor's form: every input as the user types it (JSON filters as text). */
export interface CampaignFormValues {
  name: string;
  subject: string;
  preheader: string;
  fromName: string;
  fromAddress: string;
  replyTo: string;
  html: string;
  text: string;
  /** A group's documentId, or DEFAULT_GROUP. */
  group: string;
  audienceType: AudienceType;
  /** Mailing list documentIds. */
  lists: string[];
  /** JSON array of attribute filters; '' = none. */
  listFilters: string;
  /** A collection type UID; '' = none chosen. */
  collectionUid: string;
  /** '' = the first email attribute. */
  emailField: string;
  nameField: string;
  /** JSON object of Strapi where-filters; '' = none. */
  collectionFilters: string;
  /** ISO date-time, or '' to send when started. */
  scheduledAt: string;
  /** Segment routing on (the fields below are sent) or off (segmentRouting: null). */
  segmentEnabled: boolean;
  segmentAttribute: string;
  segmentRoutes: SegmentRouteValues[];
  segmentOtherwise: SegmentOtherwise;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

export function toFormValues(campaign?: Campaign): CampaignFormValues {
  const audience = campaign?.audience ?? null;
  return {
    name: campaign?.name ?? '',
    subject: campaign?.subject ?? '',
    preheader: campaign?.preheader ?? '',
    fromName: campaign?.fromName ?? '',
    fromAddress: campaign?.fromAddress ?? '',
    replyTo: campaign?.replyTo ?? '',
    html: campaign?.html ?? '',
    text: campaign?.text ?? '',
    group: campaign?.group?.documentId ?? DEFAULT_GROUP,
    audienceType: audience?.type ?? 'lists',
    lists: audience?.type === 'lists' ? audience.lists : [],
    listFilters: audience?.type === 'lists' && audience.filters.length > 0 ? json(audience.filters) : '',
    collectionUid: audience?.type === 'collection' ? audience.uid : '',
    emailField: audience?.type === 'collection' ? (audience.emailField ?? '') : '',
    nameField: audience?.type === 'collection' ? (audience.nameField ?? '') : '',
    collectionFilters:
      audience?.type === 'collection' && Object.keys(audience.filters).length > 0 ? json(audience.filters) : '',
    scheduledAt: campaign?.scheduledAt ?? '',
    segmentEnabled: Boolean(campaign?.segmentRouting),
    segmentAttribute: campaign?.segmentRouting?.attribute ?? '',
    segmentRoutes: campaign?.segmentRouting?.routes.map((route) => ({ ...route })) ?? [{ value: '', group: '' }],
    segmentOtherwise: campaign?.segmentRouting?.otherwise ?? 'campaign-group',
  };
}

/** The audience the form describes: null while incomplete (no list or no collection chosen), or the form errors. */
export interface AudienceResult {
  audience: AudienceInput | null;
  /** Form field key -> message (`listFilters`, `collectionFilters`, `audience.filters.0.operator`...). */
  errors: Record<string, string>;
}

const parseJson = (text: string): { value?: unknown; error?: string } => {
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
};

export function toAudience(values: CampaignFormValues): AudienceResult {
  if (values.audienceType === 'lists') {
    let filters: AttributeFilter[] = [];
    if (values.listFilters.trim()) {
      const parsed = parseJson(values.listFilters);
      if (parsed.error) {
        return { audience: null, errors: { listFilters: `not valid JSON: ${parsed.error}` } };
      }
      if (!Array.isArray(parsed.value)) {
        return { audience: null, errors: { listFilters: 'must be a JSON array of { attribute, operator, value }' } };
      }
      for (const [index, filter] of parsed.value.entries()) {
        const result = attributeFilterSchema.safeParse(filter);
        if (!result.success) {
          const issue = result.error.issues[0]!;
          const where = [index, ...issue.path].map(String).join('.');
          return { audience: null, errors: { listFilters: `${where}: ${issue.message}` } };
        }
      }
      filters = parsed.value as AttributeFilter[];
    }
    return { audience: values.lists.length > 0 ? { type: 'lists', lists: values.lists, filters } : null, errors: {} };
  }

  let filters: Record<string, unknown> = {};
  if (values.collectionFilters.trim()) {
    const parsed = parseJson(values.collectionFilters);
    if (parsed.error) {
      return { audience: null, errors: { collectionFilters: `not valid JSON: ${parsed.error}` } };
    }
    if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
      return { audience: null, errors: { collectionFilters: 'must be a JSON object, e.g. { "blocked": { "$eq": false } }' } };
    }
    filters = parsed.value as Record<string, unknown>;
  }
  if (!values.collectionUid) {
    return { audience: null, errors: {} };
  }
  const audience: AudienceInput = {
    type: 'collection',
    uid: values.collectionUid,
    filters,
    ...(values.emailField ? { emailField: values.emailField } : {}),
    ...(values.nameField ? { nameField: values.nameField } : {}),
  };
  const checked = audienceSchema.safeParse(audience);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    // The path joined as api/errors' pathToKey does; not imported, so this module loads without the admin (unit tests).
    return { audience: null, errors: { [audienceErrorKey(issue.path.map(String).join('.'))]: issue.message } };
  }
  return { audience, errors: {} };
}

/**
 * Where an API error about the audience shows in the form: `audience.lists` under the lists select,
 * `audience.filters.*` under the filter box of the chosen kind, anything else under the audience section.
 */
export function audienceErrorKey(pathInAudience: string): string {
  if (pathInAudience.startsWith('lists')) return 'lists';
  if (pathInAudience.startsWith('uid')) return 'collectionUid';
  if (pathInAudience.startsWith('emailField')) return 'emailField';
  if (pathInAudience.startsWith('nameField')) return 'nameField';
  return 'audience';
}

/** Maps the API's field errors onto the form's keys (audience errors per part, the rest as they are). */
export function toFormErrors(apiErrors: Record<string, string>, audienceType: AudienceType): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const [key, message] of Object.entries(apiErrors)) {
    let formKey = key;
    if (key === 'audience' || key.startsWith('audience.')) {
      const inner = key.slice('audience.'.length);
      formKey = inner.startsWith('filters')
        ? audienceType === 'lists'
          ? 'listFilters'
          : 'collectionFilters'
        : key === 'audience'
          ? 'audience'
          : audienceErrorKey(inner);
    }
    if (!(formKey in errors)) {
      errors[formKey] = message;
    }
  }
  return errors;
}

const orNull = (value: string) => (value.trim() ? value : null);

/** The API input for the form (the audience must have been checked with toAudience first). */
export function toCampaignInput(values: CampaignFormValues, audience: AudienceInput | null): CreateCampaignInput {
  return {
    name: values.name,
    subject: orNull(values.subject),
    preheader: orNull(values.preheader),
    fromName: orNull(values.fromName),
    fromAddress: orNull(values.fromAddress),
    replyTo: orNull(values.replyTo),
    html: orNull(values.html),
    text: orNull(values.text),
    group: values.group === DEFAULT_GROUP ? null : values.group,
    audience,
    scheduledAt: values.scheduledAt || null,
    segmentRouting: values.segmentEnabled
      ? { attribute: values.segmentAttribute, routes: values.segmentRoutes.map((route) => ({ ...route })), otherwise: values.segmentOtherwise }
      : null,
  };
}

/** The template parts, as the validate-template and preview endpoints take them. */
export const toTemplateContent = (values: CampaignFormValues): TemplateContentInput => ({
  subject: values.subject,
  preheader: values.preheader,
  html: values.html,
  text: values.text,
});

/** True when the form differs from the saved campaign. */
export const isDirty = (values: CampaignFormValues, campaign?: Campaign) =>
  JSON.stringify(values) !== JSON.stringify(toFormValues(campaign));
