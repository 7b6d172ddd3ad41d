// @etl-test-services postgres-optional
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../engine/engine-types.js';
import { startTestEngine, type TestEngine } from '../testing/test-engine.js';
import { testDbKinds } from '../testing/services.js';
import { syntheticConnector } from '../testing/synthetic.js';
import { waitUntil } from '../testing/wait-until.js';

/** The synthetic source, counting the pages it produces (what a second crawl would show). */
function countingSource() {
  const inner = syntheticConnector();
  const produced = { pages: 0 };
  const connector: typeof inner = {
    ...inner,
    extractor: {
      ...inner.extractor,
      async *extract(ctx) {
        for await (const page of inner.extractor.extract(ctx)) {
          if (ctx.stream === 'items') produced.pages++;
          yield page;
        }
      },
    },
  };
  return { connector, produced };
}

describe.each(testDbKinds())('one owner per stream on %s', (kind) => {
  let harness: TestEngine;
  let engine: Engine;
  const source = countingSource();
  const q = (sql: string, values?: unknown[]) => harness.rows(sql, values);

  beforeAll(async () => {
    harness = await startTestEngine({ database: kind, connectors: [source.connector] });
    engine = harness.engine;
  }, 60_000);

  afterAll(async () => {
    await harness?.close();
  });

  it('a second delivery of a running extract task takes the stream over; the first extractor is refused and stops', async () => {
    const records = 2_000;
    const pageSize = 100;
    const integration = await engine.integrations.create({
      connector: 'synthetic',
      name: 'fenced',
      config: { records, pageSize, pageDelayMs: 15 },
    });
    const started = await engine.jobs.start({ integrationId: integration.id, mode: 'full' });
    await waitUntil(
      async () => {
        const rows = await q(
          `SELECT pages FROM $schema.etl_job_streams WHERE job_id = $1 AND stream = 'items'`,
          [started.id],
        );
        return Number(rows[0]?.pages ?? 0) >= 3;
      },
      30_000,
      'the items stream to commit three pages',
    );
    // What a broker does after losing the first delivery's connection: the same task, delivered again while
    // the first handler still runs.
    await engine.queue.publish('extract', [{ jobId: started.id, stream: 'items', partition: null }]);
    const job = await engine.jobs.waitFor(started.id, { timeoutMs: 60_000 });

    const [raw] = await q(
      `SELECT count(*) AS rows, count(DISTINCT source_id) AS distinct_rows FROM $schema.raw_extraction_data
       WHERE job_id = $1 AND stream = 'items'`,
      [started.id],
    );
    const [canonical] = await q(`SELECT count(*) AS n FROM $schema.work_items WHERE integration_id = $1`, [
      integration.id,
    ]);
    const figures = {
      rawRows: Number(raw!.rows),
      distinctRawRows: Number(raw!.distinct_rows),
      canonical: Number(canonical!.n),
      pagesProduced: source.produced.pages,
      extracted: job.counters.extracted,
      loaded: job.counters.loaded,
    };
    console.log(`[fencing ${kind}] ${JSON.stringify(figures)}`);
    expect(job.status, JSON.stringify(job.errors)).toBe('succeeded');
    expect(figures).toMatchObject({
      rawRows: records,
      distinctRawRows: records,
      canonical: records,
      extracted: records + 3,
      loaded: records + 3,
    });
    // The takeover re-reads at most the page the first extractor had in hand and the one it read ahead.
    expect(figures.pagesProduced).toBeGreaterThanOrEqual(records / pageSize);
    expect(figures.pagesProduced).toBeLessThanOrEqual(records / pageSize + 2);
    const items = job.streamStates!.find((st) => st.stream === 'items')!;
    expect(items).toMatchObject({ status: 'done', extracted: records, pages: records / pageSize });
  });
});
