/** How a job reads its source: incremental (from checkpoints), full, backfill (a date window), or replay. */
export const jobModes = ['incremental', 'full', 'backfill', 'replay'] as const;
/** One of `jobModes`. */
export type JobMode = (typeof jobModes)[number];
/** Every status a job can have. */
export const jobStatuses = [
  'queued',
  'running',
  'paused',
  'succeeded',
  'partial',
  'failed',
  'cancelled',
] as const;
/** One of `jobStatuses`. */
export type JobStatus = (typeof jobStatuses)[number];
/** Statuses a job does not leave. */
export const finishedStatuses: readonly JobStatus[] = ['succeeded', 'partial', 'failed', 'cancelled'];

/** Records through each stage of a job. */
export interface JobCounters {
  extracted: number;
  transformed: number;
  loaded: number;
  failed: number;
  inserted: number;
  updated: number;
  unchanged: number;
}

/** Progress of one stream (or partition) of a job. */
export interface JobStreamState extends Pick<JobCounters, 'extracted' | 'loaded' | 'failed'> {
  stream: string;
  partition: string | null;
  /** `skipped`: not run, because a stream it depends on failed. */
  status: 'waiting' | 'queued' | 'running' | 'paused' | 'done' | 'failed' | 'skipped' | 'cancelled';
  pages: number;
  cursor: unknown;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A run of an integration: what it reads, its status, counters and errors. */
export interface Job {
  id: string;
  integrationId: string;
  connector: string;
  streams: string[];
  mode: JobMode;
  window: { from?: string; to?: string } | null;
  status: JobStatus;
  counters: JobCounters;
  errors: { at: string; stage: string; stream?: string; message: string }[];
  requestedBy: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Per stream (and partition) progress. Present on `jobs.get`. */
  streamStates?: JobStreamState[];
}

/** What `engine.jobs.start` takes (parsed by `startJobInputSchema`). */
export interface StartJobInput {
  integrationId: string;
  streams?: string[];
  mode?: JobMode;
  window?: { from?: string; to?: string };
  requestedBy?: string;
}

/** Which jobs `engine.jobs.list` returns, paged. */
export interface JobFilter {
  status?: JobStatus;
  integrationId?: string;
  connector?: string;
  limit?: number;
  offset?: number;
}
