import { z } from 'zod';
import type {
  Connector,
  ExtractContext,
  Page,
  PartitionContext,
  RawRecord,
  StreamDefinition,
} from '../connector/connector.js';
import { EtlError } from '../errors.js';
import { dataCursor, comparePositions, type CursorPosition } from './data-cursor.js';
import type { HttpClient, QueryValue } from './http-client.js';
import { pathValue, type PageState, type Paginator } from './paginators.js';

/**
 * The checkpoint of a REST stream, saved with every page.
 * - `position`: the greatest cursor position (value, then id) of the finished crawls, from the data — where
 *   the next incremental run starts reading, minus the lookback.
 * - `crawl`: a crawl in progress — the page to ask for next, the lower bound it started from and the
 *   greatest position seen so far. A resumed run (a full job after a crash or pause, or an incremental run
 *   whose last crawl did not finish) continues at `crawl.page`: no page is read twice or skipped.
 */
export interface RestCheckpoint {
  position: CursorPosition | null;
  crawl?: { page: PageState; since: string | number | null; seen: CursorPosition | null };
}

const positionSchema = z.object({ value: z.union([z.string(), z.number()]), id: z.string() });
/** Parses a stored REST checkpoint; anything else (an older shape, nothing) reads as none. */
export const restCheckpointSchema: z.ZodType<RestCheckpoint> = z.object({
  position: positionSchema.nullable(),
  crawl: z
    .object({
      page: z.union([z.string(), z.number()]),
      since: z.union([z.string(), z.number()]).nullable(),
      seen: positionSchema.nullable(),
    })
    .optional(),
});

type Where<C> = { config: C; partition: string | null };
type Records = string | ((body: unknown) => unknown[]);

/** A sub-resource fetched for one record, only when the record's inline list is truncated. */
export interface RestChildRequest {
  /** The record's field holding the inline list, replaced by the complete one. */
  field: string;
  /** The record's field holding the complete list's length: the inline list is truncated when shorter. */
  totalField?: string;
  /** True when the inline list is not complete; by default, when it is shorter than `totalField` says. */
  truncated?(record: Record<string, unknown>): boolean;
  /** The sub-resource's path for this record: `items/{id}/history` (fields in braces), or a function. */
  path: string | ((record: Record<string, unknown>) => string);
  records: Records;
  paginator?: Paginator;
}

/** A declarative REST stream; see {@link restStream}. */
export interface RestStreamOptions<C> {
  name: string;
  /** Dotted path of the record's id (`id`). */
  primaryKey?: string;
  path: string | ((where: Where<C>) => string);
  params?: Record<string, QueryValue> | ((where: Where<C>) => Record<string, QueryValue>);
  /** Where the records are in the body (`items`, `data.values`; `''` for a body that is the list). */
  records: Records;
  paginator?: Paginator;
  /**
   * Incremental reading: the query parameter that takes the lower bound (`updated_since`), the record's cursor
   * field (`updated_at`), and the lookback in milliseconds subtracted from the saved position.
   */
  incremental?: {
    param: string;
    cursorField: string;
    lookbackMs?: number;
    format?(since: string | number): QueryValue;
  };
  children?: RestChildRequest[];
  /** Partitions fed by a parent stream's records (`{ stream: 'teams', key: 'id' }`): one per parent record. */
  partitionsFrom?: { stream: string; key: string };
  dependsOn?: string[];
}

/** A REST stream: its definition for the engine, and how it reads. */
export interface RestStream<C> {
  definition: StreamDefinition;
  options: RestStreamOptions<C>;
  extract(ctx: ExtractContext<C>): AsyncIterable<Page>;
}

const recordsOf = (body: unknown, records: Records): Record<string, unknown>[] => {
  const list = typeof records === 'function' ? records(body) : records ? pathValue(body, records) : body;
  if (!Array.isArray(list)) {
    throw new EtlError('source_error', `the answer holds no list at "${String(records)}"`, {
      details: { records: String(records) },
    });
  }
  return list as Record<string, unknown>[];
};

async function getJson(http: HttpClient, path: string, query: Record<string, QueryValue>) {
  const answer = await http.request({ path, query });
  return { body: answer.body.trim() === '' ? null : (JSON.parse(answer.body) as unknown), answer };
}

