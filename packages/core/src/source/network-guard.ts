import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { z } from 'zod';
import { EtlError } from '../errors.js';

/**
 * What sources a host lets its connectors reach beyond the public internet. Only the host (an engine option)
 * sets it; no integration config can.
 *
 * @example
 * createEngine({ db, queue, connectors, network: { allow: ['127.0.0.0/8', 'jira.internal'] } });
 */
export const networkOptionsSchema = z.strictObject({
  /**
   * Private ranges (CIDR such as `10.0.0.0/8` or `::1/128`, or one address) and host names (`jira.internal`,
   * `.corp.example` for a whole domain) a connector may connect to. A host or address allowed here may also be
   * reached over plain `http:`.
   */
  allow: z
    .array(
      z
        .string()
        .min(1)
        .refine(
          (entry) => parseAllowEntry(entry) !== null,
          'must be a CIDR range, an address or a host name',
        ),
    )
    .default([]),
});
/** Which private addresses a source may reach (the host decides). */
export type NetworkOptions = z.input<typeof networkOptionsSchema>;

type Range = { family: 4 | 6; bytes: number[]; prefix: number };
type AllowEntry = { kind: 'range'; range: Range } | { kind: 'host'; name: string; suffix: boolean };

/** Parses dotted IPv4 (canonical form only: the URL parser has already turned `2130706433` into it). */
function ipv4Bytes(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : null;
}

