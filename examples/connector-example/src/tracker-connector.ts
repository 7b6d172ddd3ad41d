import { z } from 'zod';
import { cursorPaginator, pageTokenPaginator, restConnector, restStream, statusTransitions } from '@etl/core';
import type { Connector, EntityDraft, MappingsView, StatusChange } from '@etl/core';

/** Per-integration config, validated by the engine; `token` is a secret (encrypted, bound to `baseUrl`). */
const configSchema = z.strictObject({
  baseUrl: z.url({ protocol: /^https?$/ }),
  token: z.string().min(1),
  /**
   * Requests in flight at once for this integration, across streams, teams and processes. One by default: the
   * tracker throttles, and a second request already on the wire would land inside its `Retry-After` window.
   */
  concurrency: z.number().int().min(1).max(16).default(1),
});
export type TrackerConfig = z.output<typeof configSchema>;
type Item = { id: string; team: string; title: string; type: string; status: string };
type Times = { created_at: string; updated_at: string; history: StatusChange[] };

const teams = restStream<TrackerConfig>({ name: 'teams', path: 'teams', records: 'teams' });

// Each team's items, oldest change first; incremental on updated_at, re-reading the last minute.
const items = restStream<TrackerConfig>({
  name: 'items',
  path: ({ partition }) => `teams/${partition}/items`,
  records: 'items',
  paginator: cursorPaginator(),
  incremental: { param: 'updated_since', cursorField: 'updated_at', lookbackMs: 60_000 },
  partitionsFrom: { stream: 'teams', key: 'id' },
  // The inline history holds the newest entries only; all of it is a paged sub-resource.
  children: [
    {
      field: 'history',
      totalField: 'history_total',
      path: 'items/{id}/history',
      records: 'entries',
      paginator: pageTokenPaginator(),
    },
  ],
});

function workItem(item: Item & Times, mappings: MappingsView): EntityDraft[] {
  const type = mappings.workItemType(item.type) ?? { type: 'custom' as const, level: 0 };
  const { id, title, status, team: projectKey, created_at: createdAt, updated_at: updatedAt } = item;
  const category = mappings.status(status)?.category ?? 'todo';
  const data = { key: id, title, type: type.type, rawType: item.type, status, statusCategory: category };
  return [
    {
      kind: 'work_item',
      sourceId: id,
      sourceUpdatedAt: updatedAt,
      data: { ...data, projectKey, createdAt, updatedAt },
    },
    ...statusTransitions(id, item.history, mappings, updatedAt),
  ];
}

/**
 * A REST issue tracker: teams, and each team's items with their complete status history, incremental on
 * `updated_at`. Talking to the API — paging, 429s, timeouts, the private-network guard, the token's origin,
 * the cap on requests in flight — is the source toolkit's.
 *
 * @example
 * const engine = await createEngine({ db, queue: memoryQueue(), connectors: [trackerConnector()] });
 * await engine.integrations.create({ connector: 'tracker', name: 'Acme', config: { baseUrl, token } });
 */
export function trackerConnector(): Connector<TrackerConfig> {
  return restConnector<TrackerConfig>({
    name: 'tracker',
    configSchema,
    secretFields: ['token'],
    originField: 'baseUrl',
    http: {
      auth: (c) => ({ authorization: `Bearer ${c.token}` }),
      limits: (c) => ({ concurrency: c.concurrency }),
    },
    streams: [teams, items],
    defaultMappings: {
      workItemTypes: [{ rawType: 'bug', type: 'bug', level: 0 }],
      statuses: [
        { rawStatus: 'open', category: 'todo' },
        { rawStatus: 'in progress', category: 'in_progress' },
        { rawStatus: 'closed', category: 'done' },
      ],
    },
    transformer: {
      transform: (rows, ctx) =>
        rows.flatMap((row): EntityDraft[] => {
          const team = row.payload as { id: string; name: string };
          if (row.stream === 'teams')
            return [{ kind: 'project', sourceId: team.id, data: { key: team.id, name: team.name } }];
          return workItem(row.payload as Item & Times, ctx.mappings);
        }),
    },
  });
}
