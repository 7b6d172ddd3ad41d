import type { QueueAdapter, Stage } from '@etl/core';
import type { PipelineMetrics } from './metrics.js';

/** Per stage: messages this process finished handling, and raw records they carried (transform, load). */
export type HandledCounts = Record<Stage, { messages: number; records: number; failures: number }>;

/**
 * Wraps a queue adapter to count and time what this process's workers handle. Feeds `/metrics` and the
 * worker's log, which is how an operator (and the scale-out test) sees the work spread over processes.
 */
export function countingQueue(
  inner: QueueAdapter,
  metrics?: PipelineMetrics,
): { queue: QueueAdapter; handled: HandledCounts } {
  const handled: HandledCounts = {
    extract: { messages: 0, records: 0, failures: 0 },
    transform: { messages: 0, records: 0, failures: 0 },
    load: { messages: 0, records: 0, failures: 0 },
  };
  const queue: QueueAdapter = {
    name: inner.name,
    capabilities: inner.capabilities,
    publish: (stage, bodies) => inner.publish(stage, bodies),
    consume: (stage, handler, options) =>
      inner.consume(
        stage,
        async (message) => {
          const started = performance.now();
          try {
            await handler(message);
          } catch (error) {
            handled[stage].failures++;
            metrics?.observeBatch(stage, message.body, (performance.now() - started) / 1000, 'failed');
            throw error;
          }
          metrics?.observeBatch(stage, message.body, (performance.now() - started) / 1000, 'ok');
          handled[stage].messages++;
          const rawIds = (message.body as { rawIds?: unknown } | null)?.rawIds;
          if (Array.isArray(rawIds)) handled[stage].records += rawIds.length;
        },
        options,
      ),
    close: () => inner.close(),
    start: inner.start && (() => inner.start!()),
    stats: inner.stats && (() => inner.stats!()),
    deadLetters: inner.deadLetters,
  };
  return { queue, handled };
}
