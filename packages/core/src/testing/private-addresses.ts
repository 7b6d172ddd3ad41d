import { lookup as systemLookup, type LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A host name that {@link fakeDns} resolves to 127.0.0.1: "a name that points at loopback". */
export const loopbackName = 'loopback.example.test';
/** A host name that {@link fakeDns} resolves to 127.0.0.1 and tests allow by name: a "public" fake. */
export const publicName = 'public.example.test';

/**
 * A DNS lookup (the `dns.lookup` signature) that answers `names` itself and asks the system for the rest;
 * give it to `networkGuard(…, { lookup })` or the engine's `network.lookup`.
 */
export function fakeDns(names: Record<string, string> = {}): typeof systemLookup {
  const table: Record<string, string> = {
    [loopbackName]: '127.0.0.1',
    [publicName]: '127.0.0.1',
    ...names,
  };
  const fake = (hostname: string, options: unknown, callback?: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as (
      error: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void;
    const opts = (typeof options === 'object' && options ? options : {}) as { all?: boolean };
    const address = table[hostname.toLowerCase()];
    if (!address) return systemLookup(hostname, opts as never, cb as never);
    const family = address.includes(':') ? 6 : 4;
    if (opts.all) return process.nextTick(() => cb(null, [{ address, family }]));
    return process.nextTick(() => cb(null, address, family));
  };
  return fake as unknown as typeof systemLookup;
}

/** One address a connector must refuse unless the host allowed it. */
export interface PrivateAddressCase {
  name: string;
  /** Base URL to configure (scheme, host, port). */
  url: string;
}

/**
 * The private-address matrix every connector is checked against: loopback in every spelling (name, IPv6,
 * IPv4-mapped / -compatible / 6to4 forms, decimal, hex and short IPv4), unspecified, the cloud metadata address,
 * the private ranges, carrier-grade NAT, and a name that resolves to loopback (through {@link fakeDns}).
 * `port` is where a real fake listens on 127.0.0.1, so an unguarded connector would actually reach it.
 */
export function privateAddressCases(port: number): PrivateAddressCase[] {
  return [
    { name: '127.0.0.1', url: `https://127.0.0.1:${port}` },
    { name: 'localhost', url: `https://localhost:${port}` },
    { name: '[::1]', url: `https://[::1]:${port}` },
    { name: '[::ffff:127.0.0.1]', url: `https://[::ffff:127.0.0.1]:${port}` },
    { name: '[::7f00:1]', url: `https://[::7f00:1]:${port}` },
    { name: '[2002:7f00:1::]', url: `https://[2002:7f00:1::]:${port}` },
    { name: '0.0.0.0', url: `https://0.0.0.0:${port}` },
    { name: '169.254.169.254', url: 'https://169.254.169.254' },
    { name: '10/8', url: 'https://10.20.30.40' },
    { name: '172.16/12', url: 'https://172.31.0.1' },
    { name: '192.168/16', url: 'https://192.168.1.10' },
    { name: '100.64/10', url: 'https://100.100.0.1' },
    { name: 'decimal IPv4', url: `https://2130706433:${port}` },
    { name: 'hex IPv4', url: `https://0x7f000001:${port}` },
    { name: 'short IPv4', url: `https://127.1:${port}` },
    { name: 'a name resolving to 127.0.0.1', url: `https://${loopbackName}:${port}` },
  ];
}

/**
 * A server on 127.0.0.1 that answers every request with a redirect to `target` (plus the request's path), for
 * the "a public host redirects to a private address" case; reach it as `http://public.example.test:PORT` with
 * {@link fakeDns} and `network.allow: [publicName]`.
 */
export async function redirectingServer(
  target: string,
): Promise<{ url: string; port: number; requests: number; close(): Promise<void> }> {
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests += 1;
    res.writeHead(302, { location: new URL(req.url ?? '/', target).toString() }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${publicName}:${port}`,
    port,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
