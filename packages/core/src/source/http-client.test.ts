import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectorEvent } from '../connector/connector.js';
import { fakeDns, publicName } from '../testing/private-addresses.js';
import { createHttpClient, type HttpPolicyInput } from './http-client.js';
import { networkGuard } from './network-guard.js';
import { memoryGate } from './request-gate.js';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;
const servers: { close(): Promise<void> }[] = [];

async function serve(handler: Handler): Promise<{ url: string; port: number; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
    handler(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  servers.push({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return { url: `http://127.0.0.1:${port}`, port, requests };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

function client(baseUrl: string, policy: HttpPolicyInput = {}, extra: Record<string, unknown> = {}) {
  const events: ConnectorEvent[] = [];
  const http = createHttpClient({
    plugin: 'test',
    baseUrl,
    field: 'baseUrl',
    guard: networkGuard({ allow: ['127.0.0.0/8', publicName] }, { lookup: fakeDns() }),
    gate: memoryGate({ concurrency: 4 }),
    policy: { baseDelayMs: 5, maxDelayMs: 20, ...policy },
    emit: (e) => events.push(e),
    ...extra,
  });
  return { http, events };
}

describe('createHttpClient', () => {
  it('retries 5xx with back-off, then returns the answer', async () => {
    const source = await serve((_req, res, n) => (n < 3 ? json(res, 502, {}) : json(res, 200, { n })));
    const { http } = client(source.url);
    await expect(http.json('items')).resolves.toEqual({ n: 3 });
    expect(source.requests).toHaveLength(3);
  });

  it('fails at once on a permanent status, with a message naming the status and the source', async () => {
    const source = await serve((_req, res) => json(res, 404, { message: 'no such thing' }));
    const { http } = client(source.url);
    await expect(http.json('items')).rejects.toMatchObject({
      code: 'not_found',
      status: 404,
      message: expect.stringContaining('answered 404 — no such thing'),
    });
    expect(source.requests).toHaveLength(1);
  });

  /** A source that opens a window on the given requests and records requests that arrive inside one. */
  async function throttlingSource(windowsAt: Record<number, (now: number) => Record<string, string>>) {
    const windows: { from: number; to: number }[] = [];
    const inside: number[] = [];
    const source = await serve((_req, res, n) => {
      const now = Date.now();
      if (windows.some((w) => now >= w.from && now < w.to)) inside.push(n);
      const open = windowsAt[n];
      if (!open) return json(res, 200, { n });
      const headers = open(now);
      windows.push({ from: now, to: Number(headers['x-test-until']) });
      return json(res, 429, {}, headers);
    });
    return { source, inside };
  }

  it('honours Retry-After in seconds and as an HTTP-date: no request reaches the source inside a window', async () => {
    const skew = 3_600_000;
    const { source, inside } = await throttlingSource({
      2: (now) => ({ 'retry-after': '1', 'x-test-until': String(now + 1000) }),
      5: (now) => {
        // An HTTP-date on a source clock that runs an hour ahead of ours.
        const until = Math.ceil((now + 2000) / 1000) * 1000;
        return {
          date: new Date(now + skew).toUTCString(),
          'retry-after': new Date(until + skew).toUTCString(),
          'x-test-until': String(until),
        };
      },
    });
    const { http, events } = client(source.url, {}, { gate: memoryGate({ concurrency: 1 }) });
    const results = await Promise.all(Array.from({ length: 8 }, () => http.json<{ n: number }>('x')));
    expect(results).toHaveLength(8);
    expect(source.requests).toHaveLength(10);
    expect(inside).toEqual([]);
    expect(events.filter((e) => e.type === 'throttled')).toHaveLength(2);
  });

  it('goes single-file after a throttle: later windows see no request, whatever the cap', async () => {
    const { source, inside } = await throttlingSource({
      3: (now) => ({ 'retry-after': '1', 'x-test-until': String(now + 1000) }),
      12: (now) => ({ 'retry-after': '1', 'x-test-until': String(now + 1000) }),
      20: (now) => ({ 'retry-after': '1', 'x-test-until': String(now + 1000) }),
    });
    const { http } = client(source.url, {}, { gate: memoryGate({ concurrency: 4 }) });
    await Promise.all(Array.from({ length: 24 }, () => http.json('x')));
    // Requests already on the wire when the first window opened may land in it; none after.
    expect(inside.filter((n) => n > 6)).toEqual([]);
  });

  it('sends the secret only to its own origin, never after a redirect elsewhere', async () => {
    const other = await serve((_req, res) => json(res, 200, { ok: true }));
    const source = await serve((req, res) =>
      req.url === '/away'
        ? res.writeHead(302, { location: `${other.url}/landed` }).end()
        : json(res, 200, { ok: true }),
    );
    const { http } = client(source.url, {}, { auth: { Authorization: 'Bearer s3cret-token' } });
    await http.json('here');
    await http.json('away');
    await http.fetch(`${other.url}/direct`, { headers: { authorization: 'Bearer s3cret-token' } });
    expect(source.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer s3cret-token',
      'Bearer s3cret-token',
    ]);
    expect(other.requests.map((r) => r.headers.authorization)).toEqual([undefined, undefined]);
  });

  it('refuses to send a secret saved for another origin', () => {
    expect(() =>
      client('http://127.0.0.1:1', {}, { auth: { authorization: 'x' }, secretOrigin: 'https://old.example' }),
    ).toThrow(/baseUrl: the stored secret was saved for https:\/\/old\.example/);
  });

  it('fails a refused connection in bounded time, naming host, port and cause', async () => {
    const tcp = createTcpServer();
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const port = (tcp.address() as AddressInfo).port;
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    const { http } = client(`http://127.0.0.1:${port}`, { giveUpAfterMs: 500 });
    await expect(http.json('x')).rejects.toMatchObject({
      code: 'unreachable',
      message: expect.stringMatching(new RegExp(`127\\.0\\.0\\.1:${port} \\(baseUrl\\): connection refused`)),
    });
  });

  it('gives up on a listener that accepts and never answers', async () => {
    const sockets: Socket[] = [];
    const tcp = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const port = (tcp.address() as AddressInfo).port;
    try {
      const { http } = client(`http://127.0.0.1:${port}`, { requestTimeoutMs: 300, giveUpAfterMs: 700 });
      await expect(http.json('x')).rejects.toMatchObject({
        code: 'unreachable',
        message: expect.stringContaining(`127.0.0.1:${port} (baseUrl): no answer`),
      });
      expect(sockets.length).toBeGreaterThanOrEqual(1);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    }
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const source = await serve((_req, res) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight -= 1;
        json(res, 200, {});
      }, 10);
    });
    const http = createHttpClient({
      plugin: 'test',
      baseUrl: source.url,
      guard: networkGuard({ allow: ['127.0.0.0/8'] }),
      gate: memoryGate({ concurrency: 3 }),
    });
    await Promise.all(Array.from({ length: 20 }, () => http.json('x')));
    expect(peak).toBe(3);
  });

  it('serves SDKs through fetch: non-2xx answers are returned, redirects and guard still apply', async () => {
    const source = await serve((req, res) =>
      req.url === '/missing' ? json(res, 404, { message: 'Not Found' }) : json(res, 201, { ok: req.method }),
    );
    const { http } = client(source.url);
    const created = await http.fetch(`${source.url}/things`, { method: 'POST', body: '{"a":1}' });
    expect(created.status).toBe(201);
    await expect(created.json()).resolves.toEqual({ ok: 'POST' });
    const missing = await http.fetch(new URL(`${source.url}/missing`));
    expect(missing.status).toBe(404);
    await expect(http.fetch('https://169.254.169.254/latest/meta-data')).rejects.toThrow(/link-local/);
  });
});
