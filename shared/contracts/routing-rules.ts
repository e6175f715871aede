import { z } from 'zod';

import { emailAddress, requiredLine, singleLine } from './common';

/**
 * Routing rules (server/src/engine/routing-rules.ts matches them; services/routing-rules.ts stores
 * them): an ordered list; the first enabled rule whose conditions all hold sends a message that
 * names no group or server to its target. See the engine module for what each condition means.
 */

/** A tag: lower-case letters, digits, dots, dashes and underscores; the message types are tags too. */
export const TAG_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MESSAGE_TYPES = ['transactional', 'marketing'] as const;

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** A domain, or `*.` and a parent domain with at least two labels (`*.uk` would be every British mail). */
const DOMAIN_PATTERN = new RegExp(`^(?:\\*\\.)?(?:${LABEL}\\.)+[a-z0-9-]{2,63}$`);
const ADDRESS_PATTERN = new RegExp(`^[^\\s@]+@(?:${LABEL}\\.)+[a-z0-9-]{2,63}$`);

/** Why a domain pattern is not one, or null when it is fine. */
export const domainPatternProblem = (pattern: string): string | null => {
  const value = pattern.trim().toLowerCase();
  if (value.includes('*') && !value.startsWith('*.')) return `${pattern}: a wildcard is only allowed as a leading "*." (e.g. *.example.com)`;
  if (value.indexOf('*') !== value.lastIndexOf('*')) return `${pattern}: only one leading "*." is allowed`;
  if (!DOMAIN_PATTERN.test(value)) return `${pattern}: is not a domain or *.domain`;
  return null;
};

/** Why a sender pattern (address, domain or *.domain) is not one, or null. */
export const senderPatternProblem = (pattern: string): string | null => {
  const value = pattern.trim().toLowerCase();
  if (value.includes('@')) return ADDRESS_PATTERN.test(value) ? null : `${pattern}: is not an email address`;
  return domainPatternProblem(pattern);
};

const patternList = (max: number, problem: (pattern: string) => string | null) =>
  z
    .array(singleLine(254).transform((value) => value.toLowerCase()), { error: 'must be a list of strings' })
    .max(max, { error: `must have at most ${max} entries` })
    .superRefine((values, context) => {
      values.forEach((value, index) => {
        const reason = problem(value);
        if (reason) context.addIssue({ code: 'custom', path: [index], message: reason });
      });
    })
    .transform((values) => [...new Set(values)]);

const tagSchema = singleLine(64)
  .transform((value) => value.toLowerCase())
  .refine((value) => TAG_PATTERN.test(value), { error: 'must be 1 to 64 letters, digits, ".", "-" or "_", starting with a letter or digit' });

const segmentSchema = z.strictObject({
  attribute: requiredLine(100),
  value: singleLine(200),
});

export const ruleConditionsSchema = z.strictObject({
  /** Message type (transactional, marketing) or custom tag; any of them. */
  tags: z
    .array(tagSchema, { error: 'must be a list of tags' })
    .max(20, { error: 'must have at most 20 tags' })
    .transform((tags) => [...new Set(tags)])
    .default([]),
  /** From address, domain or *.domain; any of them. */
  senders: patternList(100, senderPatternProblem).default([]),
  /** Recipient domain or *.domain; every recipient of a message must match one. */
  recipientDomains: patternList(200, domainPatternProblem).default([]),
  /** Campaign documentIds; any of them. */
  campaigns: z
    .array(requiredLine(100), { error: 'must be a list of campaign documentIds' })
    .max(50, { error: 'must have at most 50 campaigns' })
    .default([]),
  /** Audience segments (`attribute = value`); any of them. */
  segments: z.array(segmentSchema, { error: 'must be a list of { attribute, value }' }).max(50, { error: 'must have at most 50 segments' }).default([]),
});

export const RULE_TARGET_KINDS = ['group', 'server'] as const;

export const ruleTargetSchema = z.strictObject({
  kind: z.enum(RULE_TARGET_KINDS, { error: `must be one of: ${RULE_TARGET_KINDS.join(', ')}` }),
  /** The group's or server's documentId. */
  id: requiredLine(100),
});

const ruleFields = {
  name: requiredLine(100),
  enabled: z.boolean({ error: 'must be true or false' }),
  conditions: ruleConditionsSchema,
  target: ruleTargetSchema,
};

/** A new rule goes last (reorder moves it). */
export const createRoutingRuleSchema = z.strictObject({
  ...ruleFields,
  enabled: ruleFields.enabled.default(true),
  conditions: ruleFields.conditions.default({ tags: [], senders: [], recipientDomains: [], campaigns: [], segments: [] }),
});

export const updateRoutingRuleSchema = z.strictObject({
  name: ruleFields.name.optional(),
  enabled: ruleFields.enabled.optional(),
  conditions: ruleFields.conditions.optional(),
  target: ruleFields.target.optional(),
});

/** Every rule's documentId, in the new order. */
export const reorderRoutingRulesSchema = z.strictObject({
  ids: z.array(requiredLine(100), { error: 'must be a list of rule documentIds' }).min(1, { error: 'must name every rule' }),
});

/** "Where would this message go?" */
export const testRoutingSchema = z.strictObject({
  from: emailAddress().nullish().transform((value) => value ?? null),
  to: z.array(emailAddress(), { error: 'must be a list of email addresses' }).min(1, { error: 'must have at least one address' }).max(50),
  tags: z.array(tagSchema, { error: 'must be a list of tags' }).max(20, { error: 'must have at most 20 tags' }).default([]),
  /** A campaign's documentId: the message is campaign mail (type marketing). */
  campaign: singleLine(100).nullish().transform((value) => value || null),
  segment: segmentSchema.nullish().transform((value) => value ?? null),
  /** As the send options: a group slug or a server documentId that bypass the rules. */
  group: singleLine(100).nullish().transform((value) => value || null),
  server: singleLine(100).nullish().transform((value) => value || null),
});

export type RuleConditions = z.output<typeof ruleConditionsSchema>;
export type RuleTarget = z.output<typeof ruleTargetSchema>;
export type CreateRoutingRuleInput = z.input<typeof createRoutingRuleSchema>;
export type UpdateRoutingRuleInput = z.input<typeof updateRoutingRuleSchema>;
export type TestRoutingInput = z.input<typeof testRoutingSchema>;

export interface RoutingRule {
  documentId: string;
  name: string;
  enabled: boolean;
  position: number;
  conditions: RuleConditions;
  target: RuleTarget & { name: string | null };
  createdAt: string;
  updatedAt: string;
}

/** One server of the chosen group (or its fallbacks) as the tester sees it. */
export interface TestedServer {
  documentId: string;
  name: string;
  group: string;
  /** Whether it could take the message now; when not, why (disabled, suspended, From domain not allowed...). */
  eligible: boolean;
  reason: string | null;
}

export interface TestRoutingResult {
  decision: 'server' | 'group' | 'rule' | 'segment' | 'default';
  rule: { documentId: string; name: string } | null;
  /** The group the message is routed in (null when it goes to one server). */
  group: { documentId: string; slug: string; name: string } | null;
  /** The group, then its fallback groups in order. */
  fallbackChain: { documentId: string; slug: string; name: string }[];
  server: { documentId: string; name: string } | null;
  servers: TestedServer[];
  /** One sentence, e.g. "Rule 'Gmail via pool B' → group Marketing". */
  summary: string;
}
