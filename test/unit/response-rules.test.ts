/**
 * The response-rule contract (shared/contracts/response-rules.ts): which patterns are refused, and
 * the rules' cross-field checks. The integration test (test/integration/response-rules.test.ts)
 * shows the same refusals as 400s of the admin API.
 */
import { DEFAULT_RESPONSE_RULES } from '../../server/src/engine/health';
import { patternProblem, responseRuleSchema } from '../../shared/contracts/response-rules';

const RULE = { pattern: 'CUSTOM', action: 'suspend', durationSec: 60, description: 'Custom' };

const problemsOf = (input: object) => {
  const result = responseRuleSchema.safeParse(input);
  return result.success
    ? {}
    : Object.fromEntries(result.error.issues.map((issue) => [issue.path.join('.'), issue.message]));
};

describe('patternProblem', () => {
  test.each([
    ['(a+)+'],
    ['(a*)*b'],
    ['(?:x+y)*'],
    [String.raw`(\w+\s?)+$`],
    ['((ab)+c)+'],
    ['(a{2,})+'],
    ['(a+){2,5}'],
    ['(?<word>a+)*'],
  ])('refuses nested repetition: %s', (pattern) => {
    expect(patternProblem(pattern)).toMatch(/repeats a group that itself repeats/);
  });

  test.each([
    ['(a+)?'],
    ['(ab)+'],
    ['[(a+)]+'],
    [String.raw`\(a+\)+`],
    ['(?:a|b)*c'],
    [String.raw`^4\d\d[ -]4\.7\.\d+\b`],
  ])('accepts %s', (pattern) => {
    expect(patternProblem(pattern)).toBeNull();
  });

  test('says when a pattern does not compile', () => {
    expect(patternProblem('(unclosed')).toMatch(/^is not a valid regular expression: /);
    expect(patternProblem('a{2,1}')).toMatch(/^is not a valid regular expression: /);
  });

  test('every shipped rule passes the check custom rules get', () => {
    for (const rule of DEFAULT_RESPONSE_RULES) expect([rule.id, patternProblem(rule.pattern)]).toEqual([rule.id, null]);
  });
});

describe('responseRuleSchema', () => {
  test('a throttle needs a rate; a suspension takes none', () => {
    expect(problemsOf({ ...RULE, action: 'throttle' })).toEqual({ ratePerSecond: 'is required for a throttle' });
    expect(problemsOf({ ...RULE, ratePerSecond: 2 })).toEqual({ ratePerSecond: 'must be left out for a suspension' });
    expect(problemsOf({ ...RULE, action: 'throttle', ratePerSecond: 0.5 })).toEqual({});
  });

  test('the threshold count and window come together', () => {
    expect(Object.keys(problemsOf({ ...RULE, thresholdCount: 3 }))).toEqual(['thresholdWindowSec']);
    expect(Object.keys(problemsOf({ ...RULE, thresholdWindowSec: 60 }))).toEqual(['thresholdCount']);
    expect(problemsOf({ ...RULE, thresholdCount: 3, thresholdWindowSec: 60 })).toEqual({});
  });

  test('durations from 1 second to 7 days, whole seconds', () => {
    expect(Object.keys(problemsOf({ ...RULE, durationSec: 0 }))).toEqual(['durationSec']);
    expect(Object.keys(problemsOf({ ...RULE, durationSec: 7 * 24 * 3600 + 1 }))).toEqual(['durationSec']);
    expect(Object.keys(problemsOf({ ...RULE, durationSec: 1.5 }))).toEqual(['durationSec']);
    expect(responseRuleSchema.parse({ ...RULE, durationSec: 7 * 24 * 3600 })).toMatchObject({
      enabled: true,
      ratePerSecond: null,
    });
  });
});
