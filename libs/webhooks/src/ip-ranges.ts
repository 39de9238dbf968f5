import { isIP } from 'node:net';

/** Why an address is not a public unicast address. */
export type BlockReason =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'cloud-metadata'
  | 'multicast'
  | 'reserved'
  | 'documentation'
  | 'benchmarking'
  | 'broadcast';

interface Cidr {
  family: 4 | 6;
  base: bigint;
  bits: number;
}

export interface ParsedIp {
  family: 4 | 6;
  value: bigint;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(input: string): bigint | undefined {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hextets.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseV4(tail);
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(Number.parseInt(g, 16));
  }
  return v;
}

/** Parses an IPv4 or IPv6 literal (brackets allowed). Returns undefined when it is not an IP address. */
export function parseIp(address: string): ParsedIp | undefined {
  const a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const fam = isIP(a.split('%')[0] ?? a);
  if (fam === 4) {
    const v = parseV4(a);
    return v === undefined ? undefined : { family: 4, value: v };
  }
  if (fam === 6) {
    const v = parseV6(a);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  return undefined;
}

/** Parses `10.0.0.0/8`, `fc00::/7` or a single address (a /32 or /128). */
export function parseCidr(text: string): Cidr {
  const [addr, len] = text.trim().split('/');
  const ip = parseIp(addr ?? '');
  if (!ip) throw new Error(`"${text}" is not an IP address or CIDR range`);
  const max = ip.family === 4 ? 32 : 128;
  const bits = len === undefined ? max : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) throw new Error(`"${text}" has an invalid prefix length`);
  return { family: ip.family, base: maskOf(ip.value, bits, max), bits };
}

function maskOf(v: bigint, bits: number, max: number): bigint {
  const hostBits = BigInt(max - bits);
  return (v >> hostBits) << hostBits;
}

export function cidrContains(cidr: Cidr, ip: ParsedIp): boolean {
  if (cidr.family !== ip.family) return false;
  return maskOf(ip.value, cidr.bits, cidr.family === 4 ? 32 : 128) === cidr.base;
}

const V4_BLOCKS: [string, BlockReason][] = [
  ['169.254.169.254/32', 'cloud-metadata'],
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
];

const V6_BLOCKS: [string, BlockReason][] = [
  ['fd00:ec2::254/128', 'cloud-metadata'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['100::/64', 'reserved'],
  ['2001::/23', 'reserved'],
  ['2001:db8::/32', 'documentation'],
  ['fc00::/7', 'private'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'reserved'],
  ['ff00::/8', 'multicast'],
];

const BLOCKS: [Cidr, BlockReason][] = [...V4_BLOCKS, ...V6_BLOCKS].map(([c, r]) => [parseCidr(c), r]);

/**
 * The IPv4 address an IPv6 address carries, for the forms that route to it: IPv4-mapped (::ffff:a.b.c.d),
 * IPv4-compatible (::a.b.c.d, deprecated), IPv4/IPv6 translation (64:ff9b::/96, 64:ff9b:1::/48) and 6to4
 * (2002::/16). Undefined for ordinary IPv6.
 */
export function embeddedIpv4(ip: ParsedIp): ParsedIp | undefined {
  if (ip.family !== 6) return undefined;
  const v = ip.value;
  const low32 = v & 0xffffffffn;
  if (v >> 32n === 0xffffn) return { family: 4, value: low32 }; // ::ffff:0:0/96
  if (v >> 32n === 0n && v > 1n) return { family: 4, value: low32 }; // ::/96 (compatible)
  if (v >> 32n === 0x0064ff9b0000000000000000n) return { family: 4, value: low32 }; // 64:ff9b::/96
  if (v >> 80n === 0x0064ff9b0001n) return { family: 4, value: low32 }; // 64:ff9b:1::/48 (local use)
  if (v >> 112n === 0x2002n) return { family: 4, value: (v >> 80n) & 0xffffffffn }; // 6to4
  return undefined;
}

/** Why `address` must not be called, or undefined when it is a public unicast address. */
export function blockReason(address: string | ParsedIp): BlockReason | undefined {
  const ip = typeof address === 'string' ? parseIp(address) : address;
  if (!ip) return 'reserved';
  const inner = embeddedIpv4(ip);
  if (inner) return blockReason(inner) ?? undefined;
  for (const [cidr, reason] of BLOCKS) if (cidrContains(cidr, ip)) return reason;
  return undefined;
}

/**
 * The text form of an address: dotted quad for IPv4, RFC 5952 for IPv6 (lower case, the longest run of two
 * or more zero groups as `::`, IPv4-mapped as `::ffff:a.b.c.d`), so refusals name `127.0.0.1` or `::1`.
 */
export function formatIp(ip: ParsedIp): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  if (ip.value >> 32n === 0xffffn) return `::ffff:${formatIp({ family: 4, value: ip.value & 0xffffffffn })}`;
  const groups: number[] = [];
  for (let i = 7n; i >= 0n; i--) groups.push(Number((ip.value >> (i * 16n)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}
