import { errors } from '@strapi/utils';
import type { z } from 'zod';

import type { FieldError } from '../../../shared/contracts/common';

/** Reads the value at a path of the raw input, to tell "missing" from "wrong". */
const valueAt = (input: unknown, path: PropertyKey[]): unknown =>
  path.reduce<unknown>(
    (node, key) => (node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined),
    input
  );

/** Turns zod issues into Strapi's field errors, one per field, with a reason a person can act on. */
export const toFieldErrors = (issues: z.core.$ZodIssue[], input: unknown): FieldError[] =>
  issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: [...issue.path.map(String), key],
        message: 'is not a known field',
        name: 'ValidationError',
      }));
    }
    const missing = issue.path.length > 0 && valueAt(input, issue.path) === undefined && issue.code === 'invalid_type';
    return [{ path: issue.path.map(String), message: missing ? 'is required' : issue.message, name: 'ValidationError' }];
  });

export const fieldErrorsMessage = (fieldErrors: FieldError[]) =>
  fieldErrors.map((error) => `${error.path.join('.') || 'body'}: ${error.message}`).join('; ');

/** Throws a ValidationError (HTTP 400) naming every bad field. */
export const throwFieldErrors = (fieldErrors: FieldError[]): never => {
  throw new errors.ValidationError(fieldErrorsMessage(fieldErrors), { errors: fieldErrors });
};

/** A single bad field, for checks zod cannot make (uniqueness, references). */
export const fieldError = (field: string, message: string): never =>
  throwFieldErrors([{ path: [field], message, name: 'ValidationError' }]);

/** Parses input with a schema; on failure throws a 400 that names each field and its reason. */
export const parseInput = <Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> => {
  const result = schema.safeParse(input ?? {});
  if (!result.success) {
    throwFieldErrors(toFieldErrors(result.error.issues, input));
  }
  return (result as { data: z.output<Schema> }).data;
};
