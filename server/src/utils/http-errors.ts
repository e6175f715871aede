import { errors } from '@strapi/utils';

/**
 * An error answered with its own status and message, in Strapi's error shape ({ data: null, error:
 * { status, name, message, details } }). Strapi maps only its own ApplicationError subclasses to
 * statuses (anything unknown is a 400), but it answers any `HttpError` with that error's status:
 * this class is one, without depending on the http-errors package ourselves.
 */
class ExposedHttpError extends Error {
  readonly expose = true;
  readonly statusCode: number;

  constructor(
    readonly status: number,
    name: string,
    message: string,
    readonly details: Record<string, unknown> = {}
  ) {
    super(message);
    this.name = name;
    this.statusCode = status;
  }
}
Object.setPrototypeOf(ExposedHttpError.prototype, errors.HttpError.prototype);

/** 409 Conflict. */
export class ConflictError extends ExposedHttpError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(409, 'ConflictError', message, details);
  }
}

/**
 * 403 with its reason, for routes without Strapi auth (auth: false). Strapi's route wrapper answers a
 * thrown `errors.ForbiddenError` with a bare "Forbidden" and drops its message; an `HttpError` is
 * passed through with the message, so a provider's integrator sees why a webhook was refused.
 */
export class ForbiddenReasonError extends ExposedHttpError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(403, 'ForbiddenError', message, details);
  }
}
