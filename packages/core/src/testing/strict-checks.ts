import type { Connector, ExtractContext, Page } from '../connector/connector.js';
import type { JobMode } from '../model/jobs.js';
import { pathValue } from '../source/paginators.js';
import { sourceHttp, type EngineNetworkOptions, type SourceHttpFactory } from '../source/source-http.js';

/**
 * What the strict checks need from a connector's fake source: ways to change it between (and during) runs,
 * to shift its clock, to make it throttle, and to count requests that arrived inside a `Retry-After` window.
 */
export interface FakeSourceHooks {
  /** The stream the checks drive: incremental (with a `cursorField`), several pages per partition. */
  stream: string;
  /** Changes `count` records of the stream now, on the source's clock; returns their source ids. */
  change(count: number): string[];
  /** Moves the source's clock by `ms` (what it stamps changes with and sends as `Date`). */
  shiftClock(ms: number): void;
  /** Answers 429 with `Retry-After` every `every`-th request; null stops it. */
  throttle(every: number | null): void;
  /** Runs `hook` as each request arrives (with its ordinal): changes made in the middle of a crawl. */
  onRequest(hook: ((n: number) => void) | null): void;
  /** Requests that arrived inside a `Retry-After` window the source had opened, so far. */
  requestsInsideWindows(): number;
}

/** The connector under test, its parsed config against the fake source, the source's hooks, the network. */
export interface StrictCheckOptions<C> {
  connector: Connector<C>;
  /** The parsed config against the fake source. */
  config: C;
  source: FakeSourceHooks;
  network?: EngineNetworkOptions;
}

interface ReadPage {
  ids: string[];
  cursors: unknown[];
  checkpoint: unknown;
}

const YEAR = 365 * 86_400_000;

/** Runs one stream (partition) from `checkpoint` and returns its pages, checkpoints as stored (JSON). */
async function readPages<C>(
  options: StrictCheckOptions<C>,
  clients: SourceHttpFactory,
  partition: string | null,
  checkpoint: unknown,
  mode: JobMode,
): Promise<ReadPage[]> {
  const { connector, config, source } = options;
  const cursorField = connector.streams.find((s) => s.name === source.stream)?.cursorField;
  const ctx = contextFor(options, clients, partition, checkpoint, mode);
  const pages: ReadPage[] = [];
  try {
    for await (const page of connector.extractor.extract(ctx) as AsyncIterable<Page>) {
      pages.push({
        ids: page.records.map((r) => String(r.sourceId)),
        cursors: page.records.map((r) => (cursorField ? pathValue(r.payload, cursorField) : null)),
        checkpoint: JSON.parse(JSON.stringify(page.checkpoint ?? null)) as unknown,
      });
    }
  } finally {
    await ctx.http.close();
  }
  void config;
  return pages;
}

function contextFor<C>(
  options: StrictCheckOptions<C>,
  clients: SourceHttpFactory,
  partition: string | null,
  checkpoint: unknown,
  mode: JobMode,
): ExtractContext<C> {
  const signal = AbortSignal.timeout(120_000);
  const integrationId = '00000000-0000-4000-8000-0000000000aa';
  return {
    integrationId,
    jobId: '00000000-0000-4000-8000-0000000000bb',
    config: options.config,
    stream: options.source.stream,
    partition,
    checkpoint,
    mode,
    signal,
    http: clients.client(options.connector, options.config, { integrationId, signal }),
    emit: () => undefined,
  };
}

async function partitionsOf<C>(options: StrictCheckOptions<C>, clients: SourceHttpFactory) {
  const def = options.connector.streams.find((s) => s.name === options.source.stream);
  if (!def?.partitioned) return [null];
  const ctx = contextFor(options, clients, null, null, 'full');
  try {
    return await options.connector.extractor.partitions!(ctx);
  } finally {
    await ctx.http.close();
  }
}

/** Every partition read at once through one set of clients (one gate per integration, as the engine has). */
async function crawl<C>(
  options: StrictCheckOptions<C>,
  clients: SourceHttpFactory,
  partitions: (string | null)[],
  checkpoints: Map<string | null, unknown>,
  mode: JobMode,
) {
  const results = await Promise.all(
    partitions.map((p) => readPages(options, clients, p, checkpoints.get(p) ?? null, mode)),
  );
  const ids = new Set(results.flat().flatMap((page) => page.ids));
  const next = new Map(partitions.map((p, i) => [p, results[i]!.at(-1)?.checkpoint ?? checkpoints.get(p)]));
  return { ids, checkpoints: next };
}

/**
 * Resuming from the checkpoint of a page in the middle of a stream reads exactly the pages after it: a
 * connector that ignores its checkpoint reads everything again, one that drops or duplicates a page is caught.
 */
