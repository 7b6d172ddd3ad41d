import type { JobCounters, JobStatus } from './jobs.js';

/** Typed progress events. Persisted with a growing id, so subscribers (SSE) can resume after a gap. */
export type EngineEventPayload =
  | { type: 'job.status'; jobId: string; status: JobStatus; error?: string }
  /** A process took over a job whose owner's lease had expired (the owner died), or that had no owner. */
  | { type: 'job.adopted'; jobId: string; owner: string; previousOwner: string | null }
  | { type: 'job.progress'; jobId: string; counters: JobCounters }
  | {
      type: 'stream.progress';
      jobId: string;
      stream: string;
      partition: string | null;
      extracted: number;
      loaded: number;
      pages: number;
      /** Requests this stream (partition) sent so far in this run. */
      requests?: number;
      done: boolean;
      recordsPerSecond: number;
    }
  | {
      /** A request the source answered with a non-2xx status (URL without credentials or query values). */
      type: 'source.request';
      jobId: string;
      stream: string;
      partition: string | null;
      method: string;
      url: string;
      status: number;
    }
  | { type: 'throttled'; jobId: string | null; integrationId: string; until: string; reason: string }
  | { type: 'error'; jobId: string; stage: string; stream?: string; message: string }
  | { type: 'dead_letter'; jobId: string | null; stage: string; messageId: string; error: string };

/** An event as stored and delivered: its payload with an id and a time. */
export type EngineEvent = EngineEventPayload & { id: number; at: string };

/** Receives engine events. */
export type EventListener = (event: EngineEvent) => void;

/** Engine events: subscribe live, or read those after an id. */
export interface EventSource {
  /** Listens to events as they happen (from this process and, by polling the database, from others). */
  subscribe(listener: EventListener, filter?: { jobId?: string }): () => void;
  /** Events after `afterId`, oldest first: what a reconnecting subscriber missed. */
  since(afterId: number, filter?: { jobId?: string; limit?: number }): Promise<EngineEvent[]>;
}
