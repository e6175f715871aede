import {
  compileRules,
  domainPatternProblem,
  firstMatch,
  senderPatternProblem,
  tagsOf,
  type MessageFacts,
  type RoutingRule,
} from '../../server/src/engine/routing-rules';

const rule = (id: string, position: number, conditions: RoutingRule['conditions'], fields: Partial<RoutingRule> = {}): RoutingRule => ({
  id,
  name: id,
  enabled: true,
  position,
  conditions,
  target: { kind: 'group', id: `group-${id}` },
  ...fields,
});

const facts = (fields: Partial<MessageFacts> = {}): MessageFacts => ({
  tags: ['transactional'],
  from: 'site@example.com',
  recipients: ['ann@example.org'],
  campaignId: null,
  segment: null,
  ...fields,
});

const match = (rules: RoutingRule[], message: MessageFacts) => firstMatch(compileRules(rules), message)?.id ?? null;

describe('routing rules matcher', () => {
  it('matches by message type or custom tag, any listed tag', () => {
    const rules = [rule('marketing', 1, { tags: ['marketing'] }), rule('receipts', 2, { tags: ['receipt', 'invoice'] })];
    expect(match(rules, facts({ tags: ['marketing'] }))).toBe('marketing');
    expect(match(rules, facts({ tags: tagsOf('transactional', ['Invoice']) }))).toBe('receipts');
    expect(match(rules, facts())).toBeNull();
  });

  it("matches a campaign's free-text tag by its rule form (spaces become '-')", () => {
    const rules = [rule('spring', 1, { tags: ['spring-sale'] })];
    expect(match(rules, facts({ tags: tagsOf('marketing', ['  Spring   Sale ']) }))).toBe('spring');
    expect(match(rules, facts({ tags: tagsOf('marketing', ['Summer Sale']) }))).toBeNull();
  });

  it('matches recipient domains exactly and by wildcard (subdomains only)', () => {
    const rules = [rule('gmail', 1, { recipientDomains: ['gmail.com', '*.gmail.com'] }), rule('uk', 2, { recipientDomains: ['*.co.uk'] })];
    expect(match(rules, facts({ recipients: ['a@GMAIL.com'] }))).toBe('gmail');
    expect(match(rules, facts({ recipients: ['a@eu.gmail.com'] }))).toBe('gmail');
    expect(match(rules, facts({ recipients: ['a@notgmail.com'] }))).toBeNull();
    expect(match(rules, facts({ recipients: ['a@shop.co.uk'] }))).toBe('uk');
    expect(match(rules, facts({ recipients: ['a@co.uk'] }))).toBeNull();
  });

  it('matches several recipient domains only when every one matches', () => {
    const rules = [rule('gmail', 1, { recipientDomains: ['gmail.com'] })];
    expect(match(rules, facts({ recipients: ['a@gmail.com', 'b@gmail.com'] }))).toBe('gmail');
    expect(match(rules, facts({ recipients: ['a@gmail.com', 'b@outlook.com'] }))).toBeNull();
    expect(match(rules, facts({ recipients: [] }))).toBeNull();
  });

  it('matches the sender by address, domain or parent domain; no From never matches', () => {
    const rules = [rule('news', 1, { senders: ['news@example.com'] }), rule('shop', 2, { senders: ['shop.example', '*.example.net'] })];
    expect(match(rules, facts({ from: 'News@Example.com' }))).toBe('news');
    expect(match(rules, facts({ from: 'other@example.com' }))).toBeNull();
    expect(match(rules, facts({ from: 'a@shop.example' }))).toBe('shop');
    expect(match(rules, facts({ from: 'a@mail.example.net' }))).toBe('shop');
    expect(match(rules, facts({ from: 'a@example.net' }))).toBeNull();
    expect(match(rules, facts({ from: null }))).toBeNull();
  });

  it('matches campaign and segment, and needs every given condition', () => {
    const rules = [
      rule('eu-spring', 1, { campaigns: ['spring'], segments: [{ attribute: 'region', value: 'eu' }] }),
      rule('spring', 2, { campaigns: ['spring'] }),
    ];
    expect(match(rules, facts({ campaignId: 'spring', segment: { attribute: 'region', value: 'eu' } }))).toBe('eu-spring');
    expect(match(rules, facts({ campaignId: 'spring', segment: { attribute: 'region', value: 'us' } }))).toBe('spring');
    expect(match(rules, facts({ campaignId: 'autumn' }))).toBeNull();
    expect(match(rules, facts())).toBeNull();
  });

  it("matches a segment on the recipient's own attributes, as segment routing compares them", () => {
    const rules = [rule('vip', 1, { segments: [{ attribute: 'tier', value: 'VIP' }, { attribute: 'score', value: '5' }] })];
    expect(match(rules, facts({ attributes: { tier: ' vip ' } }))).toBe('vip');
    expect(match(rules, facts({ attributes: { score: 5 } }))).toBe('vip');
    expect(match(rules, facts({ attributes: { tier: 'basic', other: 'VIP' } }))).toBeNull();
    expect(match(rules, facts({ attributes: { tier: ['vip'] } }))).toBeNull();
    expect(match(rules, facts({ attributes: null }))).toBeNull();
  });

  it('takes the first enabled rule by position, skips disabled ones and unusable targets; a rule without conditions catches all', () => {
    const rules = [
      rule('catch-all', 9, {}),
      rule('disabled', 1, { tags: ['transactional'] }, { enabled: false }),
      rule('second', 3, { tags: ['transactional'] }),
      rule('first', 2, { tags: ['transactional'] }, { target: { kind: 'server', id: 'gone' } }),
    ];
    expect(match(rules, facts())).toBe('first');
    const compiled = compileRules(rules);
    expect(firstMatch(compiled, facts(), (target) => target.id !== 'gone')?.id).toBe('second');
    expect(firstMatch(compiled, facts({ tags: ['marketing'] }))?.id).toBe('catch-all');
  });

  it('says what is wrong with a domain or sender pattern', () => {
    expect(domainPatternProblem('gmail.com')).toBeNull();
    expect(domainPatternProblem('*.co.uk')).toBeNull();
    expect(domainPatternProblem('gm*il.com')).toMatch(/leading "\*\."/);
    expect(domainPatternProblem('*.*.com')).toMatch(/only one/);
    expect(domainPatternProblem('*.uk')).toMatch(/not a domain/);
    expect(domainPatternProblem('localhost')).toMatch(/not a domain/);
    expect(senderPatternProblem('news@example.com')).toBeNull();
    expect(senderPatternProblem('news@')).toMatch(/not an email address/);
  });
});