/** Parses any textual IPv6 address (with `::` and an embedded dotted quad) into 16 bytes. */
function ipv6Bytes(text: string): number[] | null {
  let address = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted) {
    const v4 = ipv4Bytes(dotted[1]!);
    if (!v4) return null;
    const hex = (a: number, b: number) => ((a << 8) | b).toString(16);
    address = `${address.slice(0, dotted.index)}${hex(v4[0]!, v4[1]!)}:${hex(v4[2]!, v4[3]!)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const bytes: number[] = [];
  for (const group of all) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
    const value = parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  return bytes;
}

function inRange(bytes: number[], range: Range): boolean {
  if (bytes.length !== range.bytes.length) return false;
  for (let bit = 0; bit < range.prefix; bit += 1) {
    const mask = 0x80 >> (bit % 8);
    if ((bytes[bit >> 3]! & mask) !== (range.bytes[bit >> 3]! & mask)) return false;
  }
  return true;
}

function parseRange(text: string): Range | null {
  const [address, prefixText] = text.split('/');
  const v4 = ipv4Bytes(address!);
  const bytes = v4 ?? ipv6Bytes(address!);
  if (!bytes) return null;
  const max = v4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return null;
  return { family: v4 ? 4 : 6, bytes, prefix };
}

function parseAllowEntry(entry: string): AllowEntry | null {
  const range = parseRange(entry);
  if (range) return { kind: 'range', range };
  const name = entry.toLowerCase();
  if (/^\.?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/.test(name)) {
    return { kind: 'host', name: name.replace(/^\.|\.$/g, ''), suffix: name.startsWith('.') };
  }
  return null;
}

const v4Ranges: [string, string][] = [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'reserved'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'],
  ['198.51.100.0/24', 'reserved'],
  ['203.0.113.0/24', 'reserved'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
];
const v6Ranges: [string, string][] = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b:1::/48', 'private'],
  ['100::/64', 'reserved'],
  ['2001:db8::/32', 'reserved'],
  ['fc00::/7', 'private'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'private'],
  ['ff00::/8', 'multicast'],
];
const blocked = [...v4Ranges, ...v6Ranges].map(([cidr, kind]) => ({ range: parseRange(cidr)!, kind }));

/** IPv6 forms that carry an IPv4 address: connecting to them reaches (or may reach) that IPv4 address. */
const embeddings: { range: Range; form: string; at: number }[] = [
  { range: parseRange('::ffff:0:0/96')!, form: 'IPv4-mapped', at: 12 },
  { range: parseRange('::ffff:0:0:0/96')!, form: 'IPv4-translated', at: 12 },
  { range: parseRange('64:ff9b::/96')!, form: 'NAT64', at: 12 },
  { range: parseRange('2002::/16')!, form: '6to4', at: 2 },
  { range: parseRange('::/96')!, form: 'IPv4-compatible', at: 12 },
];
const teredo = parseRange('2001::/32')!;

/** Why an address is not on the public internet: `loopback`, `private`, …; null for a public address. */
export interface AddressVerdict {
  kind: string;
  /** The IPv4 address an IPv6 form carries, when that is what made it private. */
  embedded?: string;
  form?: string;
}

function classify(bytes: number[]): AddressVerdict | null {
  for (const { range, kind } of blocked) if (inRange(bytes, range)) return { kind };
  if (bytes.length === 16) {
    for (const { range, form, at } of embeddings) {
      if (!inRange(bytes, range)) continue;
      const v4 = bytes.slice(at, at + 4);
      const inner = classify(v4);
      if (inner) return { kind: inner.kind, embedded: v4.join('.'), form };
    }
    if (inRange(bytes, teredo)) {
      const v4 = bytes.slice(12, 16).map((b) => b ^ 0xff);
      const inner = classify(v4);
      if (inner) return { kind: inner.kind, embedded: v4.join('.'), form: 'Teredo' };
    }
  }
  return null;
}

/**
 * Whether an IP address is loopback, private, link-local, carrier-grade NAT, multicast, unspecified or
 * reserved — directly or through an IPv4-mapped, -compatible, -translated, 6to4, NAT64 or Teredo form.
 * Returns null for a public address and for anything that is not an IP address.
 */
export function privateAddressKind(address: string): AddressVerdict | null {
  const plain = address.replace(/^\[|\]$/g, '');
  const family = isIP(plain);
  if (family === 0) return null;
  const bytes = family === 4 ? ipv4Bytes(plain) : ipv6Bytes(plain);
  return bytes ? classify(bytes) : null;
}

/** True for an address {@link privateAddressKind} refuses. */
export function isPrivateAddress(address: string): boolean {
  return privateAddressKind(address) !== null;
}

/** The one check every connector's connections go through; see {@link networkGuard}. */
export interface NetworkGuard {
  /** Scheme and literal-address checks of a URL (no DNS); throws `invalid_config` naming `field`. */
  checkUrl(url: URL, field: string): void;
  /** Checks one address `hostname` resolved to (or the literal itself); throws naming `field`. */
  checkAddress(hostname: string, address: string, field: string): void;
  /** A DNS lookup for `net.connect` that hands the socket only addresses it has checked. */
  lookup(field: string): LookupFunction;
  /** True when the host allowed this host name (or literal address) explicitly. */
  allowsHost(hostname: string): boolean;
}

const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, '').toLowerCase();

/**
 * Builds the private-network guard from the host's `network` option. Every resolved address is checked at
 * connect time, so a name that resolves to a public address when checked and to a private one when connected
 * (DNS rebinding) cannot slip through: the address checked is the address connected to.
 * `resolver.lookup` replaces the system's DNS lookup (a custom resolver, or a test's).
 *
 * @example
 * const guard = networkGuard({ allow: ['127.0.0.0/8'] });
 * guard.checkUrl(new URL('http://169.254.169.254/'), 'siteUrl'); // throws: link-local
 */
export function networkGuard(
  options: NetworkOptions = {},
  resolver: { lookup?: typeof dnsLookup } = {},
): NetworkGuard {
  const resolve = resolver.lookup ?? dnsLookup;
  const { allow } = networkOptionsSchema.parse(options);
  const entries = allow.map((entry) => parseAllowEntry(entry)!);
  const ranges = entries.flatMap((e) => (e.kind === 'range' ? [e.range] : []));
  const hosts = entries.flatMap((e) => (e.kind === 'host' ? [e] : []));

  const hostListed = (hostname: string) => {
    const name = bare(hostname).replace(/\.$/, '');
    return hosts.some((h) => name === h.name || (h.suffix && name.endsWith(`.${h.name}`)));
  };
  const addressAllowed = (address: string) => {
    const plain = bare(address);
    const bytes = isIP(plain) === 4 ? ipv4Bytes(plain) : ipv6Bytes(plain);
    if (!bytes) return false;
    if (ranges.some((r) => inRange(bytes, r))) return true;
    const verdict = classify(bytes);
    return !!verdict?.embedded && ranges.some((r) => inRange(ipv4Bytes(verdict.embedded!)!, r));
  };
  const isLocalhost = (hostname: string) => {
    const name = bare(hostname).replace(/\.$/, '');
    return name === 'localhost' || name.endsWith('.localhost');
  };

  const refuse = (field: string, what: string, verdict: AddressVerdict) => {
    const via = verdict.embedded ? ` (the ${verdict.form} form of ${verdict.embedded})` : '';
    return new EtlError(
      'invalid_config',
      `${field}: ${what} is a ${verdict.kind} address${via}; connectors may reach only public addresses unless the host allows it (engine option network.allow)`,
      { details: { field, kind: verdict.kind, refused: true } },
    );
  };

  const guard: NetworkGuard = {
    allowsHost(hostname) {
      if (hostListed(hostname)) return true;
      const plain = bare(hostname);
      if (isIP(plain)) return addressAllowed(plain);
      return isLocalhost(plain) && (addressAllowed('127.0.0.1') || addressAllowed('::1'));
    },
    checkUrl(url, field) {
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new EtlError('invalid_config', `${field}: ${url.protocol} URLs are not allowed; use https`, {
          details: { field },
        });
      }
      const host = bare(url.hostname);
      if (!hostListed(host)) {
        if (isIP(host)) guard.checkAddress(host, host, field);
        else if (isLocalhost(host) && !guard.allowsHost(host))
          throw refuse(field, url.hostname, { kind: 'loopback' });
      }
      if (url.protocol === 'http:' && !guard.allowsHost(host)) {
        throw new EtlError(
          'invalid_config',
          `${field}: ${url.origin} must use https (plain http only for a host the engine option network.allow names)`,
          { details: { field } },
        );
      }
    },
    checkAddress(hostname, address, field) {
      if (hostListed(hostname) || addressAllowed(address)) return;
      const verdict = privateAddressKind(address);
      if (!verdict) return;
      const what =
        bare(hostname) === bare(address) ? bare(address) : `${bare(hostname)} (resolves to ${address})`;
      throw refuse(field, what, verdict);
    },
    lookup(field) {
      return (hostname, options, callback) => {
        resolve(hostname, { ...options, all: true }, (error, addresses) => {
          if (error) return callback(error, '', 4);
          const list = addresses as unknown as LookupAddress[];
          const usable: LookupAddress[] = [];
          let refusal: unknown;
          for (const entry of list) {
            try {
              guard.checkAddress(hostname, entry.address, field);
              usable.push(entry);
            } catch (refused) {
              refusal ??= refused;
            }
          }
          if (usable.length === 0) {
            const failure = (refusal ?? new Error(`${hostname} resolved to no address`)) as Error;
            return callback(failure as NodeJS.ErrnoException, '', 4);
          }
          if (options.all)
            return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
          return callback(null, usable[0]!.address, usable[0]!.family);
        });
      };
    },
  };
  return guard;
}
