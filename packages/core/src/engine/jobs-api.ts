import { EtlError } from '../errors.js';
import { startJobInputSchema } from '../model/inputs.js';
import { finishedStatuses, type Job, type StartJobInput } from '../model/jobs.js';
import { sleep } from '../sleep.js';
import type { EngineRuntime } from '../stages/stage-runtime.js';
import type { ExtractTask } from '../stages/stage-tasks.js';
import { parseInput } from '../validation.js';
import type { Engine } from './engine-types.js';

/** The streams a job runs (each once), or an error naming the unknown ones. */
function selectStreams(connectorName: string, known: string[], requested: string[] | undefined): string[] {
  const selected = requested ?? known;
  const unknown = selected.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new EtlError(
      'invalid_input',
      `streams: unknown stream(s) ${unknown.join(', ')} for ${connectorName}; known: ${known.join(', ')}`,
      { details: [{ path: 'streams', message: `unknown: ${unknown.join(', ')}` }] },
    );
  }
  return [...new Set(selected)];
}

/** `engine.jobs`: start, inspect, pause / resume / cancel and wait; legal status changes are the job store's. */
export function jobsApi(rt: EngineRuntime): Engine['jobs'] {
  const { jobs, integrations, queue, emit } = rt;

  async function start(input: StartJobInput): Promise<Job> {
    const { integrationId, mode, window, requestedBy, streams } = parseInput(
      'job',
      startJobInputSchema,
      input,
    );
    const integration = await integrations.get(integrationId);
    const connector = integrations.connectorFor(integration.connector);
    if (!integration.enabled)
      throw new EtlError('conflict', `integration ${integration.name} is disabled; enable it first`);
    const known = connector.streams.map((d) => d.name);
    const selected = selectStreams(connector.name, known, streams);
    if (mode === 'backfill' && !window?.from) {
      throw new EtlError('invalid_input', 'window.from: a backfill needs a date window', {
        details: [{ path: 'window.from', message: 'required for backfill' }],
      });
    }
    const initial = selected.map((stream) => {
      const deps = (connector.streams.find((d) => d.name === stream)?.dependsOn ?? []).filter((d) =>
        selected.includes(d),
      );
      return { stream, status: deps.length === 0 ? ('queued' as const) : ('waiting' as const) };
    });
    const job = await jobs.create(
      {
        integrationId,
        connector: connector.name,
        streams: selected,
        mode,
        window: window ?? null,
        requestedBy: requestedBy ?? null,
        status: 'queued',
        streamsPending: selected.length,
        owner: rt.jobOwner(),
      },
      initial,
    );
    await emit({ type: 'job.status', jobId: job.id, status: 'queued' });
    await queue.publish(
      'extract',
      initial
        .filter((i) => i.status === 'queued')
        .map((i): ExtractTask => ({ jobId: job.id, stream: i.stream, partition: null })),
    );
    return job;
  }

  async function illegal(id: string, action: string): Promise<never> {
    const job = await jobs.get(id);
    throw new EtlError('illegal_transition', `cannot ${action} job ${id}: it is ${job.status}`, {
      details: { status: job.status },
    });
  }

  async function waitFor(id: string, options: { timeoutMs?: number } = {}): Promise<Job> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await jobs.get(id);
      if (finishedStatuses.includes(job.status)) return jobs.getWithStreams(id);
      if (Date.now() > deadline) {
        throw new EtlError(
          'timeout',
          `job ${id} is still ${job.status} after ${timeoutMs} ms (counters ${JSON.stringify(job.counters)})`,
        );
      }
      await sleep(50);
    }
  }

  return {
    start,
    get: (id) => jobs.getWithStreams(id),
    list: (filter) => jobs.list(filter),
    async pause(id) {
      const job = await jobs.transition(id, 'pause');
      if (!job) return illegal(id, 'pause');
      await emit({ type: 'job.status', jobId: id, status: 'paused' });
      return job;
    },
    async resume(id) {
      const { job, streams: tasks } = await jobs.resume(id);
      if (!job) return illegal(id, 'resume');
      const owner = rt.jobOwner();
      if (owner) await jobs.takeJobLease(id, owner.id, owner.leaseMs);
      await emit({ type: 'job.status', jobId: id, status: 'running' });
      if (tasks.length > 0) await queue.publish('extract', tasks);
      return job;
    },
    async cancel(id) {
      const job = await jobs.transition(id, 'cancel');
      if (!job) return illegal(id, 'cancel');
      await jobs.cancelStreams(id);
      await emit({ type: 'job.status', jobId: id, status: 'cancelled' });
      return job;
    },
    waitFor,
  };
}
