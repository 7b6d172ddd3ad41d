// @etl-test-services postgres-optional
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from './engine.js';
import type { Engine } from './engine-types.js';
import { EtlError } from '../errors.js';
import type { EngineEvent } from '../model/events.js';
import { memoryQueue } from '../queue/memory-queue.js';
import { migrate } from '../db/migrate.js';
import { openTestDb, type TestDb } from '../testing/db.js';
import { startTestEngine, type TestEngine } from '../testing/test-engine.js';
import { waitUntil } from '../testing/wait-until.js';
import { withDuplicateDelivery } from '../testing/duplicate-delivery.js';
import { syntheticConnector, type SyntheticConfig } from '../testing/synthetic.js';
import { testDbKinds } from '../testing/services.js';

const SECRET = 'engine-test-secret-key-0123456789';

describe.each(testDbKinds())('engine on %s', (kind) => {
  let t: TestDb;
  let harness: TestEngine;
  let engine: Engine;
  const q = async (sql: string, values?: unknown[]) => ({ rows: await harness.rows(sql, values) });
  const count = (table: string, integrationId: string) => harness.count(table, integrationId);
  const streamStatus = async (jobId: string, stream: string) =>
    (await engine.jobs.get(jobId)).streamStates!.find((s) => s.stream === stream)?.status;
  /** No extract message waiting or being handled: every extractor of this engine has returned. */
  const extractIdle = async () => {
    const extract = (await engine.queues.stats()).find((q) => q.stage === 'extract')!;
    return extract.depth === 0 && extract.unacked === 0 && extract.retrying === 0;
  };
  const allStagesIdle = async () =>
    (await engine.queues.stats()).every((q) => q.depth === 0 && q.unacked === 0 && q.retrying === 0);
  /** Content of an integration's work items, without load times: equal when two runs produced the same rows. */
  const snapshot = async (integrationId: string, where = 'true') =>
    (
      await q(
        `SELECT source_id, source_updated_at, key, title, type, raw_type, status, status_category, workflow_step, project_key,
                hierarchy_level, assignee_id, story_points, created_at, updated_at
         FROM $schema.work_items WHERE integration_id = $1 AND ${where} ORDER BY source_id`,
        [integrationId],
      )
    ).rows;
  const run = async (
    config: SyntheticConfig,
    e: Engine = engine,
    name = 'synthetic',
    timeoutMs = 120_000,
  ) => {
    const integration = await e.integrations.create({ connector: 'synthetic', name, config });
    const job = await e.jobs.start({ integrationId: integration.id, mode: 'full' });
    return { integration, job: await e.jobs.waitFor(job.id, { timeoutMs }) };
  };

  beforeAll(async () => {
    t = await openTestDb(kind);
    harness = await startTestEngine({ database: t, secretKey: SECRET });
    engine = harness.engine;
  }, 60_000);

  afterAll(async () => {
    await harness?.close();
    await t?.close();
  });

  it('moves 10,000 records end to end into exactly 10,000 canonical rows', { timeout: 180_000 }, async () => {
    const { integration, job } = await run({ records: 10_000, pageSize: 500 });
    expect(job.status, JSON.stringify(job.errors)).toBe('succeeded');
    expect(job.counters).toMatchObject({
      extracted: 10_003,
      transformed: 10_003,
      loaded: 10_003,
      failed: 0,
      inserted: 10_003,
      updated: 0,
    });
    expect(await count('work_items', integration.id)).toBe(10_000);
    expect(await count('projects', integration.id)).toBe(3);
    expect(await count('raw_extraction_data', integration.id)).toBe(10_003);
    const items = job.streamStates!.find((s) => s.stream === 'items')!;
    expect(items).toMatchObject({ status: 'done', extracted: 10_000, loaded: 10_000, pages: 20 });
    const statuses = await q(
      `SELECT DISTINCT status FROM $schema.raw_extraction_data WHERE integration_id = $1`,
      [integration.id],
    );
    expect(statuses.rows).toEqual([{ status: 'loaded' }]);
  });

  it('delivering every message twice changes no count and no row', { timeout: 180_000 }, async () => {
    const twice = await createEngine({
      db: t.db,
      schema: t.schema,
      queue: withDuplicateDelivery(memoryQueue()),
      connectors: [syntheticConnector()],
      secretKey: SECRET,
    });
    await twice.startWorkers();
    try {
      const once = await run({ records: 10_000, seed: 7 }, engine, 'once');
      const dup = await run({ records: 10_000, seed: 7 }, twice, 'twice');
      expect(dup.job.status).toBe('succeeded');
      expect(dup.job.counters).toMatchObject({
        extracted: 10_003,
        loaded: 10_003,
        inserted: 10_003,
        updated: 0,
        failed: 0,
      });
      expect(await count('work_items', dup.integration.id)).toBe(10_000);
      expect(await snapshot(dup.integration.id)).toEqual(await snapshot(once.integration.id));
    } finally {
      await twice.stop();
    }
  });

  it(
    'one poison record in 1,000 → 999 loaded, 1 dead letter, job partial; fixed and replayed → 1,000',
    { timeout: 60_000 },
    async () => {
      const { integration, job } = await run(
        { records: 1000, pageSize: 100, poison: [123] },
        engine,
        'poison',
        20_000,
      );
      expect(job.status).toBe('partial');
      expect(job.counters).toMatchObject({ extracted: 1003, loaded: 1002, failed: 1 });
      expect(job.errors.at(-1)!.message).toContain('status "Blocked" of P1-124 has no mapping');
      expect(await count('work_items', integration.id)).toBe(999);
      const letters = (await engine.deadLetters.list({ stage: 'transform' })).filter(
        (l) => (l.body as { jobId: string }).jobId === job.id,
      );
      expect(letters).toHaveLength(1);
      expect(letters[0]!.attempts).toBe(3);
      const stats = await engine.queues.stats();
      expect(stats.find((s) => s.stage === 'transform')!.deadLetters).toBeGreaterThanOrEqual(1);

      const current = await engine.mappings.get(integration.id);
      await engine.mappings.put(integration.id, {
        ...current.mappings,
        statuses: [
          ...current.mappings.statuses,
          { rawStatus: 'Blocked', category: 'in_progress', workflowStep: 'doing' },
        ],
      });
      await engine.deadLetters.replay(letters[0]!.id);
      const after = await engine.jobs.waitFor(job.id, { timeoutMs: 20_000 });
      await waitUntil(
        async () => (await engine.jobs.get(job.id)).status === 'succeeded',
        10_000,
        'the replayed record to finish the job',
      );
      expect(await count('work_items', integration.id)).toBe(1000);
      const final = await engine.jobs.get(job.id);
      expect(after.status === 'partial' || after.status === 'succeeded').toBe(true);
      expect(final.status).toBe('succeeded');
      expect(final.counters).toMatchObject({ loaded: 1003, failed: 0 });
      await expect(engine.deadLetters.replay(letters[0]!.id)).rejects.toMatchObject({ code: 'not_found' });
    },
  );

  it(
    'pause mid-job then resume ends with the same tables as an uninterrupted run',
    { timeout: 120_000 },
    async () => {
      const config = { records: 3000, pageSize: 100, pageDelayMs: 15, seed: 11 };
      const reference = await run(config, engine, 'reference');
      const integration = await engine.integrations.create({
        connector: 'synthetic',
        name: 'paused',
        config,
      });
      const started = await engine.jobs.start({ integrationId: integration.id, mode: 'full' });
      await waitUntil(
        async () => (await engine.jobs.get(started.id)).counters.extracted >= 500,
        30_000,
        '500 records extracted',
      );
      await engine.jobs.pause(started.id);
      await waitUntil(
        async () => (await streamStatus(started.id, 'items')) === 'paused' && (await extractIdle()),
        30_000,
        'the items stream to stop at a page boundary',
      );
      const paused = await engine.jobs.get(started.id);
      expect(paused.status).toBe('paused');
      expect(paused.streamStates!.find((s) => s.stream === 'items')!.status).toBe('paused');
      await waitUntil(allStagesIdle, 30_000, 'the pages extracted before the pause to be loaded');
      expect((await engine.jobs.get(started.id)).counters.extracted).toBe(paused.counters.extracted);
      expect(paused.counters.extracted).toBeLessThan(3003);
      await expect(engine.jobs.pause(started.id)).rejects.toMatchObject({ code: 'illegal_transition' });
      await engine.jobs.resume(started.id);
      const done = await engine.jobs.waitFor(started.id, { timeoutMs: 60_000 });
      expect(done.status).toBe('succeeded');
      expect(done.counters.extracted).toBe(3003);
      expect(await snapshot(integration.id)).toEqual(await snapshot(reference.integration.id));
    },
  );

  it(
    'a mapping change + replay changes the affected categories and nothing else; dryRun predicts it',
    { timeout: 120_000 },
    async () => {
      const { integration } = await run({ records: 2000, seed: 21 }, engine, 'mapped');
      const untouchedBefore = await q(
        `SELECT source_id, status_category, loaded_at FROM $schema.work_items WHERE integration_id = $1 AND status <> 'Review' ORDER BY source_id`,
        [integration.id],
      );
      const reviews = await count('work_items', integration.id).then(async () =>
        Number(
          (
            await q(
              `SELECT count(*) AS n FROM $schema.work_items WHERE integration_id = $1 AND status = 'Review'`,
              [integration.id],
            )
          ).rows[0]!.n,
        ),
      );
      expect(reviews).toBeGreaterThan(100);
      const current = await engine.mappings.get(integration.id);
      expect(current.version).toBe(0);
      const saved = await engine.mappings.put(integration.id, {
        ...current.mappings,
        statuses: current.mappings.statuses.map((s) =>
          s.rawStatus === 'Review' ? { ...s, category: 'done' as const } : s,
        ),
      });
      expect(saved.version).toBe(1);

      const dry = await engine.replay({ integrationId: integration.id }, { dryRun: true });
      expect(dry).toMatchObject({
        dryRun: true,
        records: 2003,
        counts: { inserted: 0, updated: reviews, unchanged: 2003 - reviews },
      });
      expect(
        await q(
          `SELECT count(*) AS n FROM $schema.work_items WHERE integration_id = $1 AND status_category = 'done' AND status = 'Review'`,
          [integration.id],
        ).then((r) => Number(r.rows[0]!.n)),
      ).toBe(0);

      const real = await engine.replay({ integrationId: integration.id });
      const job = await engine.jobs.waitFor(real.job!.id, { timeoutMs: 60_000 });
      expect(job.mode).toBe('replay');
      expect(job.status).toBe('succeeded');
      expect(job.counters).toMatchObject({
        inserted: dry.counts.inserted,
        updated: dry.counts.updated,
        unchanged: dry.counts.unchanged,
      });
      const moved = await q(
        `SELECT DISTINCT status_category FROM $schema.work_items WHERE integration_id = $1 AND status = 'Review'`,
        [integration.id],
      );
      expect(moved.rows).toEqual([{ status_category: 'done' }]);
      const untouchedAfter = await q(
        `SELECT source_id, status_category, loaded_at FROM $schema.work_items WHERE integration_id = $1 AND status <> 'Review' ORDER BY source_id`,
        [integration.id],
      );
      expect(untouchedAfter.rows).toEqual(untouchedBefore.rows);
    },
  );

  it(
    'an incremental run after a finished one reads nothing new; a source change updates rows',
    { timeout: 60_000 },
    async () => {
      const integration = await engine.integrations.create({
        connector: 'synthetic',
        name: 'incremental',
        config: { records: 500, seed: 5 },
      });
      const first = await engine.jobs.waitFor(
        (await engine.jobs.start({ integrationId: integration.id })).id,
      );
      expect(first.counters.extracted).toBe(503);
      const second = await engine.jobs.waitFor(
        (await engine.jobs.start({ integrationId: integration.id, streams: ['items'] })).id,
      );
      expect(second.status).toBe('succeeded');
      expect(second.counters.extracted).toBe(0);
      await engine.integrations.update(integration.id, { config: { revision: 1 } });
      const third = await engine.jobs.waitFor(
        (await engine.jobs.start({ integrationId: integration.id, streams: ['items'] })).id,
      );
      expect(third.counters).toMatchObject({ extracted: 500, updated: 500, inserted: 0 });
      expect(await count('work_items', integration.id)).toBe(500);
    },
  );

  it(
    'a backfill reads its window and leaves checkpoints untouched; cancel stops a job at a page boundary',
    { timeout: 60_000 },
    async () => {
      const integration = await engine.integrations.create({
        connector: 'synthetic',
        name: 'backfill',
        config: { records: 300, seed: 9 },
      });
      await engine.jobs.waitFor((await engine.jobs.start({ integrationId: integration.id })).id);
      const checkpoints = async () =>
        (
          await q(
            `SELECT stream, cursor FROM $schema.etl_checkpoints WHERE integration_id = $1 ORDER BY stream`,
            [integration.id],
          )
        ).rows;
      const before = await checkpoints();
      expect(before).toHaveLength(2);
      await expect(engine.jobs.start({ integrationId: integration.id, mode: 'backfill' })).rejects.toThrow(
        /window.from: a backfill needs a date window/,
      );
      const backfill = await engine.jobs.waitFor(
        (
          await engine.jobs.start({
            integrationId: integration.id,
            mode: 'backfill',
            window: { from: '2024-01-01T00:00:00Z' },
          })
        ).id,
      );
      expect(backfill).toMatchObject({
        status: 'succeeded',
        mode: 'backfill',
        window: { from: '2024-01-01T00:00:00Z' },
      });
      expect(backfill.counters).toMatchObject({ extracted: 303, unchanged: 303, inserted: 0 });
      expect(await checkpoints()).toEqual(before);

      const slow = await engine.integrations.create({
        connector: 'synthetic',
        name: 'cancelled',
        config: { records: 5000, pageSize: 50, pageDelayMs: 20 },
      });
      const job = await engine.jobs.start({ integrationId: slow.id });
      await waitUntil(
        async () => (await engine.jobs.get(job.id)).counters.extracted >= 100,
        30_000,
        '100 records extracted',
      );
      const cancelled = await engine.jobs.cancel(job.id);
      expect(cancelled.status).toBe('cancelled');
      await waitUntil(
        async () => (await streamStatus(job.id, 'items')) === 'cancelled' && (await extractIdle()),
        30_000,
        'the items stream to stop at a page boundary',
      );
      const settled = await engine.jobs.get(job.id);
      await waitUntil(allStagesIdle, 30_000, 'the queues to drain');
      const after = await engine.jobs.get(job.id);
      expect(after.status).toBe('cancelled');
      expect(after.counters.extracted).toBe(settled.counters.extracted);
      expect(after.counters.extracted).toBeLessThan(5003);
      expect(after.streamStates!.find((st) => st.stream === 'items')!.status).toBe('cancelled');
    },
  );

  it('refuses bad input with errors that say what to fix, writing nothing', async () => {
    const before = (await engine.integrations.list()).length;
    const bad = await engine.integrations
      .create({ connector: 'synthetic', name: 'bad', config: { records: -1 } })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(EtlError);
    expect(bad).toMatchObject({ code: 'invalid_config' });
    expect(String(bad)).toMatch(/^\[etl\] \[core\] invalid synthetic config — records:/);
    await expect(engine.integrations.create({ connector: 'nope', name: 'x', config: {} })).rejects.toThrow(
      /unknown connector "nope"; registered: synthetic/,
    );
    expect((await engine.integrations.list()).length).toBe(before);
    await expect(engine.jobs.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(engine.jobs.get('not-a-uuid')).rejects.toMatchObject({ code: 'not_found' });
    const { job } = await run({ records: 10 }, engine, 'finished');
    await expect(engine.jobs.resume(job.id)).rejects.toThrow(/cannot resume job .*: it is succeeded/);
    await expect(engine.jobs.cancel(job.id)).rejects.toMatchObject({ code: 'illegal_transition' });
    await expect(engine.jobs.start({ integrationId: job.integrationId, streams: ['nope'] })).rejects.toThrow(
      /streams: unknown stream\(s\) nope/,
    );
    await expect(
      engine.jobs.start({ integrationId: job.integrationId, mode: 'sideways' as never }),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(
      engine.mappings.put(job.integrationId, { statuses: [{ rawStatus: 'X', category: 'nearly' }] } as never),
    ).rejects.toThrow(/statuses\.0\.category/);
    const jobsAfter = await engine.jobs.list({ integrationId: job.integrationId });
    expect(jobsAfter.total).toBe(1);
    await expect(createEngine({ db: t.db, queue: memoryQueue(), schema: 'bad-name!' })).rejects.toThrow(
      /schema: must be a plain SQL identifier/,
    );
  });

  it('encrypts secret fields at rest, masks them on read, and needs the right key', async () => {
    const integration = await engine.integrations.create({
      connector: 'synthetic',
      name: 'secret',
      config: { token: 'tok-SUPER-SECRET-123' },
    });
    expect(integration.config.token).toBe('••••••');
    const stored = await q(`SELECT config::text AS c FROM $schema.etl_integrations WHERE id = $1`, [
      integration.id,
    ]);
    expect(String(stored.rows[0]!.c)).not.toContain('SUPER-SECRET');
    expect(String(stored.rows[0]!.c)).toContain('enc:v2:default:');
    const renamed = await engine.integrations.update(integration.id, {
      name: 'renamed',
      config: { token: '••••••', records: 5 },
    });
    expect(renamed.config).toMatchObject({ token: '••••••', records: 5 });
    expect(await engine.integrations.test(integration.id)).toEqual({
      ok: true,
      message: 'synthetic source ready',
    });
    const wrongKey = await createEngine({
      db: t.db,
      schema: t.schema,
      queue: memoryQueue(),
      connectors: [syntheticConnector()],
      secretKey: 'a-different-key-entirely',
    });
    expect(await wrongKey.integrations.test(integration.id)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/cannot decrypt a stored secret with key "default": the key differs/),
    });
    const noKey = await createEngine({
      db: t.db,
      schema: t.schema,
      queue: memoryQueue(),
      connectors: [syntheticConnector()],
    });
    await expect(
      noKey.integrations.create({ connector: 'synthetic', name: 'x', config: {} }),
    ).rejects.toThrow(/no secret key was given/);
  });

  it('runs migrations idempotently under a lock', async () => {
    const again = await Promise.all([migrate(t.db, t.schema), migrate(t.db, t.schema)]);
    expect(again).toEqual([[], []]);
  });

  it('publishes typed events that subscribers receive and can resume from', { timeout: 30_000 }, async () => {
    const seen: EngineEvent[] = [];
    const integration = await engine.integrations.create({
      connector: 'synthetic',
      name: 'events',
      config: { records: 300, pageSize: 100 },
    });
    const job = await engine.jobs.start({ integrationId: integration.id });
    const unsubscribe = engine.events.subscribe((e) => seen.push(e), { jobId: job.id });
    await engine.jobs.waitFor(job.id);
    await waitUntil(
      () => seen.some((e) => e.type === 'job.status' && e.status === 'succeeded'),
      10_000,
      'the subscriber to receive the final status',
    );
    unsubscribe();
    const history = await engine.events.since(0, { jobId: job.id });
    expect(history.map((e) => e.type)).toContain('stream.progress');
    expect(
      history.filter((e) => e.type === 'job.status').map((e) => (e as { status: string }).status),
    ).toEqual(['queued', 'running', 'succeeded']);
    expect(history.every((e, i) => i === 0 || e.id > history[i - 1]!.id)).toBe(true);
    expect(seen.some((e) => e.type === 'job.status' && e.status === 'succeeded')).toBe(true);
    const resumed = await engine.events.since(history[1]!.id, { jobId: job.id });
    expect(resumed).toEqual(history.slice(2));
  });
});
