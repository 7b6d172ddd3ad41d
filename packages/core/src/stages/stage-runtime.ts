import type { Connector } from '../connector/connector.js';
import type { Db } from '../db/db.js';
import { describeError } from '../errors.js';
import type { EngineEventPayload } from '../model/events.js';
import type { JobMode } from '../model/jobs.js';
import type { Loader } from '../loader/loader.js';
import type { QueueAdapter, Stage } from '../queue/queue.js';
import { chunk } from '../collections.js';
import { sleep } from '../sleep.js';
import type { CheckpointStore } from '../stores/checkpoint-store.js';
import type { IntegrationStore } from '../stores/integration-store.js';
import type { JobStore } from '../stores/job-store.js';
import type { MappingStore } from '../stores/mapping-store.js';
import type { SourceHttpFactory } from '../source/source-http.js';
import type { RawStore } from '../stores/raw-store.js';
import type { TransformTask } from './stage-tasks.js';
import { transformContexts } from './transform-contexts.js';

/** The settings and stores one engine's stages, replay and jobs API work with. */
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
  integrations: IntegrationStore;
  jobs: JobStore;
  raw: RawStore;
  checkpoints: CheckpointStore;
  mappings: MappingStore;
  /** Builds each run's HTTP client: the host's guard and policy, the integration's gate. */
  sourceHttp: SourceHttpFactory;
  appendEvent(event: EngineEventPayload): Promise<void>;
}

export type EngineRuntime = ReturnType<typeof engineRuntime>;

/** What the three stage workers, replay and the jobs API share: events, job bookkeeping and the stores. */
export function engineRuntime(parts: RuntimeParts) {
  const { db, queue, batchSize, jobs, raw } = parts;
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
    if (!force && now - (lastProgress.get(key) ?? 0) < parts.progressIntervalMs) return false;
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
        await sleep(50 * attempt);
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

  /**
   * The owner a new job gets: with a queue that does not redeliver across processes, this engine (its work
   * lives here); otherwise none (the queue hands it to whichever worker is free).
   */
  function jobOwner(): { id: string; leaseMs: number } | undefined {
    return queue.capabilities.durableRedelivery
      ? undefined
      : { id: parts.workerId, leaseMs: parts.streamLeaseMs };
  }

  return {
    ...parts,
    jobOwner,
    emit,
    progressDue,
    meta,
    publishTransforms,
    finish,
    transformContext: transformContexts(parts.integrations, parts.mappings),
    failRecords,
  };
}
