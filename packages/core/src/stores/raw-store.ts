import type { RawRow } from '../connector/connector.js';
import type { Db, DbClient } from '../db/db.js';
import { quoteIdent } from '../db/db.js';
import type { RawFilter, RawRowSummary, ReplaySelector } from '../engine/engine-types.js';
import { EtlError } from '../errors.js';
import { isUuid, partitionKey, partitionOf } from './row-keys.js';
import { assertCleanInput } from '../validation.js';

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

const toSummary = (r: RawDbRow): RawRowSummary => ({
  id: String(r.id),
  jobId: r.job_id,
  integrationId: r.integration_id,
  stream: r.stream,
  partition: partitionOf(r.partition),
  sourceId: r.source_id,
  status: r.status,
  error: r.error,
  extractedAt: new Date(r.extracted_at).toISOString(),
  ...(r.payload === undefined ? {} : { payload: r.payload }),
});

/** Raw rows of one job, stream and partition, as the stages pass them around (a claim check of ids). */
export interface RawBatch {
  jobId: string;
  stream: string;
  partition: string | null;
  ids: string[];
}

/** Groups rows (in the order given) into one batch per job, stream and partition. */
function toBatches(rows: { id: string; jobId: string; stream: string; partition: string }[]): RawBatch[] {
  const batches = new Map<string, RawBatch>();
  for (const r of rows) {
    const key = `${r.jobId}\u0000${r.stream}\u0000${r.partition}`;
    let batch = batches.get(key);
    if (!batch) {
      batch = { jobId: r.jobId, stream: r.stream, partition: partitionOf(r.partition), ids: [] };
      batches.set(key, batch);
    }
    batch.ids.push(String(r.id));
  }
  return [...batches.values()];
}

