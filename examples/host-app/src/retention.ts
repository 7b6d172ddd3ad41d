import type { Engine } from '@etl/core';
import type { Config } from './config.js';
import { log } from './log.js';

const day = 86_400_000;

/**
 * Prunes the event log, finished jobs and superseded raw rows once at start and then hourly, by the
 * ETL_RETENTION_* days (0 keeps them). Runs in the app (the process with the scheduler), not in every worker.
 */
export function startRetention(engine: Engine, config: Config): () => void {
  const ages = (days: number) => (days > 0 ? days * day : undefined);
  const run = async () => {
    try {
      const pruned = await engine.prune({
        eventsMs: ages(config.ETL_RETENTION_EVENTS_DAYS),
        finishedJobsMs: ages(config.ETL_RETENTION_JOBS_DAYS),
        supersededRawMs: ages(config.ETL_RETENTION_RAW_DAYS),
      });
      if (pruned.events + pruned.finishedJobs + pruned.supersededRaw > 0)
        log.info({ event: 'retention.pruned', ...pruned }, 'pruned old events, jobs and raw rows');
    } catch (error) {
      log.warn(
        { event: 'retention.failed', error: String(error) },
        'retention could not run; next try in an hour',
      );
    }
  };
  void run();
  const timer = setInterval(() => void run(), 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}
