/**
 * Address classification for SSRF protection: which IP addresses an outbound
 * call may reach without being allow-listed, and host-name normalisation that
 * turns every numeric spelling (`0x7f000001`, `2130706433`, `017700000001`,
 * `127.1`, `[::ffff:127.0.0.1]`) into the address the socket would use.
 */
import net from 'node:net';
import { StepError } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';

/** Why an address is (or is not) reachable. Everything but `public` is blocked. */
export type AddressCategory =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link_local'
  | 'metadata'
  | 'multicast'
  | 'unique_local'
  | 'reserved';

export interface AddressClassification {
  /** The address as given, without an IPv6 zone id. */
  address: string;
  family: 4 | 6;
  category: AddressCategory;
  /** True for every category except `public`. */
  blocked: boolean;
  /** For IPv4-mapped, -compatible, NAT64 and 6to4 IPv6 forms: the embedded IPv4 address. */
  embeddedIPv4?: string;
}

/** Cloud instance-metadata endpoints; reported as `metadata` rather than their range. */
const METADATA_V4 = new Set(['169.254.169.254', '169.254.170.2', '168.63.129.16', '100.100.100.200', '192.0.0.192']);
const METADATA_V6 = new Set(['fd00:ec2:0:0:0:0:0:254']);

/** [first address, prefix length, category]; first match wins, so specific entries come first. */
const V4_RANGES: ReadonlyArray<[string, number, AddressCategory]> = [
  ['0.0.0.0', 8, 'unspecified'], // "this network"; 0.0.0.0 itself reaches the local host on Linux
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'cgnat'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link_local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['192.0.2.0', 24, 'reserved'], // TEST-NET-1
  ['192.88.99.0', 24, 'reserved'], // 6to4 relay anycast
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['198.51.100.0', 24, 'reserved'], // TEST-NET-2
  ['203.0.113.0', 24, 'reserved'], // TEST-NET-3
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // includes 255.255.255.255
];

const V4_TABLE = V4_RANGES.map(([base, bits, category]) => ({
  base: ipv4ToInt(base),
  mask: bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0,
  category,
}));

/** Parses a strict dotted-quad IPv4 address to an unsigned 32-bit integer. */
function ipv4ToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`not an IPv4 address: ${ip}`);
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

function intToIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

/** Parses any valid IPv6 text form (zone ids dropped, dotted tails accepted) to eight 16-bit groups. */
function ipv6ToGroups(ip: string): number[] {
  let s = ip;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4ToInt(tail);
    s = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) throw new Error(`not an IPv6 address: ${ip}`);
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 ? (halves[1] ? halves[1].split(':') : []) : null;
  const fill = rest === null ? 0 : 8 - head.length - rest.length;
  const groups = [...head, ...new Array<string>(Math.max(0, fill)).fill('0'), ...(rest ?? [])];
  if (groups.length !== 8) throw new Error(`not an IPv6 address: ${ip}`);
  return groups.map((g) => {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) throw new Error(`not an IPv6 address: ${ip}`);
    return parseInt(g, 16);
  });
}

function classifyV4(ip: string): AddressCategory {
  if (METADATA_V4.has(ip)) return 'metadata';
  const n = ipv4ToInt(ip);
  for (const r of V4_TABLE) {
    if (((n & r.mask) >>> 0) === r.base) return r.category;
  }
  return 'public';
}

