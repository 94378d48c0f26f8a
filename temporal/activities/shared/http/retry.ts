/**
 * Retry timing for outbound HTTP: exponential backoff with jitter and
 * `Retry-After` parsing.
 */

/** How the client retries transient failures inside one activity attempt. */
export interface RetryPolicy {
  /** Total attempts including the first; 1 disables retries. */
  attempts: number;
  /** Delay before the first retry. */
  baseDelayMs: number;
  /** Multiplier applied per retry. */
  factor: number;
  /** Upper bound of a computed backoff delay. */
  maxDelayMs: number;
  /**
   * Longest `Retry-After` the client waits for in-process. A longer one ends
   * the call with a retryable `HTTP_STATUS` error whose `nextRetryDelay` asks
   * Temporal to wait instead, so no worker slot is held for minutes.
   */
  maxRetryAfterMs: number;
  /** Randomise each delay within [delay/2, delay] so callers do not retry in lockstep. */
  jitter: boolean;
  /**
   * Also retry POST/PATCH without an `Idempotency-Key` after the request may
   * have reached the server (5xx, timeouts, resets). Off by default: that can
   * duplicate side effects.
   */
  retryNonIdempotent: boolean;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  attempts: 3,
  baseDelayMs: 250,
  factor: 2,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
  jitter: true,
  retryNonIdempotent: false,
});

/**
 * The delay before retry number `retryIndex` (0 for the first retry).
 *
 * @param random injectable for tests; returns [0, 1).
 */
export function backoffDelay(policy: RetryPolicy, retryIndex: number, random: () => number = Math.random): number {
  const raw = Math.min(policy.maxDelayMs, policy.baseDelayMs * Math.pow(policy.factor, retryIndex));
  if (!policy.jitter) return Math.round(raw);
  return Math.round(raw / 2 + (random() * raw) / 2);
}

/**
 * Parses a `Retry-After` header value into milliseconds from `now`: either
 * delta-seconds (`"120"`) or an HTTP date (`"Wed, 21 Oct 2015 07:28:00 GMT"`).
 * A date in the past gives 0. Returns undefined for a missing or unparseable
 * value. The caller applies its own cap.
 *
 * @example parseRetryAfter('3') // 3000
 */
export function parseRetryAfter(value: string | readonly string[] | undefined | null, now: number = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value) as string | undefined;
  if (v === undefined || v === null) return undefined;
  const text = v.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const ms = Math.ceil(Number(text) * 1000);
    return Number.isFinite(ms) ? ms : undefined;
  }
  // Only attempt dates that look like one: Date.parse accepts odd strings such as "-1".
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
