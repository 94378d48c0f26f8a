/**
 * Host lists: the SSRF allow-list (`HTTP_ALLOW_HOSTS`) and the hosts a
 * credential may be sent to. Entries are matched against the normalised
 * request host, never against the resolved address, so allowing
 * `127.0.0.1:8080` does not allow `localhost:8080`.
 */
import { normalizeHost } from '@engine/activities/shared/http/address';
import { StepError } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';

/** One parsed list entry. */
export interface HostPattern {
  /** Normalised host, or the suffix (without `*.`) of a wildcard entry. */
  host: string;
  /** Undefined means any port. */
  port?: number;
  /** `*.example.com`: any subdomain of example.com (not example.com itself). */
  wildcard: boolean;
}

/**
 * Parses one entry: `host`, `host:port`, `[v6]:port`, `*.example.com[:port]`
 * or a URL (`https://api.example.com`, whose port defaults from the scheme).
 * Numeric spellings are normalised, so `0x7f000001:80` equals `127.0.0.1:80`.
 */
export function parseHostPattern(entry: string): HostPattern {
  const raw = entry.trim();
  if (!raw) throw new StepError(ErrorCodes.INVALID_URL, 'empty host list entry');
  if (raw.includes('://')) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new StepError(ErrorCodes.INVALID_URL, `invalid host list entry: ${JSON.stringify(entry)}`);
    }
    const { hostname } = normalizeHost(url.hostname);
    return { host: hostname, port: effectivePort(url), wildcard: false };
  }
  let hostPart = raw;
  let portPart: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(raw);
  if (bracketed) {
    hostPart = bracketed[1];
    portPart = bracketed[2];
  } else if ((raw.match(/:/g) ?? []).length === 1) {
    [hostPart, portPart] = raw.split(':');
  } // more than one colon and no brackets: a bare IPv6 address, any port
  let port: number | undefined;
  if (portPart !== undefined) {
    port = Number(portPart);
    if (!/^\d{1,5}$/.test(portPart) || port < 1 || port > 65535) {
      throw new StepError(ErrorCodes.INVALID_URL, `invalid port in host list entry: ${JSON.stringify(entry)}`);
    }
  }
  const wildcard = hostPart.startsWith('*.');
  const host = normalizeHost(wildcard ? hostPart.slice(2) : hostPart).hostname;
  return { host, port, wildcard };
}

/**
 * Parses a comma- or whitespace-separated list (the `HTTP_ALLOW_HOSTS` format).
 *
 * @example parseHostList('127.0.0.1:4010, sandbox.local, *.example.com')
 */
export function parseHostList(raw: string | readonly string[] | undefined | null): HostPattern[] {
  if (!raw) return [];
  const entries = typeof raw === 'string' ? raw.split(/[\s,]+/) : raw;
  return entries.filter((e) => e.trim() !== '').map(parseHostPattern);
}

/** The port a URL connects to, filling in the scheme default. */
export function effectivePort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** Whether `hostname` (already normalised, IPv6 without brackets) on `port` matches any pattern. */
export function hostMatches(patterns: readonly HostPattern[], hostname: string, port: number): boolean {
  const host = hostname.toLowerCase();
  return patterns.some((p) => {
    if (p.port !== undefined && p.port !== port) return false;
    return p.wildcard ? host.endsWith(`.${p.host}`) : host === p.host;
  });
}
