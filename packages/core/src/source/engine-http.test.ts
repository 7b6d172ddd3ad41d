import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Connector } from '../connector/connector.js';
import { openDb } from '../db/db.js';
import { createEngine } from '../engine/engine.js';
import type { Engine } from '../engine/engine-types.js';
import { memoryQueue } from '../queue/memory-queue.js';

const configSchema = z.strictObject({ baseUrl: z.string(), token: z.string() });
type Config = z.output<typeof configSchema>;

/** Streams `a` and `b` read the source; `after_a` depends on `a`. Counts how often each stream ran. */
function probeConnector(runs: Record<string, number>): Connector<Config> {
  return {
    name: 'probe',
    configSchema,
    secretFields: ['token'],
    http: {
      baseUrl: (c) => c.baseUrl,
      auth: (c) => ({ authorization: `Bearer ${c.token}` }),
      concurrency: 2,
    },
    streams: [
      { name: 'a', primaryKey: ['id'] },
      { name: 'b', primaryKey: ['id'] },
      { name: 'after_a', primaryKey: ['id'], dependsOn: ['a'] },
    ],
    extractor: {
      async *extract(ctx) {
        runs[ctx.stream] = (runs[ctx.stream] ?? 0) + 1;
        const body = await ctx.http.json<{ id: string }>({ path: `things/${ctx.stream}` });
        yield { records: [{ sourceId: body.id, payload: body }], checkpoint: null };
      },
    },
    transformer: { transform: () => [] },
  };
}

describe('the engine gives every run an HTTP client', () => {
  let engine: Engine;
  let open: Engine;
  let close: () => Promise<void>;
  const runs: Record<string, number> = {};
  let server: Server;
  let url: string;
  const seen: (string | undefined)[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: req.url }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const opened = await openDb();
    close = opened.close;
    const common = { db: opened.db, queue: memoryQueue({ retryDelaysMs: [20] }), secretKey: 'x'.repeat(32) };
    engine = await createEngine({ ...common, schema: 'guarded', connectors: [probeConnector(runs)] });
    open = await createEngine({
      ...common,
      queue: memoryQueue({ retryDelaysMs: [20] }),
      schema: 'allowed',
      connectors: [probeConnector(runs)],
      network: { allow: ['127.0.0.0/8'] },
    });
    await engine.startWorkers();
    await open.startWorkers();
  });
  afterAll(async () => {
    await engine?.stop();
    await open?.stop();
    await close?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const run = async (target: Engine, baseUrl: string) => {
    const integration = await target.integrations.create({
      connector: 'probe',
      name: `probe ${Math.random()}`,
      config: { baseUrl, token: 'probe-token' },
    });
    const job = await target.jobs.start({ integrationId: integration.id, mode: 'full' });
    return target.jobs.waitFor(job.id, { timeoutMs: 90_000 });
  };

  it('refuses a private address unless the host allowed it, naming the field', async () => {
    const refused = await run(engine, url);
    expect(refused.status).toBe('failed');
    expect(refused.errors[0]!.message).toMatch(/baseUrl: 127\.0\.0\.1 is a loopback address/);
    expect(seen).toHaveLength(0);
    const allowed = await run(open, url);
    expect(allowed.status).toBe('succeeded');
    expect(seen).toEqual(['Bearer probe-token', 'Bearer probe-token', 'Bearer probe-token']);
  });

  it('fails a job against a refused port in bounded time, naming host, port and cause; dependents skipped', async () => {
    const tcp = createTcpServer();
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const port = (tcp.address() as AddressInfo).port;
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    for (const key of Object.keys(runs)) delete runs[key];
    const started = Date.now();
    const job = await run(open, `http://127.0.0.1:${port}`);
    const seconds = (Date.now() - started) / 1000;
    expect(job.status).toBe('failed');
    expect(seconds).toBeLessThan(60);
    expect(job.errors.map((e) => e.message).join('\n')).toMatch(
      new RegExp(`cannot reach 127\\.0\\.0\\.1:${port} \\(baseUrl\\): connection refused`),
    );
    const states = Object.fromEntries(job.streamStates!.map((s) => [s.stream, s.status]));
    expect(states).toEqual({ a: 'failed', b: 'failed', after_a: 'skipped' });
    expect(runs.after_a).toBeUndefined();
  });

  it(
    'fails a job against a listener that accepts and never answers within 60 s (default timeouts)',
    { timeout: 70_000 },
    async () => {
      const sockets: Socket[] = [];
      const tcp = createTcpServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
      const port = (tcp.address() as AddressInfo).port;
      for (const key of Object.keys(runs)) delete runs[key];
      try {
        const started = Date.now();
        const job = await run(open, `http://127.0.0.1:${port}`);
        const seconds = (Date.now() - started) / 1000;
        expect(job.status).toBe('failed');
        expect(seconds).toBeLessThan(60);
        expect(job.errors[0]!.message).toMatch(
          new RegExp(`cannot reach 127\\.0\\.0\\.1:${port} \\(baseUrl\\): no answer`),
        );
        expect(job.streamStates!.find((s) => s.stream === 'after_a')!.status).toBe('skipped');
        expect(runs.after_a).toBeUndefined();
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
      }
    },
  );
});