/** Every page of a paginated list, from the first. */
async function* pagesOf(
  http: HttpClient,
  path: string,
  query: Record<string, QueryValue>,
  records: Records,
  paginator: Paginator | undefined,
): AsyncIterable<Record<string, unknown>[]> {
  for (let state: PageState | null = null; ;) {
    const request = paginator?.request(state) ?? {};
    const { body, answer } = await getJson(http, request.url ?? path, { ...query, ...request.query });
    const list = recordsOf(body, records);
    yield list;
    const next: PageState | null =
      paginator?.next({ body, headers: answer.headers, records: list }, state) ?? null;
    if (next === null) return;
    state = next;
  }
}

function isTruncated(child: RestChildRequest, record: Record<string, unknown>): boolean {
  if (child.truncated) return child.truncated(record);
  const inline = pathValue(record, child.field);
  const total = child.totalField ? Number(pathValue(record, child.totalField)) : NaN;
  return Number.isFinite(total) && (!Array.isArray(inline) || inline.length < total);
}

/** Completes each record's truncated inline lists from their sub-resources (all pages). */
async function completeChildren(
  http: HttpClient,
  children: RestChildRequest[],
  list: Record<string, unknown>[],
) {
  await Promise.all(
    list.flatMap((record) =>
      children
        .filter((child) => isTruncated(child, record))
        .map(async (child) => {
          const all: unknown[] = [];
          const path =
            typeof child.path === 'function'
              ? child.path(record)
              : child.path.replace(/\{([^}]+)\}/g, (_, field: string) =>
                  encodeURIComponent(String(pathValue(record, field))),
                );
          for await (const page of pagesOf(http, path, {}, child.records, child.paginator)) all.push(...page);
          record[child.field] = all;
        }),
    ),
  );
}

/** Where a run starts: a crawl to resume, or a new one from the saved position (incremental) or the start. */
function startOf<C>(
  ctx: ExtractContext<C>,
  options: RestStreamOptions<C>,
  cursor: { since(position: CursorPosition | null): string | number | null },
) {
  const parsed = restCheckpointSchema.safeParse(ctx.checkpoint);
  const saved = parsed.success ? parsed.data : null;
  if (ctx.mode === 'backfill')
    return { position: null, page: null, since: ctx.window?.from ?? null, seen: null };
  if (saved?.crawl) return { position: saved.position, ...saved.crawl };
  const since =
    ctx.mode === 'incremental' && options.incremental ? cursor.since(saved?.position ?? null) : null;
  return { position: saved?.position ?? null, page: null, since, seen: null };
}

/**
 * A stream declared by what its API looks like instead of written as a loop: the path and parameters, where the
 * records are, the paginator, the incremental parameter and cursor field, sub-resources fetched only for
 * records whose inline list is truncated, and partitions fed by a parent stream's records. Every request goes
 * through `ctx.http`; the checkpoint ({@link RestCheckpoint}) resumes exactly and its position comes from the
 * data, never from the clock.
 *
 * @example
 * restStream({
 *   name: 'items', path: ({ partition }) => `teams/${partition}/items`, records: 'items',
 *   paginator: cursorPaginator({ cursorPath: 'next_cursor', param: 'cursor' }),
 *   incremental: { param: 'updated_since', cursorField: 'updated_at', lookbackMs: 60_000 },
 *   partitionsFrom: { stream: 'teams', key: 'id' },
 * });
 */
