import { randomUUID } from 'node:crypto';
import type { Db, DbClient } from '../db/db.js';
import { quoteIdent } from '../db/db.js';
import { EtlError } from '../errors.js';
import type { LoadCounts } from '../loader/loader.js';
import type { Job, JobCounters, JobFilter, JobMode, JobStatus, JobStreamState } from '../model/jobs.js';
import { isUuid, partitionKey, partitionOf } from './row-keys.js';
import { assertCleanInput } from '../validation.js';

interface JobRow {
  id: string;
  integration_id: string;
  connector: string;
  streams: string[];
  mode: JobMode;
  time_window: Job['window'];
  status: JobStatus;
  extracted: string;
  transformed: string;
  loaded: string;
  failed: string;
  inserted: string;
  updated: string;
  unchanged: string;
  streams_pending: number;
  errors: Job['errors'];
  requested_by: string | null;
  created_at: string | Date;
  started_at: string | Date | null;
  finished_at: string | Date | null;
}

interface StreamRow {
  stream: string;
  partition: string;
  status: JobStreamState['status'];
  extracted: string;
  loaded: string;
  failed: string;
  pages: number;
  cursor: unknown;
  error: string | null;
  started_at: string | Date | null;
  finished_at: string | Date | null;
}

/** The lease an extractor holds on one (job, stream, partition); `token` fences it against later owners. */
export interface StreamLease {
  jobId: string;
  stream: string;
  partition: string | null;
  owner: string;
  token: string;
  leaseMs: number;
}

const iso = (v: string | Date | null) => (v === null ? null : new Date(v).toISOString());

