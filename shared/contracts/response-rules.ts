import { z } from 'zod';

import { requiredLine } from './common';

/**
 * Response rules (server/src/services/response-rules.ts, engine/health.ts): a regular expression
 * matched against a server's SMTP replies, and what a match does to the server (suspend it, or
 * throttle it to a rate) for how long, at once or on the count-th match within a window. The
 * shipped rules are read-only (each can be turned off); admins add their own beside them.
 */

export const RESPONSE_RULE_ACTIONS = ['suspend', 'throttle'] as const;
export type ResponseRuleAction = (typeof RESPONSE_RULE_ACTIONS)[number];

export const MAX_PATTERN_CHARS = 500;
/** A suspension or throttle lasts from 1 second to 7 days. */
export const MIN_DURATION_SEC = 1;
export const MAX_DURATION_SEC = 7 * 24 * 3600;
export const MAX_RATE_PER_SECOND = 1000;
export const MAX_THRESHOLD_COUNT = 1000;
export const MAX_THRESHOLD_WINDOW_SEC = 24 * 3600;

/** The id a custom rule has in the engine (it names the rule's Redis window): never one of the shipped ids. */
export const customRuleId = (documentId: string) => `custom.${documentId}`;

interface Quantifier {
  length: number;
  /** Allows more than one repetition (*, +, {2}, {1,}, {0,5}); `?` and {0,1} do not. */
  repeats: boolean;
}

const quantifierAt = (source: string, index: number): Quantifier | null => {
  const char = source[index];
  const lazy = (length: number) => (source[index + length] === '?' ? length + 1 : length);
  if (char === '*' || char === '+') return { length: lazy(1), repeats: true };
  if (char === '?') return { length: lazy(1), repeats: false };
  if (char === '{') {
    const match = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(index));
    if (!match) return null;
    const min = Number(match[1]);
    const max = match[2] === undefined ? min : match[3] === '' ? Number.POSITIVE_INFINITY : Number(match[3]);
    return { length: lazy(match[0].length), repeats: max > 1 };
  }
  return null;
};

/**
 * Why a pattern may not be used, or null. It must compile (as the engine compiles it: JavaScript,
 * case-insensitive) and must not nest repetition, e.g. `(a+)+` or `(\w*\s?)*`: on a reply that
 * almost matches, such a pattern backtracks exponentially and would block the worker that matches
 * it. (A quantified group that repeats nothing inside, or a `?` around a repeating group, is fine.)
 */
export function patternProblem(source: string): string | null {
  try {
    new RegExp(source, 'i');
  } catch (error) {
    return `is not a valid regular expression: ${(error as Error).message}`;
  }
  /** Per open group: whether something inside it repeats. */
  const groups: boolean[] = [];
  const markRepeats = () => {
    if (groups.length > 0) groups[groups.length - 1] = true;
  };
  let index = 0;
  while (index < source.length) {
    const char = source[index];
    if (char === '\\') {
      index += 2;
    } else if (char === '[') {
      index += 1;
      while (index < source.length && source[index] !== ']') index += source[index] === '\\' ? 2 : 1;
      index += 1;
    } else if (char === '(') {
      groups.push(false);
      index += 1;
      // (?:  (?=  (?!  (?<=  (?<!  (?<name>
      if (source[index] === '?') {
        const prefix = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(source.slice(index));
        index += prefix ? prefix[0].length : 1;
      }
      continue;
    } else if (char === ')') {
      const innerRepeats = groups.pop() ?? false;
      index += 1;
      const quantifier = quantifierAt(source, index);
      if (quantifier) {
        if (innerRepeats && quantifier.repeats) {
          return 'repeats a group that itself repeats, e.g. (a+)+: such a pattern can take forever on some replies';
        }
        index += quantifier.length;
      }
      if (innerRepeats || quantifier?.repeats) markRepeats();
      continue;
    } else {
      index += 1;
    }
    const quantifier = quantifierAt(source, index);
    if (quantifier) {
      if (quantifier.repeats) markRepeats();
      index += quantifier.length;
    }
  }
  return null;
}

