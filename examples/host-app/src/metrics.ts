import { jobStatuses, type Engine } from '@etl/core';
import type { HandledCounts } from './counting-queue.js';

type Sample = { labels?: Record<string, string>; value: number };

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function family(name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const { labels, value } of samples) {
    const l = labels
      ? `{${Object.entries(labels)
          .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
          .join(',')}}`
      : '';
    lines.push(`${name}${l} ${Number.isFinite(value) ? value : 0}`);
  }
  return lines.join('\n');
}

/**
 * Prometheus text exposition (version 0.0.4) of the pipeline: job and record totals come from the
 * database, so every process reports the same figures; queue figures from the adapter; `etl_worker_*`
 * from this process only.
 */
export async function renderMetrics(engine: Engine, handled: HandledCounts): Promise<string> {
  const stats = await engine.stats();
  const queues = stats.queues ?? [];
  const stageOf = (stage: string) => ({ stage });
  return (
    [
      family(
        'etl_jobs',
        'gauge',
        'Jobs by status.',
        jobStatuses.map((status) => ({ labels: { status }, value: stats.jobs[status] })),
      ),
      family(
        'etl_records_total',
        'counter',
        'Records through each stage, over all jobs (failed: records that could not be transformed or loaded).',
        (['extracted', 'transformed', 'loaded', 'failed'] as const).map((stage) => ({
          labels: stageOf(stage),
          value: stats.records[stage],
        })),
      ),
      family(
        'etl_queue_depth',
        'gauge',
        'Messages ready in each work queue.',
        queues.map((q) => ({ labels: stageOf(q.stage), value: q.depth })),
      ),
      family(
        'etl_queue_unacked',
        'gauge',
        'Messages delivered and not yet acknowledged.',
        queues.map((q) => ({ labels: stageOf(q.stage), value: q.unacked })),
      ),
      family(
        'etl_queue_consumers',
        'gauge',
        'Consumers of each work queue.',
        queues.map((q) => ({ labels: stageOf(q.stage), value: q.consumers })),
      ),
      family(
        'etl_queue_retrying',
        'gauge',
        'Messages waiting for a delayed retry.',
        queues.map((q) => ({ labels: stageOf(q.stage), value: q.retrying })),
      ),
      family(
        'etl_dead_letters',
        'gauge',
        'Messages in each dead-letter queue.',
        queues.map((q) => ({ labels: stageOf(q.stage), value: q.deadLetters })),
      ),
      family(
        'etl_throttled_events_total',
        'counter',
        'Times a source asked to slow down (429, rate limit).',
        [{ value: stats.throttling.events }],
      ),
      family(
        'etl_worker_messages_total',
        'counter',
        'Messages handled by workers in this process.',
        Object.entries(handled).map(([stage, c]) => ({ labels: stageOf(stage), value: c.messages })),
      ),
      family(
        'etl_worker_records_total',
        'counter',
        'Raw records carried by messages handled in this process.',
        Object.entries(handled).map(([stage, c]) => ({ labels: stageOf(stage), value: c.records })),
      ),
      family(
        'etl_worker_failures_total',
        'counter',
        'Handler attempts that failed in this process (retried or dead-lettered).',
        Object.entries(handled).map(([stage, c]) => ({ labels: stageOf(stage), value: c.failures })),
      ),
    ].join('\n') + '\n'
  );
}
