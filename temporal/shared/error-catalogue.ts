/**
 * The error catalogue: every code a Merchflow failure carries across a
 * process boundary (step failures, workflow failures, API answers), with what
 * it means and whether retrying may help. `NON_RETRYABLE_ERROR_TYPES`
 * (Temporal's retry policy) and `ErrorCodes` derive from it; codes are strings
 * because `instanceof` does not survive serialisation.
 *
 * `retryable`: `false` — Temporal never retries a failure of this type,
 * whatever the failure says; `true` — always worth retrying; `'per-error'` —
 * the failure's own flag decides (an HTTP 503 is retried, a 404 is not).
 *
 * Pure: imported by workflow code.
 */

export type Retryability = boolean | 'per-error';

export interface ErrorEntry {
  /** What the code means, for docs and operators. */
  readonly message: string;
  readonly retryable: Retryability;
}

const entry = (message: string, retryable: Retryability = 'per-error'): ErrorEntry => ({ message, retryable });

export const ERROR_CATALOGUE = {
  // Definitions and configs
  DEFINITION_INVALID: entry('the workflow definition is invalid; the message names the field', false),
  STEP_CONFIG_INVALID: entry("a step's config is invalid; the message names the field (config.<field>: ...)", false),
  STEP_INPUT_INVALID: entry("a step's input is not what the step works on (e.g. not a list of items)"),
  UNKNOWN_STEP_TYPE: entry('no executor is registered for the step type', false),
  VALIDATION_FAILED: entry('input or items failed validation; the message names the field', false),
  INPUT_INVALID: entry("the run input does not match the workflow's input schema"),
  CURSOR_INVALID: entry('a stored pagination cursor or watermark cannot be read'),
  // Run outcome
  STEP_FAILED: entry('a step failed after its retries'),
  STEP_TIMED_OUT: entry("a step's work took longer than its timeout_seconds", true),
  ITEMS_FAILED: entry('more items failed than the step tolerates (max_failed_items)'),
  APPROVAL_REJECTED: entry('an approver rejected the step'),
  APPROVAL_TIMED_OUT: entry('no decision came before the approval timeout'),
  TRANSFORM_FAILED: entry('a data_transform operation failed on the data'),
  // Infrastructure
  DEPENDENCY_UNAVAILABLE: entry('PostgreSQL or Temporal is unreachable; a step waits it out within the outage budget', true),
  PAYLOAD_NOT_FOUND: entry('a claim-checked payload is missing from the payload store', false),
  PAYLOAD_KEY_UNKNOWN: entry('a Temporal payload names an encryption key id that is not configured (PAYLOAD_KEYS)'),
  PAYLOAD_DECRYPT_FAILED: entry('an encrypted Temporal payload failed authentication'),
  // Expressions
  EXPRESSION_INVALID: entry('an expression does not parse', false),
  EXPRESSION_LIMIT: entry('an expression ran past its time or memory budget, or nested too deep', false),
  EXPRESSION_FAILED: entry('an expression failed while evaluating'),
  // HTTP client
  SSRF_BLOCKED: entry('the address is not allowed (HTTP_ALLOW_HOSTS, private ranges)', false),
  INVALID_URL: entry('the URL does not parse'),
  UNSUPPORTED_SCHEME: entry('only http and https are supported'),
  INVALID_REQUEST: entry('the request cannot be sent as configured'),
  DNS_LOOKUP_FAILED: entry('the host name does not resolve'),
  HTTP_CONNECTION_ERROR: entry('the connection failed or was reset'),
  HTTP_TIMEOUT: entry('the peer did not answer in time'),
  HTTP_ABORTED: entry('the request was cancelled'),
  HTTP_STATUS: entry('the peer answered with an error status (5xx and 429 are retried)'),
  HTTP_CLIENT_ERROR: entry('the peer answered 4xx: the request itself is wrong', false),
  HTTP_UNEXPECTED_STATUS: entry('the peer answered with a status the step does not accept'),
  RESPONSE_TOO_LARGE: entry('the answer is larger than the limit'),
  INVALID_RESPONSE: entry('the answer is not what was expected (not JSON, wrong shape)'),
  TOO_MANY_REDIRECTS: entry('the peer redirected too often'),
  REDIRECT_REFUSED: entry('a redirect was refused (credentials would leave their host)'),
  OAUTH_TOKEN_ERROR: entry('the OAuth token endpoint refused or failed'),
  WEBHOOK_REDIRECTED: entry('a webhook answered with a redirect, which is not followed'),
  // Secrets
  SECRET_NOT_FOUND: entry('a referenced secret does not exist', false),
  SECRET_REF_INVALID: entry('a secret reference is malformed'),
  SECRET_DECRYPT_FAILED: entry('a stored secret cannot be decrypted with the master key'),
  MASTER_KEY_MISSING: entry('MERCHFLOW_MASTER_KEY is not set'),
  MASTER_KEY_INVALID: entry('MERCHFLOW_MASTER_KEY is not a valid key'),
  // Sources and databases
  SOURCE_NOT_FOUND: entry('the supplier or marketplace does not exist'),
  SOURCE_INACTIVE: entry('the supplier or marketplace is not active'),
  DB_ERROR: entry('the database refused the query'),
  DB_TIMEOUT: entry('the query ran past its statement timeout'),
  DB_QUERY_REJECTED: entry('the query is not allowed (allow-list)'),
  RAW_SQL_DISABLED: entry('raw SQL is disabled (DATABASE_QUERY_RAW_SQL)'),
  RAW_SQL_REJECTED: entry('the raw SQL is not a single allowed statement'),
  ROW_LIMIT_EXCEEDED: entry('the query returned more rows than max_rows'),
  // Outside services
  AI_NOT_CONFIGURED: entry('no OpenAI key is configured'),
  AI_AUTH_FAILED: entry('the AI provider refused the key'),
  AI_RATE_LIMITED: entry('the AI provider is rate limiting'),
  AI_REQUEST_REJECTED: entry('the AI provider rejected the request'),
  AI_API_ERROR: entry('the AI provider failed'),
  NOTIFICATION_NOT_CONFIGURED: entry('SMTP is not configured for email notifications'),
  EMAIL_AUTH_FAILED: entry('the SMTP server refused the credentials'),
  EMAIL_REJECTED: entry('the SMTP server rejected the message or recipients'),
  EMAIL_SEND_FAILED: entry('the email could not be sent'),
  CHANNEL_NOT_FOUND: entry('a notification step names a channel that does not exist', false),
  CHANNEL_DISABLED: entry('a notification step names a disabled channel', false),
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Each code by name: `ErrorCodes.STEP_CONFIG_INVALID === 'STEP_CONFIG_INVALID'`. */
export const ErrorCodes = Object.freeze(Object.fromEntries(Object.keys(ERROR_CATALOGUE).map((c) => [c, c]))) as { readonly [K in ErrorCode]: K };

/** Error types Temporal never retries: the catalogue's entries with `retryable: false`. */
export const NON_RETRYABLE_ERROR_TYPES: string[] = (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).filter((c) => ERROR_CATALOGUE[c].retryable === false);

/** Whether `code` is in the catalogue. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, code);
}

/**
 * The code an error carries, in this process or after crossing one: a
 * `StepError`'s or `AppError`'s `code`, a deserialised `ApplicationFailure`'s
 * `type`, looking through an `ActivityFailure` to its cause. Undefined for
 * errors without one (a plain `Error`).
 */
export function errorCode(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; type?: unknown; name?: unknown; cause?: unknown };
  if (e.name === 'ActivityFailure' && e.cause) return errorCode(e.cause);
  if (typeof e.code === 'string') return e.code;
  if (typeof e.type === 'string') return e.type;
  return undefined;
}
