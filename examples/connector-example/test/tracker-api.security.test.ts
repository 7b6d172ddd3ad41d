import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { privateAddressCases, startTestEngine, type TestEngine } from '@etl/core/testing';
import { createEtlUi } from '@etl/ui';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackerConnector } from '../src/index.js';
import { startFakeTracker, type FakeTracker } from './fake-tracker.js';

/**
 * The example connector's secret-origin and private-address rules through the HTTP API of a mounted UI, as an
 * API user reaches them (the engine-level cases are in tracker.security.test.ts).
 */
const SENTINEL = 'tracker-api-sentinel-5b0f3e9d21';
const spellings = (secret: string) => [secret, Buffer.from(secret).toString('base64')];

interface Api {
  (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, any> }>;
}

function mount(harness: TestEngine): Api {
  const app = new Hono();
  app.route('/etl', createEtlUi({ engine: harness.engine }));
  return async (method, path, body) => {
    const res = await app.request(`/etl/api${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
}

async function startListener() {
  const requests: string[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"items":[],"next":null}');
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    port: (server.address() as AddressInfo).port,
    requests,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('tracker connector through the mounted UI: secrets and private addresses', () => {
  let tracker: FakeTracker;
  let listener: Awaited<ReturnType<typeof startListener>>;
  let allowing: TestEngine;
  let strict: TestEngine;

  /** Starts a job through the API, waits for it to end, and reads it back through the API. */
  const runJob = async (api: Api, on: TestEngine, integrationId: string) => {
    const started = await api('POST', '/jobs', { integrationId, mode: 'full' });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const id = started.body.job.id as string;
    await on.engine.jobs.waitFor(id, { timeoutMs: 30_000 });
    return (await api('GET', `/jobs/${id}`)).body.job as { status: string; errors: unknown[] };
  };

  beforeAll(async () => {
    tracker = await startFakeTracker({ teams: ['core'], itemsPerTeam: 3, token: SENTINEL });
    listener = await startListener();
    // The fake and the listener are on 127.0.0.1: one host allows loopback, the other allows nothing private.
    allowing = await startTestEngine({
      connectors: [trackerConnector()],
      network: { allow: ['127.0.0.0/8'] },
    });
    strict = await startTestEngine({
      connectors: [trackerConnector()],
      http: { maxAttempts: 1, giveUpAfterMs: 2_000, connectTimeoutMs: 1_000 },
    });
  });
  afterAll(async () => {
    await Promise.all([allowing?.close(), strict?.close()]);
    await Promise.all([tracker?.close(), listener?.close()]);
  });

  it('a changed baseUrl with the token masked or omitted is a 400 naming it; the listener gets no stored token', async () => {
    const api = mount(allowing);
    const created = await api('POST', '/integrations', {
      connector: 'tracker',
      name: 'api probe',
      config: { baseUrl: tracker.url, token: SENTINEL },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.integration.id as string;
    expect(created.body.integration.config.token).toBe('••••••');
    expect((await runJob(api, allowing, id)).status).toBe('succeeded');

    for (const config of [{ baseUrl: listener.url }, { baseUrl: listener.url, token: '••••••' }]) {
      const patched = await api('PATCH', `/integrations/${id}`, { config });
      expect(patched.status).toBe(400);
      expect(patched.body.error.issues).toContainEqual({
        path: 'token',
        message: expect.stringContaining('re-enter token: the site changed'),
      });
      const tested = await api('POST', `/integrations/${id}/test`, { config });
      expect(tested.status).toBe(400);
      expect(tested.body.error.message).toContain('re-enter token');
    }
    // Stored config unchanged: its test and a job still go to the home site only.
    expect((await api('GET', `/integrations/${id}`)).body.integration.config.baseUrl).toBe(tracker.url);
    expect((await api('POST', `/integrations/${id}/test`)).body.result.ok).toBe(true);
    expect((await runJob(api, allowing, id)).status).toBe('succeeded');

    // Typed in again for the new site, only that token goes there.
    const retyped = await api('POST', `/integrations/${id}/test`, {
      config: { baseUrl: listener.url, token: 'typed-in-for-the-new-site-2' },
    });
    expect(retyped.status).toBe(200);
    const everything = listener.requests.join('\n');
    expect(listener.requests.length).toBeGreaterThan(0);
    expect(everything).toContain('Bearer typed-in-for-the-new-site-2');
    for (const spelling of spellings(SENTINEL)) expect(everything).not.toContain(spelling);
    expect(spellings(SENTINEL).some((s) => JSON.stringify(created.body).includes(s))).toBe(false);
  });

  it('every private address is refused naming baseUrl unless the host allows it; no config switches that off', async () => {
    const api = mount(strict);
    const before = listener.connections();
    for (const address of privateAddressCases(listener.port)) {
      const created = await api('POST', '/integrations', {
        connector: 'tracker',
        name: `private ${address.name}`,
        config: { baseUrl: address.url, token: SENTINEL },
      });
      if (created.status === 400) {
        expect(JSON.stringify(created.body.error.issues), address.name).toContain('baseUrl');
        continue;
      }
      expect(created.status, `${address.name}: ${JSON.stringify(created.body)}`).toBe(201);
      const id = created.body.integration.id as string;
      const tested = await api('POST', `/integrations/${id}/test`);
      expect(tested.status, address.name).toBe(200);
      expect(tested.body.result.ok, address.name).toBe(false);
      const job = await runJob(api, strict, id);
      expect(job.status, address.name).toBe('failed');
      expect(JSON.stringify(job.errors), address.name).toContain('baseUrl');
    }
    for (const attempt of [{ allowPrivateNetwork: true }, { network: { allow: ['0.0.0.0/0'] } }]) {
      const created = await api('POST', '/integrations', {
        connector: 'tracker',
        name: `switch-off ${Object.keys(attempt)[0]}`,
        config: { baseUrl: listener.url, token: SENTINEL, ...attempt },
      });
      expect(created.status, JSON.stringify(attempt)).toBe(400);
      expect(created.body.error.issues).toContainEqual(
        expect.objectContaining({ path: expect.stringContaining(Object.keys(attempt)[0]!) }),
      );
    }
    expect(listener.connections() - before, 'connections that reached the private listener').toBe(0);
  });
});
