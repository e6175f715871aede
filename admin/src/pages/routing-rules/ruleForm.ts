import type { CreateRoutingRuleInput, RoutingRule, RuleConditions } from '../../../../shared/contracts/routing-rules';

/**
 * The rule dialog's form: each list condition is one text field of comma-separated values (a
 * segment is `attribute = value`), mapped to and from the API's conditions here.
 */
export interface RuleFormValues {
  name: string;
  enabled: boolean;
  targetKind: 'group' | 'server';
  targetId: string;
  tags: string;
  senders: string;
  recipientDomains: string;
  campaigns: string;
  segments: string;
}

const split = (value: string) =>
  value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);

export const emptyRuleForm = (): RuleFormValues => ({
  name: '',
  enabled: true,
  targetKind: 'group',
  targetId: '',
  tags: '',
  senders: '',
  recipientDomains: '',
  campaigns: '',
  segments: '',
});

export const ruleToForm = (rule: RoutingRule): RuleFormValues => ({
  name: rule.name,
  enabled: rule.enabled,
  targetKind: rule.target.kind,
  targetId: rule.target.id,
  tags: rule.conditions.tags.join(', '),
  senders: rule.conditions.senders.join(', '),
  recipientDomains: rule.conditions.recipientDomains.join(', '),
  campaigns: rule.conditions.campaigns.join(', '),
  segments: rule.conditions.segments.map((segment) => `${segment.attribute} = ${segment.value}`).join(', '),
});

export const formToInput = (values: RuleFormValues): CreateRoutingRuleInput => ({
  name: values.name,
  enabled: values.enabled,
  target: { kind: values.targetKind, id: values.targetId },
  conditions: {
    tags: split(values.tags),
    senders: split(values.senders),
    recipientDomains: split(values.recipientDomains),
    campaigns: split(values.campaigns),
    segments: split(values.segments).map((segment) => {
      const at = segment.indexOf('=');
      return at < 0 ? { attribute: segment, value: '' } : { attribute: segment.slice(0, at).trim(), value: segment.slice(at + 1).trim() };
    }),
  },
});

/** One line for the list, e.g. "tag newsletter · to gmail.com, *.gmail.com". */
export const describeConditions = (conditions: RuleConditions): string =>
  [
    conditions.tags.length > 0 && `tag ${conditions.tags.join(', ')}`,
    conditions.senders.length > 0 && `from ${conditions.senders.join(', ')}`,
    conditions.recipientDomains.length > 0 && `to ${conditions.recipientDomains.join(', ')}`,
    conditions.campaigns.length > 0 && `campaign ${conditions.campaigns.join(', ')}`,
    conditions.segments.length > 0 && `segment ${conditions.segments.map((segment) => `${segment.attribute} = ${segment.value}`).join(', ')}`,
  ]
    .filter(Boolean)
    .join(' · ');
