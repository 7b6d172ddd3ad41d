// @etl-test-services postgres
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector } from '../connector/connector.js';
import { migrate } from '../db/migrate.js';
import { requestGates } from '../stores/rate-limit.js';
import { openTestDb, type TestDb } from '../testing/db.js';
import { sourceHttp } from './source-http.js';

/** A source that answers 429 (Retry-After: 1) to every 10th request and counts requests inside its windows. */
async function throttlingSource() {
  const windows: { from: number; to: number }[] = [];
  const state = { requests: 0, inside: 0 };
  const server: Server = createServer((_req, res) => {
    state.requests += 1;
    const now = Date.now();
    if (windows.some((w) => now >= w.from && now < w.to)) state.inside += 1;
    if (state.requests % 10 === 0) {
      windows.push({ from: now, to: now + 1000 });
      return res.writeHead(429, { 'retry-after': '1' }).end();
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const connector: Connector<{ baseUrl: string }> = {
  name: 'throttled',
  configSchema: {} as Connector<{ baseUrl: string }>['configSchema'],
  http: { baseUrl: (c) => c.baseUrl, concurrency: 1 },
  streams: [{ name: 'items', primaryKey: ['id'] }],
  extractor: { extract: async function* () {} },
  transformer: { transform: () => [] },
};

describe('one request gate per integration in PostgreSQL, shared by every process', () => {
  let t: TestDb;
  let source: Awaited<ReturnType<typeof throttlingSource>>;
  beforeAll(async () => {
    t = await openTestDb('postgres');
    await migrate(t.db, t.schema);
    source = await throttlingSource();
  });
  afterAll(async () => {
    await source?.close();
    await t?.close();
  });

  /** 8 partitions at once, each sending `perPartition` requests in turn, through the given processes' clients. */
  async function crawl(processes: number, integrationId: string, perPartition = 8) {
    const factories = Array.from({ length: processes }, (_, i) =>
      sourceHttp({
        network: { allow: ['127.0.0.0/8'] },
        gates: requestGates(t.db, t.schema, `process-${i}`, () => undefined),
      }),
    );
    const before = { ...source.state };
    await Promise.all(
      Array.from({ length: 8 }, async (_, partition) => {
        const http = factories[partition % processes]!.client(
          connector,
          { baseUrl: source.url },
          {
            integrationId,
            signal: AbortSignal.timeout(60_000),
          },
        );
        for (let i = 0; i < perPartition; i++) await http.json(`items?partition=${partition}&page=${i}`);
        await http.close();
      }),
    );
    return { requests: source.state.requests - before.requests, inside: source.state.inside - before.inside };
  }

  it(
    'in one process: 8 partitions against a source that 429s every 10th request, 0 requests inside windows',
    { timeout: 60_000 },
    async () => {
      const result = await crawl(1, '00000000-0000-4000-8000-0000000000c1');
      console.info('[shared gate, one process]', result);
      expect(result.requests).toBeGreaterThanOrEqual(64);
      expect(result.inside).toBe(0);
    },
  );

  it(
    'across two processes sharing only PostgreSQL: still 0 requests inside windows',
    { timeout: 60_000 },
    async () => {
      const result = await crawl(2, '00000000-0000-4000-8000-0000000000c2');
      console.info('[shared gate, two processes]', result);
      expect(result.requests).toBeGreaterThanOrEqual(64);
      expect(result.inside).toBe(0);
    },
  );
});