export function toJob(r: JobRow): Job {
  return {
    id: r.id,
    integrationId: r.integration_id,
    connector: r.connector,
    streams: r.streams,
    mode: r.mode,
    window: r.time_window,
    status: r.status,
    counters: {
      extracted: Number(r.extracted),
      transformed: Number(r.transformed),
      loaded: Number(r.loaded),
      failed: Number(r.failed),
      inserted: Number(r.inserted),
      updated: Number(r.updated),
      unchanged: Number(r.unchanged),
    },
    errors: r.errors,
    requestedBy: r.requested_by,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

const toStream = (r: StreamRow): JobStreamState => ({
  stream: r.stream,
  partition: partitionOf(r.partition),
  status: r.status,
  extracted: Number(r.extracted),
  loaded: Number(r.loaded),
  failed: Number(r.failed),
  pages: r.pages,
  cursor: r.cursor,
  error: r.error,
  startedAt: iso(r.started_at),
  finishedAt: iso(r.finished_at),
});

/**
 * Every legal change of a job's status, by the action that makes it. The store's SQL only moves a job whose
 * status is one of `from`, so two racing actions cannot both win. Jobs are created `queued` (a replay job
 * `running`); `finish` is decided by {@link JobStore.finishIfDone} from the counters.
 */
export const jobTransitions = {
  start: { from: ['queued'], to: ['running'] },
  pause: { from: ['queued', 'running'], to: ['paused'] },
  resume: { from: ['paused'], to: ['running'] },
  cancel: { from: ['queued', 'running', 'paused'], to: ['cancelled'] },
  finish: { from: ['running', 'partial'], to: ['succeeded', 'partial', 'failed'] },
} as const satisfies Record<string, { from: readonly JobStatus[]; to: readonly JobStatus[] }>;
export type JobAction = Exclude<keyof typeof jobTransitions, 'finish'>;

/** One stream (or partition) of a job: the key of an `etl_job_streams` row. */
export interface JobStreamKey {
  jobId: string;
  stream: string;
  partition: string | null;
}

type StreamStatus = JobStreamState['status'];
const endedStreamStatuses = ['done', 'failed', 'skipped', 'cancelled'];

/** Ends a partitioned stream once its last partition ended: failed when none of its partitions succeeded. */
async function endParentStream(tx: DbClient, schema: string, key: JobStreamKey): Promise<void> {
  const streams = `${quoteIdent(schema)}.etl_job_streams`;
  await tx.query(
    `UPDATE ${streams} p SET finished_at = now(), status = CASE
         WHEN EXISTS (SELECT 1 FROM ${streams} c WHERE c.job_id = p.job_id AND c.stream = p.stream AND c.partition <> '' AND c.status = 'failed')
          AND NOT EXISTS (SELECT 1 FROM ${streams} c WHERE c.job_id = p.job_id AND c.stream = p.stream AND c.partition <> '' AND c.status = 'done')
         THEN 'failed' ELSE 'done' END
     WHERE job_id = $1 AND stream = $2 AND partition = ''`,
    [key.jobId, key.stream],
  );
}

/** Marks waiting streams skipped, with the reason, and counts them off the job's pending streams. */
async function skipStreams(
  tx: DbClient,
  schema: string,
  jobId: string,
  skipped: { stream: string; reason: string }[],
): Promise<void> {
  const streams = `${quoteIdent(schema)}.etl_job_streams`;
  const jobs = `${quoteIdent(schema)}.etl_jobs`;
  // Counted by the rows this transaction changed: a concurrent completion may have skipped one already.
  let skips = 0;
  for (const skip of skipped) {
    const { rowCount } = await tx.query(
      `UPDATE ${streams} SET status = 'skipped', error = $3, finished_at = now()
       WHERE job_id = $1 AND partition = '' AND stream = $2 AND status = 'waiting'`,
      [jobId, skip.stream, skip.reason],
    );
    skips += rowCount ?? 0;
  }
  if (skips > 0) {
    await tx.query(
      `UPDATE ${jobs} SET streams_pending = streams_pending - $2, updated_at = now() WHERE id = $1`,
      [jobId, skips],
    );
  }
}

const recordStages = ['extracted', 'transformed', 'loaded', 'failed'] as const;
type RecordStage = (typeof recordStages)[number];

/**
 * The job table (PostgreSQL is the source of truth for job state) and per-stream progress: owns `etl_jobs` and
 * `etl_job_streams`. Lock order in every transaction: stream rows first, then the job row.
 */
export function jobStore(db: Db, schema: string) {
  const s = quoteIdent(schema);
  const jobs = `${s}.etl_jobs`;
  const streams = `${s}.etl_job_streams`;

  const setStreamStatus = async (
    key: JobStreamKey,
    status: StreamStatus,
    error?: string,
    client: DbClient = db,
  ): Promise<void> => {
    await client.query(
      `UPDATE ${streams} SET status = $4, error = coalesce($5, error),
         finished_at = CASE WHEN $4 IN ('done', 'failed', 'skipped', 'cancelled') THEN now() ELSE finished_at END
       WHERE job_id = $1 AND stream = $2 AND partition = $3`,
      [key.jobId, key.stream, partitionKey(key.partition), status, error ?? null],
    );
  };
  const insertStreams = async (
    tx: DbClient,
    jobId: string,
    entries: { stream: string; partition: string | null; status: StreamStatus }[],
  ): Promise<void> => {
    if (entries.length === 0) return;
    await tx.query(
      `INSERT INTO ${streams} (job_id, stream, partition, status)
       SELECT $1, x.stream, x.partition, x.status FROM jsonb_to_recordset($2::jsonb) AS x(stream text, partition text, status text)
       ON CONFLICT DO NOTHING`,
      [jobId, JSON.stringify(entries.map((e) => ({ ...e, partition: partitionKey(e.partition) })))],
    );
  };
  const streamsOf = async (jobId: string, client: DbClient = db): Promise<JobStreamState[]> => {
    const { rows } = await client.query<StreamRow>(`SELECT * FROM ${streams} WHERE job_id = $1`, [jobId]);
    return rows.map(toStream);
  };
  const transition = async (
    id: string,
    action: JobAction,
    client: DbClient = db,
  ): Promise<Job | undefined> => {
    const { from, to } = jobTransitions[action];
    // Not an id at all: no job to move (the caller's look-up then answers not_found).
    if (!isUuid(id)) return undefined;
    const { rows } = await client.query<JobRow>(
      `UPDATE ${jobs} SET status = $2, updated_at = now(),
         started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
         finished_at = CASE WHEN $2 = 'cancelled' THEN now() ELSE finished_at END
       WHERE id = $1 AND status = ANY($3::text[]) RETURNING *`,
      [id, to[0], from],
    );
    return rows[0] ? toJob(rows[0]) : undefined;
  };
  const get = async (id: string, client: DbClient = db): Promise<Job> => {
    if (!isUuid(id)) throw new EtlError('not_found', `job ${id} does not exist`);
    const { rows } = await client.query<JobRow>(`SELECT * FROM ${jobs} WHERE id = $1`, [id]);
    if (!rows[0]) throw new EtlError('not_found', `job ${id} does not exist`);
    return toJob(rows[0]);
  };
  return {
    /** Jobs by status and the records of every job by stage, for metrics. */
    async totals(): Promise<{ byStatus: Map<string, number>; records: Record<RecordStage, number> }> {
      const { rows } = await db.query<{ status: string; n: string } & Record<RecordStage, string>>(
        `SELECT status, count(*)::text AS n, sum(extracted)::text AS extracted, sum(transformed)::text AS transformed,
                sum(loaded)::text AS loaded, sum(failed)::text AS failed
         FROM ${jobs} GROUP BY status`,
      );
      const records = { extracted: 0, transformed: 0, loaded: 0, failed: 0 };
      for (const row of rows) for (const stage of recordStages) records[stage] += Number(row[stage] ?? 0);
      return { byStatus: new Map(rows.map((r) => [r.status, Number(r.n)])), records };
    },
    /** Creates a job and its top-level stream rows in one transaction. */
    async create(
      job: {
        integrationId: string;
        connector: string;
        streams: string[];
        mode: JobMode;
        window: Job['window'];
        requestedBy: string | null;
        status: 'queued' | 'running';
        streamsPending: number;
        extracted?: number;
        /** The process that runs the job and its lease (see `takeJobLease`). */
        owner?: { id: string; leaseMs: number };
      },
      streamEntries: { stream: string; status: StreamStatus }[],
      tx?: DbClient,
    ): Promise<Job> {
      const run = async (client: DbClient) => {
        const { rows } = await client.query<JobRow>(
          `INSERT INTO ${jobs} (id, integration_id, connector, streams, mode, time_window, status, requested_by, streams_pending, extracted, started_at, owner, owner_expires_at)
           VALUES ($1, $2, $3, $4::text[], $5, $6, $7, $8, $9, $10, CASE WHEN $7 = 'running' THEN now() END,
                   $11, now() + $12 * interval '1 millisecond') RETURNING *`,
          [
            randomUUID(),
            job.integrationId,
            job.connector,
            job.streams,
            job.mode,
            job.window ? JSON.stringify(job.window) : null,
            job.status,
            job.requestedBy,
            job.streamsPending,
            job.extracted ?? 0,
            job.owner?.id ?? null,
            job.owner?.leaseMs ?? null,
          ],
        );
        const created = toJob(rows[0]!);
        await insertStreams(
          client,
          created.id,
          streamEntries.map((e) => ({ ...e, partition: null })),
        );
        return created;
      };
      return tx ? run(tx) : db.transaction(run);
    },
    get,
    async getWithStreams(id: string): Promise<Job> {
      const job = await get(id);
      const { rows } = await db.query<StreamRow>(
        `SELECT * FROM ${streams} WHERE job_id = $1 ORDER BY stream, partition`,
        [id],
      );
      return { ...job, streamStates: rows.map(toStream) };
    },
    async list(filter: JobFilter = {}): Promise<{ jobs: Job[]; total: number }> {
      assertCleanInput(filter, 'job filter');
      const where: string[] = [];
      const values: unknown[] = [];
      if (filter.status) where.push(`status = $${values.push(filter.status)}`);
      if (filter.integrationId) {
        if (!isUuid(filter.integrationId)) return { jobs: [], total: 0 };
        where.push(`integration_id = $${values.push(filter.integrationId)}`);
      }
      if (filter.connector) where.push(`connector = $${values.push(filter.connector)}`);
      const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const total = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${jobs} ${clause}`, values);
      const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
      const offset = Math.max(filter.offset ?? 0, 0);
      const { rows } = await db.query<JobRow>(
        `SELECT * FROM ${jobs} ${clause} ORDER BY created_at DESC, id LIMIT ${limit} OFFSET ${offset}`,
        values,
      );
      return { jobs: rows.map(toJob), total: Number(total.rows[0]!.n) };
    },
    async stream(key: JobStreamKey): Promise<JobStreamState | undefined> {
      const { rows } = await db.query<StreamRow>(
        `SELECT * FROM ${streams} WHERE job_id = $1 AND stream = $2 AND partition = $3`,
        [key.jobId, key.stream, partitionKey(key.partition)],
      );
      return rows[0] ? toStream(rows[0]) : undefined;
    },
    streams: streamsOf,
    /** Applies one action of {@link jobTransitions}; undefined when the job's status does not allow it. */
    transition,
    /** Resumes a paused job and re-queues its paused streams, returning them to publish. */
    async resume(id: string): Promise<{ job: Job | undefined; streams: JobStreamKey[] }> {
      if (!isUuid(id)) return { job: undefined, streams: [] };
      return db.transaction(async (tx) => {
        await tx.query(`SELECT 1 FROM ${streams} WHERE job_id = $1 ORDER BY stream, partition FOR UPDATE`, [
          id,
        ]);
        const resumed = await transition(id, 'resume', tx);
        if (!resumed) return { job: undefined, streams: [] };
        const { rows } = await tx.query<{ stream: string; partition: string }>(
          `UPDATE ${streams} SET status = 'queued' WHERE job_id = $1 AND status = 'paused' RETURNING stream, partition`,
          [id],
        );
        return {
          job: resumed,
          streams: rows.map((r) => ({ jobId: id, stream: r.stream, partition: partitionOf(r.partition) })),
        };
      });
    },
    /** Cancels a job's streams that have not started or are paused (running ones stop at their next page). */
    async cancelStreams(id: string): Promise<void> {
      await db.query(
        `UPDATE ${streams} SET status = 'cancelled', finished_at = now() WHERE job_id = $1 AND status IN ('waiting', 'queued', 'paused')`,
        [id],
      );
    },
    /** The open streams of unfinished jobs (of the given jobs only, when `jobIds` is set). */
    async activeStreams(jobIds?: string[]): Promise<JobStreamKey[]> {
      const { rows } = await db.query<{ job_id: string; stream: string; partition: string }>(
        `SELECT st.job_id, st.stream, st.partition FROM ${streams} st JOIN ${jobs} j ON j.id = st.job_id
         WHERE j.status IN ('queued', 'running') AND st.status IN ('queued', 'running')
           AND ($1::uuid[] IS NULL OR j.id = ANY($1::uuid[]))`,
        [jobIds ?? null],
      );
      return rows.map((r) => ({ jobId: r.job_id, stream: r.stream, partition: partitionOf(r.partition) }));
    },
    setStreamStatus,
    /**
     * Counts one durable page in the page transaction: the stream's cursor and counters, then the job's.
     * Returns the job's status as it is now (a pause or cancel is seen here) and its records in flight.
     */
    async recordPage(
      tx: DbClient,
      key: JobStreamKey,
      cursorJson: string,
      records: number,
    ): Promise<{ status: JobStatus | undefined; lag: number }> {
      await tx.query(
        `UPDATE ${streams} SET cursor = $4, pages = pages + 1, extracted = extracted + $5
         WHERE job_id = $1 AND stream = $2 AND partition = $3`,
        [key.jobId, key.stream, partitionKey(key.partition), cursorJson, records],
      );
      const { rows } = await tx.query<{ status: JobStatus; lag: string }>(
        `UPDATE ${jobs} SET extracted = extracted + $2, updated_at = now() WHERE id = $1
         RETURNING status, extracted - loaded - failed AS lag`,
        [key.jobId, records],
      );
      return { status: rows[0]?.status, lag: Number(rows[0]?.lag ?? 0) };
    },
    /** Records extracted but neither loaded nor failed yet. */
    async lag(jobId: string): Promise<number> {
      const { rows } = await db.query<{ lag: string }>(
        `SELECT extracted - loaded - failed AS lag FROM ${jobs} WHERE id = $1`,
        [jobId],
      );
      return Number(rows[0]?.lag ?? 0);
    },
    /**
     * Adds the partitions of a partitioned stream (idempotent on redelivery); returns those not finished yet,
     * which the parent row now waits for.
     */
    async addPartitions(jobId: string, stream: string, partitions: string[]): Promise<string[]> {
      return db.transaction(async (tx) => {
        await insertStreams(
          tx,
          jobId,
          partitions.map((partition) => ({ stream, partition, status: 'queued' })),
        );
        const { rows } = await tx.query<{ partition: string }>(
          `SELECT partition FROM ${streams} WHERE job_id = $1 AND stream = $2 AND partition <> '' AND status NOT IN ('done', 'failed', 'skipped', 'cancelled')`,
          [jobId, stream],
        );
        await tx.query(
          `UPDATE ${streams} SET children_pending = $3 WHERE job_id = $1 AND stream = $2 AND partition = ''`,
          [jobId, stream, rows.length],
        );
        return rows.map((r) => r.partition);
      });
    },
    /**
     * Ends a stream (or partition; the last partition ends its parent). The waiting streams `next` picks are
     * queued (returned to publish), or skipped with the reason when a stream they depend on failed.
     */
    async completeStream(
      key: JobStreamKey,
      status: 'done' | 'failed',
      error: string | undefined,
      next: (states: JobStreamState[]) => { ready: string[]; skipped: { stream: string; reason: string }[] },
    ): Promise<string[]> {
      return db.transaction(async (tx) => {
        const { rowCount } = await tx.query(
          `UPDATE ${streams} SET status = $4, error = $5, finished_at = now()
           WHERE job_id = $1 AND stream = $2 AND partition = $3 AND status <> ALL($6::text[])`,
          [key.jobId, key.stream, partitionKey(key.partition), status, error ?? null, endedStreamStatuses],
        );
        if (rowCount === 0) return [];
        if (key.partition !== null) {
          const { rows } = await tx.query<{ children_pending: number }>(
            `UPDATE ${streams} SET children_pending = children_pending - 1
             WHERE job_id = $1 AND stream = $2 AND partition = '' RETURNING children_pending`,
            [key.jobId, key.stream],
          );
          if (Number(rows[0]?.children_pending ?? 1) > 0) return [];
          await endParentStream(tx, schema, key);
        }
        const { ready, skipped } = next(await streamsOf(key.jobId, tx));
        await skipStreams(tx, schema, key.jobId, skipped);
        if (ready.length > 0) {
          await tx.query(
            `UPDATE ${streams} SET status = 'queued' WHERE job_id = $1 AND partition = '' AND stream = ANY($2::text[]) AND status = 'waiting'`,
            [key.jobId, ready],
          );
        }
        await tx.query(
          `UPDATE ${jobs} SET streams_pending = streams_pending - 1, updated_at = now() WHERE id = $1`,
          [key.jobId],
        );
        return ready;
      });
    },
    /** Counts records that failed for good (their raw rows are marked failed in the same transaction). */
    async recordFailed(tx: DbClient, key: JobStreamKey, records: number): Promise<void> {
      await tx.query(
        `UPDATE ${streams} SET failed = failed + $4 WHERE job_id = $1 AND stream = $2 AND partition = $3`,
        [key.jobId, key.stream, partitionKey(key.partition), records],
      );
      await tx.query(`UPDATE ${jobs} SET failed = failed + $2, updated_at = now() WHERE id = $1`, [
        key.jobId,
        records,
      ]);
    },
    /**
     * Counts loaded records in the load transaction: `loaded` of them, `fromFailed` of which had failed before
     * (a replayed dead letter). Returns the job's counters.
     */
    async recordLoaded(
      tx: DbClient,
      key: JobStreamKey,
      loaded: number,
      fromFailed: number,
      counts: LoadCounts,
    ): Promise<JobCounters> {
      await tx.query(
        `UPDATE ${streams} SET loaded = loaded + $4, failed = failed - $5 WHERE job_id = $1 AND stream = $2 AND partition = $3`,
        [key.jobId, key.stream, partitionKey(key.partition), loaded, fromFailed],
      );
      const { rows } = await tx.query<JobRow>(
        `UPDATE ${jobs} SET loaded = loaded + $2, transformed = transformed + $2, failed = failed - $3,
           inserted = inserted + $4, updated = updated + $5, unchanged = unchanged + $6, updated_at = now()
         WHERE id = $1 RETURNING *`,
        [key.jobId, loaded, fromFailed, counts.inserted, counts.updated, counts.unchanged],
      );
      return toJob(rows[0]!).counters;
    },
    async addError(jobId: string, error: Job['errors'][number], client: DbClient = db): Promise<void> {
      await client.query(
        `UPDATE ${jobs} SET errors = CASE WHEN jsonb_array_length(errors) >= 100 THEN errors ELSE errors || $2::jsonb END, updated_at = now() WHERE id = $1`,
        [jobId, JSON.stringify([error])],
      );
    },
    /**
     * Finishes a job once every stream is done and every extracted record is loaded or failed.
     * Also re-evaluates a `partial` job after its dead letters were replayed.
     */
    async finishIfDone(jobId: string): Promise<Job | undefined> {
      const { rows } = await db.query<JobRow>(
        `WITH s AS (
           SELECT count(*) FILTER (WHERE status IN ('failed', 'skipped')) AS failed_streams,
                  count(*) FILTER (WHERE partition = '') AS top_streams,
                  count(*) FILTER (WHERE status IN ('failed', 'skipped') AND partition = '') AS failed_top
           FROM ${streams} WHERE job_id = $1
         ), next AS (
           SELECT j.id, CASE
               WHEN s.top_streams > 0 AND s.failed_top = s.top_streams AND j.loaded = 0 THEN 'failed'
               WHEN j.failed > 0 OR s.failed_streams > 0 THEN 'partial'
               ELSE 'succeeded' END AS status
           FROM ${jobs} j, s
           WHERE j.id = $1 AND j.status = ANY($2::text[]) AND j.streams_pending = 0
             AND j.loaded + j.failed >= j.extracted
         )
         UPDATE ${jobs} j SET status = next.status, finished_at = now(), updated_at = now()
         FROM next WHERE j.id = next.id AND j.status <> next.status
         RETURNING j.*`,
        [jobId, jobTransitions.finish.from],
      );
      return rows[0] ? toJob(rows[0]) : undefined;
    },
    ...leaseStatements(db, schema),
  };
}

/**
 * The leases of `etl_jobs` and `etl_job_streams`: a job's owning process, and the one extractor a stream (or
 * partition) has, fenced by a token every page commit checks.
 */
function leaseStatements(db: Db, schema: string) {
  const jobs = `${quoteIdent(schema)}.etl_jobs`;
  const streams = `${quoteIdent(schema)}.etl_job_streams`;
  return {
    /**
     * Makes `owner` the owner of a job for `leaseMs` (a queue without durable redelivery keeps a job's work
     * in one process). The owner renews it with `renewJobLeases`; nobody else adopts the job meanwhile.
     */
    async takeJobLease(jobId: string, owner: string, leaseMs: number): Promise<void> {
      await db.query(
        `UPDATE ${jobs} SET owner = $2, owner_expires_at = now() + $3 * interval '1 millisecond' WHERE id = $1`,
        [jobId, owner, leaseMs],
      );
    },
    /** Extends the leases `owner` holds on its unfinished jobs. */
    async renewJobLeases(owner: string, leaseMs: number): Promise<void> {
      await db.query(
        `UPDATE ${jobs} SET owner_expires_at = now() + $2 * interval '1 millisecond'
         WHERE owner = $1 AND status IN ('queued', 'running', 'paused')`,
        [owner, leaseMs],
      );
    },
    /**
     * Deletes finished jobs (and their streams) that finished more than `olderThanMs` ago, at most `limit`;
     * resolves with how many. Their raw rows stay (replay reads them by integration and stream).
     */
    async pruneFinished(olderThanMs: number, limit = 1_000): Promise<number> {
      const { rowCount } = await db.query(
        `DELETE FROM ${jobs} WHERE id IN (
           SELECT id FROM ${jobs} WHERE status IN ('succeeded', 'partial', 'failed', 'cancelled')
             AND finished_at < now() - $1 * interval '1 millisecond' ORDER BY finished_at LIMIT $2)`,
        [olderThanMs, limit],
      );
      return rowCount ?? 0;
    },
    /** Hands back the leases `owner` holds (a graceful stop): the next process may take the jobs over at once. */
    async releaseJobLeases(owner: string): Promise<void> {
      await db.query(
        `UPDATE ${jobs} SET owner_expires_at = now() WHERE owner = $1 AND status IN ('queued', 'running', 'paused')`,
        [owner],
      );
    },
    /**
     * Takes over the unfinished jobs that have no live owner: never owned, or whose owner's lease expired.
     * Returns them with the owner they had (null: none).
     */
    async adoptOrphanedJobs(
      owner: string,
      leaseMs: number,
    ): Promise<{ jobId: string; previousOwner: string | null; status: JobStatus }[]> {
      const { rows } = await db.query<{ id: string; previous: string | null; status: JobStatus }>(
        `WITH orphaned AS (
           SELECT id, owner AS previous FROM ${jobs}
           WHERE status IN ('queued', 'running', 'paused') AND (owner_expires_at IS NULL OR owner_expires_at < now())
             AND owner IS DISTINCT FROM $1
           FOR UPDATE SKIP LOCKED)
         UPDATE ${jobs} j SET owner = $1, owner_expires_at = now() + $2 * interval '1 millisecond'
         FROM orphaned WHERE j.id = orphaned.id
         RETURNING j.id, orphaned.previous, j.status`,
        [owner, leaseMs],
      );
      return rows.map((r) => ({ jobId: r.id, previousOwner: r.previous, status: r.status }));
    },
    /**
     * Takes the lease on a queued or running stream, bumping its fencing token: from now on only this owner's
     * pages commit. Returns the stream's cursor and page count as of the takeover (read in the same statement,
     * so no page committed by a previous owner is read twice), or undefined when the stream is not runnable.
     */
    async takeStreamLease(
      key: JobStreamKey,
      owner: string,
      leaseMs: number,
    ): Promise<{ lease: StreamLease; cursor: unknown; pages: number } | undefined> {
      const { rows } = await db.query<{ lease_token: string; cursor: unknown; pages: number }>(
        `UPDATE ${streams} SET lease_token = lease_token + 1, lease_owner = $4,
           lease_expires_at = now() + $5 * interval '1 millisecond', status = 'running',
           started_at = coalesce(started_at, now())
         WHERE job_id = $1 AND stream = $2 AND partition = $3 AND status IN ('queued', 'running')
         RETURNING lease_token, cursor, pages`,
        [key.jobId, key.stream, partitionKey(key.partition), owner, leaseMs],
      );
      const row = rows[0];
      if (!row) return undefined;
      return {
        lease: {
          jobId: key.jobId,
          stream: key.stream,
          partition: key.partition,
          owner,
          token: String(row.lease_token),
          leaseMs,
        },
        cursor: row.cursor,
        pages: row.pages,
      };
    },
    /**
     * The fencing check of a page commit, run first in the page's transaction: extends the lease if `lease` still
     * owns the stream, otherwise throws `fenced` so the whole page (raw rows, checkpoint, counters) rolls back.
     */
    async fenceStreamPage(tx: DbClient, lease: StreamLease): Promise<void> {
      const { rowCount } = await tx.query(
        `UPDATE ${streams} SET lease_expires_at = now() + $5 * interval '1 millisecond'
         WHERE job_id = $1 AND stream = $2 AND partition = $3 AND lease_token = $4`,
        [lease.jobId, lease.stream, partitionKey(lease.partition), lease.token, lease.leaseMs],
      );
      if (rowCount === 0) throw fenced(lease);
    },
    /** Extends a held lease; false when another owner took the stream over (the holder must stop). */
    async renewStreamLease(lease: StreamLease): Promise<boolean> {
      const { rowCount } = await db.query(
        `UPDATE ${streams} SET lease_expires_at = now() + $5 * interval '1 millisecond'
         WHERE job_id = $1 AND stream = $2 AND partition = $3 AND lease_token = $4 AND lease_expires_at IS NOT NULL`,
        [lease.jobId, lease.stream, partitionKey(lease.partition), lease.token, lease.leaseMs],
      );
      return rowCount > 0;
    },
    /** Gives a held lease up (the stream finished, fanned out, or was handed back); a no-op once fenced. */
    async releaseStreamLease(lease: StreamLease, client: DbClient = db): Promise<void> {
      await client.query(
        `UPDATE ${streams} SET lease_expires_at = NULL
         WHERE job_id = $1 AND stream = $2 AND partition = $3 AND lease_token = $4`,
        [lease.jobId, lease.stream, partitionKey(lease.partition), lease.token],
      );
    },
  };
}

function fenced(lease: StreamLease): EtlError {
  return new EtlError(
    'fenced',
    `stream ${lease.stream}${lease.partition ? `/${lease.partition}` : ''} of job ${lease.jobId} was taken over by a newer extractor; lease ${lease.token} of ${lease.owner} is stale`,
  );
}

export type JobStore = ReturnType<typeof jobStore>;
