// @etl-test-services postgres rabbitmq
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Engine, QueueAdapter, QueueMessage } from '@etl/core';
import {
  openTestDb,
  startTestEngine,
  testSecretKey,
  type SyntheticConfig,
  type TestDb,
  waitUntil as until,
} from '@etl/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerControl, type BrokerControl } from './broker-control.js';
import { deleteRabbitmqQueues } from './delete-queues.js';
import { rabbitmqQueue, type RabbitmqQueue } from './rabbitmq-queue.js';

const brokerUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

describe('the engine on RabbitMQ under faults', () => {
  let t: TestDb;
  let broker: BrokerControl;
  const prefixes: string[] = [];
  /** Connections named after the prefix, so the test closes only its own. */
  const queueOptions = (prefix: string) => ({
    url: broker.url,
    prefix,
    connectionName: prefix,
    maxAttempts: 3,
    retryDelaysMs: [100, 200],
    heartbeatSeconds: 5,
    publishTimeoutMs: 90_000,
    reconnectInitialDelayMs: 200,
    reconnectMaxDelayMs: 1_000,
  });

  const count = async (table: string, integrationId: string) =>
    Number(
      (
        await t.db.query<{ n: string }>(
          `SELECT count(*) AS n FROM "${t.schema}".${table} WHERE integration_id = $1`,
          [integrationId],
        )
      ).rows[0]!.n,
    );

  /** An engine of its own (own queue prefix) on the shared test schema. */
  const engineOn = async (queue: QueueAdapter) =>
    (await startTestEngine({ database: t, queue, workers: false })).engine;

  const freshQueue = () => {
    const prefix = `etl-fault-engine-${randomBytes(4).toString('hex')}`;
    prefixes.push(prefix);
    const queue = rabbitmqQueue(queueOptions(prefix));
    const events: string[] = [];
    queue.onConnectionEvent((event) => events.push(event.type));
    return { prefix, queue, events };
  };

  const startJob = async (engine: Engine, config: SyntheticConfig, name: string) => {
    const integration = await engine.integrations.create({ connector: 'synthetic', name, config });
    const job = await engine.jobs.start({ integrationId: integration.id, mode: 'full' });
    return { integration, job };
  };

  beforeAll(async () => {
    t = await openTestDb('postgres', { max: 12 });
    broker = await brokerControl();
  });

  afterAll(async () => {
    await broker?.start();
    for (const prefix of prefixes) await deleteRabbitmqQueues({ ...queueOptions(prefix), url: brokerUrl });
    await broker?.close();
    await t?.close();
  });

  it('a broker outage while 10,000 records flow → exactly 10,000 rows, job succeeded untouched', async () => {
    const { queue, events } = freshQueue();
    const engine = await engineOn(queue);
    try {
      await engine.startWorkers();
      const { integration, job } = await startJob(
        engine,
        { records: 10_000, pageSize: 250, pageDelayMs: 50, seed: 3 },
        'stop-app',
      );
      await until(
        async () => (await engine.jobs.get(job.id)).counters.extracted >= 3_000,
        60_000,
        '3,000 extracted',
      );
      // The broker goes away while records are still being extracted, published and loaded.
      expect(await count('work_items', integration.id)).toBeLessThan(10_000);
      try {
        await broker.stop();
        await new Promise((resolve) => setTimeout(resolve, 1_500));
      } finally {
        await broker.start();
      }
      const finished = await engine.jobs.waitFor(job.id, { timeoutMs: 120_000 });
      expect(finished.status, JSON.stringify(finished.errors)).toBe('succeeded');
      expect(await count('work_items', integration.id)).toBe(10_000);
      expect(await count('projects', integration.id)).toBe(3);
      const stats = await queue.stats();
      expect(stats.map((s) => s.deadLetters)).toEqual([0, 0, 0]);
      expect(events).toContain('lost');
    } finally {
      await broker.start();
      await engine.stop();
      await queue.close();
    }
  });

  it('the broker closes our connection mid-job → consumers come back and the job finishes', async () => {
    const { prefix, queue, events } = freshQueue();
    const engine = await engineOn(queue);
    try {
      await engine.startWorkers();
      const { integration, job } = await startJob(
        engine,
        { records: 3_000, pageSize: 100, pageDelayMs: 20, seed: 4 },
        'close-all',
      );
      await until(async () => (await count('work_items', integration.id)) >= 500, 60_000, '500 rows loaded');
      expect(await broker.closeConnections(prefix)).toBe(1);
      const finished = await engine.jobs.waitFor(job.id, { timeoutMs: 90_000 });
      expect(finished.status, JSON.stringify(finished.errors)).toBe('succeeded');
      expect(await count('work_items', integration.id)).toBe(3_000);
      const stats = await queue.stats();
      expect(stats.map((s) => s.consumers)).toEqual([1, 1, 1]);
      expect(events).toContain('lost');
    } finally {
      await engine.stop();
      await queue.close();
    }
  });

  it('a poison record → dead letter after maxAttempts, in the stats, replayable once the mapping is fixed', async () => {
    const { queue } = freshQueue();
    const engine = await engineOn(queue);
    try {
      await engine.startWorkers();
      const { integration, job } = await startJob(
        engine,
        { records: 500, pageSize: 100, poison: [42] },
        'poison',
      );
      const finished = await engine.jobs.waitFor(job.id, { timeoutMs: 60_000 });
      expect(finished.status).toBe('partial');
      expect(await count('work_items', integration.id)).toBe(499);
      const letters = await engine.deadLetters.list({ stage: 'transform' });
      expect(letters).toHaveLength(1);
      expect(letters[0]!.attempts).toBe(3);
      expect(letters[0]!.error).toContain('"Blocked"');
      const stats = await engine.queues.stats();
      expect(stats.find((s) => s.stage === 'transform')!.deadLetters).toBe(1);

      const current = await engine.mappings.get(integration.id);
      await engine.mappings.put(integration.id, {
        ...current.mappings,
        statuses: [
          ...current.mappings.statuses,
          { rawStatus: 'Blocked', category: 'in_progress', workflowStep: 'doing' },
        ],
      });
      await engine.deadLetters.replay(letters[0]!.id);
      await until(
        async () => (await count('work_items', integration.id)) === 500,
        30_000,
        'the replayed record',
      );
      await until(
        async () => (await engine.jobs.get(job.id)).status === 'succeeded',
        30_000,
        'job succeeded',
      );
      expect(await engine.deadLetters.list()).toEqual([]);
      expect((await engine.queues.stats()).map((s) => s.deadLetters)).toEqual([0, 0, 0]);
    } finally {
      await engine.stop();
      await queue.close();
    }
  });

  it('a load worker SIGKILLed after its database write, before its ack → redelivered, row count unchanged', async () => {
    const { prefix, queue: rabbit } = freshQueue();
    const delivered: QueueMessage[] = [];
    // Records which load messages this process handles, to see the killed worker's message come back.
    const queue: QueueAdapter = {
      ...rabbit,
      name: rabbit.name,
      consume: (stage, handler, options) =>
        rabbit.consume(
          stage,
          async (message) => {
            if (stage === 'load') delivered.push(message);
            await handler(message);
          },
          options,
        ),
    };
    const engine = await engineOn(queue);
    const child = spawn(
      process.execPath,
      [
        '--conditions=etl-source',
        '--import',
        'tsx',
        fileURLToPath(new URL('./load-worker.fixture.ts', import.meta.url)),
      ],
      {
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl,
          SCHEMA: t.schema,
          SECRET_KEY: testSecretKey,
          KILL_AFTER_LOADS: '3',
          QUEUE_OPTIONS: JSON.stringify(queueOptions(prefix)),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    try {
      await until(() => output.includes('ready'), 30_000, 'the child worker');
      await engine.startWorkers({ stages: ['extract', 'transform'] });
      const { integration, job } = await startJob(
        engine,
        { records: 2_000, pageSize: 100, seed: 5 },
        'sigkill',
      );
      expect(await exited).toBe('SIGKILL');
      const killedId = /killed-after (\S+)/.exec(output)?.[1];
      expect(killedId).toBeDefined();
      const rowsAtKill = await count('work_items', integration.id);
      expect(rowsAtKill).toBeGreaterThan(0);
      // The unacked message goes back to the queue once the broker sees the child's connection die.
      const loadDepth = async () =>
        (await (rabbit as RabbitmqQueue).stats()).find((s) => s.stage === 'load')!.depth;
      await until(async () => (await loadDepth()) >= 1, 15_000, 'the killed message back on the load queue');

      await engine.startWorkers({ stages: ['load'] });
      const finished = await engine.jobs.waitFor(job.id, { timeoutMs: 90_000 });
      expect(finished.status, JSON.stringify(finished.errors)).toBe('succeeded');
      expect(delivered.some((m) => m.id === killedId)).toBe(true);
      expect(await count('work_items', integration.id)).toBe(2_000);
      expect(await count('projects', integration.id)).toBe(3);
    } finally {
      child.kill('SIGKILL');
      await engine.stop();
      await rabbit.close();
    }
  });
});
