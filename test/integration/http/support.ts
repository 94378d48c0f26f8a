/**
 * Test peers for the HTTP client: real `node:http` servers on 127.0.0.1, and a
 * guard around `net.Socket.prototype.connect` that records every outbound
 * connection and refuses (and records) any whose address is not loopback, so a
 * test can prove that no socket to a blocked address was ever opened.
 */
import http from 'node:http';
import net from 'node:net';
import dns from 'node:dns';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface TestServer {
  port: number;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** `127.0.0.1:<port>`, the allow-list entry for this server. */
  hostPort: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string, index: number) => unknown;

/** Starts a server on 127.0.0.1, port 0; every request is recorded before the handler runs. */
export async function startServer(handler: Handler = (_req, res) => res.end('ok')): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const index = requests.length;
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      Promise.resolve(handler(req, res, body, index)).catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ConnectRecord {
  /** The host given to connect (name or IP). */
  host: string;
  port: number;
  /** Addresses the socket would use (the host itself for IP literals, else the lookup answer). */
  addresses: string[];
}

export interface SocketGuard {
  /** Every connection attempt seen. */
  connects: ConnectRecord[];
  /** Attempts aimed at a non-loopback address; each was refused before connecting. */
  violations: ConnectRecord[];
  connectsToPort(port: number): ConnectRecord[];
  restore(): void;
}

function isLoopback(address: string): boolean {
  const a = address.split('%')[0].toLowerCase();
  if (net.isIPv4(a)) return a.startsWith('127.');
  return a === '::1' || a === '0:0:0:0:0:0:0:1';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address?: string | dns.LookupAddress[], family?: number) => void;
type Lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => void;

/**
 * Wraps `net.Socket.prototype.connect` (used by http, https and tls alike).
 * IP-literal targets are checked directly; for names the `lookup` the socket
 * will use is wrapped so its answer is checked before any connection starts.
 */
export function installSocketGuard(): SocketGuard {
  const original = net.Socket.prototype.connect;
  const connects: ConnectRecord[] = [];
  const violations: ConnectRecord[] = [];

  const guarded = function (this: net.Socket, ...args: unknown[]): net.Socket {
    // net.createConnection passes its already-normalised [options, cb] array.
    const first = args[0];
    let options: Record<string, unknown> | undefined;
    if (Array.isArray(first)) options = first[0] as Record<string, unknown>;
    else if (first && typeof first === 'object') options = first as Record<string, unknown>;
    else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      options = { port: Number(first), host: typeof args[1] === 'string' ? args[1] : 'localhost' };
      args = [options, ...args.slice(typeof args[1] === 'string' ? 2 : 1)];
    }
    if (!options || typeof options.path === 'string') return original.apply(this, args as never);

    const host = typeof options.host === 'string' ? options.host : 'localhost';
    const record: ConnectRecord = { host, port: Number(options.port), addresses: [] };
    connects.push(record);
    if (net.isIP(host)) {
      record.addresses.push(host);
      if (!isLoopback(host)) {
        violations.push(record);
        process.nextTick(() => this.destroy(new Error(`socket guard: refused connection to ${host}`)));
        return this;
      }
      return original.apply(this, args as never);
    }
    const inner = (typeof options.lookup === 'function' ? options.lookup : dns.lookup) as Lookup;
    options.lookup = ((hostname: string, lookupOptions: dns.LookupOptions, callback: LookupCallback) => {
      inner(hostname, lookupOptions, (err, address, family) => {
        if (err) return callback(err, address, family);
        const list = Array.isArray(address) ? address.map((a) => a.address) : [String(address)];
        record.addresses.push(...list);
        if (list.some((a) => !isLoopback(a))) {
          violations.push(record);
          return callback(Object.assign(new Error(`socket guard: refused connection to ${list.join(', ')}`), { code: 'EGUARD' }));
        }
        callback(null, address, family);
      });
    }) as Lookup;
    return original.apply(this, args as never);
  };
  net.Socket.prototype.connect = guarded as typeof original;
  return {
    connects,
    violations,
    connectsToPort: (port) => connects.filter((c) => c.port === port),
    restore: () => {
      net.Socket.prototype.connect = original;
    },
  };
}

/** A `lookup` stub answering every name with fixed addresses, recording the names asked. */
export function stubLookup(answers: Record<string, string[]>): ((hostname: string) => Promise<{ address: string; family: number }[]>) & { asked: string[] } {
  const asked: string[] = [];
  const fn = async (hostname: string) => {
    asked.push(hostname);
    const list = answers[hostname];
    if (!list) throw Object.assign(new Error(`stub: no answer for ${hostname}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: net.isIP(address) }));
  };
  return Object.assign(fn, { asked });
}
