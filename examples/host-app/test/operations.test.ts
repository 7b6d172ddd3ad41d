// @etl-test-services postgres
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdent } from '@etl/core';
import { defaultDatabaseUrl, startFaultProxy, uniqueSchema, type FaultProxy } from '@etl/core/testing';
import { startFakeJira, type FakeJira } from '@etl/connector-jira/testing';
import { eventually, startEntry, type Child } from './processes.js';
import { histogramSeries, parsePrometheusText, type Family } from './prometheus-text.js';

/**
 * What an operator sees of the host app, as a process on PostgreSQL reached through a proxy the test can
 * cut: liveness and readiness outside the UI's login, Prometheus metrics that parse with consistent labels,
 * and a failed job logged at error level with its id.
 */
const databaseUrl = new URL(process.env.DATABASE_URL ?? defaultDatabaseUrl);
const schema = uniqueSchema('ops');
const auth = { user: 'ops', password: 'correct-horse-battery' };
const basic = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;

let pool: pg.Pool;
let proxy: FaultProxy;
let jira: FakeJira;
let app: Child;
let base: string;

async function scrape(): Promise<Map<string, Family>> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

async function api(path: string, init: RequestInit = {}) {
  const response = await fetch(`${base}/etl/api${path}`, {
    ...init,
    headers: { authorization: basic, 'content-type': 'application/json', ...init.headers },
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: databaseUrl.href, max: 2, connectionTimeoutMillis: 5000 });
  pool.on('error', () => undefined);
  await pool.query('SELECT 1');
  proxy = await startFaultProxy({ host: databaseUrl.hostname, port: Number(databaseUrl.port || 5432) });
  jira = await startFakeJira({ issues: 60, projects: ['ENG'], seed: 3 });
  const viaProxy = new URL(databaseUrl);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  app = startEntry('src/main.ts', [], {
    DATABASE_URL: viaProxy.href,
    ETL_DB_SCHEMA: schema,
    ETL_SECRET_KEY: randomBytes(24).toString('base64url'),
    ETL_SCHEDULER: 'off',
    ETL_BATCH_SIZE: '20',
    ETL_UI_USER: auth.user,
    ETL_UI_PASSWORD: auth.password,
    ETL_SHUTDOWN_TIMEOUT_SECONDS: '5',
    ETL_ALLOW_PRIVATE_NETWORK: '127.0.0.0/8',
    PORT: '0',
  });
  const listening = await app.waitForLog((l) => l.event === 'app.listening');
  base = new URL(String(listening.url)).origin;
});

afterAll(async () => {
  await app?.stop();
  await proxy?.close();
  await jira?.close();
  await pool?.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await pool?.end();
});

describe('operating the host app', () => {
  it('serves /healthz and /readyz without the UI login, which guards the UI', async () => {
    expect((await fetch(`${base}/etl/api/jobs`)).status).toBe(401);
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      ok: true,
      checks: { database: { ok: true }, queue: { ok: true } },
    });
  });

  it('exposes Prometheus metrics that parse, with stage/connector/integration labels and histograms', async () => {
    const created = await api('/integrations', {
      method: 'POST',
      body: JSON.stringify({
        connector: 'jira',
        name: 'Ops Jira',
        config: { siteUrl: jira.url, email: jira.email, apiToken: jira.apiToken },
      }),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const started = await api('/jobs', {
      method: 'POST',
      body: JSON.stringify({ integrationId: created.body.integration.id, mode: 'full' }),
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const jobId = started.body.job.id as string;
    await eventually(
      async () => {
        const { body } = await api(`/jobs/${jobId}`);
        return body.job.status === 'succeeded' ? true : undefined;
      },
      60_000,
      'the job to succeed',
    );

    // The job's duration reaches the histogram through the event bus.
    const families = await eventually(
      async () => {
        const f = await scrape();
        const duration = f.get('etl_job_duration_seconds');
        return duration && histogramSeries(duration)[0]?.count === 1 ? f : undefined;
      },
      20_000,
      'the finished job in etl_job_duration_seconds',
    );
    const jobLabels = { connector: 'jira', integration: 'Ops Jira' };
    const duration = families.get('etl_job_duration_seconds')!;
    expect(duration.type).toBe('histogram');
    expect(histogramSeries(duration)).toEqual([{ labels: { ...jobLabels, status: 'succeeded' }, count: 1 }]);

    const recordsByStage = new Map(
      families.get('etl_records_total')!.samples.map((m) => {
        expect(m.labels).toMatchObject(jobLabels);
        return [m.labels.stage, m.value];
      }),
    );
    expect([...recordsByStage.keys()].sort()).toEqual(['extract', 'load', 'transform']);
    const { body } = await api(`/jobs/${jobId}`);
    expect(recordsByStage.get('extract')).toBe(body.job.counters.extracted);
    expect(recordsByStage.get('load')).toBe(body.job.counters.loaded);

    const batches = families.get('etl_stage_batch_duration_seconds')!;
    expect(batches.type).toBe('histogram');
    const batchSeries = histogramSeries(batches);
    expect([...new Set(batchSeries.map((s) => s.labels.stage))].sort()).toEqual([
      'extract',
      'load',
      'transform',
    ]);
    for (const s of batchSeries) expect(s.labels).toMatchObject({ ...jobLabels, outcome: 'ok' });

    // Every series with a stage label uses the stage names, nothing else.
    const stageValues = new Set(
      [...families.values()].flatMap((f: Family) => f.samples.map((m) => m.labels.stage).filter(Boolean)),
    );
    expect([...stageValues].sort()).toEqual(['extract', 'load', 'transform']);

    const jobs = new Map(families.get('etl_jobs')!.samples.map((m) => [m.labels.status, m.value]));
    expect(jobs.get('succeeded')).toBe(1);
    expect(families.get('etl_queue_depth')!.samples).toHaveLength(3);
    expect(families.has('process_cpu_seconds_total')).toBe(true);
    expect(families.has('process_resident_memory_bytes')).toBe(true);
    expect(families.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('logs a failed job at error level with its id', async () => {
    const created = await api('/integrations', {
      method: 'POST',
      body: JSON.stringify({
        connector: 'jira',
        name: 'Wrong token',
        config: {
          siteUrl: jira.url,
          email: jira.email,
          apiToken: 'not-the-token',
        },
      }),
    });
    expect(created.status).toBe(201);
    const started = await api('/jobs', {
      method: 'POST',
      body: JSON.stringify({ integrationId: created.body.integration.id }),
    });
    const jobId = started.body.job.id as string;
    const line = await app.waitForLog((l) => l.jobId === jobId && l.event === 'job.failed', 60_000);
    expect(line).toMatchObject({ level: 'error', jobId, connector: 'jira' });
    expect(String(line.msg)).toContain(jobId);
  });

  it('answers /readyz with 503 while the database is down, and 200 once it is back', async () => {
    await proxy.stop();
    try {
      const response = await fetch(`${base}/readyz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ ok: false, checks: { database: { ok: false } } });
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await proxy.start();
    }
    await eventually(
      async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined),
      20_000,
      '/readyz to answer 200 again',
    );
  });
});
