import { z } from 'zod';

/**
 * A single-line string that may end up in an SMTP command or a mail header. A CR or LF there would
 * let a value inject extra headers or commands, so it is refused outright rather than stripped.
 */
export const singleLine = (max: number) =>
  z
    .string()
    .trim()
    .max(max, { error: `must be at most ${max} characters` })
    .refine((value) => !/[\r\n]/.test(value), { error: 'must not contain a line break (CR or LF)' });

/** For a route that takes no parameters: anything sent (a query field, a body field) is refused with a 400 naming it. */
export const noParametersSchema = z.strictObject({});

/** A required single-line string. */
export const requiredLine = (max: number) =>
  singleLine(max).refine((value) => value.length > 0, { error: 'is required' });

/** An optional single-line string where '' and null both mean "not set". */
export const optionalLine = (max: number) =>
  singleLine(max)
    .nullish()
    .transform((value) => (value ? value : null));

/** A non-negative whole number or null (null = unlimited). */
export const optionalLimit = () =>
  z
    .int({ error: 'must be a whole number' })
    .min(0, { error: 'must not be negative' })
    .nullish()
    .transform((value) => value ?? null);

/** An email address in the form SMTP accepts, on one line. */
export const emailAddress = () => singleLine(254).pipe(z.email({ error: 'must be a valid email address' }));

/** An optional email address where '' and null both mean "not set". */
export const optionalEmailAddress = () =>
  optionalLine(254).pipe(z.email({ error: 'must be a valid email address' }).nullable());

/**
 * Page and size of a list query. List query schemas are strict objects: a parameter they do not
 * know (Strapi's `filters[...]`, `populate`, `fields`...) is refused with a 400 naming it rather
 * than silently ignored.
 */
export const paginationQuery = {
  page: z.coerce.number().int({ error: 'must be a whole number' }).min(1, { error: 'must be 1 or more' }).default(1),
  pageSize: z.coerce
    .number()
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be 1 or more' })
    .max(100, { error: 'must be at most 100' })
    .default(25),
};

export interface Pagination {
  page: number;
  pageSize: number;
  pageCount: number;
  total: number;
}

export interface ListResponse<T> {
  data: T[];
  meta: { pagination: Pagination };
}

export interface SingleResponse<T> {
  data: T;
}

/** One field error, in the shape Strapi's ValidationError uses (`details.errors`). */
export interface FieldError {
  path: string[];
  message: string;
  name: string;
}
