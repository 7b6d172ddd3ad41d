import {
  finishedStatuses,
  jobStatuses,
  stages,
  type Engine,
  type EngineEvent,
  type JobCounters,
  type QueueStats,
  type Stage,
} from '@etl/core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The labels every pipeline series uses: `stage` is always one of extract, transform, load. */
type PipelineLabels = { connector: string; integration: string };

export interface PipelineMetrics {
  readonly registry: Registry;
  /** Records one message handled by a worker of this process (batch latency and handled counts). */
  observeBatch(stage: Stage, body: unknown, seconds: number, outcome: 'ok' | 'failed'): void;
  /**
   * Follows the engine's events (records per stage, job durations, throttling: from every process, through
   * the event bus) and reads its gauges (jobs by status, queue figures) on each scrape. Returns a stop
   * function.
   */
  bind(engine: Engine): () => void;
  /** The Prometheus text exposition of every series, and its content type. */
  render(): Promise<{ text: string; contentType: string }>;
}

const stageOfCounter: Record<Stage, 'extracted' | 'transformed' | 'loaded'> = {
  extract: 'extracted',
  transform: 'transformed',
  load: 'loaded',
};

/**
 * The host's Prometheus metrics on a registry of its own (no global state): process metrics, pipeline
 * counters and histograms labelled `stage` / `connector` / `integration`, and gauges read at scrape time
 * through the engine's API. A scrape runs a handful of indexed queries and never scans the event log.
 *
 * @example
 * const metrics = pipelineMetrics();
 * const stop = metrics.bind(engine);
 * app.get('/metrics', async (c) => { const { text, contentType } = await metrics.render(); … });
 */
