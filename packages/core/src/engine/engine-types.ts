import type { CheckResult, Connector } from '../connector/connector.js';
import type { Db } from '../db/db.js';
import type { EventSource } from '../model/events.js';
import type { Job, JobFilter, JobStatus, StartJobInput } from '../model/jobs.js';
import type { LoadCounts } from '../loader/loader.js';
import type { Mappings, MappingsInput } from '../model/mappings.js';
import type { DeadLetter, QueueAdapter, QueueStats, Stage } from '../queue/queue.js';

/** A configured source: a connector, its config (secrets masked), a schedule. */
export interface Integration {
  id: string;
  connector: string;
  name: string;
  /** Config with secret fields masked (`'••••••'`). */
  config: Record<string, unknown>;
  /** Run an incremental sync every this many seconds; null for manual only. */
  scheduleSeconds: number | null;
  /** A cron expression (UTC) for scheduled runs, instead of `scheduleSeconds`; null for none. */
  scheduleCron: string | null;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export type { CreateIntegrationInput, UpdateIntegrationInput } from '../model/inputs.js';
import type { CreateIntegrationInput, UpdateIntegrationInput } from '../model/inputs.js';

/** What `secrets.rotate()` did. */
export interface SecretRotation {
  /** The key every secret is now encrypted with. */
  keyId: string | null;
  integrations: number;
  secrets: number;
  /** Integrations left as they were (their connector is not registered in this process). */
  skipped: { id: string; name: string; reason: string }[];
}

/** One key of the ring (or found on stored values) and the integrations whose secrets it encrypts. */
export interface SecretKeyUsage {
  keyId: string;
  /** New values are encrypted with it. */
  current: boolean;
  /** False for a key found on stored values that the ring no longer has: those secrets cannot be opened. */
  inKeyring: boolean;
  integrations: { id: string; name: string }[];
}

/** A stored raw payload as `engine.raw` lists it (the payload on request). */
export interface RawRowSummary {
  id: string;
  jobId: string;
  integrationId: string;
  stream: string;
  partition: string | null;
  sourceId: string;
  status: 'pending' | 'loaded' | 'failed';
  error: string | null;
  extractedAt: string;
  payload?: unknown;
}

/** Which raw rows `engine.raw.list` returns, paged. */
export interface RawFilter {
  jobId?: string;
  integrationId?: string;
  stream?: string;
  status?: RawRowSummary['status'];
  limit?: number;
  offset?: number;
  withPayload?: boolean;
}

/** Which stored raw rows to transform and load again. */
export type ReplaySelector =
  | { jobId: string }
  | { integrationId: string; stream?: string }
  | { from: string; to: string; integrationId?: string };

/** What a replay did, or (dry run) would do. */
export interface ReplayResult {
  dryRun: boolean;
  records: number;
  counts: LoadCounts;
  /** The replay job, when not a dry run. */
  job?: Job;
}

/** Which stages `engine.startWorkers` consumes in this process, and how many messages at once. */
export interface WorkerOptions {
  stages?: Stage[];
  /** Messages handled at once per stage in this process. */
  concurrency?: Partial<Record<Stage, number>>;
}

/** `engine.stats()`: what a metrics endpoint exposes, the same from every process. */
export interface EngineStats {
  /** Jobs by status. */
  jobs: Record<JobStatus, number>;
  /** Records through each stage over all jobs (failed: records that could not be transformed or loaded). */
  records: { extracted: number; transformed: number; loaded: number; failed: number };
  throttling: {
    /** Times a source asked to slow down (429, a spent rate-limit window). */
    events: number;
    /** Integrations paused by their source right now, and until when. */
    active: { integrationId: string; until: string; reason: string }[];
  };
  /** Dead letters per stage; null when the queue does not report stats. */
  deadLetters: Record<Stage, number> | null;
  /** The queue's own figures per stage; null when it does not report stats. */
  queues: QueueStats[] | null;
}

/** The engine's public surface: what a host, the UI and the CLI use. */
export interface Engine {
  readonly db: Db;
  readonly schema: string;
  readonly queue: QueueAdapter;
  readonly connectors: ReadonlyMap<string, Connector>;
  readonly events: EventSource;
  /** Starts consuming the given stages in this process (all three by default). */
  startWorkers(options?: WorkerOptions): Promise<void>;
  /** Stops workers after in-flight messages finish; does not close the host's db or queue. */
  stop(): Promise<void>;

  integrations: {
    create(input: CreateIntegrationInput): Promise<Integration>;
    get(id: string): Promise<Integration>;
    list(): Promise<Integration[]>;
    update(id: string, patch: UpdateIntegrationInput): Promise<Integration>;
    delete(id: string): Promise<void>;
    /**
     * Tests the connection with the stored config, or with unsaved `changes` merged over it (nothing is saved;
     * a changed URL needs its secrets in `changes`, as `update` does).
     */
    test(id: string, changes?: { config?: Record<string, unknown> }): Promise<CheckResult>;
  };
  /** The keyring of secret config fields. */
  secrets: {
    /** Re-encrypts every stored secret with the current (first) key, after which older keys can be retired. */
    rotate(): Promise<SecretRotation>;
    /** Which key encrypts which integrations' secrets; a key with none can be removed from the ring. */
    usage(): Promise<SecretKeyUsage[]>;
  };
  mappings: {
    get(integrationId: string): Promise<{ version: number; mappings: Mappings }>;
    put(integrationId: string, mappings: MappingsInput): Promise<{ version: number; mappings: Mappings }>;
  };
  jobs: {
    start(input: StartJobInput): Promise<Job>;
    get(id: string): Promise<Job>;
    list(filter?: JobFilter): Promise<{ jobs: Job[]; total: number }>;
    pause(id: string): Promise<Job>;
    resume(id: string): Promise<Job>;
    cancel(id: string): Promise<Job>;
    /** Resolves when the job reaches a finished status (or rejects after `timeoutMs`). */
    waitFor(id: string, options?: { timeoutMs?: number }): Promise<Job>;
  };
  raw: {
    list(filter?: RawFilter): Promise<{ rows: RawRowSummary[]; total: number }>;
    get(id: string): Promise<RawRowSummary>;
  };
  replay(
    selector: ReplaySelector,
    options?: { dryRun?: boolean; requestedBy?: string },
  ): Promise<ReplayResult>;
  deadLetters: {
    list(options?: { stage?: Stage; limit?: number }): Promise<DeadLetter[]>;
    replay(id: string): Promise<void>;
    discard(id: string): Promise<void>;
  };
  queues: { stats(): Promise<QueueStats[]> };
  /**
   * Prunes what is older than each given age (milliseconds; omitted: kept): events, finished jobs, and raw
   * rows superseded by a newer payload of the same record (the newest always stays, for replay). Works in
   * batches; resolves with how many rows went.
   *
   * @example
   * await engine.prune({ eventsMs: 30 * day, finishedJobsMs: 90 * day, supersededRawMs: 180 * day });
   */
  prune(ages: { eventsMs?: number; finishedJobsMs?: number; supersededRawMs?: number }): Promise<{
    events: number;
    finishedJobs: number;
    supersededRaw: number;
  }>;
  /** Jobs by status, records per stage, throttling and dead letters, for metrics. */
  stats(): Promise<EngineStats>;
}
