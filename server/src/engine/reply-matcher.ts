import vm from 'node:vm';

/**
 * Matches an SMTP reply against response-rule patterns. The shipped patterns are known to be quick
 * and run as they are. Patterns an admin wrote are checked on save (no nested repetition), but a
 * check cannot catch every pattern that backtracks without end on some reply, e.g. `(a|a)*$`: those
 * run in a V8 context with a time limit, all of a reply's in one call (the limit costs a watchdog
 * per call, about 0.15 ms, and replies are matched only for failures). A pattern that runs over is
 * found, left out in this process until its pattern changes, and reported once; the reply is
 * matched against the others.
 */

export interface MatchablePattern {
  id: string;
  regex: RegExp;
  /** Written by an admin (not one of the shipped rules): matched under the time limit. */
  custom: boolean;
}

export const DEFAULT_MATCH_TIMEOUT_MS = 50;

export const createReplyMatcher = (options: { timeoutMs?: number; onSlowPattern?: (id: string, timeoutMs: number) => void } = {}) => {
  const timeoutMs = options.timeoutMs ?? DEFAULT_MATCH_TIMEOUT_MS;
  const context = vm.createContext({ patterns: [] as RegExp[], reply: '' });
  const matchAll = new vm.Script('patterns.map((pattern) => pattern.test(reply))');
  /** Patterns that ran over the limit (by rule id and pattern): not matched again in this process until changed. */
  const slow = new Set<string>();
  const slowKey = (pattern: MatchablePattern) => `${pattern.id}\u0000${pattern.regex.source}`;

  const runLimited = (patterns: RegExp[], reply: string): boolean[] | null => {
    context.patterns = patterns;
    context.reply = reply;
    try {
      return matchAll.runInContext(context, { timeout: timeoutMs }) as boolean[];
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return null;
      throw error;
    } finally {
      context.patterns = [];
      context.reply = '';
    }
  };

  return {
    /** The patterns that match the reply, in the order given. */
    match<T extends MatchablePattern>(patterns: readonly T[], reply: string): T[] {
      const custom = patterns.filter((pattern) => pattern.custom && !slow.has(slowKey(pattern)));
      let customMatches = custom.length > 0 ? runLimited(custom.map((pattern) => pattern.regex), reply) : [];
      if (customMatches === null) {
        // One of them ran over: find which, one by one, and match with the rest.
        customMatches = custom.map((pattern) => {
          const result = runLimited([pattern.regex], reply);
          if (result !== null) return result[0]!;
          slow.add(slowKey(pattern));
          options.onSlowPattern?.(pattern.id, timeoutMs);
          return false;
        });
      }
      const matchedCustom = new Set(custom.filter((_, index) => customMatches![index]));
      return patterns.filter((pattern) => (pattern.custom ? matchedCustom.has(pattern) : pattern.regex.test(reply)));
    },

    /** Ids of the rules whose patterns are left out for running over the limit. */
    slowPatterns: (): string[] => [...slow].map((key) => key.split('\u0000')[0]!),
  };
};

export type ReplyMatcher = ReturnType<typeof createReplyMatcher>;
