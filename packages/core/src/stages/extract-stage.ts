import pLimit, { type LimitFunction } from 'p-limit';
import type { Connector, ConnectorEvent } from '../connector/connector.js';
import type { DbClient } from '../db/db.js';
import type { EngineRuntime, ExtractTask } from '../engine/engine-runtime.js';
import { EtlError, describeError, isEtlError } from '../errors.js';
import { finishedStatuses, type Job } from '../model/jobs.js';
import type { QueueMessage } from '../queue/queue.js';

/** Errors that no retry can fix: the stream fails at once instead of burning attempts. */
const permanentCodes = new Set([
  'auth_failed',
  'forbidden',
  'invalid_config',
  'not_found',
  'secret_key',
  'unknown_connector',
]);

/**
 * The extract stage: runs one stream (or partition) of a job from its checkpoint, page by page; each page's raw
 * rows and checkpoint commit together, then a transform message carries their ids.
 */
export function extractStage(rt: EngineRuntime) {
  const {
    db,
    s,
    queue,
    jobs,
    integrations,
    budgets,
    emit,
    progressDue,
    publishTransforms,
    finish,
    connectors,
  } = rt;
  const opts = { maxParallelStreams: rt.maxParallelStreams, maxInFlightRecords: rt.maxInFlightRecords };
  const limiters = new Map<string, LimitFunction>();

  async function handleExtract(message: QueueMessage) {
    const task = message.body as ExtractTask;
    const job = await jobs.get(task.jobId).catch((e: unknown) => {
      if (isEtlError(e, 'not_found')) return undefined;
      throw e;
    });
    if (!job || finishedStatuses.includes(job.status)) return;
    const state = await jobs.stream(task.jobId, task.stream, task.partition);
    if (!state || state.status === 'done' || state.status === 'failed' || state.status === 'cancelled')
      return;
    if (job.status === 'paused') {
      await markStream(task, 'paused');
      return;
    }
    if (job.status === 'queued') {
      const running = await jobs.transition(job.id, ['queued'], 'running');
      if (running) await emit({ type: 'job.status', jobId: job.id, status: 'running' });
    }
    const limit = limiterFor(job.integrationId);
    await limit(() => extractStream(job, task, message, state.cursor, state.pages));
  }

  function limiterFor(integrationId: string) {
    let limit = limiters.get(integrationId);
    if (!limit) limiters.set(integrationId, (limit = pLimit(opts.maxParallelStreams)));
    return limit;
  }

  async function markStream(task: ExtractTask, status: string, error?: string, client: DbClient = db) {
    await client.query(
      `UPDATE ${s}.etl_job_streams SET status = $4, error = coalesce($5, error),
         finished_at = CASE WHEN $4 IN ('done', 'failed', 'cancelled') THEN now() ELSE finished_at END
       WHERE job_id = $1 AND stream = $2 AND partition = $3`,
      [task.jobId, task.stream, task.partition ?? '', status, error ?? null],
    );
  }

  async function extractStream(
    job: Job,
    task: ExtractTask,
    message: QueueMessage,
    savedCursor: unknown,
    pages: number,
  ) {
    const { connector, config } = await integrations.resolve(job.integrationId);
    const definition = connector.streams.find((d) => d.name === task.stream);
    if (!definition)
      throw new EtlError('invalid_input', `connector ${connector.name} has no stream "${task.stream}"`);
    const abort = new AbortController();
    const base = {
      integrationId: job.integrationId,
      jobId: job.id,
      config,
      stream: task.stream,
      mode: job.mode,
      window: job.window ?? undefined,
      signal: abort.signal,
      rateLimit: budgets.for(job.integrationId),
      emit: (event: ConnectorEvent) => {
        if (event.type === 'throttled') {
          void emit({
            type: 'throttled',
            jobId: job.id,
            integrationId: job.integrationId,
            until: event.until,
            reason: event.reason,
          });
        } else if (event.type === 'warning') {
          void emit({
            type: 'error',
            jobId: job.id,
            stage: 'extract',
            stream: task.stream,
            message: event.message,
          });
        }
      },
    };

    try {
      await db.query(
        `UPDATE ${s}.etl_job_streams SET status = 'running', started_at = coalesce(started_at, now())
         WHERE job_id = $1 AND stream = $2 AND partition = $3`,
        [job.id, task.stream, task.partition ?? ''],
      );
      if (definition.partitioned && task.partition === null) {
        await fanOutPartitions(job, task, connector, base);
        return;
      }
      if (pages > 0 || message.attempt > 1) {
        // A redelivered or resumed task: re-publish pages committed before a crash could publish them.
        const { rows } = await db.query<{ id: string }>(
          `SELECT id FROM ${s}.raw_extraction_data WHERE job_id = $1 AND processing_job_id = $1 AND stream = $2 AND partition = $3 AND status = 'pending' ORDER BY id`,
          [job.id, task.stream, task.partition ?? ''],
        );
        await publishTransforms(
          job.id,
          task.stream,
          task.partition,
          rows.map((r) => String(r.id)),
        );
      }
      let checkpoint: unknown = savedCursor ?? null;
      if (checkpoint === null && job.mode === 'incremental') {
        const { rows } = await db.query<{ cursor: unknown }>(
          `SELECT cursor FROM ${s}.etl_checkpoints WHERE integration_id = $1 AND stream = $2 AND partition = $3`,
          [job.integrationId, task.stream, task.partition ?? ''],
        );
        checkpoint = rows[0]?.cursor ?? null;
      }
      const started = Date.now();
      let extracted = 0;
      let pageCount = pages;
      const source = connector.extractor
        .extract({ ...base, partition: task.partition, checkpoint })
        [Symbol.asyncIterator]();
      const stop = () => {
        abort.abort();
        // The page read ahead is dropped: its checkpoint was never saved, so a resume reads it again.
        void source.return?.(undefined)?.catch(() => undefined);
      };
      let next = source.next();
      for (;;) {
        const result = await next;
        if (result.done) break;
        const page = result.value;
        // Serialised before reading ahead: an extractor may reuse the objects it yielded for the next page.
        const records = JSON.stringify(
          page.records.map((r) => ({ source_id: String(r.sourceId), payload: r.payload ?? null })),
        );
        const recordCount = page.records.length;
        const cursor = JSON.stringify(page.checkpoint ?? null);
        // Read ahead: the source fetches the next page while this one is being written.
        next = source.next();
        next.catch(() => undefined);
        const written = await db.transaction(async (tx) => {
          const inserted = recordCount
            ? await tx.query<{ id: string }>(
                `INSERT INTO ${s}.raw_extraction_data (job_id, processing_job_id, integration_id, stream, partition, source_id, payload)
                 SELECT $1, $1, $2, $3, $4, x.source_id, x.payload
                 FROM jsonb_to_recordset($5::jsonb) AS x(source_id text, payload jsonb) RETURNING id`,
                [job.id, job.integrationId, task.stream, task.partition ?? '', records],
              )
            : { rows: [] };
          const n = inserted.rows.length;
          // Lock order everywhere: the stream row, then the job row. Resume locks stream rows first too, so the
          // status read below and a concurrent pause / resume never leave a stream paused in a running job.
          await tx.query(
            `UPDATE ${s}.etl_job_streams SET cursor = $4, pages = pages + 1, extracted = extracted + $5
             WHERE job_id = $1 AND stream = $2 AND partition = $3`,
            [job.id, task.stream, task.partition ?? '', cursor, n],
          );
          if (job.mode !== 'backfill') {
            await tx.query(
              `INSERT INTO ${s}.etl_checkpoints (integration_id, stream, partition, cursor) VALUES ($1, $2, $3, $4)
               ON CONFLICT (integration_id, stream, partition) DO UPDATE SET cursor = excluded.cursor, updated_at = now()`,
              [job.integrationId, task.stream, task.partition ?? '', cursor],
            );
          }
          const { rows } = await tx.query<{ status: string; lag: string }>(
            `UPDATE ${s}.etl_jobs SET extracted = extracted + $2, updated_at = now() WHERE id = $1
             RETURNING status, extracted - loaded - failed AS lag`,
            [job.id, n],
          );
          const status = rows[0]?.status;
          // Pause stops here, at a page boundary, with this page's checkpoint kept; cancel stops for good.
          if (status === 'paused') await markStream(task, 'paused', undefined, tx);
          if (status === 'cancelled' || status === 'failed')
            await markStream(task, 'cancelled', undefined, tx);
          return { ids: inserted.rows.map((r) => String(r.id)), status, lag: Number(rows[0]?.lag ?? 0) };
        });
        extracted += written.ids.length;
        pageCount++;
        await publishTransforms(job.id, task.stream, task.partition, written.ids);
        await streamProgress(job.id, task, pageCount, extracted, started, false);
        if (written.status !== 'running') {
          stop();
          return;
        }
        if (written.lag > opts.maxInFlightRecords) await waitForLoads(job.id, abort.signal);
      }
      await streamProgress(job.id, task, pageCount, extracted, started, true);
      await completeStream(job, task, 'done');
    } catch (error) {
      abort.abort();
      const permanent = isEtlError(error) && permanentCodes.has(error.code);
      if (!permanent && !message.final) throw error;
      const text = describeError(error);
      await jobs.addError(job.id, {
        at: new Date().toISOString(),
        stage: 'extract',
        stream: task.stream,
        message: text,
      });
      await emit({ type: 'error', jobId: job.id, stage: 'extract', stream: task.stream, message: text });
      await completeStream(job, task, 'failed', text);
    }
  }

  async function fanOutPartitions(
    job: Job,
    task: ExtractTask,
    connector: Connector,
    base: Parameters<NonNullable<Connector['extractor']['partitions']>>[0],
  ) {
    if (!connector.extractor.partitions) {
      throw new EtlError(
        'invalid_config',
        `stream ${task.stream} is partitioned but connector ${connector.name} has no partitions()`,
      );
    }
    const keys = [...new Set(await connector.extractor.partitions(base))];
    if (keys.length === 0) {
      await completeStream(job, task, 'done');
      return;
    }
    const pending = await db.transaction(async (tx) => {
      await jobs.insertStreams(
        tx,
        job.id,
        keys.map((partition) => ({ stream: task.stream, partition, status: 'queued' })),
      );
      const { rows } = await tx.query<{ partition: string }>(
        `SELECT partition FROM ${s}.etl_job_streams WHERE job_id = $1 AND stream = $2 AND partition <> '' AND status NOT IN ('done', 'failed', 'cancelled')`,
        [job.id, task.stream],
      );
      await tx.query(
        `UPDATE ${s}.etl_job_streams SET children_pending = $3 WHERE job_id = $1 AND stream = $2 AND partition = ''`,
        [job.id, task.stream, rows.length],
      );
      return rows.map((r) => r.partition);
    });
    if (pending.length === 0) {
      await completeStream(job, task, 'done');
      return;
    }
    await queue.publish(
      'extract',
      pending.map((partition): ExtractTask => ({ jobId: job.id, stream: task.stream, partition })),
    );
  }

  async function streamProgress(
    jobId: string,
    task: ExtractTask,
    pages: number,
    extracted: number,
    started: number,
    done: boolean,
  ) {
    if (!progressDue(`${jobId}:${task.stream}:${task.partition ?? ''}`, done)) return;
    const state = await jobs.stream(jobId, task.stream, task.partition);
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    await emit({
      type: 'stream.progress',
      jobId,
      stream: task.stream,
      partition: task.partition,
      extracted: state?.extracted ?? extracted,
      loaded: state?.loaded ?? 0,
      pages,
      done,
      recordsPerSecond: Math.round(extracted / seconds),
    });
  }

  /** Backpressure: waits while the job has more records in flight than `maxInFlightRecords`. */
  async function waitForLoads(jobId: string, signal: AbortSignal) {
    for (let delay = 5; !signal.aborted; delay = Math.min(delay * 2, 200)) {
      const { rows } = await db.query<{ lag: string }>(
        `SELECT extracted - loaded - failed AS lag FROM ${s}.etl_jobs WHERE id = $1`,
        [jobId],
      );
      if (Number(rows[0]?.lag ?? 0) <= opts.maxInFlightRecords) return;
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  async function completeStream(job: Job, task: ExtractTask, status: 'done' | 'failed', error?: string) {
    const unblocked = await db.transaction(async (tx) => {
      const { rowCount } = await tx.query(
        `UPDATE ${s}.etl_job_streams SET status = $4, error = $5, finished_at = now()
         WHERE job_id = $1 AND stream = $2 AND partition = $3 AND status NOT IN ('done', 'failed', 'cancelled')`,
        [job.id, task.stream, task.partition ?? '', status, error ?? null],
      );
      if (rowCount === 0) return [];
      if (task.partition !== null) {
        const { rows } = await tx.query<{ children_pending: number }>(
          `UPDATE ${s}.etl_job_streams SET children_pending = children_pending - 1
           WHERE job_id = $1 AND stream = $2 AND partition = '' RETURNING children_pending`,
          [job.id, task.stream],
        );
        if (Number(rows[0]?.children_pending ?? 1) > 0) return [];
        await tx.query(
          `UPDATE ${s}.etl_job_streams SET status = 'done', finished_at = now() WHERE job_id = $1 AND stream = $2 AND partition = ''`,
          [job.id, task.stream],
        );
      }
      const ready = await startUnblocked(tx, job);
      await tx.query(
        `UPDATE ${s}.etl_jobs SET streams_pending = streams_pending - 1, updated_at = now() WHERE id = $1`,
        [job.id],
      );
      return ready;
    });
    if (unblocked.length > 0) {
      await queue.publish(
        'extract',
        unblocked.map((stream): ExtractTask => ({ jobId: job.id, stream, partition: null })),
      );
    }
    await finish(job.id);
  }

  /** Waiting streams whose dependencies are all done (or failed: a dependency's failure is reported, not fatal). */
  async function startUnblocked(tx: DbClient, job: Job): Promise<string[]> {
    const connector = connectors.get(job.connector);
    const states = await jobs.streams(job.id, tx);
    const top = states.filter((st) => st.partition === null);
    const finished = new Set(
      top.filter((st) => ['done', 'failed'].includes(st.status)).map((st) => st.stream),
    );
    const ready = top
      .filter((st) => st.status === 'waiting')
      .filter((st) => {
        const deps = connector?.streams.find((d) => d.name === st.stream)?.dependsOn ?? [];
        return deps.every((d) => finished.has(d) || !top.some((t) => t.stream === d));
      })
      .map((st) => st.stream);
    if (ready.length > 0) {
      await tx.query(
        `UPDATE ${s}.etl_job_streams SET status = 'queued' WHERE job_id = $1 AND partition = '' AND stream = ANY($2::text[]) AND status = 'waiting'`,
        [job.id, ready],
      );
    }
    return ready;
  }

  return { handleExtract };
}
