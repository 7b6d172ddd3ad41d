// The shapes the JSON API returns: @etl/core's public types (type-only imports; the bundle carries no core code).
import type {
  DeadLetter,
  EngineEvent,
  Integration,
  Job,
  JobCounters,
  JobStatus,
  JobStreamState,
  Mappings,
  QueueStats,
  RawRowSummary,
  ReplayResult,
  Stage,
} from '@etl/core';

export type {
  DeadLetter,
  EngineEvent,
  Integration,
  Job,
  JobCounters,
  JobStatus,
  Mappings,
  QueueStats,
  ReplayResult,
  Stage,
};
export type StreamState = Pick<
  JobStreamState,
  'stream' | 'partition' | 'status' | 'extracted' | 'loaded' | 'failed' | 'pages' | 'error'
>;
export type RawRow = RawRowSummary;

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
