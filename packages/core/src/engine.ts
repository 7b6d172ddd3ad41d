import pLimit, { type LimitFunction } from 'p-limit';
import { z } from 'zod';
import type { Connector, RawRow, TransformContext } from './connector.js';
import type { Db, DbClient } from './db.js';
import { quoteIdent } from './db.js';
import type {
  Engine,
  RawFilter,
  RawRowSummary,
  ReplayResult,
  ReplaySelector,
  WorkerOptions,
} from './engine-types.js';
import { EtlError, describeError, isEtlError } from './errors.js';
import type { EngineEventPayload } from './events.js';
import { eventLog } from './event-log.js';
import { integrationStore, isUuid } from './integration-store.js';
import { jobStore } from './job-store.js';
import { finishedStatuses, jobModes, type Job, type JobMode, type StartJobInput } from './jobs.js';
import { addCounts, zeroCounts, type LoadCounts, type Loader } from './loader.js';
import { mappingsSchema } from './mappings.js';
import { migrate } from './migrate.js';
import { entitySchemas, type Entity, type EntityDraft } from './model.js';
import { parseOptions } from './options.js';
import { postgresLoader } from './postgres-loader.js';
import type { QueueAdapter, QueueMessage, Stage, Subscription } from './queue.js';
import { rateLimitBudgets } from './rate-limit.js';
import { secretBox } from './secrets.js';
import { formatIssues } from './validation.js';

const optionsSchema = z.object({
  db: z.custom<Db>(
    (v) => !!v && typeof (v as Db).query === 'function' && typeof (v as Db).transaction === 'function',
    {
      message: 'must be a Db ({ query, transaction }); wrap a pg Pool with pgDb() or PGlite with pgliteDb()',
    },
  ),
  queue: z.custom<QueueAdapter>(
    (v) =>
      !!v &&
      typeof (v as QueueAdapter).publish === 'function' &&
      typeof (v as QueueAdapter).consume === 'function',
    { message: 'must be a QueueAdapter (memoryQueue(), rabbitmqQueue(), …)' },
  ),
  connectors: z
    .array(
      z.custom<Connector>(
        (v) => !!v && typeof (v as Connector).name === 'string' && Array.isArray((v as Connector).streams),
        {
          message: 'must be a Connector object',
        },
      ),
    )
    .default([]),
  /** PostgreSQL schema for every table. */
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/i, 'must be a plain SQL identifier')
    .default('etl'),
  /** Key for secret config fields (AES-256-GCM); required once an integration has secrets. */
  secretKey: z.string().min(16, 'must be at least 16 characters').optional(),
  loader: z.custom<Loader>((v) => !!v && typeof (v as Loader).load === 'function').optional(),
  /** Raw records per transform message. */
  batchSize: z.number().int().min(1).max(10_000).default(500),
  /** Streams (and partitions) of one integration extracted at once in this process. */
  maxParallelStreams: z.number().int().min(1).max(64).default(4),
  /** Run migrations at start. */
  migrate: z.boolean().default(true),
  eventPollMs: z.number().int().min(20).default(250),
  /** Minimum interval between persisted progress events per job and stream. */
  progressIntervalMs: z.number().int().min(0).default(500),
  /**
   * Records a job may have extracted but not yet loaded before extraction waits. Bounds queue depth and
   * memory whatever the speed of the source, across all processes (the counters live in the database).
   */
  maxInFlightRecords: z.number().int().min(1).default(20_000),
});
export type EngineOptions = z.input<typeof optionsSchema>;

interface ExtractTask {
  jobId: string;
  stream: string;
  partition: string | null;
}
interface TransformTask {
  jobId: string;
  stream: string;
  partition: string | null;
  rawIds: string[];
}
interface LoadTask extends TransformTask {
  entities: Entity[];
}

/** Errors that no retry can fix: the stream fails at once instead of burning attempts. */
const permanentCodes = new Set([
  'auth_failed',
  'forbidden',
  'invalid_config',
  'not_found',
  'secret_key',
  'unknown_connector',
]);

