import { randomBytes } from 'node:crypto';
import { openDb, pgDb, quoteIdent, type Db } from '../db/db.js';
import { EtlError } from '../errors.js';
import { testServiceAvailable } from './services.js';

/** The PostgreSQL test suites use unless `DATABASE_URL` says otherwise. */
export const defaultDatabaseUrl = 'postgres://postgres@127.0.0.1:5432/test';

/** A database for one test file, with a schema of its own. */
export interface TestDb {
  db: Db;
  /** A fresh schema of its own; dropped by `close()`. */
  schema: string;
  kind: 'pglite' | 'postgres';
  close(): Promise<void>;
}

/** A unique lower-case schema name for one test file. */
export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/**
 * A database for a test file: embedded PGlite, or the real PostgreSQL at `DATABASE_URL` with a schema of
 * its own. PostgreSQL being unreachable is an error, never a skip.
 */
export async function openTestDb(
  kind: 'pglite' | 'postgres',
  options: { max?: number } = {},
): Promise<TestDb> {
  const schema = uniqueSchema();
  if (kind === 'pglite') {
    const opened = await openDb();
    return { db: opened.db, schema, kind, close: opened.close };
  }
  const url = process.env.DATABASE_URL ?? defaultDatabaseUrl;
  if (!testServiceAvailable('postgres')) {
    throw new EtlError(
      'unreachable',
      `PostgreSQL is not part of this test run (unreachable at ${url}); a file that needs it declares ` +
        "'@etl-test-services postgres' in its first lines, so the run leaves it out",
    );
  }
  const pg = await import('pg');
  const pool = new pg.default.Pool({
    connectionString: url,
    max: options.max ?? 8,
    connectionTimeoutMillis: 5000,
  });
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end();
    throw new EtlError(
      'unreachable',
      `PostgreSQL is required for this test and is unreachable at ${url} (${String(error)}); start it or set DATABASE_URL`,
    );
  }
  return {
    db: pgDb(pool),
    schema,
    kind,
    async close() {
      await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => undefined);
      await pool.end();
    },
  };
}