function classifyV6(groups: number[]): { category: AddressCategory; embeddedIPv4?: string } {
  const key = groups.map((g) => g.toString(16)).join(':');
  if (METADATA_V6.has(key)) return { category: 'metadata' };
  const zeroPrefix = (n: number) => groups.slice(0, n).every((g) => g === 0);
  const v4At = (hi: number) => intToIPv4(((groups[hi] << 16) | groups[hi + 1]) >>> 0);

  if (zeroPrefix(8)) return { category: 'unspecified' };
  if (zeroPrefix(7) && groups[7] === 1) return { category: 'loopback' };
  // ::ffff:a.b.c.d reaches the IPv4 host on dual-stack sockets: judge the IPv4 address.
  if (zeroPrefix(5) && groups[5] === 0xffff) {
    const v4 = v4At(6);
    return { category: classifyV4(v4), embeddedIPv4: v4 };
  }
  // ::a.b.c.d (deprecated IPv4-compatible): never legitimate, blocked even when the IPv4 part is public.
  if (zeroPrefix(6)) {
    const v4 = v4At(6);
    const inner = classifyV4(v4);
    return { category: inner === 'public' ? 'reserved' : inner, embeddedIPv4: v4 };
  }
  // 64:ff9b::/96 NAT64: the gateway forwards to the embedded IPv4 address.
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) {
    const v4 = v4At(6);
    return { category: classifyV4(v4), embeddedIPv4: v4 };
  }
  // 2002::/16 6to4: the relay forwards to the IPv4 address in bits 16-47.
  if (groups[0] === 0x2002) {
    const v4 = v4At(1);
    return { category: classifyV4(v4), embeddedIPv4: v4 };
  }
  const first = groups[0];
  if ((first & 0xff00) === 0xff00) return { category: 'multicast' };
  if ((first & 0xffc0) === 0xfe80) return { category: 'link_local' };
  if ((first & 0xfe00) === 0xfc00) return { category: 'unique_local' };
  // Only 2000::/3 is allocated global unicast; everything else (fec0::/10, 100::/64, 64:ff9b:1::/48, ...) is reserved.
  if ((first & 0xe000) !== 0x2000) return { category: 'reserved' };
  if (first === 0x2001 && groups[1] < 0x200) return { category: 'reserved' }; // 2001::/23 incl. Teredo, ORCHID
  if (first === 0x2001 && groups[1] === 0xdb8) return { category: 'reserved' }; // documentation
  if ((first & 0xfff0) === 0x3ff0 && groups[1] < 0x1000) return { category: 'reserved' }; // 3fff::/20 documentation
  return { category: 'public' };
}

/**
 * Classifies an IP address literal (IPv4 dotted quad or any IPv6 text form).
 * Throws `INVALID_URL` for anything that is not an IP literal; host names go
 * through {@link normalizeHost} and a DNS lookup first.
 *
 * @example classifyAddress('::ffff:7f00:1') // { category: 'loopback', blocked: true, embeddedIPv4: '127.0.0.1', ... }
 */
export function classifyAddress(address: string): AddressClassification {
  const bare = stripBrackets(address);
  const family = net.isIP(bare);
  if (family === 4) {
    const category = classifyV4(bare);
    return { address: bare, family: 4, category, blocked: category !== 'public' };
  }
  if (family === 6) {
    const noZone = bare.split('%')[0];
    const { category, embeddedIPv4 } = classifyV6(ipv6ToGroups(noZone));
    return {
      address: noZone,
      family: 6,
      category,
      blocked: category !== 'public',
      ...(embeddedIPv4 ? { embeddedIPv4 } : {}),
    };
  }
  throw new StepError(ErrorCodes.INVALID_URL, `not an IP address: ${JSON.stringify(address)}`);
}

/** True when connecting to `address` needs an allow-list entry. */
export function isBlockedAddress(address: string): boolean {
  return classifyAddress(address).blocked;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export interface NormalizedHost {
  /** Lower-case host name or canonical IP (IPv6 without brackets), as the WHATWG URL parser sees it. */
  hostname: string;
  /** Same as `hostname` when it is an IP literal, else null. */
  ip: string | null;
}

/**
 * Normalises a host the way `new URL()` does, so numeric spellings are
 * recognised as the addresses they denote: `0x7f000001`, `2130706433`,
 * `017700000001` and `127.1` all become `127.0.0.1`; `[::ffff:127.0.0.1]`
 * becomes `::ffff:7f00:1`. Accepts bare or bracketed IPv6.
 *
 * @example normalizeHost('0x7f000001') // { hostname: '127.0.0.1', ip: '127.0.0.1' }
 */
export function normalizeHost(host: string): NormalizedHost {
  const raw = host.trim();
  const wrapped = raw.includes(':') && !raw.startsWith('[') ? `[${raw}]` : raw;
  let hostname: string;
  try {
    hostname = new URL(`http://${wrapped}/`).hostname;
  } catch {
    throw new StepError(ErrorCodes.INVALID_URL, `invalid host: ${JSON.stringify(host)}`);
  }
  if (!hostname) throw new StepError(ErrorCodes.INVALID_URL, `invalid host: ${JSON.stringify(host)}`);
  const bare = stripBrackets(hostname);
  return { hostname: bare, ip: net.isIP(bare) ? bare : null };
}
