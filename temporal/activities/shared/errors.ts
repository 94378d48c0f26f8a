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
import type { ErrorCode } from '@engine/shared/error-catalogue';

export { errorCode } from '@engine/shared/error-catalogue';

/** A code from the error catalogue (temporal/shared/error-catalogue). */
export type StepErrorCode = ErrorCode;

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
 * throw new StepError(ErrorCodes.SSRF_BLOCKED, 'refusing 10.0.0.5', { details: { host: 'x.test' } });
 */
export class StepError extends ApplicationFailure {
  /** Stable machine-readable code; equal to `type`. */
  readonly code: StepErrorCode;
  /** Equal to `!nonRetryable`. */
  readonly retryable: boolean;

  constructor(code: StepErrorCode, message: string, options: StepErrorOptions = {}) {
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
