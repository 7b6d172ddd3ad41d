import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeDns, privateAddressCases, publicName, redirectingServer } from '../testing/private-addresses.js';
import { createHttpClient } from './http-client.js';
import { isPrivateAddress, networkGuard, privateAddressKind } from './network-guard.js';
import { memoryGate } from './request-gate.js';

let server: Server;
let port: number;
let hits = 0;

beforeAll(async () => {
  server = createServer((_req, res) => {
    hits += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = (baseUrl: string, allow: string[] = []) =>
  createHttpClient({
    plugin: 'test',
    baseUrl,
    field: 'siteUrl',
    guard: networkGuard({ allow }, { lookup: fakeDns() }),
    gate: memoryGate({ concurrency: 2 }),
    policy: { maxAttempts: 1, connectTimeoutMs: 1000, requestTimeoutMs: 2000 },
  });

describe('address classification', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['2002:7f00:1::', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['fd00::1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
  ])('%s is %s', (address, kind) => {
    expect(privateAddressKind(address)?.kind).toBe(kind);
  });

  it.each(['8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:808:808', '2002:808:808::'])(
    '%s is public',
    (address) => {
      expect(isPrivateAddress(address)).toBe(false);
    },
  );
});

describe('the guard on real connections', () => {
  it('refuses every private form, naming the field, without reaching the server', async () => {
    const before = hits;
    for (const { name, url } of privateAddressCases(port)) {
      const error = await Promise.resolve()
        .then(() => client(url).json('/x'))
        .then(
          () => null,
          (e: unknown) => e as Error,
        );
      expect(error, name).toBeInstanceOf(Error);
      expect(error!.message, name).toMatch(
        /siteUrl: .*(loopback|private|link-local|unspecified|carrier-grade NAT)/,
      );
    }
    expect(hits).toBe(before);
  });

  it('lets the host allow a range, an address form of it, or a name', async () => {
    await expect(client(`http://127.0.0.1:${port}`, ['127.0.0.0/8']).json('/x')).resolves.toEqual({
      ok: true,
    });
    await expect(client(`http://localhost:${port}`, ['127.0.0.0/8', '::1']).json('/x')).resolves.toEqual({
      ok: true,
    });
    await expect(client(`http://${publicName}:${port}`, [publicName]).json('/x')).resolves.toEqual({
      ok: true,
    });
  });

  it('checks every redirect hop: a public name redirecting to loopback is refused', async () => {
    const redirect = await redirectingServer(`https://127.0.0.1:${port}`);
    try {
      const before = hits;
      await expect(client(redirect.url, [publicName]).json('/x')).rejects.toThrow(
        /siteUrl: 127\.0\.0\.1 is a loopback address/,
      );
      expect(redirect.requests).toBe(1);
      expect(hits).toBe(before);
    } finally {
      await redirect.close();
    }
  });

  it('refuses plain http to a host the engine did not allow', () => {
    expect(() => networkGuard().checkUrl(new URL('http://example.com'), 'baseUrl')).toThrow(
      /baseUrl: http:\/\/example\.com must use https/,
    );
    expect(() => networkGuard().checkUrl(new URL('file:///etc/passwd'), 'baseUrl')).toThrow(/baseUrl/);
  });

  it('refuses an allow entry that is neither a range nor a name', () => {
    expect(() => networkGuard({ allow: ['10.0.0.0/99'] })).toThrow();
  });
});