export function restStream<C>(options: RestStreamOptions<C>): RestStream<C> {
  const primaryKey = options.primaryKey ?? 'id';
  const incremental = options.incremental;
  const cursor = dataCursor<Record<string, unknown>>({
    cursor: (r) => (incremental ? (pathValue(r, incremental.cursorField) as string | number | null) : null),
    id: (r) => String(pathValue(r, primaryKey)),
    lookback: incremental?.lookbackMs ?? 0,
  });
  const where = (ctx: ExtractContext<C>) => ({ config: ctx.config, partition: ctx.partition });
  const dependsOn = [
    ...(options.dependsOn ?? []),
    ...(options.partitionsFrom ? [options.partitionsFrom.stream] : []),
  ];
  return {
    options,
    definition: {
      name: options.name,
      primaryKey: [primaryKey],
      ...(incremental ? { cursorField: incremental.cursorField } : {}),
      ...(dependsOn.length ? { dependsOn: [...new Set(dependsOn)] } : {}),
      ...(options.partitionsFrom ? { partitioned: true } : {}),
    },
    async *extract(ctx) {
      const start = startOf(ctx, options, cursor);
      const path = typeof options.path === 'function' ? options.path(where(ctx)) : options.path;
      const params =
        typeof options.params === 'function' ? options.params(where(ctx)) : (options.params ?? {});
      const bound =
        incremental && start.since !== null
          ? { [incremental.param]: incremental.format ? incremental.format(start.since) : start.since }
          : {};
      let seen = start.seen;
      for (let state: PageState | null = start.page; ;) {
        const request = options.paginator?.request(state) ?? {};
        const { body, answer } = await getJson(ctx.http, request.url ?? path, {
          ...params,
          ...bound,
          ...request.query,
        });
        const list = recordsOf(body, options.records);
        if (options.children?.length) await completeChildren(ctx.http, options.children, list);
        seen = cursor.advance(seen, list);
        const next: PageState | null =
          options.paginator?.next({ body, headers: answer.headers, records: list }, state) ?? null;
        const records: RawRecord[] = list.map((r) => ({
          sourceId: String(pathValue(r, primaryKey)),
          payload: r,
        }));
        const checkpoint: RestCheckpoint =
          next === null
            ? { position: greater(start.position, seen) }
            : { position: start.position, crawl: { page: next, since: start.since, seen } };
        yield { records, checkpoint };
        if (next === null || ctx.signal.aborted) return;
        state = next;
      }
    },
  };
}

const greater = (a: CursorPosition | null, b: CursorPosition | null) =>
  !a ? b : !b ? a : comparePositions(a, b) >= 0 ? a : b;

/** The partition keys of a stream fed by a parent stream: from the parent's stored records, else by reading it. */
export async function restPartitions<C>(
  stream: RestStream<C>,
  parent: RestStream<C> | undefined,
  ctx: PartitionContext<C>,
): Promise<string[]> {
  const from = stream.options.partitionsFrom;
  if (!from) return [];
  const keys = new Set<string>();
  if (ctx.records)
    for await (const record of ctx.records(from.stream)) keys.add(String(pathValue(record, from.key)));
  if (keys.size === 0 && parent) {
    for await (const page of parent.extract({
      ...ctx,
      stream: from.stream,
      partition: null,
      checkpoint: null,
      mode: 'full',
    }))
      for (const record of page.records) keys.add(String(pathValue(record.payload, from.key)));
  }
  return [...keys].sort();
}

/** A connector made of REST streams; see {@link restConnector}. */
export type RestConnectorOptions<C> = Omit<Connector<C>, 'streams' | 'extractor'> & {
  streams: RestStream<C>[];
};

/**
 * A connector whose streams are {@link restStream}s: the engine gets their definitions, and one extractor
 * that runs each, partitions fed by parent streams included.
 *
 * @example
 * export const tracker = () => restConnector({ name: 'tracker', configSchema, http, streams: [teams, items], transformer });
 */
export function restConnector<C>(options: RestConnectorOptions<C>): Connector<C> {
  const byName = new Map(options.streams.map((s) => [s.definition.name, s]));
  const streamOf = (name: string) => {
    const stream = byName.get(name);
    if (!stream) throw new EtlError('invalid_input', `unknown stream "${name}"`, { plugin: options.name });
    return stream;
  };
  const listing = options.streams.find((s) => typeof s.options.path === 'string');
  return {
    // Without a check of its own, a connection test reads the first stream that needs no partition: the
    // answer then goes through the same guard, origin rule and error classes as a job.
    check: async (_config, { http }) => {
      if (!listing) return { ok: true, message: `${options.name} has no stream to test; config is valid` };
      await http.request({ path: listing.options.path as string });
      return { ok: true, message: `${options.name}: reached ${listing.definition.name}` };
    },
    ...options,
    streams: options.streams.map((s) => s.definition),
    extractor: {
      extract: (ctx) => streamOf(ctx.stream).extract(ctx),
      partitions: (ctx) => {
        const stream = streamOf(ctx.stream);
        const parent = stream.options.partitionsFrom && byName.get(stream.options.partitionsFrom.stream);
        return restPartitions(stream, parent, ctx);
      },
    },
  };
}
