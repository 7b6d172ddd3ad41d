import type { DbClient } from '../db/db.js';
import type { Entity } from '../model/canonical.js';

/** Rows a load inserted, updated and left unchanged. */
export interface LoadCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

/** The integration, job and open transaction a load runs in. */
export interface LoadContext {
  integrationId: string;
  jobId: string;
  /** The transaction in which the engine also marks the raw rows loaded. */
  tx: DbClient;
}

/** Makes canonical entities durable, idempotently: loading the same entities twice changes nothing. */
export interface Loader {
  readonly name: string;
  /** Creates its tables; called once by the engine after core's migrations. */
  migrate?(): Promise<void>;
  load(entities: Entity[], ctx: LoadContext): Promise<LoadCounts>;
}

export function addCounts(a: LoadCounts, b: LoadCounts): LoadCounts {
  return {
    inserted: a.inserted + b.inserted,
    updated: a.updated + b.updated,
    unchanged: a.unchanged + b.unchanged,
  };
}
export const zeroCounts = (): LoadCounts => ({ inserted: 0, updated: 0, unchanged: 0 });
