// The shapes the JSON API returns (mirrors @etl/core's public types; the bundle does not import core).

export type JobStatus = 'queued' | 'running' | 'paused' | 'succeeded' | 'partial' | 'failed' | 'cancelled';
export const jobStatuses: JobStatus[] = [
  'queued',
  'running',
  'paused',
  'succeeded',
  'partial',
  'failed',
  'cancelled',
];
export const finishedStatuses: JobStatus[] = ['succeeded', 'partial', 'failed', 'cancelled'];
export type Stage = 'extract' | 'transform' | 'load';

export interface JobCounters {
  extracted: number;
  transformed: number;
  loaded: number;
  failed: number;
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface StreamState {
  stream: string;
  partition: string | null;
  status: string;
  extracted: number;
  loaded: number;
  failed: number;
  pages: number;
  error: string | null;
}

export interface Job {
  id: string;
  integrationId: string;
  connector: string;
  streams: string[];
  mode: string;
  window: { from?: string; to?: string } | null;
  status: JobStatus;
  counters: JobCounters;
  errors: { at: string; stage: string; stream?: string; message: string }[];
  requestedBy: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  streamStates?: StreamState[];
}

export interface Integration {
  id: string;
  connector: string;
  name: string;
  config: Record<string, unknown>;
  scheduleSeconds: number | null;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ConnectorInfo {
  name: string;
  streams: { name: string; dependsOn: string[] }[];
  secretFields: string[];
  canTest: boolean;
  configSchema: JsonSchema | null;
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  items?: JsonSchema;
}

export interface QueueStats {
  stage: Stage;
  depth: number;
  unacked: number;
  consumers: number;
  retrying: number;
  deadLetters: number;
  publishRate?: number;
  ackRate?: number;
}

export interface DeadLetter {
  id: string;
  stage: Stage;
  body: unknown;
  error: string;
  attempts: number;
  deadAt: string;
}

export interface RawRow {
  id: string;
  jobId: string;
  integrationId: string;
  stream: string;
  partition: string | null;
  sourceId: string;
  status: string;
  error: string | null;
  extractedAt: string;
  payload?: unknown;
}

export interface Mappings {
  workItemTypes: { rawType: string; type: string; level: number }[];
  statuses: { rawStatus: string; category: string; workflowStep?: string }[];
  workflows: { name: string; steps: string[] }[];
}

export interface ReplayResult {
  dryRun: boolean;
  records: number;
  counts: { inserted: number; updated: number; unchanged: number };
  job?: Job;
}

export type EngineEvent = { id: number; at: string } & (
  | { type: 'job.status'; jobId: string; status: JobStatus; error?: string }
  | { type: 'job.progress'; jobId: string; counters: JobCounters }
  | {
      type: 'stream.progress';
      jobId: string;
      stream: string;
      partition: string | null;
      extracted: number;
      loaded: number;
      pages: number;
      done: boolean;
      recordsPerSecond: number;
    }
  | { type: 'throttled'; jobId: string | null; integrationId: string; until: string; reason: string }
  | { type: 'error'; jobId: string; stage: string; stream?: string; message: string }
  | { type: 'dead_letter'; jobId: string | null; stage: string; messageId: string; error: string }
);
