import { domainOf } from './from-domains';
import { segmentValueOf } from './segments';

/**
 * Routing rules: an ordered list that sends a message to a group or a server by what it is (its type
 * and tags), who sends it, where it goes, which campaign and which audience segment it belongs to.
 * The first enabled rule whose conditions all hold wins; a message that names a group or server
 * itself never reaches the rules, and one no rule matches goes to the default group.
 *
 * Rules are compiled once per directory load (domains lower-cased, exact ones in sets), so matching
 * a message costs a few set lookups per rule, whatever the traffic.
 *
 * Conditions (an absent or empty list does not constrain; within one list any value will do):
 * - `tags`: the message's type (`transactional` for API and Strapi email-plugin mail, `marketing`
 *   for campaign mail) or one of its custom tags (send option `tags`, a campaign's `tags`).
 * - `senders`: the From address (`news@example.com`), its domain (`example.com`) or a parent domain
 *   (`*.example.com`, subdomains only, as in from-domains.ts). Mail without a From never matches.
 * - `recipientDomains`: `gmail.com`, `*.gmail.com`, `*.co.uk`. A message to several domains matches
 *   only when EVERY recipient's domain matches: a rule that sends gmail.com mail through its own
 *   pool must not take along a message that also goes to outlook.com (campaign mail has one
 *   recipient, so there the question does not arise).
 * - `campaigns`: campaign documentIds. Mail that is not campaign mail never matches.
 * - `segments`: `attribute = value` pairs: the campaign batch's audience segment, or the recipient's
 *   own subscriber attribute (campaign mail), compared as segment routing compares them (trimmed,
 *   case-insensitive, numbers and booleans as text; engine/segments.ts).
 *
 * A rule with no condition at all is a catch-all: it matches everything that reaches it (useful as
 * the last rule to send unmatched mail somewhere other than the default group).
 */

export interface SegmentCondition {
  attribute: string;
  value: string;
}

export interface RuleConditions {
  tags?: string[];
  senders?: string[];
  recipientDomains?: string[];
  campaigns?: string[];
  segments?: SegmentCondition[];
}

export type RuleTarget = { kind: 'group'; id: string } | { kind: 'server'; id: string };

export interface RoutingRule {
  id: string;
  name: string;
  enabled: boolean;
  position: number;
  conditions: RuleConditions;
  target: RuleTarget;
}

/** What the rules look at, worked out once per message at intake. */
export interface MessageFacts {
  /** The type (`transactional` / `marketing`) and custom tags, lower case. */
  tags: readonly string[];
  from: string | null;
  recipients: readonly string[];
  campaignId: string | null;
  segment: SegmentCondition | null;
  /** Campaign mail: the recipient's subscriber attributes, for `segments` conditions. */
  attributes?: Readonly<Record<string, unknown>> | null;
}

// The pattern checks live with the admin API's contract, which validates rules before they are stored.
export { domainPatternProblem, MESSAGE_TYPES, senderPatternProblem, TAG_PATTERN } from '../../../shared/contracts/routing-rules';

/** Exact domains in a set, wildcards as suffixes (`.example.com`). */
interface DomainMatcher {
  exact: Set<string>;
  suffixes: string[];
}

const domainMatcher = (patterns: readonly string[]): DomainMatcher => {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of patterns) {
    const pattern = raw.trim().toLowerCase();
    if (pattern.startsWith('*.')) suffixes.push(pattern.slice(1));
    else exact.add(pattern);
  }
  return { exact, suffixes };
};

const matchesDomain = (matcher: DomainMatcher, domain: string) =>
  matcher.exact.has(domain) || matcher.suffixes.some((suffix) => domain.endsWith(suffix));

export interface CompiledRule {
  rule: RoutingRule;
  test(facts: MessageFacts): boolean;
}

const compileRule = (rule: RoutingRule): CompiledRule => {
  const checks: ((facts: MessageFacts) => boolean)[] = [];
  const { tags, senders, recipientDomains, campaigns, segments } = rule.conditions;
  if (tags?.length) {
    const wanted = new Set(tags.map((tag) => tag.toLowerCase()));
    checks.push((facts) => facts.tags.some((tag) => wanted.has(tag)));
  }
  if (senders?.length) {
    const addresses = new Set(senders.filter((sender) => sender.includes('@')).map((sender) => sender.trim().toLowerCase()));
    const domains = domainMatcher(senders.filter((sender) => !sender.includes('@')));
    checks.push((facts) => {
      if (!facts.from) return false;
      const from = facts.from.toLowerCase();
      if (addresses.has(from)) return true;
      const domain = domainOf(from);
      return domain !== null && matchesDomain(domains, domain);
    });
  }
  if (recipientDomains?.length) {
    const domains = domainMatcher(recipientDomains);
    checks.push((facts) => {
      if (facts.recipients.length === 0) return false;
      return facts.recipients.every((recipient) => {
        const domain = domainOf(recipient);
        return domain !== null && matchesDomain(domains, domain);
      });
    });
  }
  if (campaigns?.length) {
    const wanted = new Set(campaigns);
    checks.push((facts) => facts.campaignId !== null && wanted.has(facts.campaignId));
  }
  if (segments?.length) {
    const wanted = segments.flatMap((segment) => {
      const value = segmentValueOf(segment.value);
      return value === null ? [] : [{ attribute: segment.attribute, value }];
    });
    checks.push((facts) =>
      wanted.some(
        ({ attribute, value }) =>
          (facts.segment?.attribute === attribute && segmentValueOf(facts.segment.value) === value) ||
          segmentValueOf(facts.attributes?.[attribute]) === value
      )
    );
  }
  return { rule, test: (facts) => checks.every((check) => check(facts)) };
};

/** The enabled rules in order (position, then name for a stable tie), ready to match. */
export const compileRules = (rules: readonly RoutingRule[]): CompiledRule[] =>
  rules
    .filter((rule) => rule.enabled)
    .sort((a, b) => a.position - b.position || a.name.localeCompare(b.name))
    .map(compileRule);

/**
 * The first compiled rule that matches and whose target `usable` accepts (a rule pointing at a group
 * or server deleted since is passed over rather than losing the message), or null.
 */
export const firstMatch = (
  rules: readonly CompiledRule[],
  facts: MessageFacts,
  usable: (target: RuleTarget) => boolean = () => true
): RoutingRule | null => {
  for (const compiled of rules) {
    if (compiled.test(facts) && usable(compiled.rule.target)) return compiled.rule;
  }
  return null;
};

/** The label of a segment, as the delivery log shows it. */
export const segmentLabel = (segment: SegmentCondition) => `${segment.attribute} = ${segment.value}`;

/**
 * A message's tags for the rules: its type first, then its custom tags (lower case, no repeats).
 * A campaign's tags are free text ("Spring Sale"): spaces become `-`, so a rule's `spring-sale`
 * (rule tags follow TAG_PATTERN) matches it.
 */
export const tagsOf = (type: 'transactional' | 'marketing', custom: readonly string[] | null | undefined): string[] => {
  if (!custom || custom.length === 0) return [type];
  return [...new Set([type, ...custom.map(ruleTagOf)])];
};

const ruleTagOf = (tag: string) => tag.trim().toLowerCase().replace(/\s+/g, '-');

