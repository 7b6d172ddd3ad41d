import { quoteIdent } from '../db/db.js';
import type { LoadContext, LoadCounts, Loader } from './loader.js';
import { zeroCounts } from './loader.js';
import { entityKinds, entityTables, type Entity, type EntityKind } from '../model/canonical.js';

/** Canonical columns per entity kind: field name in the entity → SQL type. Mirrors 002_canonical.sql. */
export const canonicalColumns: Record<EntityKind, Record<string, string>> = {
  project: { key: 'text', name: 'text', url: 'text' },
  person: { displayName: 'text', email: 'text', login: 'text', isBot: 'boolean' },
  work_item: {
    key: 'text',
    title: 'text',
    type: 'text',
    rawType: 'text',
    status: 'text',
    statusCategory: 'text',
    workflowStep: 'text',
    projectKey: 'text',
    parentKey: 'text',
    epicKey: 'text',
    hierarchyLevel: 'integer',
    assigneeId: 'text',
    reporterId: 'text',
    priority: 'text',
    storyPoints: 'double precision',
    sprint: 'text',
    createdAt: 'timestamptz',
    updatedAt: 'timestamptz',
    resolvedAt: 'timestamptz',
  },
  work_item_transition: {
    workItemId: 'text',
    seq: 'integer',
    fromStatus: 'text',
    toStatus: 'text',
    fromCategory: 'text',
    toCategory: 'text',
    transitionedAt: 'timestamptz',
    actorId: 'text',
  },
  repository: { fullName: 'text', defaultBranch: 'text', isPrivate: 'boolean', url: 'text' },
  pull_request: {
    repository: 'text',
    number: 'integer',
    title: 'text',
    state: 'text',
    draft: 'boolean',
    authorId: 'text',
    createdAt: 'timestamptz',
    updatedAt: 'timestamptz',
    mergedAt: 'timestamptz',
    closedAt: 'timestamptz',
    baseBranch: 'text',
    headBranch: 'text',
    additions: 'integer',
    deletions: 'integer',
    reviewDecision: 'text',
    firstReviewAt: 'timestamptz',
    workItemKeys: 'text[]',
  },
  pull_request_review: { pullRequestId: 'text', state: 'text', authorId: 'text', submittedAt: 'timestamptz' },
  commit: {
    repository: 'text',
    sha: 'text',
    authorId: 'text',
    messageHeadline: 'text',
    authoredAt: 'timestamptz',
    committedAt: 'timestamptz',
  },
};

export const snakeCase = (field: string): string => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Entity field → column name pairs per kind, computed once. */
const fieldColumns = Object.fromEntries(
  Object.entries(canonicalColumns).map(([kind, columns]) => [
    kind,
    Object.keys(columns).map((field) => [field, snakeCase(field)] as const),
  ]),
) as Record<EntityKind, (readonly [string, string])[]>;

function upsertSql(schema: string, kind: EntityKind): string {
  const table = `${quoteIdent(schema)}.${quoteIdent(entityTables[kind])}`;
  const cols = Object.entries(canonicalColumns[kind]).map(([field, type]) => ({
    col: snakeCase(field),
    type,
  }));
  const all = ['source_updated_at', ...cols.map((c) => c.col)];
  const recordset = [
    'source_id text',
    'source_updated_at timestamptz',
    ...cols.map((c) => `${c.col} ${c.type}`),
  ].join(', ');
  return `INSERT INTO ${table} AS t (integration_id, source_id, ${all.join(', ')})
SELECT $1::uuid, x.source_id, ${all.map((c) => `x.${c}`).join(', ')}
FROM jsonb_to_recordset($2::jsonb) AS x(${recordset})
ON CONFLICT (integration_id, source_id) DO UPDATE SET ${all.map((c) => `${c} = excluded.${c}`).join(', ')}, loaded_at = now()
WHERE (t.source_updated_at IS NULL OR excluded.source_updated_at IS NULL OR t.source_updated_at <= excluded.source_updated_at)
  AND (${all.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${all.map((c) => `excluded.${c}`).join(', ')})
RETURNING (xmax = 0) AS inserted`;
}

/** Keeps one entity per kind + source id: the newest source version, or the last one given. */
export function dedupeEntities(entities: Entity[]): Entity[] {
  const byKey = new Map<string, Entity>();
  for (const entity of entities) {
    const key = `${entity.kind}\u0000${entity.sourceId}`;
    const seen = byKey.get(key);
    if (!seen || (seen.sourceUpdatedAt ?? '') <= (entity.sourceUpdatedAt ?? '')) byKey.set(key, entity);
  }
  return [...byKey.values()];
}

/**
 * The canonical PostgreSQL loader: one multi-row upsert per entity kind, idempotent, newest version wins.
 *
 * @example
 * const engine = await createEngine({ db, queue, connectors, loader: postgresLoader({ schema: 'etl' }) });
 */
export function postgresLoader(options: { schema?: string } = {}): Loader {
  const schema = options.schema ?? 'etl';
  const statements = new Map<EntityKind, string>();
  const sqlFor = (kind: EntityKind) => {
    let sql = statements.get(kind);
    if (!sql) statements.set(kind, (sql = upsertSql(schema, kind)));
    return sql;
  };
  return {
    name: 'postgres',
    async load(entities: Entity[], ctx: LoadContext): Promise<LoadCounts> {
      const counts = zeroCounts();
      const byKind = new Map<EntityKind, Record<string, unknown>[]>();
      for (const entity of dedupeEntities(entities)) {
        const row: Record<string, unknown> = {
          source_id: entity.sourceId,
          source_updated_at: entity.sourceUpdatedAt,
        };
        const data = entity.data as Record<string, unknown>;
        for (const [field, column] of fieldColumns[entity.kind]) row[column] = data[field] ?? null;
        let rows = byKind.get(entity.kind);
        if (!rows) byKind.set(entity.kind, (rows = []));
        rows.push(row);
      }
      // A fixed order (kind, then source id) makes concurrent loads lock shared rows — the same person in two
      // batches — in the same order, so they wait for each other instead of deadlocking.
      for (const kind of entityKinds) {
        const rows = byKind.get(kind);
        if (!rows) continue;
        rows.sort((a, b) =>
          String(a.source_id) < String(b.source_id) ? -1 : String(a.source_id) > String(b.source_id) ? 1 : 0,
        );
        const result = await ctx.tx.query<{ inserted: boolean }>(sqlFor(kind), [
          ctx.integrationId,
          JSON.stringify(rows),
        ]);
        const inserted = result.rows.filter((r) => r.inserted).length;
        counts.inserted += inserted;
        counts.updated += result.rows.length - inserted;
        counts.unchanged += rows.length - result.rows.length;
      }
      return counts;
    },
  };
}
