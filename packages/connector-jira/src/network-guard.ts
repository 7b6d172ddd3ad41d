import { lookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { EtlError } from '@etl/core';

const blocked = new BlockList();
for (const [net, prefix] of [
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
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** True for loopback, private, link-local, carrier-grade NAT, multicast and reserved addresses. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return blocked.check(mapped[1], 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return false;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * The checks that need no DNS: scheme and literal addresses. Throws an `invalid_config` error naming `field`.
 */
export function assertPublicUrl(url: URL, allowPrivateNetwork: boolean, field = 'siteUrl'): void {
  if (allowPrivateNetwork) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new EtlError('invalid_config', `${field}: ${url.origin} must use http or https`, {
        plugin: 'jira',
      });
    }
    return;
  }
  if (url.protocol !== 'https:') {
    throw new EtlError(
      'invalid_config',
      `${field}: ${url.origin} must use https (set allowPrivateNetwork for a self-hosted or test server)`,
      { plugin: 'jira' },
    );
  }
  const host = hostOf(url).toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || isPrivateAddress(host)) {
    throw new EtlError(
      'invalid_config',
      `${field}: ${url.origin} is a loopback, private or link-local address; set allowPrivateNetwork to allow it`,
      { plugin: 'jira' },
    );
  }
}

/**
 * A DNS lookup for `http(s).request` that refuses private addresses *after* resolution, so the address checked
 * is the address connected to (no DNS-rebinding gap).
 */
export function guardedLookup(allowPrivateNetwork: boolean): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 4);
      const list = addresses as unknown as { address: string; family: number }[];
      if (!allowPrivateNetwork) {
        const bad = list.find((a) => isPrivateAddress(a.address));
        if (bad) {
          return callback(
            new EtlError(
              'invalid_config',
              `siteUrl: ${hostname} resolves to ${bad.address}, a loopback, private or link-local address; set allowPrivateNetwork to allow it`,
              { plugin: 'jira' },
            ) as unknown as NodeJS.ErrnoException,
            '',
            4,
          );
        }
      }
      if (options.all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
      const first = list[0];
      return callback(null, first.address, first.family);
    });
  };
}
