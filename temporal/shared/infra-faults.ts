/**
 * Infrastructure faults: PostgreSQL or Temporal being unreachable, restarting
 * or refusing connections. They say nothing about the step or the request, so
 * the worker waits them out (within the outage budget) without spending a
 * step's retries, and the API answers 503 with Retry-After instead of 500.
 *
 * Pure (no imports): used by the worker's step runner and the API's error filter.
 */

export type Dependency = 'database' | 'temporal';

/** Socket errors that mean the peer is not there (or went away mid-call). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTCONN', 'ECONNABORTED', 'EAI_AGAIN']);

/**
 * SQLSTATEs of an unavailable server: class 08 (connection exception),
 * 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now,
 * 53300 too_many_connections.
 */
function isUnavailableSqlState(s: string): boolean {
  return /^08/.test(s) || s === '57P01' || s === '57P02' || s === '57P03' || s === '53300';
}

/** Messages of node-postgres, pg-pool and TypeORM when the server is gone or unreachable. */
const PG_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed|the database system is (starting up|shutting down|in recovery mode)|terminating connection due to administrator command|Client was closed and is not queryable|Cannot use a pool after calling end/i;

/** gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4) from the Temporal frontend. */
const TEMPORAL_MESSAGES = /Failed to connect|tcp connect error|transport error|DEADLINE_EXCEEDED|UNAVAILABLE|Connection refused|Failed to reach Temporal/i;

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  type?: unknown;
  details?: unknown;
  cause?: unknown;
  driverError?: unknown;
  errors?: unknown;
}

/**
 * Which dependency an error says is unavailable, or null when the error is
 * anything else (a bad query, a business rejection, an outside HTTP peer).
 * Looks through `cause`, TypeORM's `driverError`, AggregateError's `errors`
 * and the `sqlstate` a database_query StepError carries in its details.
 */
export function unavailableDependency(err: unknown, depth = 0): Dependency | null {
  if (!err || typeof err !== 'object' || depth > 5) return null;
  const e = err as ErrorLike;
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : '';
  const code = e.code;
  // Failures of outside HTTP peers carry their own codes and spend the step's retries.
  if (typeof e.type === 'string' && /^HTTP_|^SSRF|^OAUTH|^DNS/.test(e.type)) return null;
  if (typeof code === 'string' && isUnavailableSqlState(code) && /^[0-9A-Z]{5}$/.test(code)) return 'database';
  const first = Array.isArray(e.details) ? (e.details[0] as { sqlstate?: unknown } | undefined) : undefined;
  if (first && typeof first.sqlstate === 'string' && isUnavailableSqlState(first.sqlstate)) return 'database';
  if (name === 'ServiceError' || name === 'TransportError' || name === 'ConnectionError' || name === 'GrpcError') {
    const grpc = typeof code === 'number' ? code : (e.cause as { code?: unknown } | undefined)?.code;
    if (grpc === 14 || grpc === 4 || TEMPORAL_MESSAGES.test(message)) return 'temporal';
  }
  if (typeof code === 'number' && (code === 14 || code === 4) && /UNAVAILABLE|DEADLINE_EXCEEDED/.test(message)) return 'temporal';
  if (PG_MESSAGES.test(message)) return 'database';
  if (typeof code === 'string' && SOCKET_CODES.has(code)) {
    // Whose socket: node-postgres errors carry the port, as do Temporal's messages; default to the database.
    return TEMPORAL_MESSAGES.test(message) && !/postgres/i.test(message) ? 'temporal' : 'database';
  }
  for (const inner of [e.driverError, e.cause]) {
    const found = unavailableDependency(inner, depth + 1);
    if (found) return found;
  }
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const found = unavailableDependency(inner, depth + 1);
      if (found) return found;
    }
  }
  return null;
}

/** Whether `err` is an infrastructure fault (see {@link unavailableDependency}). */
export function isInfrastructureFault(err: unknown): boolean {
  return unavailableDependency(err) !== null;
}
