import { z } from 'zod';
import type { Db, DbClient } from '../db/db.js';
import { quoteIdent } from '../db/db.js';
import { EtlError, isEtlError } from '../errors.js';
import { parseOptions } from '../options.js';
import {
  collectionNamePattern,
  type VectorCollectionInfo,
  type VectorFilter,
  type VectorPayload,
  type VectorPoint,
  type VectorSearchHit,
  type VectorStore,
} from './vector.js';

const optionsSchema = z.strictObject({
  db: z.custom<Db>(
    (v) => !!v && typeof (v as Db).query === 'function' && typeof (v as Db).transaction === 'function',
    { message: 'must be a Db ({ query, transaction }), e.g. the engine’s own' },
  ),
  /** Schema of the store's tables: a registry of collections and one table per collection. */
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/i, 'must be a plain SQL identifier')
    .default('etl'),
  /** Points per INSERT statement. */
  batchSize: z.number().int().min(1).max(10_000).default(250),
});
/** `pgvectorStore`'s options. */
export type PgvectorStoreOptions = z.input<typeof optionsSchema>;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A VectorStore in PostgreSQL with the pgvector extension: the embedded PGlite that `openDb()` opens (it
 * loads pgvector), or any PostgreSQL where `CREATE EXTENSION vector` is allowed. One table per collection,
 * an HNSW index for cosine distance and a GIN index on the payload for filters.
 *
 * @example
 * const { db } = await openDb();
 * const engine = await createEngine({ db, queue, connectors,
 *   vectorIndex: { embedder, store: pgvectorStore({ db }) } });
 */
