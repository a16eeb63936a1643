/**
 * Who a request comes from, for per-client limits: the peer address of the connection, or with a
 * trusted proxy in front (`COLLOQUY_TRUST_PROXY`) the address that proxy saw — the LAST entry of
 * `X-Forwarded-For`, the one it appended (entries before it are whatever the client sent, so they
 * are never trusted).
 *
 * The key groups what one client controls: an IPv4 address as is (IPv4-mapped IPv6 too), an IPv6
 * address by its /64 network (one subscriber usually holds a whole /64, so per-address limits
 * would not hold anyone back).
 */
import { isIP } from 'node:net';
import { embeddedIpv4, expandIpv6 } from './address-policy.ts';

/** The limit key of a client: `a.b.c.d`, `xxxx:xxxx:xxxx:xxxx::/64`, or `unknown`. */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const bare = address
    .trim()
    .replace(/^\[|\]$/g, '')
    .split('%')[0];
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family !== 6) return 'unknown';
  const mapped = embeddedIpv4(bare);
  const words = expandIpv6(bare);
  if (!words) return 'unknown';
  // Only the IPv4-mapped form (::ffff:a.b.c.d) is the same host; NAT64/6to4 are other routes.
  if (mapped && words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return mapped;
  return `${words
    .slice(0, 4)
    .map((w) => w.toString(16))
    .join(':')}::/64`;
}

/**
 * The client of a request: `remoteAddress` of its socket, or with `trustProxy` the last address in
 * `X-Forwarded-For` (when it is an IP address).
 */
export function clientAddress(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustProxy: boolean,
): string {
  if (trustProxy && forwardedFor !== undefined) {
    const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
    const last = header.split(',').at(-1)?.trim();
    if (last && clientKey(last) !== 'unknown') return clientKey(last);
  }
  return clientKey(remoteAddress);
}
