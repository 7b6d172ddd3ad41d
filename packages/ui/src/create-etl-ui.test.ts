import type { Engine, EtlError, Integration, Job } from '@etl/core';
import { Hono, type MiddlewareHandler } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAppBuilt } from './app-build.js';
import { createEtlUi, type EtlUiOptions } from './create-etl-ui.js';
import { createTestEngine, type TestEngine } from './testing/ui-test-host.js';
import { readSse } from './testing/sse-reader.js';

const scriptName = '<script>alert("x")</script><img src=x onerror=alert(1)>';
const unknownUuid = '00000000-0000-4000-8000-000000000000';

let fixture: TestEngine;
let engine: Engine;

beforeAll(async () => {
  await ensureAppBuilt();
  fixture = await createTestEngine();
  engine = fixture.engine;
});
afterAll(async () => {
  await fixture?.close();
});

function host(mount: string, options: Omit<EtlUiOptions, 'engine'> = {}): Hono {
  const app = new Hono();
  app.route(mount, createEtlUi({ engine, ...options }));
  return app;
}

describe.each(['/', '/etl'])('UI mounted at %s', (mount) => {
  const prefix = mount === '/' ? '' : mount;
  let app: Hono;
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    app.request(`http://localhost${prefix}${path}`, {
      method,
      headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const json = async <T = Record<string, any>>(res: Response): Promise<T> => (await res.json()) as T;
  const createIntegration = async (config: Record<string, unknown> = {}, name = 'synthetic') =>
    (
      await json<{ integration: Integration }>(
        await call('POST', '/api/integrations', { connector: 'synthetic', name, config }),
      )
    ).integration;
  const startAndWait = async (integrationId: string): Promise<Job> => {
    const res = await call('POST', '/api/jobs', { integrationId, mode: 'full' });
    expect(res.status).toBe(201);
    const { job } = await json<{ job: Job }>(res);
    return engine.jobs.waitFor(job.id, { timeoutMs: 30_000 });
  };

  beforeAll(() => {
    app = host(mount);
  });

  describe('the single-page app', () => {
    it('serves the page with a relative base href at the UI root and below it', async () => {
      const root = await call('GET', '/');
      expect(root.status).toBe(200);
      expect(root.headers.get('content-type')).toMatch(/text\/html/);
      expect(root.headers.get('content-security-policy')).toContain("script-src 'self'");
      const html = await root.text();
      expect(html).toContain('<base href="./">');
      expect(html).toContain('src="assets/app.js"');
      expect(html).not.toMatch(/(src|href)="\//);
      const deep = await (await call('GET', '/jobs/123')).text();
      expect(deep).toContain('<base href="../">');
      expect(await (await call('GET', '/queues')).text()).toContain('<base href="./">');
      if (prefix)
        expect(await (await app.request(`http://localhost${prefix}`)).text()).toContain('<base href="etl/">');
    });

    it('works when the host mounts it under a path with parameters', async () => {
      const tenant = new Hono();
      tenant.route(`/:tenant${prefix}`, createEtlUi({ engine }));
      const bare = await tenant.request(`http://localhost/acme${prefix}`);
      expect(await bare.text()).toContain(prefix ? '<base href="etl/">' : '<base href="acme/">');
      expect(await (await tenant.request(`http://localhost/acme${prefix}/jobs/1`)).text()).toContain(
        '<base href="../">',
      );
      expect((await tenant.request(`http://localhost/acme${prefix}/api/health`)).status).toBe(200);
    });

    it('uses an explicit basePath for proxies', async () => {
      const proxied = host(mount, { basePath: '/tools/etl' });
      expect(await (await proxied.request(`http://localhost${prefix}/jobs/1`)).text()).toContain(
        '<base href="/tools/etl/">',
      );
    });

    it('serves the bundle with an ETag and answers 304 when unchanged', async () => {
      const js = await call('GET', '/assets/app.js');
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/javascript/);
      expect((await js.text()).length).toBeGreaterThan(1000);
      const again = await call('GET', '/assets/app.js', undefined, {
        'If-None-Match': js.headers.get('etag')!,
      });
      expect(again.status).toBe(304);
      const css = await call('GET', '/assets/app.css');
      expect(css.headers.get('content-type')).toMatch(/text\/css/);
      expect((await call('GET', '/assets/other.js')).status).toBe(404);
      expect((await call('GET', '/assets/..%2Fpackage.json')).status).toBe(404);
    });
  });

  describe('API basics', () => {
    it('GET /api/health', async () => {
      const res = await call('GET', '/api/health');
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({
        ok: true,
        readOnly: false,
        database: 'ok',
        queue: 'memory',
        connectors: ['synthetic'],
      });
    });

    it('answers unknown API routes with a JSON 404', async () => {
      const res = await call('GET', '/api/nope');
      expect(res.status).toBe(404);
      expect(await json(res)).toMatchObject({ error: { code: 'not_found' } });
    });

    it('GET /api/connectors describes config fields and secrets', async () => {
      const { connectors } = await json(await call('GET', '/api/connectors'));
      expect(connectors[0]).toMatchObject({ name: 'synthetic', secretFields: ['token'], canTest: true });
      expect(connectors[0].configSchema.properties).toHaveProperty('records');
      expect(connectors[0].streams.map((s: { name: string }) => s.name)).toEqual(['projects', 'items']);
    });

    it('GET /api/vector-index shows an empty state without a vector loader', async () => {
      expect(await json(await call('GET', '/api/vector-index'))).toEqual({ configured: false, status: null });
      const withIndex = host(mount, {
        vectorIndex: async () => ({
          provider: 'qdrant',
          collection: 'work_items',
          status: 'green',
          points: 3,
        }),
      });
      const res = await withIndex.request(`http://localhost${prefix}/api/vector-index`);
      expect(await json(res)).toMatchObject({ configured: true, status: { provider: 'qdrant', points: 3 } });
    });
  });

  describe('bad input is refused, never a 500', () => {
    it('malformed JSON → 400', async () => {
      const res = await call('POST', '/api/integrations', '{"connector": "synthetic", ');
      expect(res.status).toBe(400);
      expect(await json(res)).toMatchObject({ error: { code: 'invalid_input' } });
    });

    it('unknown fields → 400 naming them', async () => {
      const res = await call('POST', '/api/integrations', { connector: 'synthetic', name: 'x', admin: true });
      expect(res.status).toBe(400);
      const body = await json(res);
      expect(body.error.issues.some((i: { message: string }) => /admin/.test(i.message))).toBe(true);
    });

    it('missing and mistyped fields → 400 with their paths', async () => {
      const res = await call('POST', '/api/jobs', { mode: 'sideways', streams: 'items' });
      expect(res.status).toBe(400);
      const paths = (await json(res)).error.issues.map((i: { path: string }) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['integrationId', 'mode', 'streams']));
    });

    it('scheduleSeconds: -5 → 400 with the message core gives for it', async () => {
      const input = { connector: 'synthetic', name: 'x', scheduleSeconds: -5 };
      const res = await call('POST', '/api/integrations', input);
      expect(res.status).toBe(400);
      const shown = (await json(res)).error.issues;
      const core = await engine.integrations.create(input).then(
        () => undefined,
        (error: EtlError) => error.details,
      );
      expect(shown).toEqual([
        { path: 'scheduleSeconds', message: 'must be at least 60 seconds (or null for manual runs only)' },
      ]);
      expect(core).toEqual(shown);
    });

    it('oversized bodies → 413', async () => {
      const res = await call('POST', '/api/integrations', {
        connector: 'synthetic',
        name: 'x'.repeat(300_000),
      });
      expect(res.status).toBe(413);
      expect(await json(res)).toMatchObject({ error: { code: 'body_too_large' } });
    });

    it('a non-JSON body → 415 (an HTML form cannot post here)', async () => {
      const res = await call('POST', '/api/integrations', undefined, {
        'Content-Type': 'application/x-www-form-urlencoded',
      });
      expect(res.status).toBe(415);
      const text = await app.request(`http://localhost${prefix}/api/jobs`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body: '{"integrationId":"x"}',
      });
      expect(text.status).toBe(415);
    });

    it('cross-site writes → 403; same-origin writes pass', async () => {
      const evil = await call(
        'POST',
        '/api/integrations',
        { connector: 'synthetic', name: 'x' },
        { Origin: 'https://evil.example' },
      );
      expect(evil.status).toBe(403);
      expect(await json(evil)).toMatchObject({ error: { code: 'cross_site_request' } });
      const fetchSite = await call('DELETE', `/api/integrations/${unknownUuid}`, undefined, {
        'Sec-Fetch-Site': 'cross-site',
      });
      expect(fetchSite.status).toBe(403);
      const same = await call(
        'POST',
        '/api/integrations',
        { connector: 'synthetic', name: 'same-origin' },
        { Origin: 'http://localhost' },
      );
      expect(same.status).toBe(201);
      const proxied = await call(
        'POST',
        '/api/integrations',
        { connector: 'synthetic', name: 'behind-proxy' },
        { Origin: 'https://etl.example.com', 'X-Forwarded-Host': 'etl.example.com' },
      );
      expect(proxied.status).toBe(201);
      const allowed = host(mount, { allowedOrigins: ['https://admin.example.com'] });
      const res = await allowed.request(`http://localhost${prefix}/api/integrations`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Origin: 'https://admin.example.com' },
        body: JSON.stringify({ connector: 'synthetic', name: 'allowed-origin' }),
      });
      expect(res.status).toBe(201);
    });

    it('garbage on every write route is a 4xx', async () => {
      const routes: [string, string][] = [
        ['POST', '/api/jobs'],
        ['POST', `/api/jobs/${unknownUuid}/pause`],
        ['POST', '/api/replay'],
        ['POST', '/api/integrations'],
        ['PATCH', `/api/integrations/${unknownUuid}`],
        ['PUT', `/api/integrations/${unknownUuid}/mappings`],
        ['POST', `/api/dead-letters/x/replay`],
      ];
      const bodies = [
        'null',
        '[]',
        '"text"',
        '42',
        '{"__proto__": {"x": 1}}',
        '{"a":',
        '\u0000',
        JSON.stringify({ integrationId: { $ne: 1 } }),
      ];
      for (const [method, path] of routes) {
        for (const body of bodies) {
          const res = await call(method, path, body);
          expect(res.status, `${method} ${path} ${body}`).toBeGreaterThanOrEqual(400);
          expect(res.status, `${method} ${path} ${body}`).toBeLessThan(500);
          expect((await json(res)).error.code).toBeTypeOf('string');
        }
      }
      for (const query of ['limit=0', 'limit=abc', 'limit=100000', 'offset=-1', 'status=bogus', 'admin=1']) {
        const res = await call('GET', `/api/jobs?${query}`);
        expect(res.status, query).toBe(400);
      }
      expect((await call('GET', '/api/raw?payload=maybe')).status).toBe(400);
      expect((await call('GET', '/api/dead-letters?stage=nowhere')).status).toBe(400);
    });
  });

  describe('integrations', () => {
    it('create, read, update, test and delete, with secrets masked on every read', async () => {
      const created = await call('POST', '/api/integrations', {
        connector: 'synthetic',
        name: 'crud',
        config: { records: 5, token: 'super-secret-token-value' },
      });
      expect(created.status).toBe(201);
      const { integration } = await json<{ integration: Integration }>(created);
      const id = integration.id;
      expect(JSON.stringify(integration)).not.toContain('super-secret-token-value');
      expect(integration.config.token).toBe('••••••');

      const list = await json<{ integrations: Integration[] }>(await call('GET', '/api/integrations'));
      expect(list.integrations.some((i) => i.id === id)).toBe(true);
      expect(JSON.stringify(list)).not.toContain('super-secret-token-value');

      const got = await call('GET', `/api/integrations/${id}`);
      expect(got.status).toBe(200);
      expect((await json(got)).integration.config.token).toBe('••••••');

      const patched = await call('PATCH', `/api/integrations/${id}`, {
        name: 'renamed',
        config: { records: 6, token: '••••••' },
      });
      expect(patched.status).toBe(200);
      expect((await json(patched)).integration).toMatchObject({
        name: 'renamed',
        config: { records: 6, token: '••••••' },
      });
      expect((await call('PATCH', `/api/integrations/${id}`, {})).status).toBe(400);
      expect((await call('PATCH', `/api/integrations/${id}`, { connector: 'other' })).status).toBe(400);

      const tested = await call('POST', `/api/integrations/${id}/test`, {});
      expect(tested.status).toBe(200);
      expect((await json(tested)).result).toEqual({ ok: true, message: 'synthetic source ready' });

      expect((await call('DELETE', `/api/integrations/${id}`)).status).toBe(200);
      expect((await call('GET', `/api/integrations/${id}`)).status).toBe(404);
    });

    it('unknown ids → 404, unknown connector and bad config → 400', async () => {
      for (const [method, path] of [
        ['GET', `/api/integrations/${unknownUuid}`],
        ['GET', '/api/integrations/not-a-uuid'],
        ['PATCH', `/api/integrations/${unknownUuid}`],
        ['DELETE', `/api/integrations/${unknownUuid}`],
        ['POST', `/api/integrations/${unknownUuid}/test`],
        ['GET', `/api/integrations/${unknownUuid}/mappings`],
      ] as const) {
        const res = await call(method, path, method === 'PATCH' ? { name: 'x' } : undefined);
        expect(res.status, `${method} ${path}`).toBe(404);
      }
      const unknown = await call('POST', '/api/integrations', { connector: 'nope', name: 'x' });
      expect(unknown.status).toBe(400);
      expect((await json(unknown)).error.code).toBe('unknown_connector');
      const badConfig = await call('POST', '/api/integrations', {
        connector: 'synthetic',
        name: 'x',
        config: { records: -1 },
      });
      expect(badConfig.status).toBe(400);
    });

    it('keeps script payloads in names as data: JSON out, never HTML', async () => {
      const res = await call('POST', '/api/integrations', { connector: 'synthetic', name: scriptName });
      expect(res.status).toBe(201);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const { integration } = await json<{ integration: Integration }>(res);
      expect(integration.name).toBe(scriptName);
      const page = await (await call('GET', '/integrations')).text();
      expect(page).not.toContain('<script>alert');
    });
  });

  describe('mappings', () => {
    it('GET and PUT, with validation', async () => {
      const integration = await createIntegration();
      const got = await call('GET', `/api/integrations/${integration.id}/mappings`);
      expect(got.status).toBe(200);
      const before = await json(got);
      expect(before.choices.statusCategories).toEqual(['todo', 'in_progress', 'done']);
      const mappings = {
        workItemTypes: [{ rawType: 'Bug', type: 'bug', level: 0 }],
        statuses: [{ rawStatus: 'Blocked', category: 'in_progress', workflowStep: 'doing' }],
        workflows: [{ name: 'default', steps: ['doing'] }],
      };
      const put = await call('PUT', `/api/integrations/${integration.id}/mappings`, mappings);
      expect(put.status).toBe(200);
      const saved = await json(put);
      expect(saved.version).toBeGreaterThan(before.version);
      expect(saved.mappings.statuses).toEqual(
        expect.arrayContaining([expect.objectContaining({ rawStatus: 'Blocked' })]),
      );
      const bad = await call('PUT', `/api/integrations/${integration.id}/mappings`, {
        statuses: [{ rawStatus: 'Blocked', category: 'stuck' }],
      });
      expect(bad.status).toBe(400);
      expect((await json(bad)).error.issues[0].path).toBe('statuses.0.category');
    });
  });

  describe('jobs', () => {
    it('start, list with filters, get, and refuse illegal transitions with 409', async () => {
      const integration = await createIntegration({ records: 30, pageSize: 10 });
      const job = await startAndWait(integration.id);
      expect(job.status).toBe('succeeded');

      const got = await call('GET', `/api/jobs/${job.id}`);
      expect(got.status).toBe(200);
      expect((await json(got)).job.streamStates.length).toBeGreaterThan(0);

      const filtered = await json(
        await call('GET', `/api/jobs?integration=${integration.id}&status=succeeded&limit=5`),
      );
      expect(filtered.jobs.map((j: Job) => j.id)).toEqual([job.id]);
      expect(filtered).toMatchObject({ total: 1, limit: 5, offset: 0 });
      expect((await json(await call('GET', `/api/jobs?connector=synthetic&status=failed`))).jobs).toEqual([]);

      for (const action of ['pause', 'resume', 'cancel']) {
        const res = await call('POST', `/api/jobs/${job.id}/${action}`, {});
        expect(res.status, action).toBe(409);
        expect((await json(res)).error.code).toBe('illegal_transition');
      }
    });

    it('pause, resume and cancel a running job', async () => {
      const integration = await createIntegration({ records: 400, pageSize: 10, pageDelayMs: 40 });
      const started = await json<{ job: Job }>(
        await call('POST', '/api/jobs', { integrationId: integration.id }),
      );
      const id = started.job.id;
      const paused = await call('POST', `/api/jobs/${id}/pause`);
      expect(paused.status).toBe(200);
      expect((await json(paused)).job.status).toBe('paused');
      const resumed = await call('POST', `/api/jobs/${id}/resume`, {});
      expect(resumed.status).toBe(200);
      expect(['queued', 'running']).toContain((await json(resumed)).job.status);
      const cancelled = await call('POST', `/api/jobs/${id}/cancel`, {});
      expect(cancelled.status).toBe(200);
      expect((await json(cancelled)).job.status).toBe('cancelled');
      expect((await call('POST', `/api/jobs/${id}/cancel`, {})).status).toBe(409);
    });

    it('unknown jobs and integrations → 404', async () => {
      expect((await call('GET', `/api/jobs/${unknownUuid}`)).status).toBe(404);
      expect((await call('GET', '/api/jobs/whatever')).status).toBe(404);
      expect((await call('POST', `/api/jobs/${unknownUuid}/pause`)).status).toBe(404);
      expect((await call('GET', `/api/jobs/${unknownUuid}/events`)).status).toBe(404);
      expect((await call('POST', '/api/jobs', { integrationId: unknownUuid })).status).toBe(404);
    });

    it('streams progress as Server-Sent Events and resumes after Last-Event-ID', async () => {
      const integration = await createIntegration({ records: 40, pageSize: 10 });
      const started = await json<{ job: Job }>(
        await call('POST', '/api/jobs', { integrationId: integration.id, mode: 'full' }),
      );
      const live = await call('GET', `/api/jobs/${started.job.id}/events`);
      expect(live.status).toBe(200);
      expect(live.headers.get('content-type')).toMatch(/text\/event-stream/);
      const messages = await readSse(live, { until: (m) => m.event === 'end' });
      const types = messages.map((m) => m.event);
      expect(types).toContain('stream.progress');
      expect(types).toContain('job.progress');
      expect(types.at(-1)).toBe('end');
      const final = JSON.parse(messages.at(-1)!.data) as Job;
      expect(final.status).toBe('succeeded');
      expect(final.counters.loaded).toBe(43);
      const ids = messages.filter((m) => m.id !== undefined).map((m) => Number(m.id));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).toBe(ids.length);

      const middle = ids[Math.floor(ids.length / 2)]!;
      const resumed = await readSse(
        await call('GET', `/api/jobs/${started.job.id}/events`, undefined, {
          'Last-Event-ID': String(middle),
        }),
        { until: (m) => m.event === 'end' },
      );
      const resumedIds = resumed.filter((m) => m.id !== undefined).map((m) => Number(m.id));
      expect(resumedIds).toEqual(ids.filter((id) => id > middle));
      const byQuery = await readSse(
        await call('GET', `/api/jobs/${started.job.id}/events?lastEventId=${ids.at(-1)}`),
        {
          until: (m) => m.event === 'end',
        },
      );
      expect(byQuery.filter((m) => m.id !== undefined)).toEqual([]);
      expect(
        (await call('GET', `/api/jobs/${started.job.id}/events`, undefined, { 'Last-Event-ID': 'abc' }))
          .status,
      ).toBe(400);
    });
  });

  describe('event stream lifecycle', () => {
    it('drops its engine subscription when the client goes away', async () => {
      let active = 0;
      const counting = Object.assign(Object.create(engine) as Engine, {
        events: {
          since: engine.events.since.bind(engine.events),
          subscribe: (...args: Parameters<Engine['events']['subscribe']>) => {
            const off = engine.events.subscribe(...args);
            let on = true;
            active++;
            return () => {
              if (on) active--;
              on = false;
              off();
            };
          },
        },
      });
      const watched = new Hono();
      watched.route(mount, createEtlUi({ engine: counting }));
      const integration = await createIntegration({ records: 2000, pageSize: 10, pageDelayMs: 50 });
      const { job } = await json<{ job: Job }>(
        await call('POST', '/api/jobs', { integrationId: integration.id }),
      );
      try {
        const res = await watched.request(`http://localhost${prefix}/api/jobs/${job.id}/events`);
        let whileOpen = -1;
        const seen = await readSse(res, {
          until: (m) => {
            whileOpen = active;
            return m.event === 'job';
          },
        });
        expect(JSON.parse(seen.at(-1)!.data)).toMatchObject({ id: job.id });
        expect(whileOpen).toBe(1);
        await expect.poll(() => active, { timeout: 5_000 }).toBe(0);
      } finally {
        await engine.jobs.cancel(job.id);
      }
    });
  });

  describe('raw data and replay', () => {
    it('lists raw rows by job, payload on demand, and replays with a dry run first', async () => {
      const integration = await createIntegration({ records: 12, pageSize: 5 });
      const job = await startAndWait(integration.id);
      const page = await json(await call('GET', `/api/raw?jobId=${job.id}&stream=items&limit=5`));
      expect(page).toMatchObject({ total: 12, limit: 5, offset: 0 });
      expect(page.rows).toHaveLength(5);
      expect(page.rows[0].payload).toBeUndefined();
      const withPayload = await json(await call('GET', `/api/raw?jobId=${job.id}&limit=1&payload=true`));
      expect(withPayload.rows[0].payload).toBeTypeOf('object');
      const one = await call('GET', `/api/raw/${page.rows[0].id}`);
      expect(one.status).toBe(200);
      expect((await json(one)).row.payload).toMatchObject({ id: expect.any(Number) });
      expect((await call('GET', '/api/raw/999999999')).status).toBe(404);
      expect((await call('GET', '/api/raw/abc')).status).toBe(404);

      const dry = await call('POST', '/api/replay', { jobId: job.id, dryRun: true });
      expect(dry.status).toBe(200);
      expect(await json(dry)).toMatchObject({ dryRun: true, records: 15 });
      const real = await call('POST', '/api/replay', { integrationId: integration.id, stream: 'items' });
      expect(real.status).toBe(201);
      const result = await json(real);
      expect(result.records).toBe(12);
      expect((await engine.jobs.waitFor(result.job.id, { timeoutMs: 30_000 })).status).toBe('succeeded');
      const range = await call('POST', '/api/replay', {
        from: '2000-01-01T00:00:00Z',
        to: '2100-01-01T00:00:00Z',
        integrationId: integration.id,
        dryRun: true,
      });
      expect(range.status).toBe(200);

      expect((await call('POST', '/api/replay', { jobId: unknownUuid, dryRun: true })).status).toBe(404);
      expect(
        (await call('POST', '/api/replay', { jobId: job.id, integrationId: integration.id })).status,
      ).toBe(400);
      expect((await call('POST', '/api/replay', { from: 'yesterday', to: 'today' })).status).toBe(400);
    });
  });

  describe('queues and dead letters', () => {
    it('reports per-stage figures', async () => {
      const res = await call('GET', '/api/queues');
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body.adapter).toBe('memory');
      expect(body.stages.map((s: { stage: string }) => s.stage)).toEqual(['extract', 'transform', 'load']);
      expect(body.stages[0]).toMatchObject({
        depth: expect.any(Number),
        unacked: expect.any(Number),
        deadLetters: expect.any(Number),
      });
    });

    it('inspects, replays and discards dead letters; unknown ids → 404', async () => {
      const integration = await createIntegration({ records: 10, pageSize: 5, poison: [2] });
      const job = await startAndWait(integration.id);
      expect(job.status).toBe('partial');
      const list = await json(await call('GET', '/api/dead-letters?stage=transform'));
      const letter = list.deadLetters.find((d: { body: { jobId?: string } }) => d.body.jobId === job.id);
      expect(letter).toBeDefined();
      expect(letter.error).toMatch(/Blocked/);

      await call('PUT', `/api/integrations/${integration.id}/mappings`, {
        statuses: [{ rawStatus: 'Blocked', category: 'in_progress' }],
      });
      const replayed = await call('POST', `/api/dead-letters/${letter.id}/replay`, {});
      expect(replayed.status).toBe(200);
      await expect
        .poll(async () => (await engine.raw.list({ jobId: job.id, status: 'failed' })).total, {
          timeout: 20_000,
        })
        .toBe(0);
      expect((await call('POST', `/api/dead-letters/${letter.id}/replay`, {})).status).toBe(404);
      expect((await call('DELETE', `/api/dead-letters/${letter.id}`)).status).toBe(404);

      const poisoned = await createIntegration({ records: 5, pageSize: 5, poison: [0] });
      const second = await startAndWait(poisoned.id);
      const again = (await json(await call('GET', '/api/dead-letters'))).deadLetters.find(
        (d: { body: { jobId?: string } }) => d.body.jobId === second.id,
      );
      expect((await call('DELETE', `/api/dead-letters/${again.id}`)).status).toBe(200);
      expect(
        (await json(await call('GET', '/api/dead-letters'))).deadLetters.some(
          (d: { id: string }) => d.id === again.id,
        ),
      ).toBe(false);
    });
  });
});

