/**
 * Which network addresses an outgoing request made for a model or a client (the `http` tool) may
 * reach. By default only public unicast addresses: loopback in every spelling, private ranges
 * (RFC 1918, unique-local IPv6), link-local (and so the cloud metadata endpoints 169.254.169.254 and
 * fd00:ec2::254), CGNAT, `0.0.0.0`/`::`, multicast, documentation and reserved ranges are refused —
 * also when an IPv6 address embeds one (`::ffff:127.0.0.1`, NAT64, 6to4).
 *
 * The check runs on the addresses a host name RESOLVES to, and the request then connects to the
 * checked address itself (`resolveAllowed` + a pinned `lookup`), so a DNS answer that changes between
 * check and connect (DNS rebinding) cannot slip through. Hostnames are parsed by the WHATWG URL
 * parser first, which turns `2130706433`, `0177.0.0.1`, `0x7f000001` and `127.1` into `127.0.0.1`.
 *
 * Deployments that call internal services on purpose list them: `allow` takes host names (exact,
 * case-insensitive), IP addresses and CIDR ranges (`10.0.0.0/8`, `fd00::/8`).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ConfigError, ToolError } from '../errors.ts';

const FORBIDDEN_V4: Array<[string, number, string]> = [
  ['0.0.0.0', 8, 'an unspecified address'],
  ['10.0.0.0', 8, 'a private address'],
  ['100.64.0.0', 10, 'a shared (CGNAT) address'],
  ['127.0.0.0', 8, 'a loopback address'],
  ['169.254.0.0', 16, 'a link-local (metadata) address'],
  ['172.16.0.0', 12, 'a private address'],
  ['192.0.0.0', 24, 'a reserved address'],
  ['192.0.2.0', 24, 'a documentation address'],
  ['192.88.99.0', 24, 'a reserved address'],
  ['192.168.0.0', 16, 'a private address'],
  ['198.18.0.0', 15, 'a benchmarking address'],
  ['198.51.100.0', 24, 'a documentation address'],
  ['203.0.113.0', 24, 'a documentation address'],
  ['224.0.0.0', 4, 'a multicast address'],
  ['240.0.0.0', 4, 'a reserved address'],
];
const FORBIDDEN_V6: Array<[string, number, string]> = [
  ['::', 128, 'an unspecified address'],
  ['::1', 128, 'a loopback address'],
  ['100::', 64, 'a discard address'],
  ['2001:db8::', 32, 'a documentation address'],
  ['fc00::', 7, 'a private (unique-local) address'],
  ['fe80::', 10, 'a link-local address'],
  ['fec0::', 10, 'a site-local address'],
  ['ff00::', 8, 'a multicast address'],
];

const forbidden = (() => {
  const lists = new Map<string, BlockList>();
  for (const [net, prefix, why] of FORBIDDEN_V4) {
    const list = lists.get(why) ?? new BlockList();
    list.addSubnet(net, prefix, 'ipv4');
    lists.set(why, list);
  }
  for (const [net, prefix, why] of FORBIDDEN_V6) {
    const list = lists.get(why) ?? new BlockList();
    list.addSubnet(net, prefix, 'ipv6');
    lists.set(why, list);
  }
  return [...lists.entries()];
})();

/** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any. */
export function embeddedIpv4(v6: string): string | undefined {
  const words = expandIpv6(v6);
  if (!words) return undefined;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zeros = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated), ::ffff:0:a.b.c.d (translated)
  if (zeros(0, 5) && (words[5] === 0xffff || words[5] === 0)) return v4(words[6], words[7]);
  if (zeros(0, 4) && words[4] === 0xffff && words[5] === 0) return v4(words[6], words[7]);
  // 64:ff9b::a.b.c.d (NAT64) and 64:ff9b:1::/48 (local NAT64)
  if (words[0] === 0x64 && words[1] === 0xff9b) return v4(words[6], words[7]);
  // 2002:AABB:CCDD::/16 (6to4)
  if (words[0] === 0x2002) return v4(words[1], words[2]);
  return undefined;
}

/** The eight 16-bit words of an IPv6 address (with an optional dotted IPv4 tail), or undefined. */
export function expandIpv6(address: string): number[] | undefined {
  let text = address.replace(/^\[|\]$/g, '').split('%')[0];
  if (isIP(text) !== 6) return undefined;
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number);
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const fill = rest === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  const words = [...left, ...fill, ...right].map((w) => Number.parseInt(w, 16));
  return words.length === 8 && words.every((w) => w >= 0 && w <= 0xffff) ? words : undefined;
}