export function pgvectorStore(options: PgvectorStoreOptions): VectorStore {
  const { db, schema, batchSize } = parseOptions('pgvector', 'pgvectorStore', optionsSchema, options);
  const s = quoteIdent(schema);
  const registry = `${s}.etl_vector_store_collections`;
  const dimensions = new Map<string, number>();
  let iterativeScan: boolean | undefined;

  const tableOf = (collection: string) => {
    if (!collectionNamePattern.test(collection)) {
      throw new EtlError(
        'invalid_input',
        `collection "${collection}" must be lower-case letters, digits and _ (48 at most), starting with a letter`,
        { plugin: 'pgvector' },
      );
    }
    return `${s}.${quoteIdent(`vec_${collection}`)}`;
  };

  async function prepare(tx: DbClient) {
    try {
      await tx.query('CREATE EXTENSION IF NOT EXISTS vector');
    } catch (error) {
      throw new EtlError(
        'unsupported',
        'the pgvector extension is not available in this database: install pgvector (e.g. the postgresql-NN-pgvector package) or use the embedded database, which ships it',
        { plugin: 'pgvector', cause: error },
      );
    }
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${registry} (name text PRIMARY KEY, dimension integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
    );
  }

  /** The collection's dimension, or a `not_found` error. */
  async function dimensionOf(collection: string): Promise<number> {
    tableOf(collection);
    const known = dimensions.get(collection);
    if (known !== undefined) return known;
    const { rows } = await db
      .query<{ dimension: number }>(`SELECT dimension FROM ${registry} WHERE name = $1`, [collection])
      .catch(() => ({ rows: [] as { dimension: number }[] }));
    if (!rows[0]) throw notFound(collection);
    dimensions.set(collection, Number(rows[0].dimension));
    return Number(rows[0].dimension);
  }

  const notFound = (collection: string) =>
    new EtlError('not_found', `collection ${collection} does not exist`, { plugin: 'pgvector' });

  /** A query on a collection's table; a table dropped meanwhile (by another process) reads as not found. */
  async function onTable<T>(collection: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (isEtlError(error, 'db_error') && /does not exist/.test(error.message)) {
        dimensions.delete(collection);
        throw notFound(collection);
      }
      throw error;
    }
  }

  function checkPoints(collection: string, dimension: number, points: { id: string; vector?: number[] }[]) {
    for (const point of points) {
      if (!uuidPattern.test(point.id)) {
        throw new EtlError('invalid_input', `point id "${point.id}" is not a UUID`, { plugin: 'pgvector' });
      }
      if (point.vector === undefined) continue;
      if (point.vector.length !== dimension) {
        throw new EtlError(
          'invalid_input',
          `point ${point.id}: vector of ${point.vector.length} dimensions, collection ${collection} has ${dimension}`,
          { plugin: 'pgvector' },
        );
      }
      if (!point.vector.every(Number.isFinite)) {
        throw new EtlError('invalid_input', `point ${point.id}: vector has a non-finite value`, {
          plugin: 'pgvector',
        });
      }
    }
  }

  const filterJson = (filter: VectorFilter | undefined) => JSON.stringify(filter ?? {});

  async function supportsIterativeScan(): Promise<boolean> {
    if (iterativeScan === undefined) {
      const { rows } = await db.query<{ v: string }>(
        `SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'`,
      );
      const [major = 0, minor = 0] = (rows[0]?.v ?? '0').split('.').map(Number);
      iterativeScan = major > 0 || minor >= 8;
    }
    return iterativeScan;
  }

  return {
    name: 'pgvector',
    async ensureCollection(collection, { dimension }) {
      const table = tableOf(collection);
      if (!Number.isInteger(dimension) || dimension < 1 || dimension > 16_000) {
        throw new EtlError('invalid_input', `dimension ${dimension} must be an integer from 1 to 16000`, {
          plugin: 'pgvector',
        });
      }
      const existing = await db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`etl-vector:${schema}`]);
        await prepare(tx);
        const { rows } = await tx.query<{ dimension: number }>(
          `INSERT INTO ${registry} (name, dimension) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING dimension`,
          [collection, dimension],
        );
        const stored = Number(rows[0]!.dimension);
        if (stored !== dimension) return stored;
        await tx.query(
          `CREATE TABLE IF NOT EXISTS ${table} (id uuid PRIMARY KEY, embedding vector(${dimension}) NOT NULL, payload jsonb NOT NULL DEFAULT '{}')`,
        );
        // Index names are schema-local: the collection name keeps them apart.
        await tx.query(
          `CREATE INDEX IF NOT EXISTS ${quoteIdent(`vec_${collection}_hnsw`)} ON ${table} USING hnsw (embedding vector_cosine_ops)`,
        );
        await tx.query(
          `CREATE INDEX IF NOT EXISTS ${quoteIdent(`vec_${collection}_payload`)} ON ${table} USING gin (payload jsonb_path_ops)`,
        );
        return stored;
      });
      if (existing !== dimension) {
        throw new EtlError(
          'conflict',
          `collection ${collection} exists with dimension ${existing}, not ${dimension}: use another collection for another model`,
          { plugin: 'pgvector' },
        );
      }
      dimensions.set(collection, dimension);
    },

    async upsert(collection, points: VectorPoint[]) {
      const dimension = await dimensionOf(collection);
      checkPoints(collection, dimension, points);
      const table = tableOf(collection);
      for (let i = 0; i < points.length; i += batchSize) {
        const rows = points.slice(i, i + batchSize).map((p) => ({
          id: p.id,
          embedding: JSON.stringify(p.vector),
          payload: p.payload,
        }));
        await onTable(collection, () =>
          db.query(
            `INSERT INTO ${table} (id, embedding, payload)
             SELECT x.id, x.embedding::vector, coalesce(x.payload, '{}') FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, embedding text, payload jsonb)
             ON CONFLICT (id) DO UPDATE SET embedding = excluded.embedding, payload = excluded.payload`,
            [JSON.stringify(dedupeById(rows))],
          ),
        );
      }
    },

    async setPayload(collection, points: { id: string; payload: VectorPayload }[]) {
      const dimension = await dimensionOf(collection);
      checkPoints(collection, dimension, points);
      if (points.length === 0) return;
      const table = tableOf(collection);
      await onTable(collection, () =>
        db.query(
          `UPDATE ${table} t SET payload = coalesce(x.payload, '{}')
           FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, payload jsonb) WHERE t.id = x.id`,
          [JSON.stringify(dedupeById(points))],
        ),
      );
    },

    async delete(collection, ids) {
      const dimension = await dimensionOf(collection);
      checkPoints(
        collection,
        dimension,
        ids.map((id) => ({ id })),
      );
      if (ids.length === 0) return;
      const table = tableOf(collection);
      await onTable(collection, () =>
        db.query(`DELETE FROM ${table} WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::uuid)`, [
          JSON.stringify(ids),
        ]),
      );
    },

    async count(collection, filter) {
      await dimensionOf(collection);
      const table = tableOf(collection);
      const { rows } = await onTable(collection, () =>
        db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE payload @> $1::jsonb`, [
          filterJson(filter),
        ]),
      );
      return Number(rows[0]!.n);
    },

    async search(collection, vector, searchOptions = {}): Promise<VectorSearchHit[]> {
      const dimension = await dimensionOf(collection);
      if (vector.length !== dimension) {
        throw new EtlError(
          'invalid_input',
          `query vector of ${vector.length} dimensions, collection ${collection} has ${dimension}`,
          { plugin: 'pgvector' },
        );
      }
      const limit = Math.min(Math.max(Math.trunc(searchOptions.limit ?? 10), 1), 1000);
      const table = tableOf(collection);
      const iterative = searchOptions.filter && (await supportsIterativeScan());
      const { rows } = await onTable(collection, () =>
        db.transaction(async (tx) => {
          // The HNSW index filters after it walks the graph: with a filter, let it keep walking until it has
          // `limit` matches, so a selective filter does not return fewer hits than exist.
          if (iterative) await tx.query(`SET LOCAL hnsw.iterative_scan = relaxed_order`);
          await tx.query(`SELECT set_config('hnsw.ef_search', $1, true)`, [String(Math.max(40, limit))]);
          return tx.query<{ id: string; distance: number; payload: VectorPayload }>(
            `SELECT id, distance, payload FROM (
               SELECT id, embedding <=> $1::vector AS distance, payload FROM ${table}
               WHERE payload @> $2::jsonb ORDER BY embedding <=> $1::vector LIMIT $3) hits
             ORDER BY distance, id`,
            [JSON.stringify(vector), filterJson(searchOptions.filter), limit],
          );
        }),
      );
      return rows.map((r) => ({ id: String(r.id), score: 1 - Number(r.distance), payload: r.payload }));
    },

    async info(collection): Promise<VectorCollectionInfo | null> {
      let dimension: number;
      try {
        dimension = await dimensionOf(collection);
      } catch (error) {
        if (isEtlError(error, 'not_found')) return null;
        throw error;
      }
      const table = tableOf(collection);
      const { rows } = await onTable(collection, () =>
        db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`),
      ).catch((error: unknown) => {
        if (isEtlError(error, 'not_found')) return { rows: [] as { n: string }[] };
        throw error;
      });
      if (!rows[0]) return null;
      return { name: collection, dimension, points: Number(rows[0].n) };
    },

    async deleteCollection(collection) {
      const table = tableOf(collection);
      dimensions.delete(collection);
      return db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`etl-vector:${schema}`]);
        await prepare(tx);
        const { rows } = await tx.query(`DELETE FROM ${registry} WHERE name = $1 RETURNING name`, [
          collection,
        ]);
        await tx.query(`DROP TABLE IF EXISTS ${table}`);
        return rows.length > 0;
      });
    },
  };
}

/** Keeps the last of several points with one id: one statement may not touch a row twice. */
function dedupeById<T extends { id: string }>(items: T[]): T[] {
  return [...new Map(items.map((item) => [item.id.toLowerCase(), item])).values()];
}
