import { createReplyMatcher } from '../../server/src/engine/reply-matcher';

describe('reply matcher', () => {
  const shipped = { id: 'busy', regex: /server busy/i, custom: false };
  const quick = { id: 'quota', regex: /quota exceeded/i, custom: true };
  // Overlapping alternation under a star: backtracks without end on a long run of a's that fails.
  const runaway = { id: 'runaway', regex: /^4\d\d (a|a)*$/i, custom: true };
  const reply = `421 ${'a'.repeat(40)}! quota exceeded`;

  it('matches shipped and custom patterns alike, in the order given', () => {
    const matcher = createReplyMatcher();
    expect(matcher.match([shipped, quick], '421 server busy, quota exceeded').map((rule) => rule.id)).toEqual(['busy', 'quota']);
    expect(matcher.match([shipped, quick], '250 ok')).toEqual([]);
  });

  it('stops a custom pattern that runs over the time limit, says which, and still matches the others', () => {
    const slow: string[] = [];
    const matcher = createReplyMatcher({ timeoutMs: 30, onSlowPattern: (id) => slow.push(id) });
    const started = Date.now();
    expect(matcher.match([runaway, quick], reply).map((rule) => rule.id)).toEqual(['quota']);
    // Two runs over the limit at most (all together, then the runaway alone), not minutes.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(slow).toEqual(['runaway']);
    expect(matcher.slowPatterns()).toEqual(['runaway']);

    // Left out from now on: no second wait, no second report.
    const again = Date.now();
    expect(matcher.match([runaway, quick], reply).map((rule) => rule.id)).toEqual(['quota']);
    expect(Date.now() - again).toBeLessThan(25);
    expect(slow).toEqual(['runaway']);

    // Its pattern changed (the admin fixed it): matched again.
    const fixed = { ...runaway, regex: /^4\d\d a+!/i };
    expect(matcher.match([fixed, quick], reply).map((rule) => rule.id)).toEqual(['runaway', 'quota']);
  });
});