/** Why an address may not be reached by default, or undefined for a public unicast address. */
export function forbiddenReason(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '').split('%')[0];
  const family = isIP(bare);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const v4 = embeddedIpv4(bare);
    if (v4 !== undefined) {
      const inner = forbiddenReason(v4);
      if (inner) return inner;
    }
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [why, list] of forbidden) if (list.check(bare, type)) return why;
  return undefined;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

/**
 * An `http` tool URL, address or redirect the policy refuses; `code` is `http_forbidden_address`.
 *
 * @example
 * ```ts
 * import { ForbiddenAddressError, VoiceSession } from 'colloquy';
 *
 * // an `http` tool was pointed at a loopback, private or metadata address (see the tool's config.allow)
 * function watchHttpTools(session: VoiceSession): void {
 *   session.eventBus.subscribe('error', ({ error }) => {
 *     if (error instanceof ForbiddenAddressError) console.warn('blocked request:', error.message);
 *   });
 * }
 * ```
 */
export class ForbiddenAddressError extends ToolError {
  constructor(message: string) {
    super('http_forbidden_address', message);
  }
}

export class AddressPolicy {
  private readonly hosts = new Set<string>();
  private readonly ranges = new BlockList();
  private hasRanges = false;

  /** `allow`: host names, IP addresses and CIDR ranges that may be reached although internal. */
  constructor(
    allow: readonly string[] = [],
    private readonly resolve: Resolver = systemResolver,
  ) {
    for (const entry of allow) this.add(entry.trim());
  }

  private add(entry: string): void {
    if (!entry) return;
    const [net, prefixText] = entry.split('/');
    const bare = net.replace(/^\[|\]$/g, '');
    const family = isIP(bare);
    if (family === 0) {
      if (prefixText !== undefined || !/^[A-Za-z0-9.-]{1,253}$/.test(entry)) {
        throw new ConfigError('invalid_network_allowlist', `Not a host name, IP or CIDR range: "${entry}"`);
      }
      this.hosts.add(entry.toLowerCase().replace(/\.$/, ''));
      return;
    }
    const max = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      throw new ConfigError('invalid_network_allowlist', `Bad CIDR prefix in "${entry}"`);
    }
    this.ranges.addSubnet(bare, prefix, family === 4 ? 'ipv4' : 'ipv6');
    this.hasRanges = true;
  }

  /** True when the allowlist names this host (so its internal addresses are fine). */
  allowsHost(hostname: string): boolean {
    return this.hosts.has(
      hostname
        .toLowerCase()
        .replace(/^\[|\]$/g, '')
        .replace(/\.$/, ''),
    );
  }

  private allowsAddress(address: string): boolean {
    if (!this.hasRanges) return false;
    const family = isIP(address);
    if (family === 0) return false;
    if (this.ranges.check(address, family === 4 ? 'ipv4' : 'ipv6')) return true;
    const v4 = family === 6 ? embeddedIpv4(address) : undefined;
    return v4 !== undefined && this.ranges.check(v4, 'ipv4');
  }

  /**
   * Resolves a URL host (as the WHATWG URL parser normalised it) and checks every address. Returns
   * the address to connect to; throws `ForbiddenAddressError` when any resolved address is refused.
   */
  async resolveAllowed(hostname: string): Promise<ResolvedAddress> {
    const bare = hostname.replace(/^\[|\]$/g, '');
    const hostAllowed = this.allowsHost(bare);
    const literal = isIP(bare);
    let addresses: ResolvedAddress[];
    if (literal !== 0) addresses = [{ address: bare, family: literal === 6 ? 6 : 4 }];
    else {
      if (!hostAllowed && /(^|\.)localhost$/i.test(bare.replace(/\.$/, ''))) {
        throw new ForbiddenAddressError(`"${hostname}" is a loopback host name`);
      }
      try {
        addresses = await this.resolve(bare);
      } catch (cause) {
        throw new ToolError('http_unreachable', `Cannot resolve "${hostname}"`, { cause, retryable: true });
      }
    }
    if (addresses.length === 0) throw new ToolError('http_unreachable', `"${hostname}" has no address`);
    for (const { address } of addresses) {
      if (hostAllowed || this.allowsAddress(address)) continue;
      const why = forbiddenReason(address);
      if (why) throw new ForbiddenAddressError(`"${hostname}" resolves to ${why} (${address})`);
    }
    return addresses[0];
  }
}

/**
 * `COLLOQUY_HTTP_ALLOW`-style text: comma or whitespace separated hosts, IPs and CIDRs. Throws
 * `ConfigError` for an entry that is none of these.
 */
export function parseAllowlist(text: string | undefined): string[] {
  const entries = (text ?? '').split(/[\s,]+/).filter(Boolean);
  new AddressPolicy(entries); // validates
  return entries;
}
