import { EtlError } from '../errors.js';

/** The rows a query returned. */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** What the library needs from a database connection: run one parameterised statement. */
export interface DbClient {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/**
 * The host's database, as the library sees it. A `pg` Pool and PGlite both fit through `pgDb` and `pgliteDb`.
 * The host owns the connection: the library never opens or closes it.
 */
export interface Db extends DbClient {
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: DbClient) => Promise<T>): Promise<T>;
}

interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}
interface PgPoolLike extends PgQueryable {
  connect(): Promise<PgQueryable & { release(err?: Error | boolean): void }>;
}

function wrapDbError(error: unknown): never {
  if (error instanceof EtlError) throw error;
  throw EtlError.wrap(error, 'db_error', 'core', 'database error');
}

/**
 * Adapts a `pg` Pool.
 *
 * @example
 * const db = pgDb(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 */
export function pgDb(pool: PgPoolLike): Db {
  const run = async <R>(client: PgQueryable, text: string, values?: unknown[]) => {
    const result = await client.query(text, values).catch(wrapDbError);
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  };
  return {
    query: (text, values) => run(pool, text, values),
    async transaction(fn) {
      const client = await pool.connect().catch(wrapDbError);
      try {
        await client.query('BEGIN');
        const result = await fn({ query: (text, values) => run(client, text, values) });
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
          client.release();
        } catch (rollbackError) {
          client.release(rollbackError as Error);
        }
        throw error;
      }
    },
  };
}

interface PGliteLike {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; affectedRows?: number }>;
  transaction<T>(fn: (tx: { query: PGliteLike['query'] }) => Promise<T>): Promise<T>;
}

/**
 * Adapts an embedded PGlite instance. PGlite runs one statement at a time, so this serialises
 * transactions with plain queries through one chain.
 *
 * @example
 * const db = pgliteDb(await PGlite.create('./data'));
 */
export function pgliteDb(pglite: PGliteLike): Db {
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
  const run = async <R>(q: PGliteLike['query'], text: string, values?: unknown[]) => {
    const result = await q(text, values).catch(wrapDbError);
    return { rows: result.rows as R[], rowCount: result.affectedRows ?? result.rows.length };
  };
  return {
    query: (text, values) => serial(() => run(pglite.query.bind(pglite), text, values)),
    transaction: (fn) =>
      serial(() =>
        pglite.transaction((tx) => fn({ query: (text, values) => run(tx.query.bind(tx), text, values) })),
      ),
  };
}

/** A database `openDb` opened, with the `close()` that ends it. */
export interface OpenedDb {
  db: Db;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

/** Time limits of the pool `openDb` opens; every wait on PostgreSQL is bounded. */
export interface DbTimeouts {
  /** Connecting, TLS and authentication included; a database that accepts and never answers fails here. */
  connectTimeoutMs?: number;
  /** An idle pooled connection is closed after this long. */
  idleTimeoutMs?: number;
  /** Server-side `statement_timeout` of every statement. */
  statementTimeoutMs?: number;
  /** Client-side limit of one query (a hung server or network); a little above the statement timeout. */
  queryTimeoutMs?: number;
}

/** Safe defaults: start-up against a hung database fails within 10 s; no statement runs for over a minute. */
export const defaultDbTimeouts: Required<DbTimeouts> = {
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  statementTimeoutMs: 60_000,
  queryTimeoutMs: 65_000,
};

/**
 * Opens a database for hosts that do not bring their own: PostgreSQL when `url` is given,
 * otherwise embedded PGlite (in memory, or persisted in `dataDir`). The PostgreSQL pool has connect, idle,
 * statement and query timeouts (`defaultDbTimeouts`, each overridable).
 *
 * @example
 * const { db, close } = await openDb({ url: process.env.DATABASE_URL }); // or openDb() for embedded PGlite
 */
export async function openDb(
  options: { url?: string; dataDir?: string; max?: number } & DbTimeouts = {},
): Promise<OpenedDb> {
  if (options.url) {
    const limits = { ...defaultDbTimeouts };
    for (const key of Object.keys(limits) as (keyof DbTimeouts)[]) {
      const value = options[key];
      if (value === undefined) continue;
      if (!Number.isInteger(value) || value < 1 || value > 3_600_000) {
        throw new EtlError(
          'invalid_config',
          `openDb ${key}: must be an integer from 1 to 3600000 ms, got ${value}`,
        );
      }
      limits[key] = value;
    }
    const pg = await import('pg');
    const pool = new pg.default.Pool({
      connectionString: options.url,
      max: options.max ?? 10,
      connectionTimeoutMillis: limits.connectTimeoutMs,
      idleTimeoutMillis: limits.idleTimeoutMs,
      statement_timeout: limits.statementTimeoutMs,
      query_timeout: limits.queryTimeoutMs,
    });
    pool.on('error', () => undefined);
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new EtlError(
        'unreachable',
        `cannot connect to PostgreSQL at ${safeDbUrl(options.url)} within ${limits.connectTimeoutMs} ms: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    return { db: pgDb(pool), kind: 'postgres', close: () => pool.end() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  // pgvector is registered (not created) so that `pgvectorStore` works on the embedded database.
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const pglite = await PGlite.create({ dataDir: options.dataDir, extensions: { vector } });
  return { db: pgliteDb(pglite), kind: 'pglite', close: () => pglite.close() };
}

/** Quotes an identifier (schema or table name). Identifiers are never built from user input anywhere else. */
export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/i.test(name)) {
    throw new EtlError(
      'invalid_config',
      `"${name}" is not a valid SQL identifier (letters, digits, _; 63 max)`,
    );
  }
  return `"${name}"`;
}

/** A database URL without its password, for messages. */
function safeDbUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(invalid url)';
  }
}
