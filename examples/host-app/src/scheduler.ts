import { Cron } from 'croner';
import { finishedStatuses, type Engine, type Integration, type Job } from '@etl/core';

export interface Scheduler {
  /** Starts due jobs now; what the timer runs. Returns the jobs it started. */
  tick(): Promise<Job[]>;
  stop(): Promise<void>;
}

/**
 * Starts an incremental job for every enabled integration that is due (`scheduleSeconds` since its last
 * job, or its cron expression, see `isDue`), unless a job of that integration is still queued, running or paused. Run it in
 * one process (the app), not in every worker.
 *
 * @example
 * const scheduler = startScheduler(engine, { tickMs: 10_000 });
 */
/**
 * Whether an integration's next run is due: `scheduleSeconds` after its last job was created, or the first
 * time its cron expression (UTC, via croner) names after that (after the integration's creation when it has
 * no job yet).
 */
export function isDue(
  integration: Pick<Integration, 'scheduleSeconds' | 'scheduleCron' | 'createdAt'>,
  last: Pick<Job, 'createdAt'> | undefined,
  now: Date,
): boolean {
  if (integration.scheduleCron) {
    const since = new Date(last?.createdAt ?? integration.createdAt);
    const next = new Cron(integration.scheduleCron, { paused: true, timezone: 'UTC' }).nextRun(since);
    return next !== null && next.getTime() <= now.getTime();
  }
  if (!integration.scheduleSeconds) return false;
  return !last || Date.parse(last.createdAt) + integration.scheduleSeconds * 1000 <= now.getTime();
}

export function startScheduler(
  engine: Engine,
  options: { tickMs: number; log?: (line: Record<string, unknown>) => void },
): Scheduler {
  let running: Promise<Job[]> | undefined;
  let stopped = false;

  async function runOnce(): Promise<Job[]> {
    const started: Job[] = [];
    for (const integration of await engine.integrations.list()) {
      if (!integration.enabled || (!integration.scheduleSeconds && !integration.scheduleCron)) continue;
      const { jobs } = await engine.jobs.list({ integrationId: integration.id, limit: 1 });
      const last = jobs[0];
      if (last && !finishedStatuses.includes(last.status)) continue;
      if (!isDue(integration, last, new Date())) continue;
      const job = await engine.jobs.start({
        integrationId: integration.id,
        mode: 'incremental',
        requestedBy: 'scheduler',
      });
      options.log?.({ event: 'schedule.started', integration: integration.name, jobId: job.id });
      started.push(job);
    }
    return started;
  }

  const tick = () => {
    running ??= runOnce().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => {
    if (stopped) return;
    tick().catch((error: unknown) =>
      options.log?.({
        event: 'schedule.error',
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  }, options.tickMs);
  timer.unref();

  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
