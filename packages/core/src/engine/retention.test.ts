import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryQueue } from '../queue/memory-queue.js';
import { openTestDb, type TestDb } from '../testing/db.js';
import { syntheticConnector } from '../testing/synthetic.js';
import { createEngine } from './engine.js';
import type { Engine } from './engine-types.js';

const day = 86_400_000;

describe('retention', () => {
  let t: TestDb;
  let engine: Engine;
  const q = async (sql: string) =>
    (await t.db.query<Record<string, unknown>>(sql.replaceAll('$schema', `"${t.schema}"`))).rows;
  beforeAll(async () => {
    t = await openTestDb('pglite');
    engine = await createEngine({
      db: t.db,
      schema: t.schema,
      queue: memoryQueue(),
      connectors: [syntheticConnector()],
      secretKey: 'retention-test-secret-key-0123456789',
      progressIntervalMs: 0,
    });
    await engine.startWorkers();
  });
  afterAll(async () => {
    await engine?.stop();
    await t?.close();
  });

  it('prunes old events, old finished jobs and superseded raw rows, keeping the newest payload of each record', async () => {
    const integration = await engine.integrations.create({
      connector: 'synthetic',
      name: 'retained',
      config: { records: 30 },
    });
    const first = await engine.jobs.waitFor(
      (await engine.jobs.start({ integrationId: integration.id, mode: 'full' })).id,
    );
    const second = await engine.jobs.waitFor(
      (await engine.jobs.start({ integrationId: integration.id, mode: 'full' })).id,
    );
    expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
    const [{ n: rawBefore }] = (await q('SELECT count(*)::int AS n FROM $schema.raw_extraction_data')) as [
      { n: number },
    ];
    expect(rawBefore).toBe(first.counters.extracted + second.counters.extracted);

    // Nothing is old enough yet: nothing goes.
    expect(
      await engine.prune({ eventsMs: 30 * day, finishedJobsMs: 90 * day, supersededRawMs: 180 * day }),
    ).toEqual({
      events: 0,
      finishedJobs: 0,
      supersededRaw: 0,
    });

    // The first job and everything it wrote, a year ago.
    await q(`UPDATE $schema.etl_jobs SET finished_at = now() - interval '365 days' WHERE id = '${first.id}'`);
    await q(`UPDATE $schema.etl_events SET at = now() - interval '365 days' WHERE job_id = '${first.id}'`);
    await q(
      `UPDATE $schema.raw_extraction_data SET extracted_at = now() - interval '365 days' WHERE job_id = '${first.id}'`,
    );
    const pruned = await engine.prune({
      eventsMs: 30 * day,
      finishedJobsMs: 90 * day,
      supersededRawMs: 180 * day,
    });
    expect(pruned.finishedJobs).toBe(1);
    expect(pruned.events).toBeGreaterThan(0);
    expect(pruned.supersededRaw).toBe(first.counters.extracted);

    await expect(engine.jobs.get(first.id)).rejects.toThrow(/does not exist/);
    expect((await engine.jobs.get(second.id)).status).toBe('succeeded');
    expect(await engine.events.since(0, { jobId: first.id })).toEqual([]);
    const [{ n: rawAfter, distinct }] = (await q(
      'SELECT count(*)::int AS n, count(DISTINCT (stream, source_id))::int AS distinct FROM $schema.raw_extraction_data',
    )) as [{ n: number; distinct: number }];
    expect(rawAfter).toBe(second.counters.extracted);
    expect(distinct).toBe(rawAfter);
    // A replay still rebuilds every record from what is kept.
    const dry = await engine.replay({ integrationId: integration.id }, { dryRun: true });
    expect(dry.records).toBe(second.counters.extracted);
  });
});
