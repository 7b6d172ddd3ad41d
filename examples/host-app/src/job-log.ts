import { finishedStatuses, type Engine } from '@etl/core';
import { log } from './log.js';

/**
 * One log line per finished job, from whichever process ran it (the app follows every process's events):
 * `error` for a failed job, `warn` for a partial one, `info` otherwise; each with the job's id, its
 * integration, its counters and its first errors.
 */
export function logJobOutcomes(engine: Engine): () => void {
  let chain = Promise.resolve();
  return engine.events.subscribe((event) => {
    if (event.type !== 'job.status' || !finishedStatuses.includes(event.status)) return;
    chain = chain
      .then(async () => {
        const job = await engine.jobs.get(event.jobId);
        const fields = {
          event: `job.${job.status}`,
          jobId: job.id,
          integrationId: job.integrationId,
          connector: job.connector,
          mode: job.mode,
          counters: job.counters,
          errors: job.errors
            .slice(0, 5)
            .map((e) => `[${e.stage}${e.stream ? ` ${e.stream}` : ''}] ${e.message}`),
        };
        if (job.status === 'failed') log.error({ ...fields, error: event.error }, `job ${job.id} failed`);
        else if (job.status === 'partial') log.warn(fields, `job ${job.id} ended partial`);
        else log.info(fields, `job ${job.id} ${job.status}`);
      })
      .catch((error: unknown) =>
        log.warn(
          { event: 'job.log_failed', jobId: event.jobId, error: String(error) },
          'could not read a finished job',
        ),
      );
  });
}
