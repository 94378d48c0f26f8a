/**
 * The error type thrown by the shared activity helpers (HTTP client, secrets).
 *
 * It is an `ApplicationFailure`, so when an activity lets it escape, Temporal
 * records `type = code` and honours `nonRetryable = !retryable` without any
 * mapping in the executor. The `code` and `retryable` fields are kept as own
 * properties for callers in the same process; across a process boundary read
 * `failure.type` (see {@link errorCode}), because `instanceof` does not survive
 * serialisation.
 */
import { ApplicationFailure } from '@temporalio/common';

/** Codes raised by the HTTP client. */
export const HTTP_ERROR_CODES = [
  'SSRF_BLOCKED',
  'INVALID_URL',
  'UNSUPPORTED_SCHEME',
  'INVALID_REQUEST',
  'DNS_LOOKUP_FAILED',
  'HTTP_CONNECTION_ERROR',
  'HTTP_TIMEOUT',
  'HTTP_ABORTED',
  'HTTP_STATUS',
  'HTTP_CLIENT_ERROR',
  'RESPONSE_TOO_LARGE',
  'INVALID_RESPONSE',
  'TOO_MANY_REDIRECTS',
  'OAUTH_TOKEN_ERROR',
] as const;
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];

/** Codes raised by the secrets module. */
export const SECRET_ERROR_CODES = [
  'SECRET_NOT_FOUND',
  'SECRET_REF_INVALID',
  'SECRET_DECRYPT_FAILED',
  'MASTER_KEY_MISSING',
  'MASTER_KEY_INVALID',
] as const;
export type SecretErrorCode = (typeof SECRET_ERROR_CODES)[number];

export type StepErrorCode = HttpErrorCode | SecretErrorCode;

export interface StepErrorOptions {
  /** Whether retrying the same call may succeed. Defaults to false. */
  retryable?: boolean;
  /** Plain JSON facts about the failure (status, host, ...). Never secrets. */
  details?: Record<string, unknown>;
  cause?: Error;
  /** Ask Temporal to wait this long before its next attempt (e.g. from `Retry-After`). */
  nextRetryDelayMs?: number;
}

/**
 * A failure with a stable string `code` and a `retryable` flag.
 *
 * @example
 * throw new StepError('SSRF_BLOCKED', 'refusing 10.0.0.5', { details: { host: 'x.test' } });
 */
export class StepError extends ApplicationFailure {
  /** Stable machine-readable code; equal to `type`. */
  readonly code: string;
  /** Equal to `!nonRetryable`. */
  readonly retryable: boolean;

  constructor(code: StepErrorCode | (string & {}), message: string, options: StepErrorOptions = {}) {
    const retryable = options.retryable ?? false;
    super(
      message,
      code,
      !retryable,
      options.details ? [options.details] : undefined,
      options.cause,
      options.nextRetryDelayMs !== undefined ? Math.max(1, Math.round(options.nextRetryDelayMs)) : undefined,
    );
    this.code = code;
    this.retryable = retryable;
  }

  /** The details object given at construction, if any. */
  get info(): Record<string, unknown> {
    const first = this.details?.[0];
    return first && typeof first === 'object' ? (first as Record<string, unknown>) : {};
  }
}

/**
 * The code of an error from this module, whether it is the original
 * `StepError`, a deserialised `ApplicationFailure` (its `type`) or a plain
 * object carrying `code`. Undefined for anything else.
 */
export function errorCode(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; type?: unknown };
  if (typeof e.code === 'string') return e.code;
  if (typeof e.type === 'string') return e.type;
  return undefined;
}

/** Whether `err` says it may succeed on retry (`retryable`, or `nonRetryable === false`). */
export function isRetryable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { retryable?: unknown; nonRetryable?: unknown };
  if (typeof e.retryable === 'boolean') return e.retryable;
  if (typeof e.nonRetryable === 'boolean') return !e.nonRetryable;
  return false;
}

const PARTIAL_OUTPUT = Symbol('partialOutput');

/**
 * Attaches to a failure (or cancellation) what the step had already done when
 * it stopped, in the shape of its normal output (e.g. the per-item results of
 * the items that went through). The runner passes it on, and the step's
 * compensation gets it as its input, so it can undo exactly that.
 *
 * @example
 * throw withPartialOutput(err, { results: done, partial: true });
 */
export function withPartialOutput<E>(err: E, output: unknown): E {
  if (err && typeof err === 'object') Object.defineProperty(err, PARTIAL_OUTPUT, { value: output, enumerable: false, configurable: true });
  return err;
}

/** The partial output attached by {@link withPartialOutput}, or undefined. */
export function partialOutputOf(err: unknown): unknown {
  return err && typeof err === 'object' ? (err as { [PARTIAL_OUTPUT]?: unknown })[PARTIAL_OUTPUT] : undefined;
}
