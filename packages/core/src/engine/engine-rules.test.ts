import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector, StreamDefinition } from '../connector/connector.js';
import { validateConnector } from '../connector/validate-connector.js';
import { EtlError } from '../errors.js';
import { memoryQueue } from '../queue/memory-queue.js';
import type { QueueAdapter, Stage } from '../queue/queue.js';
import { openTestDb, type TestDb } from '../testing/db.js';
import { syntheticConnector } from '../testing/synthetic.js';
import { requestGates } from '../stores/rate-limit.js';
import { waitUntil } from '../testing/wait-until.js';
import { createEngine } from './engine.js';
import type { Engine } from './engine-types.js';

/** The synthetic connector with its streams replaced (and, optionally, its extractor's partitions removed). */
function withStreams(streams: StreamDefinition[], options: { partitions?: boolean } = {}): Connector {
  const base = syntheticConnector({ name: 'broken' });
  const extractor = options.partitions
    ? { ...base.extractor, partitions: async () => ['a'] }
    : { extract: base.extractor.extract };
  return { ...base, streams, extractor };
}

const broken: { problem: string; connector: Connector; stream: string; says: RegExp }[] = [
  {
    problem: 'a dependsOn cycle',
    connector: withStreams([
      { name: 'epics', primaryKey: ['id'], dependsOn: ['issues'] },
      { name: 'issues', primaryKey: ['id'], dependsOn: ['epics'] },
    ]),
    stream: 'epics',
    says: /streams epics → issues → epics depend on each other in a cycle/,
  },
  {
    problem: 'an unknown dependency',
    connector: withStreams([{ name: 'issues', primaryKey: ['id'], dependsOn: ['projects'] }]),
    stream: 'issues',
    says: /depends on "projects", which the connector does not define/,
  },
  {
    problem: 'duplicate streams',
    connector: withStreams([
      { name: 'issues', primaryKey: ['id'] },
      { name: 'issues', primaryKey: ['key'] },
    ]),
    stream: 'issues',
    says: /is defined twice/,
  },
  {
    problem: 'an empty primary key',
    connector: withStreams([{ name: 'issues', primaryKey: [] }]),
    stream: 'issues',
    says: /has an empty primary key/,
  },
  {
    problem: 'a partitioned stream without partitions()',
    connector: withStreams([{ name: 'pulls', primaryKey: ['id'], partitioned: true }]),
    stream: 'pulls',
    says: /is partitioned but the extractor has no partitions\(\)/,
  },
];

describe('connector rules, checked by core at registration', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb('pglite');
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it.each(broken)('createEngine refuses a connector with $problem, naming the stream', async (c) => {
    const attempt = createEngine({
      db: t.db,
      schema: t.schema,
      queue: memoryQueue(),
      connectors: [c.connector],
    });
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EtlError);
    const etl = error as EtlError;
    expect(etl.code).toBe('invalid_config');
    expect(etl.message).toMatch(/invalid connector broken/);
    expect(etl.message).toContain(`streams.${c.stream}`);
    expect(etl.message).toMatch(c.says);
  });

  it.each(broken)('validateConnector refuses a connector with $problem', (c) => {
    expect(() => validateConnector(c.connector)).toThrow(c.says);
  });

  it('accepts a sound connector, partitioned streams included', () => {
    expect(() => validateConnector(syntheticConnector())).not.toThrow();
    const partitioned = withStreams(
      [
        { name: 'repositories', primaryKey: ['id'] },
        { name: 'pulls', primaryKey: ['id'], partitioned: true, dependsOn: ['repositories'] },
      ],
      { partitions: true },
    );
    expect(() => validateConnector(partitioned)).not.toThrow();
  });

  it('lists every problem of a connector at once', () => {
    const connector = withStreams([
      { name: 'issues', primaryKey: [] },
      { name: 'pulls', primaryKey: ['id'], partitioned: true, dependsOn: ['nope'] },
    ]);
    const error = (() => {
      try {
        validateConnector(connector);
      } catch (e) {
        return e as EtlError;
      }
    })();
    expect((error!.details as { path: string }[]).map((d) => d.path)).toEqual([
      'streams.issues.primaryKey',
      'streams.pulls.dependsOn',
      'streams.pulls.partitioned',
    ]);
  });
});

/** A memory queue that records what is published, declaring `durableRedelivery` as told. */
function recordingQueue(durableRedelivery: boolean): { queue: QueueAdapter; published: Stage[] } {
  const inner = memoryQueue();
  const published: Stage[] = [];
  const queue: QueueAdapter = {
    ...inner,
    capabilities: { ...inner.capabilities, durableRedelivery },
    publish: async (stage, bodies) => {
      for (const _ of bodies) published.push(stage);
      await inner.publish(stage, bodies);
    },
  };
  return { queue, published };
}

