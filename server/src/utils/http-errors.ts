import { errors } from '@strapi/utils';

/**
 * 409 Conflict, in Strapi's error shape ({ data: null, error: { status, name, message, details } }).
 * Strapi maps only its own ApplicationError subclasses to statuses (anything unknown is a 400), but
 * it answers any `HttpError` with that error's status: this class is one, without depending on the
 * http-errors package ourselves.
 */
export class ConflictError extends Error {
  readonly status = 409;
  readonly statusCode = 409;
  readonly expose = true;

  constructor(
    message: string,
    readonly details: Record<string, unknown> = {}
  ) {
    super(message);
    this.name = 'ConflictError';
  }
}
Object.setPrototypeOf(ConflictError.prototype, errors.HttpError.prototype);
