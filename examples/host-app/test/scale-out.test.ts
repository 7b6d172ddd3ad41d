// @etl-test-services postgres rabbitmq
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdent, type Job } from '@etl/core';
import { defaultDatabaseUrl, uniqueSchema } from '@etl/core/testing';
import { startFakeJira, type FakeJira } from '@etl/connector-jira/testing';
import { deleteRabbitmqQueues } from '@etl/queue-rabbitmq';
import { eventually, startEntry, type Child } from './processes.js';

/**
 * The docker-compose topology as processes: the host app (no workers of its own) and separate worker
 * processes on the real PostgreSQL and RabbitMQ, each test with its own schema and queue prefix.
 */
const databaseUrl = process.env.DATABASE_URL ?? defaultDatabaseUrl;
const rabbitmqUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const ISSUES = 600;

let fake: FakeJira;
let pool: pg.Pool;
const children: Child[] = [];
const schemas: string[] = [];

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: databaseUrl, max: 2, connectionTimeoutMillis: 5000 });
  pool.on('error', () => undefined);
  await pool.query('SELECT 1'); // PostgreSQL missing is a failure, never a skip
  fake = await startFakeJira({ issues: ISSUES, projects: ['ENG', 'OPS', 'WEB'], seed: 11, latencyMs: 5 });
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop('SIGKILL')));
  for (const schema of schemas) {
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await deleteRabbitmqQueues({ url: rabbitmqUrl, prefix: `test-${schema}` });
  }
  await pool.end();
  await fake?.close();
});

function deployment() {
  const schema = uniqueSchema('hostapp');
  schemas.push(schema);
  const env = {
    DATABASE_URL: databaseUrl,
    RABBITMQ_URL: rabbitmqUrl,
    ETL_DB_SCHEMA: schema,
    ETL_QUEUE_PREFIX: `test-${schema}`,
    ETL_SECRET_KEY: randomBytes(24).toString('base64url'),
    ETL_BATCH_SIZE: '20',
    ETL_SCHEDULER: 'off',
    ETL_SHUTDOWN_TIMEOUT_SECONDS: '5',
    ETL_ALLOW_PRIVATE_NETWORK: '127.0.0.0/8',
  };
  const start = (entry: string, args: string[] = [], extra: Record<string, string> = {}) => {
    const child = startEntry(entry, args, { ...env, ...extra });
    children.push(child);
    return child;
  };
  return { schema, env, start };
}

