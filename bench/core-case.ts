/**
 * One benchmark case in its own process, so that its peak RSS is its own:
 *   node --conditions=etl-source --import tsx bench/core-case.ts <engine|baseline> <records>
 * Prints one JSON line: { records, seconds, recordsPerSecond, peakRssMb }.
 */
import pg from 'pg';
import { createEngine, memoryQueue, pgDb, quoteIdent, type Db } from '@etl/core';
import { syntheticConnector, syntheticItem, uniqueSchema, defaultDatabaseUrl } from '@etl/core/testing';

const [kind, recordsArg] = process.argv.slice(2);
const records = Number(recordsArg);
if ((kind !== 'engine' && kind !== 'baseline') || !Number.isInteger(records) || records <= 0) {
  console.error('usage: core-case.ts <engine|baseline> <records>');
  process.exit(2);
}

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? defaultDatabaseUrl, max: 10 });
const db = pgDb(pool);
const schema = uniqueSchema('bench');
const PAGE = 500;

const categories: Record<string, { category: string; step: string }> = {
  'To Do': { category: 'todo', step: 'backlog' },
  'In Progress': { category: 'in_progress', step: 'doing' },
  Review: { category: 'in_progress', step: 'review' },
  Done: { category: 'done', step: 'done' },
};
const levels: Record<string, [string, number]> = {
  Epic: ['epic', 1],
  Story: ['story', 0],
  Task: ['task', 0],
  Bug: ['bug', 0],
  'Sub-task': ['subtask', -1],
};

/** The same writes as the engine, by hand: per page, raw rows and canonical upserts in multi-row statements. */
async function baseline(database: Db): Promise<void> {
  const s = quoteIdent(schema);
  await database.query(`CREATE SCHEMA ${s}`);
  await database.query(
    `CREATE TABLE ${s}.raw (id bigserial PRIMARY KEY, source_id text NOT NULL, payload jsonb NOT NULL, extracted_at timestamptz NOT NULL DEFAULT now())`,
  );
  await database.query(`CREATE TABLE ${s}.work_items (
    integration_id uuid NOT NULL, source_id text NOT NULL, source_updated_at timestamptz,
    key text NOT NULL, title text NOT NULL, type text NOT NULL, raw_type text NOT NULL, status text NOT NULL,
    status_category text NOT NULL, workflow_step text, project_key text, hierarchy_level integer, assignee_id text,
    story_points double precision, created_at timestamptz, updated_at timestamptz, PRIMARY KEY (integration_id, source_id))`);
  const integration = '00000000-0000-4000-8000-000000000123';
  const config = { seed: 1, revision: 0, projects: 3, poison: [] as number[] };
  for (let start = 0; start < records; start += PAGE) {
    const items: ReturnType<typeof syntheticItem>[] = [];
    for (let i = start; i < Math.min(start + PAGE, records); i++) items.push(syntheticItem(i, config));
    await database.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO ${s}.raw (source_id, payload) SELECT x.source_id, x.payload FROM jsonb_to_recordset($1::jsonb) AS x(source_id text, payload jsonb)`,
        [JSON.stringify(items.map((item) => ({ source_id: String(item.id), payload: item })))],
      );
      const rows = items.map((item) => ({
        source_id: String(item.id),
        source_updated_at: item.updated,
        key: item.key,
        title: item.title,
        type: levels[item.type]![0],
        raw_type: item.type,
        status: item.status,
        status_category: categories[item.status]!.category,
        workflow_step: categories[item.status]!.step,
        project_key: item.project,
        hierarchy_level: levels[item.type]![1],
        assignee_id: item.assignee,
        story_points: item.storyPoints,
        created_at: item.created,
        updated_at: item.updated,
      }));
      await tx.query(
        `INSERT INTO ${s}.work_items AS t SELECT $1::uuid, x.* FROM jsonb_to_recordset($2::jsonb) AS x(
           source_id text, source_updated_at timestamptz, key text, title text, type text, raw_type text, status text,
           status_category text, workflow_step text, project_key text, hierarchy_level integer, assignee_id text,
           story_points double precision, created_at timestamptz, updated_at timestamptz)
         ON CONFLICT (integration_id, source_id) DO UPDATE SET title = excluded.title, status = excluded.status,
           status_category = excluded.status_category, source_updated_at = excluded.source_updated_at
         WHERE t.source_updated_at <= excluded.source_updated_at`,
        [integration, JSON.stringify(rows)],
      );
    });
  }
}

async function engineRun(database: Db): Promise<void> {
  const engine = await createEngine({
    db: database,
    schema,
    queue: memoryQueue(),
    connectors: [syntheticConnector()],
    secretKey: 'benchmark-secret-key-000',
  });
  await engine.startWorkers();
  const integration = await engine.integrations.create({
    connector: 'synthetic',
    name: 'bench',
    config: { records, pageSize: PAGE },
  });
  const job = await engine.jobs.start({ integrationId: integration.id, streams: ['items'], mode: 'full' });
  const done = await engine.jobs.waitFor(job.id, { timeoutMs: 30 * 60_000 });
  await engine.stop();
  if (done.status !== 'succeeded' || done.counters.loaded !== records) {
    throw new Error(`engine run ended ${done.status} with ${done.counters.loaded}/${records} loaded`);
  }
}

let peak = process.memoryUsage().rss;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
try {
  const started = performance.now();
  await (kind === 'engine' ? engineRun(db) : baseline(db));
  const seconds = (performance.now() - started) / 1000;
  peak = Math.max(peak, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${quoteIdent(schema)}.work_items`,
  );
  if (Number(rows[0]!.n) !== records)
    throw new Error(`expected ${records} canonical rows, found ${rows[0]!.n}`);
  console.log(
    JSON.stringify({ records, seconds, recordsPerSecond: records / seconds, peakRssMb: peak / 1024 / 1024 }),
  );
} finally {
  clearInterval(sampler);
  await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => undefined);
  await pool.end();
}
