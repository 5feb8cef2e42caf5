import type dns from 'node:dns';
import { lookup } from 'node:dns/promises';
import net from 'node:net';

// SSRF protection: in live mode an endpoint may not point at this machine or
// its private network (loopback, RFC 1918, link-local incl. cloud metadata
// 169.254.169.254, CGNAT, unique-local IPv6, ...). Test mode allows them so a
// developer can receive webhooks on localhost. Checked when the endpoint is
// saved, and at delivery by the connection itself: the request's `lookup`
// (publicOnlyLookup) resolves the name, refuses it if any answer is private
// and hands the socket only the addresses it checked, so a DNS server that
// answers differently the second time (DNS rebinding) gains nothing.

const DNS_TIMEOUT_MS = 5_000;

const BLOCKED = new net.BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  // NAT64 (RFC 6052 well-known prefix, RFC 8215 local use): 64:ff9b::7f00:1 is
  // 127.0.0.1 through a translator on the path, so the embedded IPv4 address
  // is what is reached.
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family === 6) {
    // IPv4-mapped IPv6 (::ffff:127.0.0.1) is the IPv4 address in disguise.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1]) return BLOCKED.check(mapped[1], 'ipv4');
    return BLOCKED.check(address, 'ipv6');
  }
  return true;
}

/** Resolves a host name to all its addresses (getaddrinfo, bounded); injectable for tests. */
export type Resolver = (host: string) => Promise<dns.LookupAddress[]>;

/** Test seam: the resolver systemResolver uses instead of getaddrinfo (null: getaddrinfo). */
let resolverForTests: Resolver | null = null;

/**
 * Makes systemResolver answer with `resolver` (a scripted DNS server) in this
 * process, for end-to-end tests of an engine built in-process; null restores
 * getaddrinfo. Never called outside tests.
 */
export function setResolverForTests(resolver: Resolver | null): void {
  resolverForTests = resolver;
}

export const systemResolver: Resolver = (host) =>
  resolverForTests
    ? resolverForTests(host)
    : withTimeout(lookup(host, { all: true, verbatim: true }), DNS_TIMEOUT_MS);

/** A connection refused because its host resolved to a private address (or not at all). */
export class PrivateAddressError extends Error {
  override name = 'PrivateAddressError';
  readonly code = 'EPRIVATEADDRESS';
}

/** The URL's host without IPv6 brackets. */
export function urlHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/** Null when the URL's host resolves only to public addresses, else why not. */
export async function privateAddressReason(
  url: URL,
  resolve: Resolver = systemResolver,
): Promise<string | null> {
  try {
    await checkedAddresses(urlHost(url), resolve);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Every address of `host`, if all are public; else a PrivateAddressError saying why not. */
async function checkedAddresses(host: string, resolve: Resolver): Promise<dns.LookupAddress[]> {
  let addresses: dns.LookupAddress[];
  try {
    const family = net.isIP(host);
    addresses = family ? [{ address: host, family }] : await resolve(host);
  } catch {
    throw new PrivateAddressError(`the host ${host} does not resolve`);
  }
  if (addresses.length === 0) throw new PrivateAddressError(`the host ${host} does not resolve`);
  const bad = addresses.find((a) => isPrivateAddress(a.address));
  if (bad !== undefined) {
    throw new PrivateAddressError(
      `the host ${host} resolves to a private, loopback or link-local address (${bad.address})`,
    );
  }
  return addresses;
}

/**
 * A `lookup` for node:http / node:https / node:net that resolves the host,
 * refuses the connection (PrivateAddressError) if any of its addresses is
 * private, and otherwise gives the socket exactly the addresses it checked.
 * The check and the connection therefore see the same DNS answer. TLS SNI
 * and the Host header still carry the host name: only the address is chosen
 * here. Note: Node does not call `lookup` for an IP literal; check those
 * with isPrivateAddress before connecting.
 */
export function publicOnlyLookup(resolve: Resolver = systemResolver): net.LookupFunction {
  return (hostname, options, callback) => {
    checkedAddresses(hostname, resolve).then(
      (all) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const addresses = wanted ? all.filter((a) => a.family === wanted) : all;
        const first = addresses[0];
        if (!first) {
          callback(new PrivateAddressError(`the host ${hostname} has no IPv${wanted} address`), '');
        } else if (options.all) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (error: Error) => callback(error, ''),
    );
  };
}

/** getaddrinfo takes no timeout: bound the wait ourselves. */
function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('DNS lookup timed out')), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
