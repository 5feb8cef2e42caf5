import { lookup } from 'node:dns/promises';
import net from 'node:net';

// SSRF protection: in live mode an endpoint may not point at this machine or
// its private network (loopback, RFC 1918, link-local incl. cloud metadata
// 169.254.169.254, CGNAT, unique-local IPv6, ...). Test mode allows them so a
// developer can receive webhooks on localhost. Checked when the endpoint is
// saved and again before every delivery (DNS answers change).

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

/** Null when the URL's host resolves only to public addresses, else why not. */
export async function privateAddressReason(url: URL): Promise<string | null> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = net.isIP(host)
      ? [host]
      : (await withTimeout(lookup(host, { all: true, verbatim: true }), DNS_TIMEOUT_MS)).map(
          (a) => a.address,
        );
  } catch {
    return `the host ${host} does not resolve`;
  }
  const bad = addresses.find(isPrivateAddress);
  return bad === undefined
    ? null
    : `the host ${host} resolves to a private, loopback or link-local address (${bad})`;
}

/** getaddrinfo takes no timeout: bound the wait ourselves. */
function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('DNS lookup timed out')), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
