// @etl-test-services postgres rabbitmq
import { randomBytes } from 'node:crypto';
import type { QueueMessage } from '@etl/core';
import { openTestDb, startTestEngine, syntheticConnector, waitUntil, type TestDb } from '@etl/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteRabbitmqQueues } from './delete-queues.js';
import { rabbitmqQueue } from './rabbitmq-queue.js';
import { startRelay } from './tcp-relay.fixture.js';

const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Cuts only this file's own connections (through a relay), never anyone else's on the shared broker. */
describe('a delivery whose connection closes', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb('postgres', { max: 10 });
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await t?.close();
  });

  const queueOn = async (relayUrl: string) => {
    const options = {
      url: relayUrl,
      prefix: `etl-test-abort-${randomBytes(4).toString('hex')}`,
      queueType: 'classic' as const,
      maxAttempts: 3,
      retryDelaysMs: [50],
      reconnectInitialDelayMs: 100,
      reconnectMaxDelayMs: 500,
      publishTimeoutMs: 20_000,
    };
    cleanups.push(() => deleteRabbitmqQueues({ ...options, url }));
    const queue = rabbitmqQueue(options);
    cleanups.push(() => queue.close());
    return queue;
  };

  it('aborts its handler; the broker redelivers it once, and no retry copy is made', async () => {
    const relay = await startRelay(url);
    cleanups.push(() => relay.close());
    const queue = await queueOn(relay.url);
    const seen: { message: QueueMessage; reason?: unknown }[] = [];
    await queue.consume('extract', async (message) => {
      const entry: { message: QueueMessage; reason?: unknown } = { message };
      seen.push(entry);
      if (seen.length > 1) return;
      // The first delivery runs until its signal says the delivery is gone.
      await new Promise<void>((resolve) => {
        message.signal!.addEventListener('abort', () => {
          entry.reason = message.signal!.reason;
          resolve();
        });
      });
    });
    await queue.publish('extract', [{ n: 1 }]);
    await waitUntil(() => seen.length === 1, 10_000, 'the first delivery');
    expect(seen[0]!.message.signal!.aborted).toBe(false);

    relay.cutExisting();
    await waitUntil(() => seen.length >= 2, 20_000, 'the redelivery after the connection loss');
    expect(seen[0]!.message.signal!.aborted).toBe(true);
    expect(String(seen[0]!.reason)).toMatch(/extract channel closed/);
    expect(seen[1]!.message).toMatchObject({ id: seen[0]!.message.id, attempt: 1, body: { n: 1 } });
    await waitUntil(
      async () => (await queue.stats()).find((s) => s.stage === 'extract')!.unacked === 0,
      10_000,
      'the redelivery to be acked',
    );
    const stats = (await queue.stats()).find((s) => s.stage === 'extract')!;
    expect(stats).toMatchObject({ depth: 0, retrying: 0, deadLetters: 0 });
    expect(seen).toHaveLength(2);
  });

  it('an extraction cut off from the broker stops; the redelivered task finishes the stream exactly once', async () => {
    const relay = await startRelay(url);
    cleanups.push(() => relay.close());
    const queue = await queueOn(relay.url);
    const inner = syntheticConnector();
    let pagesProduced = 0;
    const connector: typeof inner = {
      ...inner,
      extractor: {
        ...inner.extractor,
        async *extract(ctx) {
          for await (const page of inner.extractor.extract(ctx)) {
            if (ctx.stream === 'items') pagesProduced++;
            yield page;
          }
        },
      },
    };
    const harness = await startTestEngine({ database: t, queue, connectors: [connector] });
    cleanups.push(() => harness.close());
    const { engine } = harness;
    const records = 3_000;
    const pageSize = 100;
    const integration = await engine.integrations.create({
      connector: 'synthetic',
      name: 'cut',
      config: { records, pageSize, pageDelayMs: 20 },
    });
    const started = await engine.jobs.start({ integrationId: integration.id, mode: 'full' });
    const pages = async () =>
      (await engine.jobs.get(started.id)).streamStates!.find((s) => s.stream === 'items')?.pages ?? 0;
    await waitUntil(async () => (await pages()) >= 5, 30_000, 'five committed pages');
    relay.cutExisting();
    const job = await engine.jobs.waitFor(started.id, { timeoutMs: 90_000 });

    const { rows } = await t.db.query<{ rows: string; distinct_rows: string }>(
      `SELECT count(*) AS rows, count(DISTINCT source_id) AS distinct_rows FROM "${t.schema}".raw_extraction_data
       WHERE job_id = $1 AND stream = 'items'`,
      [started.id],
    );
    const figures = {
      rawRows: Number(rows[0]!.rows),
      distinctRawRows: Number(rows[0]!.distinct_rows),
      pagesProduced,
      extracted: job.counters.extracted,
      loaded: job.counters.loaded,
    };
    console.log(`[connection cut mid-extraction] ${JSON.stringify(figures)}`);
    expect(job.status, JSON.stringify(job.errors)).toBe('succeeded');
    expect(figures).toMatchObject({
      rawRows: records,
      distinctRawRows: records,
      extracted: records + 3,
      loaded: records + 3,
    });
    // At most the page in hand and the one read ahead are read again.
    expect(pagesProduced).toBeLessThanOrEqual(records / pageSize + 2);
  });
});
