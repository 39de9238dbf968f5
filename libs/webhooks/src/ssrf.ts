import { lookup as dnsLookup, type LookupAllOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { type BlockReason, blockReason, cidrContains, formatIp, type ParsedIp, parseCidr, parseIp } from './ip-ranges.ts';

/**
 * Where outbound webhook calls may go. By default only public unicast addresses over http(s).
 * `allow` lists CIDR ranges / addresses (e.g. `127.0.0.1/32`, `::1`) or exact host names that are let
 * through although they would be refused (tests allow loopback this way). `httpsOnly` refuses plain http.
 */
export interface SsrfPolicy {
  allow?: readonly string[];
  httpsOnly?: boolean;
}

export class UnsafeUrlError extends Error {
  readonly reason: BlockReason | 'invalid-url' | 'scheme' | 'unresolvable';
  readonly address: string | undefined;
  constructor(message: string, reason: UnsafeUrlError['reason'], address?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnsafeUrlError';
    this.reason = reason;
    this.address = address;
  }
}

interface CompiledPolicy {
  ranges: ReturnType<typeof parseCidr>[];
  hosts: Set<string>;
  httpsOnly: boolean;
}

const compiled = new WeakMap<SsrfPolicy, CompiledPolicy>();

function compile(policy: SsrfPolicy): CompiledPolicy {
  const hit = compiled.get(policy);
  if (hit) return hit;
  const ranges: ReturnType<typeof parseCidr>[] = [];
  const hosts = new Set<string>();
  for (const raw of policy.allow ?? []) {
    const entry = raw.trim();
    if (!entry) continue;
    if (parseIp(entry.split('/')[0] ?? '')) ranges.push(parseCidr(entry));
    else hosts.add(entry.toLowerCase());
  }
  const c = { ranges, hosts, httpsOnly: policy.httpsOnly ?? false };
  compiled.set(policy, c);
  return c;
}

/** Parses a comma-separated allowlist from config (`127.0.0.1/32,::1,localhost`). */
export function parseAllowlist(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      if (parseIp(s.split('/')[0] ?? '')) parseCidr(s); // throws on a malformed range at start-up
      return s;
    });
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Throws UnsafeUrlError when `address` is refused by the policy. */
export function assertAllowedAddress(address: string | ParsedIp, policy: SsrfPolicy): void {
  const ip = typeof address === 'string' ? parseIp(address) : address;
  if (!ip) throw new UnsafeUrlError(`"${String(address)}" is not an IP address`, 'reserved', String(address));
  // The address as an address (127.0.0.1, ::1), whatever form the caller wrote it in (2130706433, 0x7f000001).
  const text = formatIp(ip);
  const c = compile(policy);
  if (c.ranges.some((r) => cidrContains(r, ip))) return;
  const reason = blockReason(ip);
  if (reason) throw new UnsafeUrlError(`address ${text} is not allowed (${reason})`, reason, text);
}

export type Resolver = (hostname: string) => Promise<string[]>;

const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => {
      if (err) reject(err);
      else resolve(addresses.map((a) => a.address));
    });
  });

/**
 * Checks a webhook URL at registration: a valid absolute http(s) URL (https only when the policy says so)
 * whose host, after DNS resolution, has only allowed addresses. Returns the parsed URL and the addresses.
 */
export async function assertPublicUrl(
  url: string,
  policy: SsrfPolicy,
  resolve: Resolver = systemResolver,
): Promise<{ url: URL; addresses: string[] }> {
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw new UnsafeUrlError('not a valid absolute URL', 'invalid-url', undefined, { cause: err });
  }
  const c = compile(policy);
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new UnsafeUrlError(`scheme ${u.protocol} is not allowed`, 'scheme');
  if (c.httpsOnly && u.protocol !== 'https:') throw new UnsafeUrlError('only https URLs are allowed', 'scheme');
  const host = stripBrackets(u.hostname).toLowerCase();
  if (!host) throw new UnsafeUrlError('URL has no host', 'invalid-url');
  if (c.hosts.has(host)) return { url: u, addresses: [] };
  const literal = parseIp(host);
  if (literal) {
    assertAllowedAddress(literal, policy);
    return { url: u, addresses: [host] };
  }
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    throw new UnsafeUrlError(`host ${host} does not resolve`, 'unresolvable', undefined, { cause: err });
  }
  if (addresses.length === 0) throw new UnsafeUrlError(`host ${host} does not resolve`, 'unresolvable');
  for (const a of addresses) assertAllowedAddress(a, policy);
  return { url: u, addresses };
}

/**
 * A `net` lookup function that resolves, then refuses the connection unless EVERY resolved address is
 * allowed. Used at send time, so the address checked is the address connected to (no DNS-rebinding window).
 */
export function safeLookup(policy: SsrfPolicy): LookupFunction {
  const c = compile(policy);
  return (hostname, options, callback) => {
    const opts: LookupAllOptions = { ...options, all: true, verbatim: true };
    dnsLookup(hostname, opts, (err, addresses) => {
      if (err) return callback(err, []);
      if (!c.hosts.has(hostname.toLowerCase())) {
        try {
          for (const a of addresses) assertAllowedAddress(a.address, policy);
        } catch (e) {
          return callback(e as NodeJS.ErrnoException, []);
        }
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new UnsafeUrlError(`host ${hostname} does not resolve`, 'unresolvable'), []);
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * An undici dispatcher for outbound webhooks that enforces the policy on every connection: IP-literal
 * hosts are checked before connecting, names are checked in `connect.lookup` after resolution, and the
 * connected socket's remote address is checked once more before any request byte is written.
 */
export function createSafeDispatcher(policy: SsrfPolicy, options: Agent.Options & { connectTimeoutMs?: number } = {}): Agent {
  const c = compile(policy);
  const { connectTimeoutMs, ...agentOptions } = options;
  const base = buildConnector({ lookup: safeLookup(policy), timeout: connectTimeoutMs ?? 10_000 });
  const connect: buildConnector.connector = (opts, callback) => {
    const host = stripBrackets(opts.hostname).toLowerCase();
    const hostAllowed = c.hosts.has(host);
    if (!hostAllowed && parseIp(host)) {
      try {
        assertAllowedAddress(host, policy);
      } catch (err) {
        callback(err as Error, null);
        return;
      }
    }
    base(opts, (err, socket) => {
      if (err || !socket) {
        callback(err ?? new Error('connect failed'), null);
        return;
      }
      const remote = socket.remoteAddress;
      if (!hostAllowed && remote) {
        try {
          assertAllowedAddress(remote, policy);
        } catch (e) {
          socket.destroy();
          callback(e as Error, null);
          return;
        }
      }
      callback(null, socket);
    });
  };
  return new Agent({ ...agentOptions, connect });
}
