import { randomUUID } from 'node:crypto';
import type { Db, DbClient } from '../db/db.js';
import { quoteIdent } from '../db/db.js';
import { EtlError } from '../errors.js';
import { isUuid } from './integration-store.js';
import type { Job, JobFilter, JobMode, JobStatus, JobStreamState } from '../model/jobs.js';

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
  partition: r.partition === '' ? null : r.partition,
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

/** The job table (PostgreSQL is the source of truth for job state) and per-stream progress. */
export function jobStore(db: Db, schema: string) {
  const s = quoteIdent(schema);
  const jobs = `${s}.etl_jobs`;
  const streams = `${s}.etl_job_streams`;

  return {
    async insert(
      tx: DbClient,
      job: {
        integrationId: string;
        connector: string;
        streams: string[];
        mode: JobMode;
        window: Job['window'];
        requestedBy: string | null;
        status: JobStatus;
        streamsPending: number;
        extracted?: number;
      },
    ): Promise<Job> {
      const { rows } = await tx.query<JobRow>(
        `INSERT INTO ${jobs} (id, integration_id, connector, streams, mode, time_window, status, requested_by, streams_pending, extracted, started_at)
         VALUES ($1, $2, $3, $4::text[], $5, $6, $7, $8, $9, $10, CASE WHEN $7 = 'running' THEN now() END) RETURNING *`,
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
        ],
      );
      return toJob(rows[0]!);
    },
    async insertStreams(
      tx: DbClient,
      jobId: string,
      entries: { stream: string; partition: string | null; status: string }[],
    ) {
      if (entries.length === 0) return;
      await tx.query(
        `INSERT INTO ${streams} (job_id, stream, partition, status)
         SELECT $1, x.stream, x.partition, x.status FROM jsonb_to_recordset($2::jsonb) AS x(stream text, partition text, status text)
         ON CONFLICT DO NOTHING`,
        [jobId, JSON.stringify(entries.map((e) => ({ ...e, partition: e.partition ?? '' })))],
      );
    },
    async get(id: string, client: DbClient = db): Promise<Job> {
      if (!isUuid(id)) throw new EtlError('not_found', `job ${id} does not exist`);
      const { rows } = await client.query<JobRow>(`SELECT * FROM ${jobs} WHERE id = $1`, [id]);
      if (!rows[0]) throw new EtlError('not_found', `job ${id} does not exist`);
      return toJob(rows[0]);
    },
    async getWithStreams(id: string): Promise<Job> {
      const job = await this.get(id);
      const { rows } = await db.query<StreamRow>(
        `SELECT * FROM ${streams} WHERE job_id = $1 ORDER BY stream, partition`,
        [id],
      );
      return { ...job, streamStates: rows.map(toStream) };
    },
    async list(filter: JobFilter = {}): Promise<{ jobs: Job[]; total: number }> {
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
    async stream(
      jobId: string,
      stream: string,
      partition: string | null,
    ): Promise<JobStreamState | undefined> {
      const { rows } = await db.query<StreamRow>(
        `SELECT * FROM ${streams} WHERE job_id = $1 AND stream = $2 AND partition = $3`,
        [jobId, stream, partition ?? ''],
      );
      return rows[0] ? toStream(rows[0]) : undefined;
    },
    async streams(jobId: string, client: DbClient = db): Promise<JobStreamState[]> {
      const { rows } = await client.query<StreamRow>(`SELECT * FROM ${streams} WHERE job_id = $1`, [jobId]);
      return rows.map(toStream);
    },
    /** Moves a job between statuses; the SQL only matches legal source statuses, so races lose cleanly. */
    async transition(
      id: string,
      from: JobStatus[],
      to: JobStatus,
      client: DbClient = db,
    ): Promise<Job | undefined> {
      const finished = ['succeeded', 'partial', 'failed', 'cancelled'].includes(to);
      const { rows } = await client.query<JobRow>(
        `UPDATE ${jobs} SET status = $2, updated_at = now(),
           started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
           finished_at = CASE WHEN $4 THEN now() ELSE finished_at END
         WHERE id = $1 AND status = ANY($3::text[]) RETURNING *`,
        [id, to, from, finished],
      );
      return rows[0] ? toJob(rows[0]) : undefined;
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
           SELECT count(*) FILTER (WHERE status = 'failed') AS failed_streams,
                  count(*) FILTER (WHERE partition = '') AS top_streams,
                  count(*) FILTER (WHERE status = 'failed' AND partition = '') AS failed_top
           FROM ${streams} WHERE job_id = $1
         ), next AS (
           SELECT j.id, CASE
               WHEN s.top_streams > 0 AND s.failed_top = s.top_streams AND j.loaded = 0 THEN 'failed'
               WHEN j.failed > 0 OR s.failed_streams > 0 THEN 'partial'
               ELSE 'succeeded' END AS status
           FROM ${jobs} j, s
           WHERE j.id = $1 AND j.status IN ('running', 'partial') AND j.streams_pending = 0
             AND j.loaded + j.failed >= j.extracted
         )
         UPDATE ${jobs} j SET status = next.status, finished_at = now(), updated_at = now()
         FROM next WHERE j.id = next.id AND j.status <> next.status
         RETURNING j.*`,
        [jobId],
      );
      return rows[0] ? toJob(rows[0]) : undefined;
    },
  };
}

export type JobStore = ReturnType<typeof jobStore>;
