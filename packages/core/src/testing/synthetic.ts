import { z } from 'zod';
import type { Connector, Page } from '../connector/connector.js';
import { EtlError } from '../errors.js';
import type { EntityDraft } from '../model/canonical.js';
import { parseOptions } from '../options.js';
import { seededRandom } from './seeded-random.js';
import { sleep } from '../sleep.js';

const configSchema = z.strictObject({
  /** Work items to generate. */
  records: z.number().int().min(0).max(10_000_000).default(1000),
  pageSize: z.number().int().min(1).max(10_000).default(500),
  seed: z.number().int().default(1),
  /** Item numbers (0-based) that get the status "Blocked", which has no default mapping: their transform fails. */
  poison: z.array(z.number().int().min(0)).default([]),
  /** Milliseconds to wait before each page (to observe pause / resume). */
  pageDelayMs: z.number().int().min(0).max(60_000).default(0),
  /** Bumps every item's updated time, as if the source had changed them all. */
  revision: z.number().int().min(0).default(0),
  projects: z.number().int().min(1).max(100).default(3),
  /** A secret, to exercise encryption at rest. */
  token: z.string().default('synthetic-token'),
});
/** The synthetic connector's config: records, pages, seed, poison records, delays. */
export type SyntheticConfig = z.input<typeof configSchema>;

const statuses = ['To Do', 'In Progress', 'Review', 'Done'];
const types = ['Bug', 'Story', 'Task', 'Epic', 'Sub-task'];

/** One record the synthetic connector generates. */
export interface SyntheticItem {
  id: number;
  key: string;
  title: string;
  type: string;
  status: string;
  project: string;
  assignee: string | null;
  storyPoints: number | null;
  created: string;
  updated: string;
}

const BASE = Date.UTC(2024, 0, 1);

/** Item `i` of a synthetic source: a pure function of seed, revision and i. */
export function syntheticItem(
  i: number,
  config: { seed: number; revision: number; projects: number; poison: number[] },
): SyntheticItem {
  const rand = seededRandom(config.seed * 1_000_003 + i);
  const project = `P${(i % config.projects) + 1}`;
  return {
    id: i,
    key: `${project}-${i + 1}`,
    title: `Synthetic item ${i} ${Math.floor(rand() * 1e6).toString(36)}`,
    type: types[Math.floor(rand() * types.length)]!,
    status: config.poison.includes(i) ? 'Blocked' : statuses[Math.floor(rand() * statuses.length)]!,
    project,
    assignee: rand() < 0.2 ? null : `user-${Math.floor(rand() * 50)}`,
    storyPoints: rand() < 0.3 ? null : Math.floor(rand() * 13),
    created: new Date(BASE + i * 1000).toISOString(),
    updated: new Date(BASE + i * 1000 + config.revision * 86_400_000).toISOString(),
  };
}

/**
 * A connector that generates N work items deterministically from a seed, with default mappings like a real
 * source's. Used by core's tests and benchmarks, and by plugin authors to exercise queues and loaders.
 *
 * @example
 * const engine = await createEngine({ db, queue: memoryQueue(), connectors: [syntheticConnector()] });
 * const integration = await engine.integrations.create({ connector: 'synthetic', name: 'demo', config: { records: 10_000 } });
 */
export function syntheticConnector(
  options: { name?: string } = {},
): Connector<z.output<typeof configSchema>> {
  const { name } = parseOptions(
    'synthetic',
    'syntheticConnector',
    z.strictObject({ name: z.string().min(1).default('synthetic') }),
    options,
  );
  return {
    name,
    configSchema,
    secretFields: ['token'],
    streams: [
      { name: 'projects', primaryKey: ['key'] },
      { name: 'items', primaryKey: ['id'], cursorField: 'updated', dependsOn: ['projects'] },
    ],
    defaultMappings: {
      workItemTypes: [
        { rawType: 'Epic', type: 'epic', level: 1 },
        { rawType: 'Story', type: 'story', level: 0 },
        { rawType: 'Task', type: 'task', level: 0 },
        { rawType: 'Bug', type: 'bug', level: 0 },
        { rawType: 'Sub-task', type: 'subtask', level: -1 },
      ],
      statuses: [
        { rawStatus: 'To Do', category: 'todo', workflowStep: 'backlog' },
        { rawStatus: 'In Progress', category: 'in_progress', workflowStep: 'doing' },
        { rawStatus: 'Review', category: 'in_progress', workflowStep: 'review' },
        { rawStatus: 'Done', category: 'done', workflowStep: 'done' },
      ],
      workflows: [{ name: 'default', steps: ['backlog', 'doing', 'review', 'done'] }],
    },
    extractor: {
      async *extract(ctx): AsyncIterable<Page> {
        const config = ctx.config;
        if (ctx.stream === 'projects') {
          yield {
            records: Array.from({ length: config.projects }, (_, i) => ({
              sourceId: `P${i + 1}`,
              payload: { key: `P${i + 1}`, name: `Project ${i + 1}` },
            })),
            checkpoint: { done: true },
          };
          return;
        }
        // Incremental: resume after the last item of the last durable page; a finished crawl yields nothing new.
        const saved = ctx.checkpoint as { next: number; revision: number } | null;
        let next = saved && saved.revision === config.revision ? saved.next : 0;
        while (next < config.records) {
          if (ctx.signal.aborted) return;
          if (config.pageDelayMs > 0) await sleep(config.pageDelayMs);
          const end = Math.min(next + config.pageSize, config.records);
          const records = [];
          for (let i = next; i < end; i++) {
            const item = syntheticItem(i, config);
            records.push({ sourceId: String(i), payload: item });
          }
          next = end;
          yield { records, checkpoint: { next, revision: config.revision } };
        }
      },
    },
    transformer: {
      transform(rows, ctx) {
        const out: EntityDraft[] = [];
        for (const row of rows) {
          if (row.stream === 'projects') {
            const p = row.payload as { key: string; name: string };
            out.push({
              kind: 'project',
              sourceId: row.sourceId,
              sourceUpdatedAt: null,
              data: { key: p.key, name: p.name },
            });
            continue;
          }
          const item = row.payload as SyntheticItem;
          const status = ctx.mappings.status(item.status);
          if (!status)
            throw new EtlError('invalid_input', `status "${item.status}" of ${item.key} has no mapping`, {
              plugin: 'synthetic',
            });
          const type = ctx.mappings.workItemType(item.type) ?? { type: 'custom' as const, level: 0 };
          out.push({
            kind: 'work_item',
            sourceId: row.sourceId,
            sourceUpdatedAt: item.updated,
            data: {
              key: item.key,
              title: item.title,
              type: type.type,
              rawType: item.type,
              status: item.status,
              statusCategory: status.category,
              workflowStep: status.workflowStep,
              projectKey: item.project,
              hierarchyLevel: type.level,
              assigneeId: item.assignee,
              storyPoints: item.storyPoints,
              createdAt: item.created,
              updatedAt: item.updated,
            },
          });
        }
        return out;
      },
    },
    async check(config) {
      return {
        ok: config.token.length > 0,
        message: config.token.length > 0 ? 'synthetic source ready' : 'token is empty',
      };
    },
  };
}
