/** The three stages; each has a work queue, a retry path and a dead-letter queue. */
export const stages = ['extract', 'transform', 'load'] as const;
/** One of `stages`. */
export type Stage = (typeof stages)[number];

/** One delivery of a message to a handler. */
export interface QueueMessage<T = unknown> {
  /** Stable across redeliveries and retries. */
  id: string;
  stage: Stage;
  body: T;
  /** 1 on the first delivery, growing with each retry. */
  attempt: number;
  /** True when the adapter will dead-letter the message if this attempt fails. */
  final: boolean;
  /**
   * Aborted when the adapter can no longer acknowledge this delivery (its channel or connection closed): the
   * broker hands the message to another consumer, so a long handler should stop instead of running on.
   */
  signal?: AbortSignal;
}

/** Resolving acknowledges the message; throwing sends it to retry, and after the last attempt to dead letters. */
export type MessageHandler<T = unknown> = (message: QueueMessage<T>) => Promise<void>;

/** A running consumer of one stage. */
export interface Subscription {
  /** Stops taking new messages and waits for in-flight handlers. */
  cancel(): Promise<void>;
}

/** A stage's queue figures. */
export interface QueueStats {
  stage: Stage;
  depth: number;
  unacked: number;
  consumers: number;
  /** Messages waiting for a delayed retry. */
  retrying: number;
  deadLetters: number;
  publishRate?: number;
  ackRate?: number;
}

/** A message that failed its last attempt, with its error. */
export interface DeadLetter {
  id: string;
  stage: Stage;
  body: unknown;
  error: string;
  attempts: number;
  deadAt: string;
}

/** Dead letters a queue keeps: list, replay, discard. */
export interface DeadLetterStore {
  list(options?: { stage?: Stage; limit?: number }): Promise<DeadLetter[]>;
  /** Puts the message back on its work queue with a fresh attempt count. False when the id is unknown. */
  replay(id: string): Promise<boolean>;
  /** Drops it for good. False when the id is unknown. */
  discard(id: string): Promise<boolean>;
}

/**
 * What a queue adapter can do beyond publish and consume, declared rather than guessed from its name: the
 * engine decides restart recovery, dead-letter and stats support from these flags.
 */
export interface QueueCapabilities {
  /**
   * Messages published and not yet acknowledged outlive this process (a broker keeps them). When false (the
   * in-memory queue), the engine re-publishes what unfinished jobs still need from PostgreSQL when its workers
   * start.
   */
  durableRedelivery: boolean;
  /** Keeps dead letters that can be listed, replayed and discarded (`deadLetters`). */
  deadLetters: boolean;
  /** Reports depth, consumers, retries and dead letters per stage (`stats()`). */
  stats: boolean;
}

/**
 * What the engine needs from a queue: publish durably, consume with acks, and a declaration of what else it
 * can do (`capabilities`); the rest is optional.
 * Implementations pass `testQueueAdapter` from `@etl/core/testing`.
 */
export interface QueueAdapter {
  readonly name: string;
  readonly capabilities: QueueCapabilities;
  /** Resolves once every message is durable (broker confirm, or in memory for the embedded queue). */
  publish(stage: Stage, bodies: unknown[]): Promise<void>;
  consume(stage: Stage, handler: MessageHandler, options?: { prefetch?: number }): Promise<Subscription>;
  /** Drains consumers and closes connections the adapter opened. */
  close(): Promise<void>;
  /** Declares topology / connects; called by the engine before use. */
  start?(): Promise<void>;
  stats?(): Promise<QueueStats[]>;
  deadLetters?: DeadLetterStore;
}
