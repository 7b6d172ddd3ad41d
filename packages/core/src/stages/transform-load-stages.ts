import type { EngineRuntime, LoadTask, TransformTask } from '../engine/engine-runtime.js';
import type { Entity } from '../model/canonical.js';
import type { Job } from '../model/jobs.js';
import type { QueueMessage } from '../queue/queue.js';

/**
 * The transform stage turns raw rows into validated canonical entities with the integration's current mappings,
 * isolating records that fail; the load stage upserts them and marks the raw rows loaded in one transaction,
 * so a redelivered message changes nothing.
 */
export function transformAndLoadStages(rt: EngineRuntime) {
  const {
    db,
    s,
    queue,
    loader,
    emit,
    progressDue,
    finish,
    meta,
    readRaw,
    transformRows,
    transformContext,
    failRecords,
  } = rt;

  async function handleTransform(message: QueueMessage) {
    const task = message.body as TransformTask;
    const { integrationId } = await meta(task.jobId);
    try {
      const rows = await readRaw(task.rawIds);
      if (rows.length === 0) return;
      const { connector, ...context } = await transformContext(integrationId);
      const ctx = { integrationId, stream: task.stream, ...context };
      let entities: Entity[];
      let goodIds = rows.map((r) => r.id);
      try {
        entities = await transformRows(connector, rows, ctx);
      } catch (error) {
        if (rows.length === 1) throw error;
        // Isolate the bad records: the good ones go on, each bad one retries (and dead-letters) on its own.
        entities = [];
        goodIds = [];
        const bad: string[] = [];
        for (const row of rows) {
          try {
            entities.push(...(await transformRows(connector, [row], ctx)));
            goodIds.push(row.id);
          } catch {
            bad.push(row.id);
          }
        }
        if (bad.length > 0) {
          await queue.publish(
            'transform',
            bad.map((id): TransformTask => ({ ...task, rawIds: [id] })),
          );
        }
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
      const job = await db.transaction(async (tx) => {
        const counts = await loader.load(task.entities, { integrationId, jobId: task.jobId, tx });
        const { rows } = await tx.query<{ pending: string; failed: string }>(
          `WITH old AS (
             SELECT id, status FROM ${s}.raw_extraction_data
             WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint) AND processing_job_id = $2 AND status <> 'loaded'
             FOR UPDATE),
           upd AS (
             UPDATE ${s}.raw_extraction_data r SET status = 'loaded', error = NULL FROM old WHERE r.id = old.id RETURNING old.status)
           SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'failed') AS failed FROM upd`,
          [JSON.stringify(task.rawIds), task.jobId],
        );
        const fromPending = Number(rows[0]?.pending ?? 0);
        const fromFailed = Number(rows[0]?.failed ?? 0);
        const n = fromPending + fromFailed;
        // A redelivered message finds its rows loaded already: it changes no counter.
        if (n === 0) return undefined;
        await tx.query(
          `UPDATE ${s}.etl_job_streams SET loaded = loaded + $4, failed = failed - $5 WHERE job_id = $1 AND stream = $2 AND partition = $3`,
          [task.jobId, task.stream, task.partition ?? '', n, fromFailed],
        );
        const updated = await tx.query<Record<string, string>>(
          `UPDATE ${s}.etl_jobs SET loaded = loaded + $2, transformed = transformed + $2, failed = failed - $3,
             inserted = inserted + $4, updated = updated + $5, unchanged = unchanged + $6, updated_at = now()
           WHERE id = $1 RETURNING extracted, transformed, loaded, failed, inserted, updated, unchanged`,
          [task.jobId, n, fromFailed, counts.inserted, counts.updated, counts.unchanged],
        );
        return updated.rows[0];
      });
      if (job && progressDue(task.jobId, false)) {
        const counters = Object.fromEntries(
          Object.entries(job).map(([k, v]) => [k, Number(v)]),
        ) as unknown as Job['counters'];
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
