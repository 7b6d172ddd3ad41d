import type { EngineRuntime } from './stage-runtime.js';
import type { LoadTask, TransformTask } from './stage-tasks.js';
import { transformIsolating } from './entity-validation.js';
import type { QueueMessage } from '../queue/queue.js';

/**
 * The transform stage turns raw rows into validated canonical entities with the integration's current mappings,
 * isolating records that fail; the load stage upserts them and marks the raw rows loaded in one transaction,
 * so a redelivered message changes nothing.
 */
export function transformAndLoadStages(rt: EngineRuntime) {
  const { db, queue, loader, jobs, raw, emit, progressDue, finish, meta, transformContext, failRecords } = rt;

  async function handleTransform(message: QueueMessage) {
    const task = message.body as TransformTask;
    const { integrationId } = await meta(task.jobId);
    try {
      const rows = await raw.read(task.rawIds);
      if (rows.length === 0) return;
      const { connector, ...context } = await transformContext(integrationId);
      const ctx = { integrationId, stream: task.stream, ...context };
      const { entities, goodIds, bad } = await transformIsolating(connector, rows, ctx);
      // A batch of one that fails is this message's failure: it retries and, at the end, dead-letters.
      if (rows.length === 1 && bad.length === 1) throw bad[0]!.error;
      if (bad.length > 0) {
        // The good records go on; each bad one retries (and dead-letters) on its own.
        await queue.publish(
          'transform',
          bad.map(({ id }): TransformTask => ({ ...task, rawIds: [id] })),
        );
      }
      if (goodIds.length > 0) {
        await queue.publish('load', [{ ...task, rawIds: goodIds, entities } satisfies LoadTask]);
      }
    } catch (error) {
      if (message.final) await failRecords(task, 'transform', error);
      throw error;
    }
  }

  async function handleLoad(message: QueueMessage) {
    const task = message.body as LoadTask;
    const { integrationId } = await meta(task.jobId);
    try {
      const counters = await db.transaction(async (tx) => {
        const counts = await loader.load(task.entities, { integrationId, jobId: task.jobId, tx });
        const { fromPending, fromFailed } = await raw.markLoaded(tx, task.jobId, task.rawIds);
        const n = fromPending + fromFailed;
        // A redelivered message finds its rows loaded already: it changes no counter.
        if (n === 0) return undefined;
        return jobs.recordLoaded(tx, task, n, fromFailed, counts);
      });
      if (counters && progressDue(task.jobId, false)) {
        await emit({ type: 'job.progress', jobId: task.jobId, counters });
      }
      await finish(task.jobId);
    } catch (error) {
      if (message.final) await failRecords(task, 'load', error);
      throw error;
    }
  }

  return { handleTransform, handleLoad };
}