describe('read-only mode', () => {
  const app = () => host('/etl', { readOnly: true });
  const call = (method: string, path: string, body?: unknown) =>
    app().request(`http://localhost/etl${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('refuses writes with 405 and still serves reads, dry runs and connection tests', async () => {
    const integration = await engine.integrations.create({
      connector: 'synthetic',
      name: 'ro',
      config: { records: 3 },
    });
    for (const [method, path, body] of [
      ['POST', '/api/jobs', { integrationId: integration.id }],
      ['POST', `/api/jobs/${unknownUuid}/pause`, {}],
      ['POST', '/api/integrations', { connector: 'synthetic', name: 'x' }],
      ['PATCH', `/api/integrations/${integration.id}`, { name: 'x' }],
      ['DELETE', `/api/integrations/${integration.id}`, undefined],
      ['PUT', `/api/integrations/${integration.id}/mappings`, {}],
      ['POST', '/api/dead-letters/x/replay', {}],
      ['DELETE', '/api/dead-letters/x', undefined],
      ['POST', '/api/replay', { integrationId: integration.id }],
    ] as const) {
      const res = await call(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('read_only');
    }
    expect((await call('GET', '/api/integrations')).status).toBe(200);
    expect((await call('POST', '/api/replay', { integrationId: integration.id, dryRun: true })).status).toBe(
      200,
    );
    expect((await call('POST', `/api/integrations/${integration.id}/test`, {})).status).toBe(200);
    expect(((await (await call('GET', '/api/health')).json()) as { readOnly: boolean }).readOnly).toBe(true);
    expect(await (await call('GET', '/')).text()).toContain('<meta name="etl-read-only" content="true">');
  });
});

describe('auth and options', () => {
  it("runs the host's auth middleware before every route", async () => {
    const auth: MiddlewareHandler = async (c, next) => {
      if (c.req.header('authorization') !== 'Bearer letmein') return c.json({ error: 'unauthorised' }, 401);
      await next();
    };
    const app = host('/etl', { auth, requestedBy: () => 'alice' });
    expect((await app.request('http://localhost/etl/')).status).toBe(401);
    expect((await app.request('http://localhost/etl/api/jobs')).status).toBe(401);
    expect((await app.request('http://localhost/etl/assets/app.js')).status).toBe(401);
    const ok = await app.request('http://localhost/etl/api/jobs', {
      headers: { Authorization: 'Bearer letmein' },
    });
    expect(ok.status).toBe(200);

    const integration = await engine.integrations.create({
      connector: 'synthetic',
      name: 'who',
      config: { records: 1 },
    });
    const started = await app.request('http://localhost/etl/api/jobs', {
      method: 'POST',
      headers: { Authorization: 'Bearer letmein', 'Content-Type': 'application/json' },
      body: JSON.stringify({ integrationId: integration.id }),
    });
    expect(((await started.json()) as { job: Job }).job.requestedBy).toBe('alice');
  });

  it('rejects bad options with an error naming the field', () => {
    expect(() => createEtlUi({ engine, basePath: 'no-slash' })).toThrow(/basePath/);
    expect(() => createEtlUi({ engine: {} as Engine })).toThrow(/engine/);
    expect(() => createEtlUi({ engine, readOnly: 'yes' as unknown as boolean })).toThrow(/readOnly/);
  });
});
