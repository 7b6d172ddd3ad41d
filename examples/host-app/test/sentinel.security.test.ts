// @etl-test-services postgres-optional rabbitmq-optional
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEngine, memoryQueue, quoteIdent, type Engine, type QueueAdapter } from '@etl/core';
import { startFakeGitHub } from '@etl/connector-github/testing';
import { startFakeJira } from '@etl/connector-jira/testing';
import { openTestDb, testServiceAvailable, uniqueSchema, type TestDb } from '@etl/core/testing';
import { deleteRabbitmqQueues, rabbitmqQueue } from '@etl/queue-rabbitmq';
import { createEtlUi } from '@etl/ui';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostConnectors } from '../src/runtime.js';

/**
 * One sentinel token, used as the Jira and GitHub credentials of real syncs (and of a failing one against a
 * server that echoes the credentials back in its error): it never appears in API responses, the event stream,
 * logs, queue messages, job errors or the database, neither in clear nor base64.
 */
const SENTINEL = `sentinel-${randomBytes(12).toString('hex')}`;

function spellings(secret: string): string[] {
  const out = [secret];
  for (const prefix of ['', 'x', 'xy']) {
    const core = Buffer.from(prefix + secret)
      .toString('base64')
      .slice(prefix ? 4 : 0, -4);
    out.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return out;
}

function expectNoSentinel(where: string, text: string) {
  expect(text.length, `${where} was observed`).toBeGreaterThan(0);
  for (const spelling of spellings(SENTINEL)) {
    expect(text.includes(spelling), `${where} contains the sentinel (${spelling})`).toBe(false);
  }
}

/** Records every message body the queue is given and every one it delivers. */
function recordingQueue(inner: QueueAdapter, seen: string[]): QueueAdapter {
  return {
    name: inner.name,
    capabilities: inner.capabilities,
    async publish(stage, bodies) {
      seen.push(JSON.stringify({ stage, bodies }));
      return inner.publish(stage, bodies);
    },
    consume: (stage, handler, options) =>
      inner.consume(
        stage,
        async (message) => {
          seen.push(JSON.stringify(message));
          return handler(message);
        },
        options,
      ),
    close: () => inner.close(),
    start: inner.start && (() => inner.start!()),
    stats: inner.stats && (() => inner.stats!()),
    deadLetters: inner.deadLetters,
  };
}

/** Answers every request 400, echoing its headers (the credentials included) in the error body. */
async function echoingServer() {
  const server = createServer((req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errorMessages: [`bad request; you sent ${JSON.stringify(req.headers)}`] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const variants = [
  { name: 'embedded PGlite + memory queue', db: 'pglite' as const, rabbitmq: false },
  ...(testServiceAvailable('postgres') && testServiceAvailable('rabbitmq')
    ? [{ name: 'PostgreSQL + RabbitMQ', db: 'postgres' as const, rabbitmq: true }]
    : []),
];

describe.each(variants)('the sentinel token stays secret on $name', (variant) => {
  const queueMessages: string[] = [];
  const logs: string[] = [];
  const responses: string[] = [];
  let t: TestDb;
  let engine: Engine;
  let app: Hono;
  let cleanup: (() => Promise<void>)[] = [];
  const rabbitmq = {
    url: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    prefix: `etl-sentinel-${randomBytes(4).toString('hex')}`,
    maxAttempts: 2,
    retryDelaysMs: [20],
  };

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(`/etl/api${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    responses.push(`${method} ${path} ${res.status} ${JSON.stringify([...res.headers])} ${text}`);
    return { status: res.status, json: () => JSON.parse(text) as Record<string, any> };
  };

  beforeAll(async () => {
    const capture = (stream: NodeJS.WriteStream) => {
      const write = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        logs.push(String(chunk));
        return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      cleanup.push(async () => {
        stream.write = write;
      });
    };
    capture(process.stdout);
    capture(process.stderr);
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      const original = console[level];
      console[level] = (...args: unknown[]) => {
        logs.push(
          args.map((a) => (a instanceof Error ? `${a.stack} ${JSON.stringify(a)}` : String(a))).join(' '),
        );
        original(...args);
      };
      cleanup.push(async () => {
        console[level] = original;
      });
    }
    t = await openTestDb(variant.db);
    const inner = variant.rabbitmq
      ? rabbitmqQueue(rabbitmq)
      : memoryQueue({ maxAttempts: 2, retryDelaysMs: [20] });
    engine = await createEngine({
      db: t.db,
      schema: variant.db === 'pglite' ? uniqueSchema('sentinel') : t.schema,
      queue: recordingQueue(inner, queueMessages),
      connectors: hostConnectors(),
      secretKey: 'sentinel-suite-secret-key-0123456789',
      progressIntervalMs: 0,
      network: { allow: ['127.0.0.0/8'] },
      eventPollMs: 50,
    });
    await engine.startWorkers();
    app = new Hono();
    app.route('/etl', createEtlUi({ engine }));
  });
  afterAll(async () => {
    await engine?.stop();
    await engine?.queue.close();
    if (variant.rabbitmq) await deleteRabbitmqQueues(rabbitmq).catch(() => undefined);
    await t?.close();
    for (const undo of cleanup.reverse()) await undo();
    cleanup = [];
  });

  it('syncs Jira and GitHub with it, and fails one sync against a server that echoes it', async () => {
    const jira = await startFakeJira({ issues: 6, projects: ['ENG'], apiToken: SENTINEL });
    const github = await startFakeGitHub({
      repos: ['acme/api'],
      pullRequests: 3,
      commits: 3,
      token: SENTINEL,
    });
    const echo = await echoingServer();
    try {
      const configs = [
        {
          connector: 'jira',
          name: 'jira',
          config: { siteUrl: jira.url, email: jira.email, apiToken: SENTINEL },
          expected: 'succeeded',
        },
        {
          connector: 'github',
          name: 'github',
          config: { token: SENTINEL, baseUrl: github.url, repositories: ['acme/api'] },
          expected: 'succeeded',
        },
        {
          connector: 'jira',
          name: 'echo',
          config: {
            siteUrl: echo.url,
            email: 'ops@acme.test',
            apiToken: SENTINEL,
          },
          expected: 'failed',
        },
      ];
      for (const c of configs) {
        const created = await api('POST', '/integrations', {
          connector: c.connector,
          name: c.name,
          config: c.config,
        });
        expect(created.status).toBe(201);
        const id = created.json().integration.id as string;
        await api('POST', `/integrations/${id}/test`);
        const started = await api('POST', '/jobs', { integrationId: id, mode: 'full' });
        expect(started.status).toBe(201);
        const jobId = started.json().job.id as string;
        const job = await engine.jobs.waitFor(jobId, { timeoutMs: 90_000 });
        expect(job.status, JSON.stringify(job.errors)).toBe(c.expected);
        if (c.expected === 'failed') {
          // The server's answer made it into the error, with what it echoed redacted.
          expect(JSON.stringify(job.errors)).toContain('[redacted]');
          expectNoSentinel('job errors', JSON.stringify(job.errors));
        }
        // The whole event stream of the job, as the UI reads it.
        const events = await app.request(`/etl/api/jobs/${jobId}/events`);
        const reader = events.body!.getReader();
        let sse = '';
        const deadline = Date.now() + 10_000;
        while (!sse.includes('event: job') && Date.now() < deadline) {
          const { value, done } = await reader.read();
          if (done) break;
          sse += new TextDecoder().decode(value);
        }
        await reader.cancel();
        expectNoSentinel(`events of ${c.name}`, sse);
        for (const path of [
          `/jobs/${jobId}`,
          `/integrations/${id}`,
          `/integrations/${id}/mappings`,
          `/raw?jobId=${jobId}&payload=true&limit=500`,
        ]) {
          await api('GET', path);
        }
      }
      for (const path of [
        '/integrations',
        '/jobs?limit=500',
        '/connectors',
        '/dead-letters',
        '/queues',
        '/health',
      ]) {
        await api('GET', path);
      }
    } finally {
      await Promise.all([jira.close(), github.close(), echo.close()]);
    }
  });

  it('… not in API responses, logs, queue messages or the database', async () => {
    expectNoSentinel('API responses', responses.join('\n'));
    expectNoSentinel('queue messages', queueMessages.join('\n'));
    // Logs may be empty when nothing went wrong; the failing sync and the test's own output make them not.
    logs.push(`observed ${responses.length} responses`);
    expectNoSentinel('logs', logs.join('\n'));
    const schema = engine.schema;
    const { rows: tables } = await engine.db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`,
      [schema],
    );
    expect(tables.length).toBeGreaterThan(5);
    let dump = '';
    for (const { table_name } of tables) {
      const { rows } = await engine.db.query<{ row: string }>(
        `SELECT t::text AS row FROM ${quoteIdent(schema)}.${quoteIdent(table_name)} t`,
      );
      dump += rows.map((r) => r.row).join('\n');
    }
    expect(dump).toContain('enc:v2:');
    expectNoSentinel('the database', dump);
  });
});