/** The WHERE clause of a replay selector, with its bound values. */
function selectionWhere(selector: ReplaySelector): { where: string; values: unknown[] } {
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

/**
 * Every raw API payload, verbatim: `raw_extraction_data`. A row is written once per extraction (or claimed by a
 * replay job through `processing_job_id`) and updated in place from pending to loaded or failed.
 */
export function rawStore(db: Db, schema: string) {
  const table = `${quoteIdent(schema)}.raw_extraction_data`;
  const jobsTable = `${quoteIdent(schema)}.etl_jobs`;

  return {
    /** Stores one page's records (`[{ source_id, payload }]` as JSON) in the page transaction; returns their ids. */
    async insertPage(
      tx: DbClient,
      page: {
        jobId: string;
        integrationId: string;
        stream: string;
        partition: string | null;
        recordsJson: string;
      },
    ): Promise<string[]> {
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO ${table} (job_id, processing_job_id, integration_id, stream, partition, source_id, payload)
         SELECT $1, $1, $2, $3, $4, x.source_id, x.payload
         FROM jsonb_to_recordset($5::jsonb) AS x(source_id text, payload jsonb) RETURNING id`,
        [page.jobId, page.integrationId, page.stream, partitionKey(page.partition), page.recordsJson],
      );
      return rows.map((r) => String(r.id));
    },

    /** Rows a job extracted for a stream that are not transformed yet (pages committed before a crash). */
    async pendingIds(jobId: string, stream: string, partition: string | null): Promise<string[]> {
      const { rows } = await db.query<{ id: string }>(
        `SELECT id FROM ${table} WHERE job_id = $1 AND processing_job_id = $1 AND stream = $2 AND partition = $3 AND status = 'pending' ORDER BY id`,
        [jobId, stream, partitionKey(partition)],
      );
      return rows.map((r) => String(r.id));
    },

    /**
     * The newest stored payload of each record of an integration's stream, in source id order, a page at a
     * time: what a stream whose partitions come from a parent stream reads instead of listing the parent again.
     */
    async *latestPayloads(integrationId: string, stream: string, pageSize = 1000): AsyncIterable<unknown> {
      for (let after = ''; ;) {
        const { rows } = await db.query<{ source_id: string; payload: unknown }>(
          `SELECT DISTINCT ON (source_id) source_id, payload FROM ${table}
           WHERE integration_id = $1 AND stream = $2 AND source_id > $3
           ORDER BY source_id, id DESC LIMIT $4`,
          [integrationId, stream, after, pageSize],
        );
        for (const row of rows) yield row.payload;
        if (rows.length < pageSize) return;
        after = rows[rows.length - 1]!.source_id;
      }
    },

    /** Pending rows of running or paused jobs, per job, stream and partition: what a restart must transform. */
    /**
     * Deletes loaded raw rows extracted more than `olderThanMs` ago that a newer row of the same record
     * (integration, stream, partition, source id) supersedes, at most `limit`; resolves with how many. The
     * newest payload of every record stays, so a replay still rebuilds the current state.
     */
    async pruneSuperseded(olderThanMs: number, limit = 10_000): Promise<number> {
      const { rowCount } = await db.query(
        `DELETE FROM ${table} WHERE id IN (
           SELECT r.id FROM ${table} r
           WHERE r.status = 'loaded' AND r.extracted_at < now() - $1 * interval '1 millisecond'
             AND EXISTS (SELECT 1 FROM ${table} n WHERE n.integration_id = r.integration_id AND n.stream = r.stream
                           AND n.partition = r.partition AND n.source_id = r.source_id AND n.id > r.id)
           ORDER BY r.id LIMIT $2)`,
        [olderThanMs, limit],
      );
      return rowCount ?? 0;
    },
    async pendingOfActiveJobs(jobIds?: string[]): Promise<RawBatch[]> {
      const { rows } = await db.query<{
        id: string;
        processing_job_id: string;
        stream: string;
        partition: string;
      }>(
        `SELECT r.id, r.processing_job_id, r.stream, r.partition FROM ${table} r
         JOIN ${jobsTable} j ON j.id = r.processing_job_id
         WHERE j.status IN ('running', 'paused') AND r.status = 'pending'
           AND ($1::uuid[] IS NULL OR j.id = ANY($1::uuid[])) ORDER BY r.id`,
        [jobIds ?? null],
      );
      return toBatches(rows.map((r) => ({ ...r, jobId: r.processing_job_id })));
    },

    /** The rows with these ids, in id order, as the transformer gets them. */
    async read(ids: string[], client: DbClient = db): Promise<RawRow[]> {
      const { rows } = await client.query<{
        id: string;
        stream: string;
        partition: string;
        source_id: string;
        payload: unknown;
        extracted_at: string | Date;
      }>(
        `SELECT id, stream, partition, source_id, payload, extracted_at FROM ${table}
         WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint) ORDER BY id`,
        [JSON.stringify(ids)],
      );
      return rows.map((r) => ({
        id: String(r.id),
        stream: r.stream,
        partition: partitionOf(r.partition),
        sourceId: r.source_id,
        payload: r.payload,
        extractedAt: new Date(r.extracted_at).toISOString(),
      }));
    },

    /** Marks the job's still-pending rows among `ids` failed with `error`; returns how many changed. */
    async markFailed(tx: DbClient, jobId: string, ids: string[], error: string): Promise<number> {
      const { rows } = await tx.query<{ n: string }>(
        `WITH f AS (
           UPDATE ${table} SET status = 'failed', error = $3
           WHERE id IN (SELECT jsonb_array_elements_text($2::jsonb)::bigint) AND status = 'pending' AND processing_job_id = $1
           RETURNING 1)
         SELECT count(*) AS n FROM f`,
        [jobId, JSON.stringify(ids), error],
      );
      return Number(rows[0]?.n ?? 0);
    },

    /**
     * Marks the job's rows among `ids` loaded, in the load transaction. Returns how many were pending and how
     * many had failed before; rows already loaded (a redelivered message) count in neither.
     */
    async markLoaded(
      tx: DbClient,
      jobId: string,
      ids: string[],
    ): Promise<{ fromPending: number; fromFailed: number }> {
      const { rows } = await tx.query<{ pending: string; failed: string }>(
        `WITH old AS (
           SELECT id, status FROM ${table}
           WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint) AND processing_job_id = $2 AND status <> 'loaded'
           FOR UPDATE),
         upd AS (
           UPDATE ${table} r SET status = 'loaded', error = NULL FROM old WHERE r.id = old.id RETURNING old.status)
         SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'failed') AS failed FROM upd`,
        [JSON.stringify(ids), jobId],
      );
      return { fromPending: Number(rows[0]?.pending ?? 0), fromFailed: Number(rows[0]?.failed ?? 0) };
    },

    async list(filter: RawFilter = {}): Promise<{ rows: RawRowSummary[]; total: number }> {
      assertCleanInput(filter, 'raw filter');
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
      const total = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} ${clause}`, values);
      const { rows } = await db.query<RawDbRow>(
        `SELECT id, job_id, integration_id, stream, partition, source_id, status, error, extracted_at${filter.withPayload ? ', payload' : ''}
         FROM ${table} ${clause} ORDER BY id LIMIT ${limit} OFFSET ${offset}`,
        values,
      );
      return { rows: rows.map(toSummary), total: Number(total.rows[0]!.n) };
    },

    async get(id: string): Promise<RawRowSummary> {
      if (!/^\d{1,18}$/.test(id)) throw new EtlError('not_found', `raw row ${id} does not exist`);
      const { rows } = await db.query<RawDbRow>(
        `SELECT id, job_id, integration_id, stream, partition, source_id, status, error, extracted_at, payload
         FROM ${table} WHERE id = $1`,
        [id],
      );
      if (!rows[0]) throw new EtlError('not_found', `raw row ${id} does not exist`);
      return toSummary(rows[0]);
    },

    /** Rows a replay selector covers, counted per integration and stream. */
    async countSelected(
      selector: ReplaySelector,
    ): Promise<{ integrationId: string; stream: string; n: number }[]> {
      const { where, values } = selectionWhere(selector);
      const { rows } = await db.query<{ integration_id: string; stream: string; n: string }>(
        `SELECT integration_id, stream, count(*) AS n FROM ${table} WHERE ${where} GROUP BY 1, 2 ORDER BY 1, 2`,
        values,
      );
      return rows.map((r) => ({ integrationId: r.integration_id, stream: r.stream, n: Number(r.n) }));
    },

    /** The next `limit` ids a selector covers for one integration, after `afterId` (a dry run pages with it). */
    async selectedIdsAfter(
      tx: DbClient,
      selector: ReplaySelector,
      integrationId: string,
      afterId: string,
      limit: number,
    ): Promise<string[]> {
      const { where, values } = selectionWhere(selector);
      const { rows } = await tx.query<{ id: string }>(
        `SELECT id FROM ${table} WHERE ${where} AND integration_id = $${values.length + 1} AND id > $${values.length + 2} ORDER BY id LIMIT ${limit}`,
        [...values, integrationId, afterId],
      );
      return rows.map((r) => String(r.id));
    },

    /** Hands the rows a selector covers to a replay job, pending again; returns them per stream and partition. */
    async claimForReplay(tx: DbClient, selector: ReplaySelector, jobId: string): Promise<RawBatch[]> {
      const { where, values } = selectionWhere(selector);
      const { rows } = await tx.query<{ id: string; stream: string; partition: string }>(
        `UPDATE ${table} SET status = 'pending', error = NULL, processing_job_id = $${values.length + 1}
         WHERE ${where} RETURNING id, stream, partition`,
        [...values, jobId],
      );
      const batches = toBatches(rows.map((r) => ({ ...r, jobId })));
      for (const batch of batches) batch.ids.sort((a, b) => Number(a) - Number(b));
      return batches;
    },
  };
}

export type RawStore = ReturnType<typeof rawStore>;
