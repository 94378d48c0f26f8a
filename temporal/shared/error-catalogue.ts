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
  /** The HTTP status the API answers with this code, for the codes it answers. */
  readonly http?: number;
}

const entry = (message: string, retryable: Retryability = 'per-error'): ErrorEntry => ({ message, retryable });
/** An entry the API also answers with, under HTTP status `http`. */
const answered = (message: string, retryable: Retryability, http: number) => ({ message, retryable, http }) satisfies ErrorEntry;

export const ERROR_CATALOGUE = {
  // Definitions and configs
  DEFINITION_INVALID: answered('the workflow definition is invalid; the message names the field', false, 400),
  STEP_CONFIG_INVALID: entry("a step's config is invalid; the message names the field (config.<field>: ...)", false),
  STEP_INPUT_INVALID: entry("a step's input is not what the step works on (e.g. not a list of items)"),
  UNKNOWN_STEP_TYPE: entry('no executor is registered for the step type', false),
  VALIDATION_FAILED: answered('input or items failed validation; the message names the field', false, 400),
  INPUT_INVALID: entry("the run input does not match the workflow's input schema"),
  CURSOR_INVALID: entry('a stored pagination cursor or watermark cannot be read'),
  // Run outcome
  STEP_FAILED: entry('a step failed after its retries'),
  STEP_TIMED_OUT: entry("a step's work took longer than its timeout_seconds", true),
  ITEMS_FAILED: entry('more items failed than the step tolerates (max_failed_items)'),
  APPROVAL_REJECTED: entry('an approver rejected the step'),
  APPROVAL_TIMED_OUT: entry('no decision came before the approval timeout'),
  TRANSFORM_FAILED: entry('a data_transform operation failed on the data'),
  FAN_OUT_FAILED: entry('every child run of a fan-out (one per supplier or marketplace) failed', false),
  FAN_OUT_CHILD_RUNNING: entry('a child run that an earlier attempt of its fan-out parent started has not ended yet', true),
  // Infrastructure
  DEPENDENCY_UNAVAILABLE: answered('PostgreSQL or Temporal is unreachable; a step waits it out within the outage budget', true, 503),
  PAYLOAD_NOT_FOUND: entry('a claim-checked payload is missing from the payload store', false),
  PAYLOAD_KEY_UNKNOWN: answered('a Temporal payload names an encryption key id that is not configured (PAYLOAD_KEYS)', 'per-error', 422),
  PAYLOAD_DECRYPT_FAILED: answered('an encrypted Temporal payload failed authentication', 'per-error', 422),
  PAYLOAD_INFLATE_FAILED: answered('a compressed Temporal payload is corrupt or inflates past 16 MiB', 'per-error', 422),
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
  CONNECTION_AUTH_FAILED: entry("a supplier, marketplace or carrier endpoint refused the connection's credentials (401/403)", false),
  PLATFORM_UNSUPPORTED: entry("the connection's platform has no adapter for this side (e.g. a feed is a supplier only)", false),
  WEBHOOK_REDIRECTED: entry('a webhook answered with a redirect, which is not followed'),
  // Secrets
  SECRET_NOT_FOUND: entry('a referenced secret does not exist', false),
  SECRET_REF_INVALID: entry('a secret reference is malformed'),
  SECRET_DECRYPT_FAILED: answered('a stored secret cannot be decrypted with the master key', 'per-error', 409),
  MASTER_KEY_MISSING: answered('MERCHFLOW_MASTER_KEY is not set', 'per-error', 503),
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
  AI_NOT_CONFIGURED: answered('no OpenAI key is configured', 'per-error', 409),
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

/**
 * Codes only the API answers with (never a step or workflow failure), each
 * with its HTTP status. The API's error shape (`{code, message, details}`)
 * takes its `code` from these and from the catalogue's entries with `http`.
 */
export const API_ERROR_CATALOGUE = {
  // 400: the request is wrong; the message names the field
  BAD_REQUEST: { http: 400, message: 'the request is malformed' },
  BODY_INVALID: { http: 400, message: 'the body cannot be read' },
  BODY_INVALID_JSON: { http: 400, message: 'the body is not valid JSON' },
  REQUEST_ABORTED: { http: 400, message: 'the request was aborted while its body was read' },
  CODE_IMMUTABLE: { http: 400, message: "a workflow's code cannot change" },
  STEP_NOT_FOUND: { http: 400, message: 'the run has no step with that key' },
  NOT_AN_APPROVAL_STEP: { http: 400, message: 'the step is not an approval step' },
  SCHEDULE_INVALID: { http: 400, message: 'Temporal refused the schedule' },
  VALUE_TOO_LONG: { http: 400, message: 'a value is longer than its column allows' },
  NUMBER_OUT_OF_RANGE: { http: 400, message: 'a number is out of the range its column allows' },
  INVALID_VALUE: { http: 400, message: 'a value has the wrong format for its column' },
  CONSTRAINT_VIOLATION: { http: 400, message: 'a value breaks a rule of its column' },
  // 401, 403
  UNAUTHENTICATED: { http: 401, message: 'no API key, or an unknown, revoked or expired one' },
  FORBIDDEN: { http: 403, message: "the key's role may not do this" },
  // 404 and other 4xx statuses without a more specific code
  NOT_FOUND: { http: 404, message: 'no such record or route' },
  TEMPLATE_NOT_FOUND: { http: 404, message: 'no template of that name' },
  METHOD_NOT_ALLOWED: { http: 405, message: 'the route does not take that method' },
  NOT_ACCEPTABLE: { http: 406, message: 'the answer cannot be given in the accepted type' },
  REQUEST_TIMEOUT: { http: 408, message: 'the request took too long to arrive' },
  LENGTH_REQUIRED: { http: 411, message: 'the request needs a Content-Length' },
  PAYLOAD_TOO_LARGE: { http: 413, message: 'the body is larger than the limit' },
  URI_TOO_LONG: { http: 414, message: 'the URL is too long' },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, message: 'the body is not JSON (send Content-Type: application/json)' },
  UNPROCESSABLE: { http: 422, message: 'the request cannot be processed' },
  NO_ITEMS_TO_RETRY: { http: 422, message: 'no item of the run that did not go through matches the filter' },
  RETRY_NOT_POSSIBLE: { http: 422, message: 'the items cannot be fed back to the step they did not go through' },
  OUTPUT_INVALID: { http: 422, message: "the edited output does not have the step's output shape" },
  TOO_MANY_REQUESTS: { http: 429, message: 'too many requests' },
  // 409: conflicts with the current state
  CONFLICT: { http: 409, message: 'a record with the same unique value already exists' },
  REFERENCE_CONFLICT: { http: 409, message: 'the record is referenced by, or references, another record' },
  BUSY: { http: 409, message: 'the record is being changed by another request; retry shortly' },
  WORKFLOW_EXISTS: { http: 409, message: 'a live workflow already has that code' },
  WORKFLOW_INACTIVE: { http: 409, message: 'the workflow is inactive and cannot run' },
  WORKFLOW_HAS_SCHEDULES: { http: 409, message: 'the workflow still has schedules' },
  EXECUTION_FINISHED: { http: 409, message: 'the run has already finished' },
  EXECUTION_RUNNING: { http: 409, message: 'the run is still running' },
  STEP_NOT_EDITABLE: { http: 409, message: 'the step neither completed nor failed in that run, so it has no output to edit' },
  STEP_FINISHED: { http: 409, message: 'the step has already finished' },
  ALREADY_STARTED: { http: 409, message: 'a run with that id has already started' },
  IDEMPOTENCY_KEY_REUSED: { http: 409, message: 'the idempotency key was used for another request' },
  SCHEDULE_EXISTS: { http: 409, message: 'a schedule with that name exists' },
  SECRET_EXISTS: { http: 409, message: 'a secret with that name exists' },
  SECRET_IN_USE: { http: 409, message: 'the secret is referenced by a connection or channel' },
  CONNECTION_HAS_HISTORY: { http: 409, message: 'the connection has history; disable it instead' },
  CHANNEL_IN_USE: { http: 409, message: 'the channel is used by a notification step' },
  CONNECTION_IN_USE: { http: 409, message: 'the connection is used by schedules; change them or disable the connection' },
  WORKFLOW_ALREADY_RUNNING: { http: 409, message: 'the workflow runs one at a time and a run is in progress' },
  COMPENSATION_FAILED: { http: 409, message: "a compensation failed, so the step's output cannot be reused by a restart" },
  REVIEW_ITEM_DECIDED: { http: 409, message: 'the reviewed item has a decision already (the first decision stands)' },
  REVIEW_CLOSED: { http: 409, message: 'the review is no longer waiting for decisions' },
  // 5xx
  INTERNAL: { http: 500, message: 'an unexpected error; the request id is in details' },
  CONFIG_INVALID: { http: 500, message: 'the server configuration is invalid' },
  SERVICE_UNAVAILABLE: { http: 503, message: 'the service is unavailable' },
  TEMPORAL_UNAVAILABLE: { http: 503, message: 'Temporal is unavailable; retry shortly' },
  SCHEDULE_NOT_SYNCED: { http: 503, message: 'the schedule could not be written to Temporal; retry' },
  RETRY: { http: 503, message: 'a concurrent change conflicted; retry the request' },
  TIMEOUT: { http: 503, message: 'the database took too long to answer' },
} as const satisfies Record<string, { http: number; message: string }>;

/** A code the API may answer with. */
export type ApiErrorCode = keyof typeof API_ERROR_CATALOGUE | { [K in ErrorCode]: (typeof ERROR_CATALOGUE)[K] extends { http: number } ? K : never }[ErrorCode];

/** Every code the API may answer with, with its HTTP status and meaning (the OpenAPI Error schema's `code` enum). */
export const API_ERROR_CODES: ReadonlyArray<{ code: ApiErrorCode; http: number; message: string }> = [
  ...(Object.keys(ERROR_CATALOGUE) as ErrorCode[]).flatMap((code) => {
    const e: ErrorEntry = ERROR_CATALOGUE[code];
    return e.http ? [{ code: code as ApiErrorCode, http: e.http, message: e.message }] : [];
  }),
  ...(Object.keys(API_ERROR_CATALOGUE) as Array<keyof typeof API_ERROR_CATALOGUE>).map((code) => ({ code, ...API_ERROR_CATALOGUE[code] })),
];

const API_STATUS: ReadonlyMap<string, number> = new Map(API_ERROR_CODES.map((c) => [c.code, c.http]));

/** The HTTP status the API answers `code` with. */
export function httpStatusOf(code: ApiErrorCode): number {
  return API_STATUS.get(code) ?? 500;
}

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
