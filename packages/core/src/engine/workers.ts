import type { QueueMessage, Stage, Subscription } from '../queue/queue.js';
import { extractStage } from '../stages/extract-stage.js';
import type { EngineRuntime } from '../stages/stage-runtime.js';
import type { ExtractTask } from '../stages/stage-tasks.js';
import { transformAndLoadStages } from '../stages/transform-load-stages.js';
import type { WorkerOptions } from './engine-types.js';

const defaultConcurrency: Record<Stage, number> = { extract: 4, transform: 2, load: 4 };
const allStages: Stage[] = ['extract', 'transform', 'load'];

/** The stage workers of one engine: consumers of the three queues, started and stopped together. */
export function stageWorkers(rt: EngineRuntime) {
  const { queue, jobs, raw, publishTransforms } = rt;
  const { handleExtract } = extractStage(rt);
  const { handleTransform, handleLoad } = transformAndLoadStages(rt);
  const handlers: Record<Stage, (m: QueueMessage) => Promise<void>> = {
    extract: handleExtract,
    transform: handleTransform,
    load: handleLoad,
  };
  const subscriptions: Subscription[] = [];
  let started = false;

  /**
   * A queue without durable redelivery lost its messages with the last process: re-publishes, from
   * PostgreSQL, what unfinished jobs still need (their open streams and their raw rows not yet loaded).
   */
  async function recover() {
    const streams = await jobs.activeStreams();
    if (streams.length > 0) await queue.publish('extract', streams satisfies ExtractTask[]);
    for (const batch of await raw.pendingOfActiveJobs()) {
      await publishTransforms(batch.jobId, batch.stream, batch.partition, batch.ids);
    }
  }

  return {
    async start(options: WorkerOptions = {}) {
      if (!started && !queue.capabilities.durableRedelivery) await recover();
      started = true;
      for (const stage of options.stages ?? allStages) {
        const prefetch = options.concurrency?.[stage] ?? defaultConcurrency[stage];
        subscriptions.push(await queue.consume(stage, handlers[stage], { prefetch }));
      }
    },
    async stop() {
      const subs = subscriptions.splice(0);
      await Promise.all(subs.map((sub) => sub.cancel()));
    },
  };
}