const replaySelectorSchema = z.union([
  z.strictObject({ jobId: z.string() }),
  z.strictObject({ integrationId: z.string(), stream: z.string().optional() }),
  z.strictObject({
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    integrationId: z.string().optional(),
  }),
]);

const startJobSchema = z.strictObject({
  integrationId: z.string().min(1),
  streams: z.array(z.string().min(1)).min(1).optional(),
  mode: z
    .enum(jobModes.filter((m) => m !== 'replay') as ['incremental', 'full', 'backfill'])
    .default('incremental'),
  window: z
    .strictObject({
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
    })
    .optional(),
  requestedBy: z.string().max(200).optional(),
});

function invalidInput(what: string, error: z.ZodError): EtlError {
  const issues = formatIssues(error.issues);
  return new EtlError(
    'invalid_input',
    `invalid ${what} — ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    {
      details: issues,
    },
  );
}

const chunk = <T>(items: T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/**
 * Creates the engine: runs migrations, then offers jobs, integrations, mappings, replay and dead letters.
 * Call `startWorkers()` to process the three stages in this process (or in others on the same db + queue).
 *
 * @example
 * const { db } = await openDb();                      // embedded PGlite, or openDb({ url })
 * const engine = await createEngine({ db, queue: memoryQueue(), connectors: [jiraConnector()] });
 * await engine.startWorkers();
 * const job = await engine.jobs.start({ integrationId, mode: 'incremental' });
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const opts = parseOptions('core', 'createEngine', optionsSchema, options);
  const { db, queue, schema, batchSize } = opts;
  const s = quoteIdent(schema);
  const connectors = new Map<string, Connector>();
  for (const connector of opts.connectors) {
    if (connectors.has(connector.name)) {
      throw new EtlError('invalid_config', `connectors: two connectors are named "${connector.name}"`);
    }
    connectors.set(connector.name, connector);
  }
  if (opts.migrate) await migrate(db, schema);
  await queue.start?.();

  const loader = opts.loader ?? postgresLoader({ schema });
  await loader.migrate?.();
  const integrations = integrationStore(db, schema, connectors, secretBox(opts.secretKey));
  const jobs = jobStore(db, schema);
  const events = eventLog(db, schema, opts.eventPollMs);
  const lastProgress = new Map<string, number>();
  const budgets = rateLimitBudgets(db, schema, (integrationId, until, reason) => {
    void emit({ type: 'throttled', jobId: null, integrationId, until: until.toISOString(), reason });
  });
  const subscriptions: Subscription[] = [];
  const limiters = new Map<string, LimitFunction>();
  const jobMeta = new Map<string, { integrationId: string; connector: string; mode: JobMode }>();

  async function emit(event: EngineEventPayload): Promise<void> {
    try {
      await events.append(event);
    } catch {
      // Events are progress information; losing one must never fail the work that produced it.
    }
  }

  /** Emits at most one progress event per key and interval, unless `force` (the last one of a stream). */
  function progressDue(key: string, force: boolean): boolean {
    const now = Date.now();
    if (!force && now - (lastProgress.get(key) ?? 0) < opts.progressIntervalMs) return false;
    lastProgress.set(key, now);
    return true;
  }

  async function meta(jobId: string) {
    let m = jobMeta.get(jobId);
    if (!m) {
      const job = await jobs.get(jobId);
      m = { integrationId: job.integrationId, connector: job.connector, mode: job.mode };
      if (jobMeta.size > 1000) jobMeta.clear();
      jobMeta.set(jobId, m);
    }
    return m;
  }

  async function publishTransforms(jobId: string, stream: string, partition: string | null, ids: string[]) {
    if (ids.length === 0) return;
    await queue.publish(
      'transform',
      chunk(ids, batchSize).map((rawIds): TransformTask => ({ jobId, stream, partition, rawIds })),
    );
  }

  // ---------------------------------------------------------------- extract

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
      emit: (event: import('./connector.js').ConnectorEvent) => {
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
          `SELECT id FROM ${s}.raw_extraction_data WHERE processing_job_id = $1 AND stream = $2 AND partition = $3 AND status = 'pending' ORDER BY id`,
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
      for await (const page of connector.extractor.extract({
        ...base,
        partition: task.partition,
        checkpoint,
      })) {
        const ids = await db.transaction(async (tx) => {
          const inserted = page.records.length
            ? await tx.query<{ id: string }>(
                `INSERT INTO ${s}.raw_extraction_data (job_id, processing_job_id, integration_id, stream, partition, source_id, payload)
                 SELECT $1, $1, $2, $3, $4, x.source_id, x.payload
                 FROM jsonb_to_recordset($5::jsonb) AS x(source_id text, payload jsonb) RETURNING id`,
                [
                  job.id,
                  job.integrationId,
                  task.stream,
                  task.partition ?? '',
                  JSON.stringify(
                    page.records.map((r) => ({ source_id: String(r.sourceId), payload: r.payload ?? null })),
                  ),
                ],
              )
            : { rows: [] };
          const n = inserted.rows.length;
          const cursor = JSON.stringify(page.checkpoint ?? null);
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
          if (n > 0)
            await tx.query(
              `UPDATE ${s}.etl_jobs SET extracted = extracted + $2, updated_at = now() WHERE id = $1`,
              [job.id, n],
            );
          return inserted.rows.map((r) => String(r.id));
        });
        extracted += ids.length;
        pageCount++;
        await publishTransforms(job.id, task.stream, task.partition, ids);
        await streamProgress(job.id, task, pageCount, extracted, started, false);
        await waitForLoads(job.id, abort.signal);
        const stop = await shouldStop(task);
        if (stop) {
          abort.abort();
          return;
        }
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

  /**
   * Between pages: stop for pause (stream kept resumable) or cancel. The stream row is locked first, as
   * resume does, so a pause and a quick resume never leave a stream paused in a running job.
   */
  async function shouldStop(task: ExtractTask): Promise<boolean> {
    return db.transaction(async (tx) => {
      await tx.query(
        `SELECT 1 FROM ${s}.etl_job_streams WHERE job_id = $1 AND stream = $2 AND partition = $3 FOR UPDATE`,
        [task.jobId, task.stream, task.partition ?? ''],
      );
      const { rows } = await tx.query<{ status: string }>(`SELECT status FROM ${s}.etl_jobs WHERE id = $1`, [
        task.jobId,
      ]);
      const status = rows[0]?.status;
      if (status === 'paused') {
        await markStream(task, 'paused', undefined, tx);
        return true;
      }
      if (status === 'cancelled' || status === 'failed') {
        await markStream(task, 'cancelled', undefined, tx);
        return true;
      }
      return false;
    });
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

  async function finish(jobId: string) {
    const done = await jobs.finishIfDone(jobId);
    if (done) await emit({ type: 'job.status', jobId, status: done.status });
  }

  // ---------------------------------------------------------------- transform

  async function readRaw(ids: string[], client: DbClient = db): Promise<RawRow[]> {
    const { rows } = await client.query<{
      id: string;
      stream: string;
      partition: string;
      source_id: string;
      payload: unknown;
      extracted_at: string | Date;
    }>(
      `SELECT id, stream, partition, source_id, payload, extracted_at FROM ${s}.raw_extraction_data
       WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint) ORDER BY id`,
      [JSON.stringify(ids)],
    );
    return rows.map((r) => ({
      id: String(r.id),
      stream: r.stream,
      partition: r.partition === '' ? null : r.partition,
      sourceId: r.source_id,
      payload: r.payload,
      extractedAt: new Date(r.extracted_at).toISOString(),
    }));
  }

  async function transformRows(
    connector: Connector,
    rows: RawRow[],
    ctx: TransformContext,
  ): Promise<Entity[]> {
    const drafts: EntityDraft[] = await connector.transformer.transform(rows, ctx);
    return drafts.map((draft) => {
      const schemaFor = entitySchemas[draft.kind];
      if (!schemaFor)
        throw new EtlError(
          'invalid_input',
          `transformer returned unknown entity kind "${String(draft.kind)}"`,
        );
      const parsed = schemaFor.safeParse(draft.data);
      if (!parsed.success) {
        const issues = formatIssues(parsed.error.issues);
        throw new EtlError(
          'invalid_input',
          `${connector.name} transformer produced an invalid ${draft.kind} ${draft.sourceId}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
          { details: issues },
        );
      }
      return {
        kind: draft.kind,
        sourceId: String(draft.sourceId),
        sourceUpdatedAt: draft.sourceUpdatedAt ?? null,
        data: parsed.data,
      } as Entity;
    });
  }

  async function transformContext(integrationId: string) {
    const { connector, config } = await integrations.resolve(integrationId);
    const mappings = await integrations.view(integrationId, connector);
    const { rows } = await db.query<{ key: string }>(`SELECT DISTINCT upper(key) AS key FROM ${s}.projects`);
    return { connector, config, mappings, knownProjectKeys: new Set(rows.map((r) => r.key)) };
  }

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

  /** The last attempt failed: the records are marked failed (the job ends `partial`), then the queue dead-letters. */
  async function failRecords(task: TransformTask, stage: Stage, error: unknown) {
    const text = describeError(error);
    // Lock order everywhere: stream rows, then the job row. This bookkeeping must not be lost to a
    // transient error (the message is about to be dead-lettered), so it retries on its own.
    for (let attempt = 1; ; attempt++) {
      try {
        await db.transaction(async (tx) => {
          const { rows } = await tx.query<{ n: string }>(
            `WITH f AS (
               UPDATE ${s}.raw_extraction_data SET status = 'failed', error = $3
               WHERE id IN (SELECT jsonb_array_elements_text($2::jsonb)::bigint) AND status = 'pending' AND processing_job_id = $1
               RETURNING 1)
             SELECT count(*) AS n FROM f`,
            [task.jobId, JSON.stringify(task.rawIds), text],
          );
          const n = Number(rows[0]?.n ?? 0);
          await tx.query(
            `UPDATE ${s}.etl_job_streams SET failed = failed + $4 WHERE job_id = $1 AND stream = $2 AND partition = $3`,
            [task.jobId, task.stream, task.partition ?? '', n],
          );
          await tx.query(`UPDATE ${s}.etl_jobs SET failed = failed + $2, updated_at = now() WHERE id = $1`, [
            task.jobId,
            n,
          ]);
        });
        break;
      } catch (bookkeeping) {
        if (attempt >= 5) throw bookkeeping;
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
    await jobs.addError(task.jobId, {
      at: new Date().toISOString(),
      stage,
      stream: task.stream,
      message: text,
    });
    await emit({
      type: 'dead_letter',
      jobId: task.jobId,
      stage,
      messageId: task.rawIds.join(','),
      error: text,
    });
    await finish(task.jobId);
  }

  // ---------------------------------------------------------------- load

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

  // ---------------------------------------------------------------- replay

  function replayWhere(selector: ReplaySelector): { where: string; values: unknown[] } {
    if ('jobId' in selector) {
      if (!isUuid(selector.jobId)) throw new EtlError('not_found', `job ${selector.jobId} does not exist`);
      return { where: 'job_id = $1', values: [selector.jobId] };
    }
    if ('from' in selector) {
      const values: unknown[] = [selector.from, selector.to];
      let where = 'extracted_at >= $1 AND extracted_at < $2';
      if (selector.integrationId) {
        if (!isUuid(selector.integrationId))
          throw new EtlError('not_found', `integration ${selector.integrationId} does not exist`);
        where += ` AND integration_id = $${values.push(selector.integrationId)}`;
      }
      return { where, values };
    }
    if (!isUuid(selector.integrationId))
      throw new EtlError('not_found', `integration ${selector.integrationId} does not exist`);
    const values: unknown[] = [selector.integrationId];
    let where = 'integration_id = $1';
    if (selector.stream) where += ` AND stream = $${values.push(selector.stream)}`;
    return { where, values };
  }

  async function replay(
    selectorInput: ReplaySelector,
    replayOptions: { dryRun?: boolean; requestedBy?: string } = {},
  ): Promise<ReplayResult> {
    const parsed = replaySelectorSchema.safeParse(selectorInput);
    if (!parsed.success) throw invalidInput('replay selector', parsed.error);
    const selector = parsed.data as ReplaySelector;
    if ('jobId' in selector) await jobs.get(selector.jobId);
    if ('integrationId' in selector && selector.integrationId) await integrations.get(selector.integrationId);
    const { where, values } = replayWhere(selector);
    const { rows: groups } = await db.query<{ integration_id: string; stream: string; n: string }>(
      `SELECT integration_id, stream, count(*) AS n FROM ${s}.raw_extraction_data WHERE ${where} GROUP BY 1, 2 ORDER BY 1, 2`,
      values,
    );
    const records = groups.reduce((sum, g) => sum + Number(g.n), 0);
    const integrationIds = [...new Set(groups.map((g) => g.integration_id))];

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
              const { rows } = await tx.query<{ id: string }>(
                `SELECT id FROM ${s}.raw_extraction_data WHERE ${where} AND integration_id = $${values.length + 1} AND id > $${values.length + 2} ORDER BY id LIMIT ${batchSize}`,
                [...values, integrationId, afterId],
              );
              if (rows.length === 0) break;
              afterId = String(rows.at(-1)!.id);
              const raw = await readRaw(
                rows.map((r) => String(r.id)),
                tx,
              );
              for (const [stream, streamRows] of groupBy(raw, (r) => r.stream)) {
                const { connector, ...context } = ctxBase;
                const entities = await transformRowsTolerant(connector, streamRows, {
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
      const created = await jobs.insert(tx, {
        integrationId,
        connector: integration.connector,
        streams: groups.map((g) => g.stream),
        mode: 'replay',
        window: 'from' in selector ? { from: selector.from, to: selector.to } : null,
        requestedBy: replayOptions.requestedBy ?? null,
        status: 'running',
        streamsPending: 0,
        extracted: records,
      });
      const { rows } = await tx.query<{ id: string; stream: string; partition: string }>(
        `UPDATE ${s}.raw_extraction_data SET status = 'pending', error = NULL, processing_job_id = $${values.length + 1}
         WHERE ${where} RETURNING id, stream, partition`,
        [...values, created.id],
      );
      const byStream = groupBy(rows, (r) => `${r.stream}\u0000${r.partition}`);
      const tasks: TransformTask[] = [];
      for (const [, list] of byStream) {
        const ids = list.map((r) => String(r.id)).sort((a, b) => Number(a) - Number(b));
        for (const rawIds of chunk(ids, batchSize)) {
          tasks.push({
            jobId: created.id,
            stream: list[0]!.stream,
            partition: list[0]!.partition || null,
            rawIds,
          });
        }
      }
      return { job: created, batches: tasks };
    });
    await emit({ type: 'job.status', jobId: job.id, status: 'running' });
    if (batches.length > 0) await queue.publish('transform', batches);
    await finish(job.id);
    return { dryRun: false, records, counts: zeroCounts(), job: await jobs.get(job.id) };
  }

  /** For dry runs: records that fail to transform are left out, as the real replay would dead-letter them. */
  async function transformRowsTolerant(connector: Connector, rows: RawRow[], ctx: TransformContext) {
    try {
      return await transformRows(connector, rows, ctx);
    } catch {
      const out: Entity[] = [];
      for (const row of rows) {
        try {
          out.push(...(await transformRows(connector, [row], ctx)));
        } catch {
          // counted by the real replay as a dead letter
        }
      }
      return out;
    }
  }

  // ---------------------------------------------------------------- jobs API

  async function startJob(input: StartJobInput): Promise<Job> {
    const parsed = startJobSchema.safeParse(input);
    if (!parsed.success) throw invalidInput('job', parsed.error);
    const { integrationId, mode, window, requestedBy } = parsed.data;
    const integration = await integrations.get(integrationId);
    const connector = integrations.connectorFor(integration.connector);
    if (!integration.enabled)
      throw new EtlError('conflict', `integration ${integration.name} is disabled; enable it first`);
    const known = connector.streams.map((d) => d.name);
    const requested = parsed.data.streams ?? known;
    const unknown = requested.filter((name) => !known.includes(name));
    if (unknown.length > 0) {
      throw new EtlError(
        'invalid_input',
        `streams: unknown stream(s) ${unknown.join(', ')} for ${connector.name}; known: ${known.join(', ')}`,
        {
          details: [{ path: 'streams', message: `unknown: ${unknown.join(', ')}` }],
        },
      );
    }
    if (mode === 'backfill' && !window?.from) {
      throw new EtlError('invalid_input', 'window.from: a backfill needs a date window', {
        details: [{ path: 'window.from', message: 'required for backfill' }],
      });
    }
    const selected = [...new Set(requested)];
    const initial = selected.map((stream) => {
      const deps = (connector.streams.find((d) => d.name === stream)?.dependsOn ?? []).filter((d) =>
        selected.includes(d),
      );
      return { stream, partition: null, status: deps.length === 0 ? 'queued' : 'waiting' };
    });
    const job = await db.transaction(async (tx) => {
      const created = await jobs.insert(tx, {
        integrationId,
        connector: connector.name,
        streams: selected,
        mode,
        window: window ?? null,
        requestedBy: requestedBy ?? null,
        status: 'queued',
        streamsPending: selected.length,
      });
      await jobs.insertStreams(tx, created.id, initial);
      return created;
    });
    await emit({ type: 'job.status', jobId: job.id, status: 'queued' });
    await queue.publish(
      'extract',
      initial
        .filter((i) => i.status === 'queued')
        .map((i): ExtractTask => ({ jobId: job.id, stream: i.stream, partition: null })),
    );
    return job;
  }

  async function illegal(id: string, action: string): Promise<never> {
    const job = await jobs.get(id);
    throw new EtlError('illegal_transition', `cannot ${action} job ${id}: it is ${job.status}`, {
      details: { status: job.status },
    });
  }

  async function resumeJob(id: string): Promise<Job> {
    const { job, tasks } = await db.transaction(async (tx) => {
      await tx.query(
        `SELECT 1 FROM ${s}.etl_job_streams WHERE job_id = $1 ORDER BY stream, partition FOR UPDATE`,
        [id],
      );
      const resumed = await jobs.transition(id, ['paused'], 'running', tx);
      if (!resumed) return { job: undefined, tasks: [] };
      const { rows } = await tx.query<{ stream: string; partition: string }>(
        `UPDATE ${s}.etl_job_streams SET status = 'queued' WHERE job_id = $1 AND status = 'paused' RETURNING stream, partition`,
        [id],
      );
      return {
        job: resumed,
        tasks: rows.map((r): ExtractTask => ({
          jobId: id,
          stream: r.stream,
          partition: r.partition || null,
        })),
      };
    });
    if (!job) return illegal(id, 'resume');
    await emit({ type: 'job.status', jobId: id, status: 'running' });
    if (tasks.length > 0) await queue.publish('extract', tasks);
    return job;
  }

  /** After a restart with the in-memory queue, re-publishes what running jobs still need. */
  async function recover() {
    const { rows } = await db.query<{ job_id: string; stream: string; partition: string }>(
      `SELECT st.job_id, st.stream, st.partition FROM ${s}.etl_job_streams st JOIN ${s}.etl_jobs j ON j.id = st.job_id
       WHERE j.status IN ('queued', 'running') AND st.status IN ('queued', 'running')`,
    );
    if (rows.length > 0) {
      await queue.publish(
        'extract',
        rows.map((r): ExtractTask => ({ jobId: r.job_id, stream: r.stream, partition: r.partition || null })),
      );
    }
    const pending = await db.query<{
      id: string;
      processing_job_id: string;
      stream: string;
      partition: string;
    }>(
      `SELECT r.id, r.processing_job_id, r.stream, r.partition FROM ${s}.raw_extraction_data r
       JOIN ${s}.etl_jobs j ON j.id = r.processing_job_id
       WHERE j.status IN ('running', 'paused') AND r.status = 'pending' ORDER BY r.id`,
    );
    for (const [, list] of groupBy(
      pending.rows,
      (r) => `${r.processing_job_id}\u0000${r.stream}\u0000${r.partition}`,
    )) {
      await publishTransforms(
        list[0]!.processing_job_id,
        list[0]!.stream,
        list[0]!.partition || null,
        list.map((r) => String(r.id)),
      );
    }
  }

  const handlers: Record<Stage, (m: QueueMessage) => Promise<void>> = {
    extract: handleExtract,
    transform: handleTransform,
    load: handleLoad,
  };
  const defaultConcurrency: Record<Stage, number> = { extract: 4, transform: 4, load: 2 };
  let workersStarted = false;

  const engine: Engine = {
    db,
    schema,
    queue,
    connectors,
    events: events.source,
    async startWorkers(workerOptions: WorkerOptions = {}) {
      const stagesToRun = workerOptions.stages ?? (['extract', 'transform', 'load'] as Stage[]);
      if (!workersStarted && queue.name === 'memory') await recover();
      workersStarted = true;
      for (const stage of stagesToRun) {
        const prefetch = workerOptions.concurrency?.[stage] ?? defaultConcurrency[stage];
        subscriptions.push(await queue.consume(stage, handlers[stage], { prefetch }));
      }
    },
    async stop() {
      const subs = subscriptions.splice(0);
      await Promise.all(subs.map((sub) => sub.cancel()));
      events.stop();
    },
    integrations: {
      create: (input) => integrations.create(input),
      get: (id) => integrations.get(id),
      list: () => integrations.list(),
      update: (id, patch) => integrations.update(id, patch),
      delete: (id) => integrations.delete(id),
      async test(id) {
        const { connector, config } = await integrations.resolve(id);
        if (!connector.check)
          return { ok: true, message: `${connector.name} has no connection check; config is valid` };
        try {
          return await connector.check(config, { signal: AbortSignal.timeout(30_000) });
        } catch (error) {
          return { ok: false, message: describeError(error) };
        }
      },
    },
    mappings: {
      async get(integrationId) {
        const current = await integrations.mappings(integrationId);
        if (current.version > 0) return current;
        const { connector } = await integrations.resolve(integrationId);
        return { version: 0, mappings: mappingsSchema.parse(connector.defaultMappings ?? {}) };
      },
      put: (integrationId, mappings) => integrations.putMappings(integrationId, mappings),
    },
    jobs: {
      start: startJob,
      get: (id) => jobs.getWithStreams(id),
      list: (filter) => jobs.list(filter),
      async pause(id) {
        const job = await jobs.transition(id, ['queued', 'running'], 'paused');
        if (!job) return illegal(id, 'pause');
        await emit({ type: 'job.status', jobId: id, status: 'paused' });
        return job;
      },
      resume: resumeJob,
      async cancel(id) {
        const job = await jobs.transition(id, ['queued', 'running', 'paused'], 'cancelled');
        if (!job) return illegal(id, 'cancel');
        await db.query(
          `UPDATE ${s}.etl_job_streams SET status = 'cancelled', finished_at = now() WHERE job_id = $1 AND status IN ('waiting', 'queued', 'paused')`,
          [id],
        );
        await emit({ type: 'job.status', jobId: id, status: 'cancelled' });
        return job;
      },
      async waitFor(id, waitOptions = {}) {
        const deadline = Date.now() + (waitOptions.timeoutMs ?? 60_000);
        for (;;) {
          const job = await jobs.get(id);
          if (finishedStatuses.includes(job.status)) return jobs.getWithStreams(id);
          if (Date.now() > deadline) {
            throw new EtlError(
              'timeout',
              `job ${id} is still ${job.status} after ${waitOptions.timeoutMs ?? 60_000} ms (counters ${JSON.stringify(job.counters)})`,
            );
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      },
    },
    raw: {
      async list(filter: RawFilter = {}) {
        const where: string[] = [];
        const values: unknown[] = [];
        if (filter.jobId) {
          if (!isUuid(filter.jobId)) return { rows: [], total: 0 };
          where.push(`job_id = $${values.push(filter.jobId)}`);
        }
        if (filter.integrationId) {
          if (!isUuid(filter.integrationId)) return { rows: [], total: 0 };
          where.push(`integration_id = $${values.push(filter.integrationId)}`);
        }
        if (filter.stream) where.push(`stream = $${values.push(filter.stream)}`);
        if (filter.status) where.push(`status = $${values.push(filter.status)}`);
        const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
        const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
        const offset = Math.max(filter.offset ?? 0, 0);
        const total = await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${s}.raw_extraction_data ${clause}`,
          values,
        );
        const { rows } = await db.query<RawDbRow>(
          `SELECT id, job_id, integration_id, stream, partition, source_id, status, error, extracted_at${filter.withPayload ? ', payload' : ''}
           FROM ${s}.raw_extraction_data ${clause} ORDER BY id LIMIT ${limit} OFFSET ${offset}`,
          values,
        );
        return { rows: rows.map(toRawSummary), total: Number(total.rows[0]!.n) };
      },
      async get(id) {
        if (!/^\d{1,18}$/.test(id)) throw new EtlError('not_found', `raw row ${id} does not exist`);
        const { rows } = await db.query<RawDbRow>(
          `SELECT id, job_id, integration_id, stream, partition, source_id, status, error, extracted_at, payload
           FROM ${s}.raw_extraction_data WHERE id = $1`,
          [id],
        );
        if (!rows[0]) throw new EtlError('not_found', `raw row ${id} does not exist`);
        return toRawSummary(rows[0]);
      },
    },
    replay,
    deadLetters: {
      async list(listOptions) {
        if (!queue.deadLetters)
          throw new EtlError('unsupported', `queue ${queue.name} does not keep dead letters`);
        return queue.deadLetters.list(listOptions);
      },
      async replay(id) {
        if (!queue.deadLetters)
          throw new EtlError('unsupported', `queue ${queue.name} does not keep dead letters`);
        if (!(await queue.deadLetters.replay(id)))
          throw new EtlError('not_found', `dead letter ${id} does not exist`);
      },
      async discard(id) {
        if (!queue.deadLetters)
          throw new EtlError('unsupported', `queue ${queue.name} does not keep dead letters`);
        if (!(await queue.deadLetters.discard(id)))
          throw new EtlError('not_found', `dead letter ${id} does not exist`);
      },
    },
    queues: {
      async stats() {
        if (!queue.stats) throw new EtlError('unsupported', `queue ${queue.name} does not report stats`);
        return queue.stats();
      },
    },
  };
  return engine;
}

interface RawDbRow {
  id: string;
  job_id: string;
  integration_id: string;
  stream: string;
  partition: string;
  source_id: string;
  status: RawRowSummary['status'];
  error: string | null;
  extracted_at: string | Date;
  payload?: unknown;
}

function toRawSummary(r: RawDbRow): RawRowSummary {
  return {
    id: String(r.id),
    jobId: r.job_id,
    integrationId: r.integration_id,
    stream: r.stream,
    partition: r.partition === '' ? null : r.partition,
    sourceId: r.source_id,
    status: r.status,
    error: r.error,
    extractedAt: new Date(r.extracted_at).toISOString(),
    ...(r.payload === undefined ? {} : { payload: r.payload }),
  };
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    let list = out.get(k);
    if (!list) out.set(k, (list = []));
    list.push(item);
  }
  return out;
}

export type { LoadCounts };
