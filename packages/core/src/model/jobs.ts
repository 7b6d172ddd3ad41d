export const jobModes = ['incremental', 'full', 'backfill', 'replay'] as const;
export type JobMode = (typeof jobModes)[number];
export const jobStatuses = [
  'queued',
  'running',
  'paused',
  'succeeded',
  'partial',
  'failed',
  'cancelled',
] as const;
export type JobStatus = (typeof jobStatuses)[number];
export const finishedStatuses: readonly JobStatus[] = ['succeeded', 'partial', 'failed', 'cancelled'];

export interface JobCounters {
  extracted: number;
  transformed: number;
  loaded: number;
  failed: number;
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface JobStreamState extends Pick<JobCounters, 'extracted' | 'loaded' | 'failed'> {
  stream: string;
  partition: string | null;
  status: 'waiting' | 'queued' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled';
  pages: number;
  cursor: unknown;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

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

export interface StartJobInput {
  integrationId: string;
  streams?: string[];
  mode?: JobMode;
  window?: { from?: string; to?: string };
  requestedBy?: string;
}

export interface JobFilter {
  status?: JobStatus;
  integrationId?: string;
  connector?: string;
  limit?: number;
  offset?: number;
}
