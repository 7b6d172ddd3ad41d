import type { Entity } from '../model/canonical.js';

/** Messages between stages carry ids (and, to the load stage, small batches of entities), never payloads. */
export interface ExtractTask {
  jobId: string;
  stream: string;
  partition: string | null;
}
export interface TransformTask {
  jobId: string;
  stream: string;
  partition: string | null;
  rawIds: string[];
}
export interface LoadTask extends TransformTask {
  entities: Entity[];
}
