import type { Engine } from '@etl/core';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtlUi } from './create-etl-ui.js';
import { createTestEngine } from './testing/ui-test-host.js';

/**
 * Every JSON route and query parameter of the API, fed NUL characters, lone surrogates, 10 MB bodies, deep
 * nesting and huge / negative / NaN numbers: each answer is a 4xx with a code and a message (and the field,
 * where there is one), never a 500, never a hang.
 */
const NUL = 'a\u0000b';
const SURROGATE = 'a\ud800b';
/** Number spellings as they appear in the JSON text (some are not JSON: the body is then malformed). */
const BAD_NUMBERS = ['1e400', '-1e400', '1e308', '-100', 'NaN', '18446744073709551616', '-0.5'];

interface BodyRoute {
  method: string;
  path: string;
  body: Record<string, unknown>;
  /** Dotted paths of numbers with bounds, each mutated with BAD_NUMBERS. */
  numbers?: string[];
}

function stringPaths(value: unknown, at = ''): string[] {
  if (typeof value === 'string') return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringPaths(v, `${at}${at ? '.' : ''}${i}`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => stringPaths(v, `${at}${at ? '.' : ''}${k}`));
  }
  return [];
}

function withValue(body: unknown, path: string, value: unknown): unknown {
  const copy = structuredClone(body) as Record<string, unknown>;
  const keys = path.split('.');
  let cur: Record<string, unknown> = copy;
  for (const key of keys.slice(0, -1)) cur = cur[key] as Record<string, unknown>;
  cur[keys.at(-1)!] = value;
  return copy;
}

const MARK = '__NUMBER__';

