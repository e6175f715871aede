import type { z } from 'zod';

import { pathToKey } from '../api/errors';

/**
 * Checks a value against one of the shared zod schemas (the same ones the server uses) and returns
 * the problems keyed like server field errors, so both kinds show up in the same place.
 */
export function validateWith(schema: z.ZodType, value: unknown): Record<string, string> {
  const result = schema.safeParse(value);
  if (result.success) {
    return {};
  }

  const fieldErrors: Record<string, string> = {};
  for (const issue of result.error.issues) {
    const key = pathToKey(issue.path);
    if (!(key in fieldErrors)) {
      fieldErrors[key] = issue.message;
    }
  }
  return fieldErrors;
}
