import { isFetchError } from '@strapi/strapi/admin';

import type { FieldError } from '../../../shared/contracts/common';

/** What a page needs to show an API failure: one sentence, plus messages keyed by form field. */
export interface ApiErrorInfo {
  message: string;
  /** Field path joined with dots (`port`, `warmup.customSteps`) -> the message to show under it. */
  fieldErrors: Record<string, string>;
  /** HTTP status, when the server answered. */
  status?: number;
}

/** Joins an error path (`['warmup', 'customSteps', 0]`) into a field key (`warmup.customSteps.0`). */
export const pathToKey = (path: ReadonlyArray<PropertyKey>) => path.map(String).join('.');

const isFieldError = (value: unknown): value is FieldError =>
  typeof value === 'object' &&
  value !== null &&
  Array.isArray((value as FieldError).path) &&
  typeof (value as FieldError).message === 'string';

/**
 * Turns whatever a request threw into `{ message, fieldErrors }`.
 * Strapi's error body is `{ data: null, error: { status, name, message, details: { errors: [...] } } }`;
 * the fetch client puts it on `error.response.data`.
 */
export function toApiError(error: unknown): ApiErrorInfo {
  if (isFetchError(error)) {
    const body = error.response?.data?.error as
      | { message?: string; details?: { errors?: unknown } }
      | undefined;
    const fieldErrors: Record<string, string> = {};
    const detailErrors = body?.details?.errors;

    if (Array.isArray(detailErrors)) {
      for (const detail of detailErrors) {
        const key = isFieldError(detail) ? pathToKey(detail.path) : '';
        // Keep the first message of each field: it is usually the most basic problem.
        if (isFieldError(detail) && key && !(key in fieldErrors)) {
          fieldErrors[key] = detail.message;
        }
      }
    }

    return { message: body?.message || error.message, fieldErrors, status: error.status };
  }

  if (error instanceof Error) {
    return { message: error.message, fieldErrors: {} };
  }

  return { message: String(error), fieldErrors: {} };
}

/** The error to show under a field: its own, or the first one of something inside it. */
export function errorForField(fieldErrors: Record<string, string>, key: string): string | undefined {
  if (fieldErrors[key]) {
    return fieldErrors[key];
  }
  const nestedKey = Object.keys(fieldErrors).find((candidate) => candidate.startsWith(`${key}.`));
  return nestedKey ? fieldErrors[nestedKey] : undefined;
}

/** Client errors (4xx) will not go away by asking again; network and server errors might. */
export const isWorthRetrying = (error: unknown) => {
  const status = isFetchError(error) ? error.status : undefined;
  return status === undefined || status >= 500;
};
