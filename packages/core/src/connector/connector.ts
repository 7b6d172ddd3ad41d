import type { z } from 'zod';
import type { EntityDraft } from '../model/canonical.js';
import type { MappingsView } from '../model/mappings.js';
import type { JobMode } from '../model/jobs.js';
import type { HttpClient, HttpPolicyInput } from '../source/http-client.js';

/** One stream a connector can extract. */
export interface StreamDefinition {
  name: string;
  /** Fields of the raw payload that identify a record. */
  primaryKey: string[];
  /** Field of the raw payload that incremental extraction advances on. */
  cursorField?: string;
  /** Streams whose extraction must finish before this one starts (issues after issue types). */
  dependsOn?: string[];
  /** True when the extractor splits this stream into partitions (a project, a repository). */
  partitioned?: boolean;
}

/** One record as read from the source, kept verbatim in raw storage. */
export interface RawRecord {
  sourceId: string;
  payload: unknown;
}

/** One page of a stream: its records and the checkpoint that is true once they are durable. */
export interface Page {
  records: RawRecord[];
  checkpoint: unknown;
}

/** Something a connector reports while it runs; arrives as a job event. */
export type ConnectorEvent =
  | { type: 'throttled'; until: string; reason: string; status?: number }
  | { type: 'warning'; message: string }
  | { type: 'request'; method: string; url: string; status: number };

/** What an extractor gets for one stream (or partition) of one job: config, checkpoint, signal, HTTP client. */
export interface ExtractContext<C> {
  integrationId: string;
  jobId: string;
  config: C;
  stream: string;
  partition: string | null;
  /** The checkpoint saved after the last durable page, or null to start from the beginning. */
  checkpoint: unknown;
  mode: JobMode;
  /** For backfill: the date window to read (ISO strings). */
  window?: { from?: string; to?: string };
  signal: AbortSignal;
  /**
   * The run's HTTP client, built by the engine from the connector's {@link SourceHttp} declaration and the
   * integration's config: the host's private-network guard, the secret sent only to its origin, timeouts,
   * retries, `Retry-After`, and the integration's concurrency cap and pacing shared by every worker.
   */
  http: HttpClient;
  emit(event: ConnectorEvent): void;
}

/** What `partitions()` gets: the extraction context of the stream, before any partition or checkpoint. */
export type PartitionContext<C> = Omit<ExtractContext<C>, 'partition' | 'checkpoint'> & {
  /**
   * The records of another stream of the integration as last stored (the newest version of each), for
   * partitions fed by a parent stream (teams → items) without listing the parent again. The engine provides it.
   */
  records?(stream: string): AsyncIterable<unknown>;
};

/** Reads one stream page by page, starting after `ctx.checkpoint`. */
export interface Extractor<C> {
  extract(ctx: ExtractContext<C>): AsyncIterable<Page>;
  /** For partitioned streams: the partition keys to extract (each gets its own checkpoint). */
  partitions?(ctx: PartitionContext<C>): Promise<string[]>;
}

/** A raw row as stored, given to the transformer. */
export interface RawRow {
  id: string;
  stream: string;
  partition: string | null;
  sourceId: string;
  payload: unknown;
  extractedAt: string;
}

/** What a transformer gets with a batch of raw rows: the integration, its config and mappings. */
export interface TransformContext<C = unknown> {
  integrationId: string;
  stream: string;
  config: C;
  mappings: MappingsView;
  /**
   * Keys of the projects any integration of this workspace has loaded (Jira's `ABC`, …), upper-case: lets a
   * pull request that names `ABC-123` link to that work item, while look-alikes such as `UTF-8` do not.
   */
  knownProjectKeys: ReadonlySet<string>;
}

/** Turns raw rows of one stream into canonical entities (validated by zod after it returns). */
export interface Transformer<C = unknown> {
  transform(rows: RawRow[], ctx: TransformContext<C>): EntityDraft[] | Promise<EntityDraft[]>;
}

/**
 * How the engine builds a connector's HTTP client (`ctx.http`) from an integration's config.
 *
 * @example
 * http: {
 *   baseUrl: (config) => config.siteUrl,
 *   auth: (config) => ({ authorization: `Bearer ${config.token}` }),
 *   concurrency: 4, limits: (config) => ({ concurrency: config.concurrency }),
 * }
 */
export interface SourceHttp<C> {
  /**
   * The source's base URL, from the config (the connector's `originField` by default); relative request paths
   * resolve against it. Refusals and unreachable-host errors name `originField` (`baseUrl` without one).
   */
  baseUrl?(config: C): string | null | undefined;
  /** Secret headers (Authorization, …) from the config; sent only to the origin the secret was saved for. */
  auth?(config: C): Record<string, string> | undefined;
  /** Headers sent with every request (user agent, API version). */
  headers?: Record<string, string>;
  /** Requests of one integration in flight at once, across all its streams, partitions and processes (4). */
  concurrency?: number;
  /** Requests started per second for one integration at most; unlimited by default. */
  requestsPerSecond?: number;
  /** The integration's own cap and pacing (config fields the connector offers), over the defaults above. */
  limits?(config: C): { concurrency?: number; requestsPerSecond?: number };
  /** Timeouts and retries; what the engine's `http` option sets wins (the host decides). */
  policy?: HttpPolicyInput;
}

/** A connection check's answer: whether the config reaches the source, and what to tell the operator. */
export interface CheckResult {
  ok: boolean;
  message: string;
}

/**
 * A connector: a plain typed object, usually made by a factory that parses its options with zod.
 *
 * @example
 * export const connector: Connector<{ token: string }> = {
 *   name: 'acme', configSchema: z.object({ token: z.string() }), secretFields: ['token'],
 *   streams: [{ name: 'tickets', primaryKey: ['id'], cursorField: 'updated' }],
 *   extractor: { async *extract(ctx) { yield { records: [], checkpoint: null }; } },
 *   transformer: { transform: (rows) => [] },
 * };
 */
export interface Connector<C = unknown> {
  name: string;
  configSchema: z.ZodType<C>;
  /** Dotted paths of config fields that are secrets: encrypted at rest, masked on read, never logged. */
  secretFields?: string[];
  /**
   * Dotted path of the config field holding the source's URL (`siteUrl`, `baseUrl`). Stored secrets are bound
   * to its origin (scheme + host + port): they are only ever sent there, and changing it needs them again.
   * Without it, every URL in the config counts.
   */
  originField?: string;
  streams: StreamDefinition[];
  extractor: Extractor<C>;
  transformer: Transformer<C>;
  /** Default mappings derived from the source's own metadata; the integration's mappings override them. */
  defaultMappings?: import('../model/mappings.js').MappingsInput;
  /** How `ctx.http` reaches the source; without it `ctx.http` has no base URL and no auth. */
  http?: SourceHttp<C>;
  /** Tests a connection with the given config. */
  check?(config: C, ctx: { signal: AbortSignal; http: HttpClient }): Promise<CheckResult>;
}
