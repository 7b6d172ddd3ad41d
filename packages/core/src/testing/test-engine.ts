import type { Connector } from '../connector/connector.js';
import type { Db } from '../db/db.js';
import { quoteIdent } from '../db/db.js';
import { createEngine } from '../engine/engine.js';
import type { EngineOptions } from '../engine/engine-options.js';
import type { Engine, Integration, WorkerOptions } from '../engine/engine-types.js';
import type { Job, JobMode } from '../model/jobs.js';
import { memoryQueue } from '../queue/memory-queue.js';
import { openTestDb, type TestDb } from './db.js';
import { syntheticConnector } from './synthetic.js';

/** The secret key test engines use unless told otherwise. */
export const testSecretKey = 'etl-test-engine-secret-key-0123456789';

/** `startTestEngine`'s options: engine options, the database, the workers. */
export interface TestEngineOptions extends Partial<Omit<EngineOptions, 'db' | 'schema'>> {
  /** The database: a kind to open with a schema of its own (PGlite by default), or a test database to share. */
  database?: 'pglite' | 'postgres' | TestDb;
  /** Starts workers for these stages (all by default); `false` leaves them stopped. */
  workers?: WorkerOptions | false;
}

/** An engine in a test: its database and schema, SQL against that schema, a job runner, one close. */
export interface TestEngine {
  engine: Engine;
  db: Db;
  schema: string;
  kind: 'pglite' | 'postgres';
  /** Runs SQL with `$schema` standing for the test's (quoted) schema; returns the rows. */
  rows<R = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<R[]>;
  /** Rows of `table` belonging to an integration. */
  count(table: string, integrationId: string): Promise<number>;
  /** Creates an integration and runs one job of it to its end. */
  run(
    config: Record<string, unknown>,
    options?: { connector?: string; name?: string; mode?: JobMode; streams?: string[]; timeoutMs?: number },
  ): Promise<{ integration: Integration; job: Job }>;
  /** Stops the workers, then closes the queue and the database if the harness opened them. */
  close(): Promise<void>;
}

/**
 * A real engine for a test file: embedded PGlite (or PostgreSQL) with a schema of its own, the in-memory queue
 * (three attempts, short retry delays), the synthetic connector, progress events unthrottled and workers running.
 * Every default can be replaced; what the harness opened, `close()` closes.
 *
 * @example
 * const t = await startTestEngine({ connectors: [myConnector()] });
 * const { job } = await t.run({ token: 'x' }, { connector: 'acme', mode: 'full' });
 * expect(await t.count('work_items', job.integrationId)).toBe(100);
 * await t.close();
 */
export async function startTestEngine(options: TestEngineOptions = {}): Promise<TestEngine> {
  const { database = 'pglite', workers = {}, ...engineOptions } = options;
  const t = typeof database === 'string' ? await openTestDb(database) : database;
  const ownQueue = engineOptions.queue === undefined;
  const queue = engineOptions.queue ?? memoryQueue({ maxAttempts: 3, retryDelaysMs: [10, 20] });
  const engine = await createEngine({
    connectors: [syntheticConnector() as Connector],
    secretKey: engineOptions.secretKeys ? undefined : testSecretKey,
    progressIntervalMs: 0,
    ...engineOptions,
    queue,
    db: t.db,
    schema: t.schema,
  });
  if (workers) await engine.startWorkers(workers);
  const rows = async <R = Record<string, unknown>>(sql: string, values?: unknown[]) =>
    (await t.db.query<R>(sql.replaceAll('$schema', quoteIdent(t.schema)), values)).rows;
  return {
    engine,
    db: t.db,
    schema: t.schema,
    kind: t.kind,
    rows,
    async count(table, integrationId) {
      const found = await rows<{ n: string }>(
        `SELECT count(*) AS n FROM $schema.${quoteIdent(table)} WHERE integration_id = $1`,
        [integrationId],
      );
      return Number(found[0]!.n);
    },
    async run(config, run = {}) {
      const integration = await engine.integrations.create({
        connector: run.connector ?? 'synthetic',
        name: run.name ?? 'test',
        config,
      });
      const started = await engine.jobs.start({
        integrationId: integration.id,
        mode: run.mode ?? 'full',
        streams: run.streams,
      });
      return {
        integration,
        job: await engine.jobs.waitFor(started.id, { timeoutMs: run.timeoutMs ?? 120_000 }),
      };
    },
    async close() {
      await engine.stop();
      if (ownQueue) await queue.close();
      if (typeof database === 'string') await t.close();
    },
  };
}
