import type { ReplayResult, ReplaySelector } from '../engine/engine-types.js';
import { chunk, groupBy } from '../collections.js';
import { replaySelectorSchema } from '../model/inputs.js';
import { parseInput } from '../validation.js';
import type { EngineRuntime } from './stage-runtime.js';
import type { TransformTask } from './stage-tasks.js';
import { EtlError } from '../errors.js';
import { addCounts, zeroCounts } from '../loader/loader.js';
import { transformIsolating } from './entity-validation.js';

/** Replay: transform and load stored raw rows again, without the source; a dry run rolls its loads back. */
export function replayer(rt: EngineRuntime) {
  const { db, queue, batchSize, jobs, raw, integrations, loader, emit, finish, transformContext } = rt;

  async function replay(
    selectorInput: ReplaySelector,
    replayOptions: { dryRun?: boolean; requestedBy?: string } = {},
  ): Promise<ReplayResult> {
    const selector: ReplaySelector = parseInput('replay selector', replaySelectorSchema, selectorInput);
    if ('jobId' in selector) await jobs.get(selector.jobId);
    if ('integrationId' in selector && selector.integrationId) await integrations.get(selector.integrationId);
    const groups = await raw.countSelected(selector);
    const records = groups.reduce((sum, g) => sum + g.n, 0);
    const integrationIds = [...new Set(groups.map((g) => g.integrationId))];

    if (replayOptions.dryRun) {
      let counts = zeroCounts();
      const rollback = new Error('dry run');
      // Contexts are read before the transaction: embedded PGlite runs one connection, so nothing may wait on `db` inside it.
      const contexts = new Map(
        await Promise.all(integrationIds.map(async (id) => [id, await transformContext(id)] as const)),
      );
      await db
        .transaction(async (tx) => {
          for (const integrationId of integrationIds) {
            const ctxBase = contexts.get(integrationId)!;
            let afterId = '0';
            for (;;) {
              const ids = await raw.selectedIdsAfter(tx, selector, integrationId, afterId, batchSize);
              if (ids.length === 0) break;
              afterId = ids.at(-1)!;
              const rows = await raw.read(ids, tx);
              for (const [stream, streamRows] of groupBy(rows, (r) => r.stream)) {
                const { connector, ...context } = ctxBase;
                // Records that fail to transform are left out, as the real replay would dead-letter them.
                const { entities } = await transformIsolating(connector, streamRows, {
                  integrationId,
                  stream,
                  ...context,
                });
                counts = addCounts(
                  counts,
                  await loader.load(entities, { integrationId, jobId: 'dry-run', tx }),
                );
              }
            }
          }
          throw rollback;
        })
        .catch((error: unknown) => {
          if (error !== rollback) throw error;
        });
      return { dryRun: true, records, counts };
    }

    if (integrationIds.length > 1) {
      throw new EtlError(
        'invalid_input',
        'a replay covers one integration; add integrationId to a time-range selector',
      );
    }
    const integrationId =
      integrationIds[0] ?? ('integrationId' in selector ? selector.integrationId : undefined);
    if (!integrationId) {
      return { dryRun: false, records: 0, counts: zeroCounts() };
    }
    const integration = await integrations.get(integrationId);
    const { job, batches } = await db.transaction(async (tx) => {
      const created = await jobs.create(
        {
          integrationId,
          connector: integration.connector,
          streams: groups.map((g) => g.stream),
          mode: 'replay',
          window: 'from' in selector ? { from: selector.from, to: selector.to } : null,
          requestedBy: replayOptions.requestedBy ?? null,
          status: 'running',
          streamsPending: 0,
          extracted: records,
          owner: rt.jobOwner(),
        },
        [],
        tx,
      );
      const tasks: TransformTask[] = [];
      for (const batch of await raw.claimForReplay(tx, selector, created.id)) {
        for (const rawIds of chunk(batch.ids, batchSize)) {
          tasks.push({ jobId: created.id, stream: batch.stream, partition: batch.partition, rawIds });
        }
      }
      return { job: created, batches: tasks };
    });
    await emit({ type: 'job.status', jobId: job.id, status: 'running' });
    if (batches.length > 0) await queue.publish('transform', batches);
    await finish(job.id);
    return { dryRun: false, records, counts: zeroCounts(), job: await jobs.get(job.id) };
  }

  return replay;
}
