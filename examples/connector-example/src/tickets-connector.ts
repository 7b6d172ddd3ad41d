import { readFile } from 'node:fs/promises';
import { EtlError, parseOptions, type Connector, type EntityDraft, type Page } from '@etl/core';
import { z } from 'zod';

/** One ticket as the source stores it. */
export interface Ticket {
  id: string;
  project: string;
  title: string;
  type: string;
  status: string;
  assignee?: string | null;
  createdAt: string;
  updatedAt: string;
}

const ticketSchema = z.object({
  id: z.string().min(1),
  project: z.string().min(1),
  title: z.string(),
  type: z.string(),
  status: z.string(),
  assignee: z.string().nullable().optional(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});

/** Per-integration config, validated by the engine when an integration is created. */
const configSchema = z.strictObject({
  /** A JSON file holding an array of tickets. */
  path: z.string().min(1, 'the path of a JSON file of tickets'),
  /** Tickets per page: each page is one transaction (raw rows + checkpoint). */
  pageSize: z.number().int().min(1).max(10_000).default(100),
});
export type TicketsConfig = z.input<typeof configSchema>;

/** The position after which a run starts: every ticket at or before it has been stored. */
type Cursor = { updatedAt: string; id: string } | null;

const after = (t: Ticket, cursor: Cursor) =>
  !cursor || t.updatedAt > cursor.updatedAt || (t.updatedAt === cursor.updatedAt && t.id > cursor.id);

async function readTickets(path: string): Promise<Ticket[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new EtlError('not_found', `cannot read tickets file ${path}`, { plugin: 'tickets', cause: error });
  }
  const parsed = z.array(ticketSchema).safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new EtlError(
      'invalid_input',
      `${path} is not an array of tickets: ${parsed.error.issues[0]?.message}`,
      {
        plugin: 'tickets',
      },
    );
  }
  // Oldest change first, id as a tie-breaker: a stable order makes the checkpoint exact.
  return parsed.data.sort((a, b) => a.updatedAt.localeCompare(b.updatedAt) || a.id.localeCompare(b.id));
}

/**
 * Tickets from a JSON file: two streams (projects, tickets), incremental on `updatedAt`, transformed into
 * canonical projects and work items through the integration's mappings.
 *
 * @example
 * const engine = await createEngine({ db, queue: memoryQueue(), connectors: [ticketsConnector()] });
 * await engine.integrations.create({ connector: 'tickets', name: 'Helpdesk', config: { path: './tickets.json' } });
 */
export function ticketsConnector(options: { name?: string } = {}): Connector<z.output<typeof configSchema>> {
  const { name } = parseOptions(
    'tickets',
    'ticketsConnector',
    z.strictObject({
      name: z
        .string()
        .regex(/^[a-z][a-z0-9-]*$/)
        .default('tickets'),
    }),
    options,
  );
  return {
    name,
    configSchema,
    streams: [
      { name: 'projects', primaryKey: ['key'] },
      { name: 'tickets', primaryKey: ['id'], cursorField: 'updatedAt', dependsOn: ['projects'] },
    ],
    defaultMappings: {
      workItemTypes: [
        { rawType: 'Bug', type: 'bug', level: 0 },
        { rawType: 'Feature', type: 'story', level: 0 },
        { rawType: 'Chore', type: 'task', level: 0 },
      ],
      statuses: [
        { rawStatus: 'open', category: 'todo', workflowStep: 'open' },
        { rawStatus: 'in progress', category: 'in_progress', workflowStep: 'doing' },
        { rawStatus: 'closed', category: 'done', workflowStep: 'done' },
      ],
      workflows: [{ name: 'default', steps: ['open', 'doing', 'done'] }],
    },
    extractor: {
      async *extract(ctx): AsyncIterable<Page> {
        const tickets = await readTickets(ctx.config.path);
        if (ctx.stream === 'projects') {
          const keys = [...new Set(tickets.map((t) => t.project))].sort();
          yield {
            records: keys.map((key) => ({ sourceId: key, payload: { key } })),
            checkpoint: { done: true },
          };
          return;
        }
        // A full run starts over; an incremental one resumes after the last stored ticket.
        let cursor = ctx.mode === 'full' ? null : (ctx.checkpoint as Cursor);
        const todo = tickets.filter((t) => after(t, cursor));
        for (let i = 0; i < todo.length; i += ctx.config.pageSize) {
          if (ctx.signal.aborted) return;
          const page = todo.slice(i, i + ctx.config.pageSize);
          const last = page[page.length - 1]!;
          cursor = { updatedAt: last.updatedAt, id: last.id };
          yield { records: page.map((t) => ({ sourceId: t.id, payload: t })), checkpoint: cursor };
        }
      },
    },
    transformer: {
      transform(rows, ctx) {
        return rows.map((row): EntityDraft => {
          if (row.stream === 'projects') {
            const { key } = row.payload as { key: string };
            return { kind: 'project', sourceId: key, sourceUpdatedAt: null, data: { key, name: key } };
          }
          const t = row.payload as Ticket;
          const status = ctx.mappings.status(t.status);
          if (!status) {
            throw new EtlError('invalid_input', `status "${t.status}" of ticket ${t.id} has no mapping`, {
              plugin: 'tickets',
            });
          }
          const type = ctx.mappings.workItemType(t.type) ?? { type: 'custom' as const, level: 0 };
          return {
            kind: 'work_item',
            sourceId: t.id,
            sourceUpdatedAt: t.updatedAt,
            data: {
              key: t.id,
              title: t.title,
              type: type.type,
              rawType: t.type,
              status: t.status,
              statusCategory: status.category,
              workflowStep: status.workflowStep,
              projectKey: t.project,
              hierarchyLevel: type.level,
              assigneeId: t.assignee ?? null,
              createdAt: t.createdAt,
              updatedAt: t.updatedAt,
            },
          };
        });
      },
    },
    async check(config) {
      try {
        const tickets = await readTickets(config.path);
        return { ok: true, message: `${tickets.length} tickets in ${config.path}` };
      } catch (error) {
        return { ok: false, message: error instanceof Error ? error.message : String(error) };
      }
    },
  };
}
