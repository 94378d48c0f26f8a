import { httpStatusOf, type ApiErrorCode } from '@engine/shared/error-catalogue';

/**
 * Errors the services raise; the API maps them onto one response shape
 * (`code`, `message`, `details`). Codes are strings because they cross process
 * boundaries, and come from the error catalogue (temporal/shared/error-catalogue.ts:
 * `API_ERROR_CATALOGUE` and the entries with an `http` status).
 */
export class AppError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    /** The catalogue's status for the code unless given. */
    readonly status: number = httpStatusOf(code),
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id: string | number) {
    super('NOT_FOUND', `${what} ${id} not found`, 404, { [what.toLowerCase().replace(/\s+/g, '_')]: id });
  }
}

export class ConflictError extends AppError {
  constructor(code: ApiErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, 409, details);
  }
}

/** A request the caller must fix: the message names the field, `details.errors` lists every problem. */
export class ValidationFailedError extends AppError {
  constructor(errors: Array<{ field: string; message: string }>, code: ApiErrorCode = 'VALIDATION_FAILED') {
    const shown = errors.slice(0, 5).map((e) => (e.field ? `${e.field}: ${e.message}` : e.message));
    const more = errors.length > shown.length ? ` (and ${errors.length - shown.length} more)` : '';
    super(code, `${shown.join('; ')}${more}`, 400, { errors: errors.slice(0, 50) });
  }
}

/** No credentials, or credentials that match no live key. */
export class UnauthenticatedError extends AppError {
  constructor(message = 'an API key is required: send "Authorization: Bearer <key>" or "X-API-Key: <key>"') {
    super('UNAUTHENTICATED', message, 401);
  }
}

/** A valid key whose role is too low for the operation. */
export class ForbiddenError extends AppError {
  constructor(required: string, actual: string) {
    super('FORBIDDEN', `this operation needs the ${required} role; the key has the ${actual} role`, 403, { required_role: required, role: actual });
  }
}