async function api<T>(base: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/etl/api${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function startJiraJob(base: string): Promise<string> {
  const { integration } = await api<{ integration: { id: string } }>(base, '/integrations', {
    connector: 'jira',
    name: 'scale-out',
    config: {
      siteUrl: fake.url,
      email: fake.email,
      apiToken: fake.apiToken,
      pageSize: 25,
    },
  });
  const { job } = await api<{ job: Job }>(base, '/jobs', {
    integrationId: integration.id,
    streams: ['issues'],
  });
  return job.id;
}

/** Every issue is one raw row and one work item; nothing pending, nothing twice. */
async function expectExactlyOnce(schema: string, jobId: string) {
  const s = quoteIdent(schema);
  const raw = await pool.query<{ rows: number; distinct_ids: number; pending: number }>(
    `SELECT count(*)::int AS rows, count(DISTINCT source_id)::int AS distinct_ids,
            count(*) FILTER (WHERE status <> 'loaded')::int AS pending
       FROM ${s}.raw_extraction_data WHERE job_id = $1 AND stream = 'issues'`,
    [jobId],
  );
  expect(raw.rows[0]).toEqual({ rows: ISSUES, distinct_ids: ISSUES, pending: 0 });
  const items = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.work_items`);
  expect(items.rows[0]!.n).toBe(ISSUES);
  const keys = await pool.query<{ n: number }>(`SELECT count(DISTINCT key)::int AS n FROM ${s}.work_items`);
  expect(keys.rows[0]!.n).toBe(ISSUES);
}

describe('host app + worker processes on PostgreSQL and RabbitMQ', () => {
  it('spreads one job over two workers and lands every record exactly once', async () => {
    const d = deployment();
    const app = d.start('src/main.ts', [], { PORT: '0', ETL_WORKERS: 'none' });
    const listening = await app.waitForLog((l) => l.event === 'app.listening');
    const base = new URL(String(listening.url)).origin;
    const workers = [1, 2].map(() =>
      d.start('src/worker.ts', ['--stages', 'extract,transform,load', '--concurrency', '2']),
    );
    await Promise.all(workers.map((w) => w.waitForLog((l) => l.event === 'worker.started')));

    const jobId = await startJiraJob(base);
    const job = await eventually(
      async () => {
        const { job } = await api<{ job: Job }>(base, `/jobs/${jobId}`);
        return ['succeeded', 'partial', 'failed', 'cancelled'].includes(job.status) ? job : undefined;
      },
      60_000,
      'the job to finish',
    );
    expect(job.status).toBe('succeeded');
    expect(job.counters.loaded).toBe(job.counters.extracted);

    // The app's /metrics follows every process's events: the same totals whoever did the work.
    const loadedSeries = new RegExp(
      `etl_records_total\\{stage="load",connector="jira",integration="[^"]+"\\} ${job.counters.loaded}\\b`,
    );
    const metrics = await eventually(
      async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return loadedSeries.test(text) ? text : undefined;
      },
      20_000,
      'the loaded records in /metrics',
    );
    expect(metrics).toContain('etl_jobs{status="succeeded"} 1');
    expect(metrics).toContain('etl_queue_consumers{stage="load"} 2');

    const finals = [];
    for (const w of workers) {
      expect((await w.stop()).code).toBe(0);
      finals.push(
        w.logs.find((l) => l.event === 'worker.handled' && l.final === true)!.handled as Record<
          string,
          { messages: number; records: number }
        >,
      );
    }
    for (const handled of finals) {
      expect(handled.transform!.records).toBeGreaterThan(0);
      expect(handled.load!.records).toBeGreaterThan(0);
    }
    expect(finals[0]!.load!.records + finals[1]!.load!.records).toBe(job.counters.loaded);
    await expectExactlyOnce(d.schema, jobId);
    expect((await app.stop()).code).toBe(0);
  });

  it('loses nothing when a worker gets SIGTERM mid-job; the job finishes once a worker runs again', async () => {
    const d = deployment();
    const app = d.start('src/main.ts', [], { PORT: '0', ETL_WORKERS: 'none' });
    const base = new URL(String((await app.waitForLog((l) => l.event === 'app.listening')).url)).origin;
    const first = d.start('src/worker.ts', ['--concurrency', 'extract=1,transform=1,load=1']);
    await first.waitForLog((l) => l.event === 'worker.started');
    const jobId = await startJiraJob(base);

    await eventually(
      async () => {
        const { job } = await api<{ job: Job }>(base, `/jobs/${jobId}`);
        return job.counters.loaded > 0 ? job : undefined;
      },
      30_000,
      'the first records to load',
    );
    const stopped = await first.stop('SIGTERM');
    expect([0, 1]).toContain(stopped.code); // graceful, or cut at the shutdown timeout: both must lose nothing
    expect(first.logs.some((l) => l.event === 'shutdown.started')).toBe(true);

    const { job: between } = await api<{ job: Job }>(base, `/jobs/${jobId}`);
    expect(between.status).toBe('running');
    expect(between.counters.loaded).toBeLessThan(ISSUES);

    const second = d.start('src/worker.ts');
    const job = await eventually(
      async () => {
        const { job } = await api<{ job: Job }>(base, `/jobs/${jobId}`);
        return ['succeeded', 'partial', 'failed', 'cancelled'].includes(job.status) ? job : undefined;
      },
      60_000,
      'the job to finish on the second worker',
    );
    expect(job.status).toBe('succeeded');
    await expectExactlyOnce(d.schema, jobId);
    expect((await second.stop()).code).toBe(0);
    expect((await app.stop()).code).toBe(0);
  });
});
