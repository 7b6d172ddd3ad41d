import type { Connector, RawRow, TransformContext } from '../connector/connector.js';
import type { Db } from '../db/db.js';
import { EtlError, describeError } from '../errors.js';
import type { EngineEventPayload } from '../model/events.js';
import type { CheckpointStore } from '../stores/checkpoint-store.js';
import type { integrationStore } from '../stores/integration-store.js';
import type { JobStore } from '../stores/job-store.js';
import type { MappingStore } from '../stores/mapping-store.js';
import type { RawStore } from '../stores/raw-store.js';
import type { JobMode } from '../model/jobs.js';
import type { Loader } from '../loader/loader.js';
import { entitySchemas, type Entity, type EntityDraft } from '../model/canonical.js';
import type { QueueAdapter, Stage } from '../queue/queue.js';
import type { rateLimitBudgets } from '../stores/rate-limit.js';
import { formatIssues } from '../validation.js';
import type { z } from 'zod';

/** Messages between stages carry ids (and, to the load stage, small batches of entities), never payloads. */
export interface ExtractTask {
  jobId: string;
  stream: string;
  partition: string | null;
}
export interface TransformTask {
  jobId: string;
  stream: string;
  partition: string | null;
  rawIds: string[];
}
export interface LoadTask extends TransformTask {
  entities: Entity[];
}

export function invalidInput(what: string, error: z.ZodError): EtlError {
  const issues = formatIssues(error.issues);
  return new EtlError(
    'invalid_input',
    `invalid ${what} — ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    {
      details: issues,
    },
  );
}

export const chunk = <T>(items: T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

export function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    let list = out.get(k);
    if (!list) out.set(k, (list = []));
    list.push(item);
  }
  return out;
}

export interface RuntimeParts {
  db: Db;
  queue: QueueAdapter;
  schema: string;
  batchSize: number;
  progressIntervalMs: number;
  maxParallelStreams: number;
  maxInFlightRecords: number;
  /** This engine instance, as the owner named on the stream leases it takes. */
  workerId: string;
  /** How long a stream lease lasts without renewal; renewed every third of it while the stream runs. */
  streamLeaseMs: number;
  connectors: ReadonlyMap<string, Connector>;
  loader: Loader;
  integrations: ReturnType<typeof integrationStore>;
  jobs: JobStore;
  raw: RawStore;
  checkpoints: CheckpointStore;
  mappings: MappingStore;
  budgets: ReturnType<typeof rateLimitBudgets>;
  appendEvent(event: EngineEventPayload): Promise<void>;
}

export type EngineRuntime = ReturnType<typeof engineRuntime>;

/** What the three stage workers, replay and the jobs API share: one engine's connections, stores and helpers. */
export function engineRuntime(parts: RuntimeParts) {
  const { db, queue, batchSize, jobs, raw, integrations, mappings } = parts;
  const opts = { progressIntervalMs: parts.progressIntervalMs };
  const lastProgress = new Map<string, number>();
  const jobMeta = new Map<string, { integrationId: string; connector: string; mode: JobMode }>();

  async function emit(event: EngineEventPayload): Promise<void> {
    try {
      await parts.appendEvent(event);
    } catch {
      // Events are progress information; losing one must never fail the work that produced it.
    }
  }

  /** Emits at most one progress event per key and interval, unless `force` (the last one of a stream). */
  function progressDue(key: string, force: boolean): boolean {
    const now = Date.now();
    if (!force && now - (lastProgress.get(key) ?? 0) < opts.progressIntervalMs) return false;
    lastProgress.set(key, now);
    return true;
  }

  async function meta(jobId: string) {
    let m = jobMeta.get(jobId);
    if (!m) {
      const job = await jobs.get(jobId);
      m = { integrationId: job.integrationId, connector: job.connector, mode: job.mode };
      if (jobMeta.size > 1000) jobMeta.clear();
      jobMeta.set(jobId, m);
    }
    return m;
  }

  async function publishTransforms(jobId: string, stream: string, partition: string | null, ids: string[]) {
    if (ids.length === 0) return;
    await queue.publish(
      'transform',
      chunk(ids, batchSize).map((rawIds): TransformTask => ({ jobId, stream, partition, rawIds })),
    );
  }

  async function finish(jobId: string) {
    const done = await jobs.finishIfDone(jobId);
    if (done) await emit({ type: 'job.status', jobId, status: done.status });
  }

  async function transformRows(
    connector: Connector,
    rows: RawRow[],
    ctx: TransformContext,
  ): Promise<Entity[]> {
    const drafts: EntityDraft[] = await connector.transformer.transform(rows, ctx);
    return drafts.map((draft) => {
      const schemaFor = entitySchemas[draft.kind];
      if (!schemaFor)
        throw new EtlError(
          'invalid_input',
          `transformer returned unknown entity kind "${String(draft.kind)}"`,
        );
      const parsed = schemaFor.safeParse(draft.data);
      if (!parsed.success) {
        const issues = formatIssues(parsed.error.issues);
        throw new EtlError(
          'invalid_input',
          `${connector.name} transformer produced an invalid ${draft.kind} ${draft.sourceId}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
          { details: issues },
        );
      }
      return {
        kind: draft.kind,
        sourceId: String(draft.sourceId),
        sourceUpdatedAt: draft.sourceUpdatedAt ?? null,
        data: parsed.data,
      } as Entity;
    });
  }

  type Context = Omit<TransformContext, 'integrationId' | 'stream'> & { connector: Connector };
  const contexts = new Map<string, { stamp: string; context: Context }>();

  /**
   * The decrypted config, current mappings and known project keys of an integration. One cheap query per
   * batch tells whether any of them changed (in this process or another); only then are they rebuilt.
   */
  async function transformContext(integrationId: string): Promise<Context> {
    const stamp = await integrations.transformStamp(integrationId);
    const cached = contexts.get(integrationId);
    if (cached && cached.stamp === stamp) return cached.context;
    // Transformers never call the source: they get the config with its secrets masked, not decrypted.
    const { connector, config } = await integrations.resolveWithoutSecrets(integrationId);
    const context = {
      connector,
      config,
      mappings: await mappings.view(integrationId, connector),
      knownProjectKeys: await integrations.knownProjectKeys(),
    };
    if (contexts.size > 1000) contexts.clear();
    contexts.set(integrationId, { stamp, context });
    return context;
  }

  /** The last attempt failed: the records are marked failed (the job ends `partial`), then the queue dead-letters. */
  async function failRecords(task: TransformTask, stage: Stage, error: unknown) {
    const text = describeError(error);
    // Lock order everywhere: stream rows, then the job row. This bookkeeping must not be lost to a
    // transient error (the message is about to be dead-lettered), so it retries on its own.
    for (let attempt = 1; ; attempt++) {
      try {
        await db.transaction(async (tx) => {
          const n = await raw.markFailed(tx, task.jobId, task.rawIds, text);
          await jobs.recordFailed(tx, task, n);
        });
        break;
      } catch (bookkeeping) {
        if (attempt >= 5) throw bookkeeping;
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
    await jobs.addError(task.jobId, {
      at: new Date().toISOString(),
      stage,
      stream: task.stream,
      message: text,
    });
    await emit({
      type: 'dead_letter',
      jobId: task.jobId,
      stage,
      messageId: task.rawIds.join(','),
      error: text,
    });
    await finish(task.jobId);
  }

  return {
    ...parts,
    emit,
    progressDue,
    meta,
    publishTransforms,
    finish,
    transformRows,
    transformContext,
    failRecords,
  };
}
