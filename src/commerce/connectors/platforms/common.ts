/**
 * What the platform modules share: the connector options of a row, the clear
 * non-retryable error for refused credentials, and the connection probe.
 */
import { StepError, errorCode } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';
import { ConnectorHttp, connectorOptionsFrom, type ConnectorOptions } from '../connector-http';
import type { MapOutcome } from './mapping';
import type { AdapterDeps, ConnectionRow, ProbeResult } from './types';

/** Most pages one read walks (a guard against a server that never stops). */
export const MAX_PAGES = 100_000;

/** `supplier acme (12)`: how errors name a connection. */
export function connectionName(row: Pick<ConnectionRow, 'code' | 'id'>, side = 'connection'): string {
  return `${side} ${row.code} (${row.id})`;
}

/** The ConnectorHttp of a row (auth from its credentials and resolved secret, timeouts, retries, pace). */
export function httpOf(deps: AdapterDeps, extra: Partial<ConnectorOptions> = {}): ConnectorHttp {
  return new ConnectorHttp(deps.client, { ...connectorOptionsFrom(deps.row, deps.secret), ...extra });
}

/** 401/403: the credentials are wrong; retrying cannot help. */
export function authRefused(row: ConnectionRow, side: string, status: number, request: string): StepError {
  const secret = row.credentials?.secret;
  return new StepError(
    ErrorCodes.CONNECTION_AUTH_FAILED,
    `${connectionName(row, side)} refused the credentials (HTTP ${status}) to ${request}: ${secret ? `check secret ${secret} (merchflow secrets set ${secret})` : 'it needs credentials (credentials.type and credentials.secret)'}`,
    { retryable: false, details: { status, connection: row.code, id: row.id } },
  );
}

/** What a probe read returns before mapping. */
export interface ProbeRead {
  request: string;
  status: number;
  items?: unknown[];
}

/**
 * Runs one cheap read and reports what it saw; never throws. `read` answers
 * any status (the probe classifies it); `map` maps the first item.
 */
export async function probeWith(row: ConnectionRow, read: () => Promise<ProbeRead>, map?: (item: unknown) => Promise<MapOutcome<unknown>>, opts: { notFoundIsOk?: boolean } = {}): Promise<ProbeResult> {
  let seen: ProbeRead;
  try {
    seen = await read();
  } catch (err) {
    const status = err instanceof StepError ? err.info.status : undefined;
    const code = errorCode(err);
    const reachable = typeof status === 'number' || (code !== undefined && !['HTTP_CONNECTION_ERROR', 'HTTP_TIMEOUT', 'DNS_LOOKUP_FAILED', 'SSRF_BLOCKED', 'INVALID_URL'].includes(code));
    return { reachable, authenticated: false, status: typeof status === 'number' ? status : undefined, reason: `${code ? `${code}: ` : ''}${(err as Error).message}` };
  }
  const { status, request } = seen;
  const base = { reachable: true, status, request };
  if (status === 401 || status === 403) {
    const secret = row.credentials?.secret;
    return { ...base, authenticated: false, reason: `the endpoint refused the credentials (HTTP ${status})${secret ? `: check secret ${secret}` : ': it needs credentials'}` };
  }
  if (status === 404 && opts.notFoundIsOk) return { ...base, authenticated: true };
  if (status < 200 || status >= 300) return { ...base, authenticated: true, reason: `the endpoint answered HTTP ${status} to ${request}` };
  if (!seen.items) return { ...base, authenticated: true };
  if (seen.items.length === 0) return { ...base, authenticated: true, reason: 'reachable and authenticated; the list is empty, so no sample item' };
  const raw = seen.items[0];
  if (!map) return { ...base, authenticated: true, raw, sample: raw };
  const mapped = await map(raw);
  return mapped.ok ? { ...base, authenticated: true, raw, sample: mapped.value } : { ...base, authenticated: true, raw, reason: `the sample item could not be mapped: ${mapped.reason}` };
}