export async function checkResume<C>(options: StrictCheckOptions<C>): Promise<string[]> {
  const clients = sourceHttp({ network: options.network });
  const [partition] = await partitionsOf(options, clients);
  const pages = await readPages(options, clients, partition ?? null, null, 'full');
  if (pages.filter((p) => p.ids.length > 0).length < 3)
    return [`${options.source.stream}: the fake source must give at least 3 pages to check resuming`];
  const problems: string[] = [];
  for (const k of [0, Math.floor((pages.length - 1) / 2)]) {
    const before = new Set(pages.slice(0, k + 1).flatMap((p) => p.ids));
    const expected = pages.slice(k + 1).flatMap((p) => p.ids);
    // Records sharing the boundary's cursor value may be read again (an inclusive lower bound); no others.
    const boundary = pages[k]!.cursors.at(-1);
    const ties = new Set(
      pages
        .slice(0, k + 1)
        .flatMap((p) => p.ids.filter((_, i) => p.cursors[i] === boundary && boundary !== null)),
    );
    const resumed = (
      await readPages(options, clients, partition ?? null, pages[k]!.checkpoint, 'full')
    ).flatMap((p) => p.ids);
    const again = resumed.filter((id) => before.has(id) && !ties.has(id));
    const missing = expected.filter((id) => !resumed.includes(id));
    const where = `resuming after page ${k + 1} of ${pages.length}`;
    if (before.size > 0 && [...before].every((id) => resumed.includes(id)))
      problems.push(`ignores its checkpoint: ${where} read all ${before.size} records before it again`);
    else if (again.length > 0) problems.push(`duplicates records ${where}: ${again.slice(0, 5).join(', ')}`);
    if (missing.length > 0)
      problems.push(`drops ${missing.length} records ${where}: ${missing.slice(0, 5).join(', ')}`);
  }
  return problems;
}

/**
 * With the source's clock shifted by `shiftMs`: records changed in the middle of a full crawl are all read by
 * the next incremental run, and an incremental run after nothing changed does not read the stream again — what
 * a cursor taken from this machine's clock gets wrong, one way or the other.
 */
export async function checkIncremental<C>(
  options: StrictCheckOptions<C>,
  shiftMs: number,
): Promise<string[]> {
  const { source } = options;
  const label =
    shiftMs === 0
      ? 'same clock'
      : `source clock ${shiftMs > 0 ? '+' : '-'}${Math.round(Math.abs(shiftMs) / YEAR)} year`;
  source.shiftClock(shiftMs);
  try {
    const clients = sourceHttp({ network: options.network });
    const partitions = await partitionsOf(options, clients);
    let changed: string[] = [];
    let requests = 0;
    source.onRequest(() => {
      if (++requests === 3) changed = source.change(3);
    });
    const full = await crawl(options, clients, partitions, new Map(), 'full');
    source.onRequest(null);
    const problems: string[] = [];
    const next = await crawl(options, clients, partitions, full.checkpoints, 'incremental');
    const missed = changed.filter((id) => !next.ids.has(id));
    if (changed.length === 0)
      problems.push(`${label}: no record changed during the crawl (the fake needs 3+ requests)`);
    if (missed.length > 0)
      problems.push(
        `${label}: misses ${missed.length} of ${changed.length} records changed during a crawl on the next incremental run (${missed.join(', ')})`,
      );
    const quiet = await crawl(options, clients, partitions, next.checkpoints, 'incremental');
    if (full.ids.size > 0 && quiet.ids.size * 2 > full.ids.size)
      problems.push(
        `${label}: an incremental run after no change re-read ${quiet.ids.size} of ${full.ids.size} records: is the cursor taken from this machine's clock?`,
      );
    return problems;
  } finally {
    source.shiftClock(-shiftMs);
  }
}

/** Every partition at once against a source that throttles every `every`-th request: none sent inside a window. */
export async function checkRetryAfter<C>(options: StrictCheckOptions<C>, every = 10): Promise<string[]> {
  const { source } = options;
  const clients = sourceHttp({ network: options.network });
  const partitions = await partitionsOf(options, clients);
  const before = source.requestsInsideWindows();
  source.throttle(every);
  try {
    await crawl(options, clients, partitions, new Map(), 'full');
  } finally {
    source.throttle(null);
  }
  const inside = source.requestsInsideWindows() - before;
  return inside > 0
    ? [`sent ${inside} requests inside Retry-After windows (${partitions.length} partitions at once)`]
    : [];
}

/** Every strict check; the problems found, empty for a connector that passes. */
export async function strictConnectorProblems<C>(options: StrictCheckOptions<C>): Promise<string[]> {
  return [
    ...(await checkResume(options)),
    ...(await checkIncremental(options, 0)),
    ...(await checkIncremental(options, YEAR)),
    ...(await checkIncremental(options, -YEAR)),
    ...(await checkRetryAfter(options)),
  ];
}
