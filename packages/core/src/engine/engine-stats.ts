import { jobStatuses } from '../model/jobs.js';
import type { QueueAdapter, Stage } from '../queue/queue.js';
import type { EventLog } from '../stores/event-log.js';
import type { JobStore } from '../stores/job-store.js';
import type { RequestGateStore } from '../stores/rate-limit.js';
import type { EngineStats } from './engine-types.js';

/**
 * `engine.stats()`: the figures a metrics endpoint exposes. Job and record totals, throttling and the event
 * counts come from the database, so every process reports the same; queue figures come from the adapter.
 */
export function engineStats(parts: {
  jobs: JobStore;
  budgets: Pick<RequestGateStore, 'active'>;
  events: EventLog;
  queue: QueueAdapter;
}): () => Promise<EngineStats> {
  const { jobs, budgets, events, queue } = parts;
  return async function stats(): Promise<EngineStats> {
    const [totals, throttledNow, throttleEvents, queues] = await Promise.all([
      jobs.totals(),
      budgets.active(),
      events.count('throttled'),
      queue.capabilities.stats && queue.stats ? queue.stats() : Promise.resolve(null),
    ]);
    const deadLetters = queues
      ? (Object.fromEntries(queues.map((q) => [q.stage, q.deadLetters])) as Record<Stage, number>)
      : null;
    return {
      jobs: Object.fromEntries(
        jobStatuses.map((s) => [s, totals.byStatus.get(s) ?? 0]),
      ) as EngineStats['jobs'],
      records: totals.records,
      throttling: { events: throttleEvents, active: throttledNow },
      deadLetters,
      queues,
    };
  };
}