describe('engine inputs, capabilities and stats', () => {
  let t: TestDb;
  let engine: Engine;
  beforeAll(async () => {
    t = await openTestDb('pglite');
    engine = await createEngine({
      db: t.db,
      schema: t.schema,
      queue: memoryQueue({ maxAttempts: 2, retryDelaysMs: [10] }),
      connectors: [syntheticConnector()],
      secretKey: 'engine-rules-secret-key-0123456789',
      progressIntervalMs: 0,
    });
  }, 60_000);
  afterAll(async () => {
    await engine?.stop();
    await t?.close();
  });

  it('refuses scheduleSeconds: -5, on create and on update, naming the field', async () => {
    const create = engine.integrations.create({
      connector: 'synthetic',
      name: 'x',
      config: {},
      scheduleSeconds: -5,
    });
    await expect(create).rejects.toMatchObject({
      code: 'invalid_input',
      details: [
        { path: 'scheduleSeconds', message: 'must be at least 60 seconds (or null for manual runs only)' },
      ],
    });
    await expect(create).rejects.toThrow(/scheduleSeconds: must be at least 60 seconds/);
    const integration = await engine.integrations.create({ connector: 'synthetic', name: 'ok', config: {} });
    await expect(engine.integrations.update(integration.id, { scheduleSeconds: -5 })).rejects.toThrow(
      /scheduleSeconds: must be at least 60 seconds/,
    );
    expect((await engine.integrations.get(integration.id)).scheduleSeconds).toBeNull();
    expect((await engine.integrations.update(integration.id, { scheduleSeconds: 600 })).scheduleSeconds).toBe(
      600,
    );
  });

  it('refuses a job and a replay outside the input schemas, naming the field', async () => {
    const integration = await engine.integrations.create({
      connector: 'synthetic',
      name: 'inputs',
      config: {},
    });
    await expect(
      engine.jobs.start({ integrationId: integration.id, streams: ['x'.repeat(101)] }),
    ).rejects.toThrow(/invalid job — streams\.0: /);
    await expect(engine.replay({ from: 'yesterday', to: 'today' })).rejects.toThrow(
      /invalid replay selector/,
    );
  });

  it('takes over a job only when its owner is gone, and only when the queue does not redeliver durably', async () => {
    const integration = await engine.integrations.create({
      connector: 'synthetic',
      name: 'recover',
      config: { records: 5 },
    });
    const process = (durableRedelivery: boolean) => {
      const { queue, published } = recordingQueue(durableRedelivery);
      const opened = createEngine({
        db: t.db,
        schema: t.schema,
        queue,
        connectors: [syntheticConnector()],
        migrate: false,
        streamLeaseMs: 1_000,
      });
      return { opened, queue, published };
    };
    // The owner: a process that started the job and keeps its lease while it runs (no stage consumed here).
    const owner = process(false);
    const first = await owner.opened;
    await first.startWorkers({ stages: [] });
    const job = await first.jobs.start({ integrationId: integration.id, mode: 'full' });
    owner.published.length = 0;

    const durable = process(true);
    const other = process(false);
    const [durableEngine, otherEngine] = await Promise.all([durable.opened, other.opened]);
    await durableEngine.startWorkers({ stages: [] });
    await otherEngine.startWorkers({ stages: [] });
    // Three lease lengths with the owner alive: nobody takes the job.
    const aliveUntil = Date.now() + 3_000;
    await waitUntil(() => Date.now() > aliveUntil || other.published.length > 0, 5_000, 'three leases');
    expect(other.published, 'a live owner keeps its job').toEqual([]);

    // The owner stops (its messages go with it): the other process takes the job over and says so.
    await first.stop();
    await waitUntil(() => other.published.length > 0, 5_000, 'the take-over');
    expect(other.published).toEqual(['extract']);
    expect(durable.published, 'a durable queue redelivers by itself').toEqual([]);
    const events = await otherEngine.events.since(0, { jobId: job.id });
    const adopted = events.filter((e) => e.type === 'job.adopted');
    expect(adopted).toHaveLength(1);
    expect(adopted[0]).toMatchObject({ owner: expect.any(String), previousOwner: expect.any(String) });

    for (const e of [durableEngine, otherEngine]) await e.stop();
    for (const q of [owner.queue, durable.queue, other.queue]) await q.close();
    await engine.jobs.cancel(job.id);
  });

  it('reports stats: jobs by status, records per stage, throttling, dead letters', async () => {
    const before = await engine.stats();
    const integration = await engine.integrations.create({
      connector: 'synthetic',
      name: 'stats',
      config: { records: 20 },
    });
    await engine.startWorkers();
    const job = await engine.jobs.waitFor(
      (await engine.jobs.start({ integrationId: integration.id, mode: 'full' })).id,
    );
    expect(job.status).toBe('succeeded');
    const budget = { until: new Date(Date.now() + 60_000), reason: 'test: 429' };
    await requestGates(t.db, t.schema, 'test', () => undefined)
      .gate(integration.id, { concurrency: 1 })
      .pauseUntil(budget.until, budget.reason);
    const after = await engine.stats();
    expect(after.jobs.succeeded).toBe(before.jobs.succeeded + 1);
    expect(after.records.extracted - before.records.extracted).toBe(job.counters.extracted);
    expect(after.records.loaded - before.records.loaded).toBe(job.counters.loaded);
    expect(after.throttling.active).toEqual([
      { integrationId: integration.id, until: budget.until.toISOString(), reason: budget.reason },
    ]);
    expect(after.throttling.events).toBeGreaterThanOrEqual(before.throttling.events);
    expect(after.deadLetters).toEqual({ extract: 0, transform: 0, load: 0 });
    expect(after.queues?.map((q) => q.stage)).toEqual(['extract', 'transform', 'load']);
  });
});