const optionalPositive = (max: number, whole: boolean) =>
  (whole ? z.int({ error: 'must be a whole number' }) : z.number({ error: 'must be a number' }))
    .gt(0, { error: 'must be more than 0' })
    .max(max, { error: `must be at most ${max}` })
    .nullish()
    .transform((value) => value ?? null);

/** A custom rule, to create it or to replace it (PUT sends the whole rule). */
export const responseRuleSchema = z
  .strictObject({
    /** A JavaScript regular expression, matched case-insensitively against the whole reply. */
    pattern: z
      .string({ error: 'must be a regular expression (text)' })
      .trim()
      .min(1, { error: 'is required' })
      .max(MAX_PATTERN_CHARS, { error: `must be at most ${MAX_PATTERN_CHARS} characters` })
      .superRefine((value, context) => {
        const problem = patternProblem(value);
        if (problem) context.addIssue({ code: 'custom', message: problem });
      }),
    action: z.enum(RESPONSE_RULE_ACTIONS, { error: 'must be suspend or throttle' }),
    /** How long the suspension or throttle lasts once triggered. */
    durationSec: z
      .int({ error: 'must be a whole number of seconds' })
      .min(MIN_DURATION_SEC, { error: `must be at least ${MIN_DURATION_SEC} second` })
      .max(MAX_DURATION_SEC, { error: `must be at most ${MAX_DURATION_SEC} seconds (7 days)` }),
    /** Throttle only: the most messages per second while it lasts. */
    ratePerSecond: optionalPositive(MAX_RATE_PER_SECOND, false),
    /** Act on the count-th match within windowSec (both or neither); at the first match without them. */
    thresholdCount: optionalPositive(MAX_THRESHOLD_COUNT, true),
    thresholdWindowSec: optionalPositive(MAX_THRESHOLD_WINDOW_SEC, true),
    /** What it means, for the admin; also the start of the suspension's reason. */
    description: requiredLine(200),
    enabled: z.boolean({ error: 'must be true or false' }).default(true),
  })
  .superRefine((input, context) => {
    if (input.action === 'throttle' && input.ratePerSecond === null) {
      context.addIssue({ code: 'custom', path: ['ratePerSecond'], message: 'is required for a throttle' });
    }
    if (input.action === 'suspend' && input.ratePerSecond !== null) {
      context.addIssue({ code: 'custom', path: ['ratePerSecond'], message: 'must be left out for a suspension' });
    }
    if ((input.thresholdCount === null) !== (input.thresholdWindowSec === null)) {
      const missing = input.thresholdCount === null ? 'thresholdCount' : 'thresholdWindowSec';
      context.addIssue({
        code: 'custom',
        path: [missing],
        message: 'is required when the other of thresholdCount and thresholdWindowSec is set',
      });
    }
  });

export type ResponseRuleInput = z.input<typeof responseRuleSchema>;
export type ResponseRuleData = z.output<typeof responseRuleSchema>;

/** Turns a shipped rule on or off. */
export const shippedRuleToggleSchema = z.strictObject({
  enabled: z.boolean({ error: 'must be true or false' }),
});

/** The fields every response rule has, shipped or custom (exported: the admin API client's declarations name it). */
export interface ResponseRuleFields {
  /** The rule's id in the engine: a shipped rule's name, or custom.<documentId>. */
  ruleId: string;
  pattern: string;
  action: ResponseRuleAction;
  durationSec: number;
  ratePerSecond: number | null;
  thresholdCount: number | null;
  thresholdWindowSec: number | null;
  description: string;
  enabled: boolean;
}

export type ShippedResponseRule = ResponseRuleFields;

export interface CustomResponseRule extends ResponseRuleFields {
  documentId: string;
  createdAt: string;
  updatedAt: string;
}

/** GET /response-rules */
export interface ResponseRulesList {
  shipped: ShippedResponseRule[];
  custom: CustomResponseRule[];
}
