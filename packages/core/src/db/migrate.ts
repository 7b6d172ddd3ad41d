import { readdir, readFile } from 'node:fs/promises';
import type { Db } from './db.js';
import { quoteIdent } from './db.js';

const migrationsDir = new URL('./migrations/', import.meta.url);

/** One numbered SQL migration file of core. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Reads the numbered `.sql` files shipped with the package. */
export async function loadMigrations(): Promise<Migration[]> {
  const files = (await readdir(migrationsDir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.split('_')[0]),
      name: file.replace(/\.sql$/, ''),
      sql: await readFile(new URL(file, migrationsDir), 'utf8'),
    })),
  );
}

/**
 * Applies pending migrations in one transaction under an advisory lock, so that several processes
 * starting at once apply each migration exactly once. Running it twice changes nothing.
 *
 * @returns the versions applied by this call.
 */
export async function migrate(db: Db, schema = 'etl'): Promise<number[]> {
  const s = quoteIdent(schema);
  const migrations = await loadMigrations();
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`etl-migrate:${schema}`]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${s}.etl_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await tx.query<{ version: number }>(`SELECT version FROM ${s}.etl_migrations`);
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      for (const statement of splitStatements(migration.sql.replaceAll(':schema', s)))
        await tx.query(statement);
      await tx.query(`INSERT INTO ${s}.etl_migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    return applied;
  });
}

/** Splits a migration file on statement-ending semicolons (our files hold no functions or quoted `;`). */
function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter(Boolean);
}