export function pipelineMetrics(): PipelineMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let engine: Engine | undefined;

  const labelNames = ['connector', 'integration'] as const;
  const records = new Counter({
    name: 'etl_records_total',
    help: 'Records through each stage (extract: stored raw records; transform, load: records handled).',
    labelNames: ['stage', ...labelNames],
    registers: [registry],
  });
  const failedRecords = new Counter({
    name: 'etl_records_failed_total',
    help: 'Records that could not be transformed or loaded.',
    labelNames,
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: 'etl_job_duration_seconds',
    help: 'Wall time of finished jobs, from start to finish, by final status.',
    labelNames: [...labelNames, 'status'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600],
    registers: [registry],
  });
  const batchDuration = new Histogram({
    name: 'etl_stage_batch_duration_seconds',
    help: 'Time a worker of this process took to handle one message (one extract task or one batch of raw records).',
    labelNames: ['stage', ...labelNames, 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const handledMessages = new Counter({
    name: 'etl_worker_messages_total',
    help: 'Messages handled by workers of this process.',
    labelNames: ['stage', 'outcome'],
    registers: [registry],
  });
  const handledRecords = new Counter({
    name: 'etl_worker_records_total',
    help: 'Raw records carried by the messages handled by workers of this process.',
    labelNames: ['stage'],
    registers: [registry],
  });
  const throttled = new Counter({
    name: 'etl_throttled_total',
    help: 'Times a source asked to slow down (429, rate limit).',
    labelNames,
    registers: [registry],
  });
  for (const stage of stages) {
    handledMessages.inc({ stage, outcome: 'ok' }, 0);
    handledMessages.inc({ stage, outcome: 'failed' }, 0);
    handledRecords.inc({ stage }, 0);
  }

  new Gauge({
    name: 'etl_jobs',
    help: 'Jobs by status (finished jobs until retention removes them).',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      if (!engine) return;
      const bound = engine;
      const totals = await Promise.all(
        jobStatuses.map(async (status) => (await bound.jobs.list({ status, limit: 1 })).total),
      );
      jobStatuses.forEach((status, i) => this.set({ status }, totals[i]!));
    },
  });
  const queueGauges = {
    depth: ['etl_queue_depth', 'Messages ready in each work queue.'],
    unacked: ['etl_queue_unacked', 'Messages delivered and not yet acknowledged.'],
    consumers: ['etl_queue_consumers', 'Consumers of each work queue.'],
    retrying: ['etl_queue_retrying', 'Messages waiting for a delayed retry.'],
    deadLetters: ['etl_dead_letters', 'Messages in each dead-letter queue.'],
  } as const;
  // One stats call per scrape feeds all five queue gauges (each collect awaits the same answer).
  let queueStats: { at: number; stats: Promise<QueueStats[] | undefined> } | undefined;
  const currentQueueStats = () => {
    if (!queueStats || Date.now() - queueStats.at > 1_000)
      queueStats = {
        at: Date.now(),
        stats: engine ? engine.queues.stats().catch(() => undefined) : Promise.resolve(undefined),
      };
    return queueStats.stats;
  };
  for (const [field, [name, help]] of Object.entries(queueGauges)) {
    new Gauge({
      name,
      help,
      labelNames: ['stage'],
      registers: [registry],
      async collect() {
        for (const q of (await currentQueueStats()) ?? [])
          this.set({ stage: q.stage }, q[field as keyof typeof queueGauges]);
      },
    });
  }

  // Job → its labels, looked up once (the job row carries the connector, the integration its name).
  const labelCache = new Map<string, Promise<(PipelineLabels & { createdAt: number }) | undefined>>();
  const integrationNames = new Map<string, Promise<PipelineLabels>>();
  const integrationLabels = (integrationId: string, connector?: string) => {
    let found = integrationNames.get(integrationId);
    if (!found) {
      found = engine!.integrations.get(integrationId).then(
        (i) => ({ connector: i.connector, integration: i.name }),
        () => ({ connector: connector ?? 'unknown', integration: integrationId }),
      );
      integrationNames.set(integrationId, found);
    }
    return found;
  };
  const jobLabels = (jobId: string) => {
    let found = labelCache.get(jobId);
    if (!found) {
      if (labelCache.size > 5_000) labelCache.clear();
      found = (async () => {
        const job = await engine!.jobs.get(jobId).catch(() => undefined);
        if (!job) return undefined;
        const labels = await integrationLabels(job.integrationId, job.connector);
        return { ...labels, createdAt: Date.parse(job.createdAt) };
      })();
      labelCache.set(jobId, found);
    }
    return found;
  };

  return {
    registry,
    observeBatch(stage, body, seconds, outcome) {
      handledMessages.inc({ stage, outcome });
      const rawIds = (body as { rawIds?: unknown } | null)?.rawIds;
      if (outcome === 'ok' && Array.isArray(rawIds)) handledRecords.inc({ stage }, rawIds.length);
      const jobId = (body as { jobId?: unknown } | null)?.jobId;
      if (!engine || typeof jobId !== 'string') return;
      void jobLabels(jobId).then((labels) => {
        if (labels)
          batchDuration.observe(
            { stage, connector: labels.connector, integration: labels.integration, outcome },
            seconds,
          );
      });
    },
    bind(bound) {
      engine = bound;
      const boundAt = Date.now();
      // Per job: the counters already counted (jobs that began before this process count from first sight).
      const seen = new Map<string, Pick<JobCounters, 'extracted' | 'transformed' | 'loaded' | 'failed'>>();
      const count = async (jobId: string, counters: JobCounters) => {
        const labels = await jobLabels(jobId);
        if (!labels) return;
        const before =
          seen.get(jobId) ??
          (labels.createdAt >= boundAt ? { extracted: 0, transformed: 0, loaded: 0, failed: 0 } : counters);
        const { connector, integration } = labels;
        for (const stage of stages) {
          const delta = counters[stageOfCounter[stage]] - before[stageOfCounter[stage]];
          if (delta > 0) records.inc({ stage, connector, integration }, delta);
        }
        if (counters.failed > before.failed)
          failedRecords.inc({ connector, integration }, counters.failed - before.failed);
        seen.set(jobId, { ...counters });
      };
      const handle = async (event: EngineEvent) => {
        if (event.type === 'job.progress') await count(event.jobId, event.counters);
        else if (event.type === 'job.status' && finishedStatuses.includes(event.status)) {
          const job = await bound.jobs.get(event.jobId).catch(() => undefined);
          if (!job) return;
          await count(job.id, job.counters);
          seen.delete(job.id);
          const labels = await jobLabels(job.id);
          if (labels && job.startedAt && job.finishedAt)
            jobDuration.observe(
              { connector: labels.connector, integration: labels.integration, status: job.status },
              (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000,
            );
          labelCache.delete(job.id);
        } else if (event.type === 'throttled') {
          throttled.inc(await integrationLabels(event.integrationId));
        }
      };
      let chain = Promise.resolve();
      const unsubscribe = bound.events.subscribe((event) => {
        chain = chain.then(() => handle(event)).catch(() => undefined);
      });
      return unsubscribe;
    },
    async render() {
      return { text: await registry.metrics(), contentType: registry.contentType };
    },
  };
}