describe('API fuzzing', () => {
  let engine: Engine;
  let close: () => Promise<void>;
  let app: Hono;
  let routes: BodyRoute[];
  let getPaths: { path: string; params: string[] }[];
  let fires = 0;

  /** One request, answered within 10 s; returns status and JSON body. */
  async function send(method: string, path: string, text?: string, contentType = 'application/json') {
    fires += 1;
    const request = app.request(`/etl/api${path}`, {
      method,
      headers: text === undefined ? {} : { 'content-type': contentType },
      body: text,
    });
    const res = await Promise.race([
      request,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`${method} ${path} did not answer within 10 s`)), 10_000).unref(),
      ),
    ]);
    const type = res.headers.get('content-type') ?? '';
    const body = type.includes('json') ? ((await res.json()) as { error?: Record<string, unknown> }) : null;
    if (!type.includes('json')) await res.body?.cancel();
    return { status: res.status, body };
  }

  function expectRefusal(
    answer: { status: number; body: { error?: Record<string, unknown> } | null },
    what: string,
    field?: string,
  ) {
    expect(answer.status, `${what} → ${answer.status} ${JSON.stringify(answer.body)}`).toBeGreaterThanOrEqual(
      400,
    );
    expect(answer.status, `${what} → ${answer.status}`).toBeLessThan(500);
    expect(answer.body?.error?.code, what).toEqual(expect.any(String));
    expect(answer.body?.error?.message, what).toEqual(expect.any(String));
    if (field) {
      const issues = (answer.body?.error?.issues ?? []) as { path: string }[];
      expect(
        issues.some((i) => i.path.endsWith(field) || i.path.includes(field)),
        `${what}: issues ${JSON.stringify(issues)} name ${field}`,
      ).toBe(true);
    }
  }

  beforeAll(async () => {
    ({ engine, close } = await createTestEngine());
    app = new Hono();
    app.route('/etl', createEtlUi({ engine }));
    const integration = await engine.integrations.create({
      connector: 'synthetic',
      name: 'fuzz',
      config: { records: 5, pageSize: 5 },
    });
    const spare = await engine.integrations.create({
      connector: 'synthetic',
      name: 'spare',
      config: { records: 1 },
    });
    const job = await engine.jobs.waitFor(
      (await engine.jobs.start({ integrationId: integration.id, mode: 'full' })).id,
    );
    const I = integration.id;
    const J = job.id;
    const window = { from: '2025-01-01T00:00:00Z', to: '2025-02-01T00:00:00Z' };
    routes = [
      {
        method: 'POST',
        path: '/jobs',
        body: { integrationId: I, streams: ['projects'], mode: 'backfill', window },
      },
      ...['pause', 'resume', 'cancel'].map((a) => ({ method: 'POST', path: `/jobs/${J}/${a}`, body: {} })),
      { method: 'POST', path: '/replay', body: { integrationId: I, stream: 'items', dryRun: true } },
      { method: 'POST', path: '/replay', body: { ...window, integrationId: I, dryRun: true } },
      { method: 'POST', path: '/replay', body: { jobId: J, dryRun: true } },
      { method: 'POST', path: '/dead-letters/1/replay', body: {} },
      { method: 'DELETE', path: '/dead-letters/1', body: {} },
      {
        method: 'POST',
        path: '/integrations',
        body: {
          connector: 'synthetic',
          name: 'fuzzed',
          config: { token: 'tok-1234567', records: 1, pageSize: 1 },
          scheduleSeconds: 60,
        },
        numbers: ['scheduleSeconds', 'config.records', 'config.pageSize'],
      },
      {
        method: 'PATCH',
        path: `/integrations/${I}`,
        body: { name: 'renamed', config: { token: '••••••', records: 2 }, scheduleSeconds: 120 },
        numbers: ['scheduleSeconds', 'config.records'],
      },
      { method: 'DELETE', path: `/integrations/${spare.id}`, body: {} },
      {
        method: 'POST',
        path: `/integrations/${I}/test`,
        body: { config: { records: 3, token: '••••••' } },
        numbers: ['config.records'],
      },
      {
        method: 'PUT',
        path: `/integrations/${I}/mappings`,
        body: {
          workItemTypes: [{ rawType: 'Bug', type: 'bug', level: 0 }],
          statuses: [{ rawStatus: 'Done', category: 'done', workflowStep: 'done' }],
          workflows: [{ name: 'flow', steps: ['done'] }],
        },
        numbers: ['workItemTypes.0.level'],
      },
    ];
    getPaths = [
      { path: '/jobs', params: ['status', 'integration', 'integrationId', 'connector', 'limit', 'offset'] },
      { path: `/jobs/${J}/events`, params: ['lastEventId'] },
      {
        path: '/raw',
        params: ['jobId', 'integrationId', 'stream', 'status', 'payload', 'limit', 'offset'],
      },
      { path: '/dead-letters', params: ['stage', 'limit'] },
      { path: '/integrations', params: [] },
      { path: '/connectors', params: [] },
      { path: '/queues', params: [] },
      { path: '/health', params: [] },
    ];
  });
  afterAll(() => close());

  it('JSON bodies: NUL and lone surrogates in every string and key → 400 naming the field', async () => {
    for (const route of routes) {
      for (const path of stringPaths(route.body)) {
        for (const bad of [NUL, SURROGATE]) {
          const answer = await send(
            route.method,
            route.path,
            JSON.stringify(withValue(route.body, path, bad)),
          );
          expectRefusal(answer, `${route.method} ${route.path} ${path}=${JSON.stringify(bad)}`, path);
        }
      }
      for (const key of [NUL, SURROGATE]) {
        const answer = await send(route.method, route.path, JSON.stringify({ ...route.body, [key]: 'x' }));
        expectRefusal(answer, `${route.method} ${route.path} key ${JSON.stringify(key)}`);
      }
      // The escape spelled in the JSON text itself, as a hostile client would send it.
      const escaped = await send(route.method, route.path, '{"name":"a\\u0000b","x":"\\udc00"}');
      expectRefusal(escaped, `${route.method} ${route.path} escaped NUL`);
    }
  });

  it('JSON bodies: huge, negative and NaN numbers → 4xx', async () => {
    for (const route of routes) {
      for (const path of route.numbers ?? []) {
        for (const spelling of BAD_NUMBERS) {
          const text = JSON.stringify(withValue(route.body, path, MARK)).replace(`"${MARK}"`, spelling);
          expectRefusal(
            await send(route.method, route.path, text),
            `${route.method} ${route.path} ${path}=${spelling}`,
          );
        }
      }
    }
  });

  it('JSON bodies: 10 MB, deep nesting, malformed, wrong type → 4xx', async () => {
    const tenMegabytes = JSON.stringify({ name: 'x'.repeat(10 * 1024 * 1024) });
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    for (const route of routes) {
      const what = `${route.method} ${route.path}`;
      const big = await send(route.method, route.path, tenMegabytes);
      expect(big.status, what).toBe(413);
      expectRefusal(big, `${what} 10 MB`);
      for (const depth of [100, 5_000, 100_000]) {
        const text = `{"config":{"x":${deep(depth)}},"name":${deep(depth)}}`;
        expectRefusal(await send(route.method, route.path, text), `${what} nested ${depth} deep`);
      }
      for (const text of ['{', '[]', 'null', '"x"', '1e400', '{"a":1,}', '\u0000']) {
        expectRefusal(await send(route.method, route.path, text), `${what} body ${JSON.stringify(text)}`);
      }
      expectRefusal(
        await send(route.method, route.path, 'a=1', 'application/x-www-form-urlencoded'),
        `${what} form`,
      );
    }
  });

  it('query strings and path parameters: NUL, invalid UTF-8, huge / negative / NaN numbers → 4xx', async () => {
    const malformed = ['%00', 'a%00b', '%ED%A0%80', '%C0', '%'];
    const numbers = ['1e400', '-1', 'NaN', '99999999999999999999', '-0.5'];
    /** Parameters whose values are numbers, enums or flags: every one of `numbers` is refused there. */
    const typed = new Set(['status', 'limit', 'offset', 'lastEventId', 'payload', 'stage']);
    for (const { path, params } of getPaths) {
      for (const param of [...params, 'unknownParam']) {
        for (const value of malformed) {
          expectRefusal(await send('GET', `${path}?${param}=${value}`), `GET ${path}?${param}=${value}`);
        }
        for (const value of numbers) {
          const answer = await send('GET', `${path}?${param}=${value}`);
          const what = `GET ${path}?${param}=${value}`;
          // Free-text filters (an id, a stream name) may match nothing; an unknown parameter of a route that
          // takes none is ignored. Neither may give a 500.
          if (typed.has(param) || (param === 'unknownParam' && params.length > 0))
            expectRefusal(answer, what);
          else expect(answer.status, what).toBeLessThan(500);
        }
      }
      expectRefusal(await send('GET', `${path}?%00=1`), `GET ${path}?%00=1`);
    }
    const ids = ['%00', 'a%00', '%ED%A0%80', '99999999999999999999', '-1', 'NaN', '..%2F..%2Fetc'];
    for (const id of ids) {
      for (const path of [
        `/jobs/${id}`,
        `/jobs/${id}/events`,
        `/raw/${id}`,
        `/integrations/${id}`,
        `/integrations/${id}/mappings`,
      ]) {
        expectRefusal(await send('GET', path), `GET ${path}`);
      }
      for (const path of [`/jobs/${id}/pause`, `/integrations/${id}/test`, `/dead-letters/${id}/replay`]) {
        expectRefusal(await send('POST', path, '{}'), `POST ${path}`);
      }
    }
  });

  it('the engine is unharmed: nothing fuzzed was stored', async () => {
    expect(fires).toBeGreaterThan(300);
    const names = (await engine.integrations.list()).map((i) => i.name).sort();
    expect(names).toEqual(['fuzz', 'spare']);
  });
});
