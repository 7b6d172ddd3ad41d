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

  let leaseTimer: NodeJS.Timeout | undefined;

  /**
   * A queue without durable redelivery keeps a job's messages in the process that runs it, which owns the
   * job by a lease it renews. Jobs whose owner died (lease expired) or that have none are taken over here,
   * with an event saying so, and what they still need (open streams, raw rows not yet loaded) is published
   * again from PostgreSQL. A job whose owner is alive is never touched.
   */
  async function adoptOrphanedJobs() {
    const adopted = await jobs.adoptOrphanedJobs(rt.workerId, rt.streamLeaseMs);
    if (adopted.length === 0) return;
    for (const { jobId, previousOwner } of adopted)
      await rt.emit({ type: 'job.adopted', jobId, owner: rt.workerId, previousOwner });
    const ids = adopted.map((a) => a.jobId);
    const streams = await jobs.activeStreams(ids);
    if (streams.length > 0) await queue.publish('extract', streams satisfies ExtractTask[]);
    for (const batch of await raw.pendingOfActiveJobs(ids)) {
      await publishTransforms(batch.jobId, batch.stream, batch.partition, batch.ids);
    }
  }

  function keepJobLeases() {
    leaseTimer = setInterval(() => {
      void (async () => {
        await jobs.renewJobLeases(rt.workerId, rt.streamLeaseMs);
        await adoptOrphanedJobs();
      })().catch(() => undefined); // the database may be briefly away: the next tick retries
    }, rt.streamLeaseMs / 3);
    leaseTimer.unref();
  }

  return {
    async start(options: WorkerOptions = {}) {
      if (!started && !queue.capabilities.durableRedelivery) {
        await adoptOrphanedJobs();
        keepJobLeases();
      }
      started = true;
      for (const stage of options.stages ?? allStages) {
        const prefetch = options.concurrency?.[stage] ?? defaultConcurrency[stage];
        subscriptions.push(await queue.consume(stage, handlers[stage], { prefetch }));
      }
    },
    async stop() {
      clearInterval(leaseTimer);
      leaseTimer = undefined;
      started = false;
      const subs = subscriptions.splice(0);
      await Promise.all(subs.map((sub) => sub.cancel()));
      // Its messages leave with this process: another may take its jobs over without waiting for the lease.
      if (!queue.capabilities.durableRedelivery)
        await jobs.releaseJobLeases(rt.workerId).catch(() => undefined);
    },
  };
}
