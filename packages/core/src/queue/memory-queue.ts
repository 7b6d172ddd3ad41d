import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { describeError } from '../errors.js';
import { parseOptions } from '../options.js';
import {
  stages,
  type DeadLetter,
  type MessageHandler,
  type QueueAdapter,
  type QueueStats,
  type Stage,
  type Subscription,
} from './queue.js';

const optionsSchema = z.strictObject({
  /** Attempts before a message goes to dead letters. */
  maxAttempts: z.number().int().min(1).max(100).default(5),
  /** Delay before each retry; the last value repeats. */
  retryDelaysMs: z.array(z.number().int().min(0)).min(1).default([50, 250, 1000]),
  /** Default prefetch (messages in flight per consumer). */
  prefetch: z.number().int().min(1).max(10_000).default(8),
});
/** `memoryQueue`'s options: attempts, retry delays, prefetch. */
export type MemoryQueueOptions = z.input<typeof optionsSchema>;

interface Envelope {
  id: string;
  stage: Stage;
  body: unknown;
  attempt: number;
}

interface Consumer {
  handler: MessageHandler;
  prefetch: number;
  inFlight: number;
  cancelled: boolean;
  idle: Set<() => void>;
}

interface StageState {
  ready: Envelope[];
  consumers: Consumer[];
  next: number;
  unacked: number;
  retrying: number;
  published: number;
  acked: number;
}

/**
 * The embedded queue: same semantics as the RabbitMQ adapter (acks, retries with delay, dead letters,
 * prefetch), kept in this process's memory. Messages do not survive a restart; raw rows and
 * checkpoints in the database do, and the engine re-publishes what was not finished.
 *
 * @example
 * const engine = await createEngine({ db, queue: memoryQueue({ maxAttempts: 3 }), connectors });
 */
export function memoryQueue(options: MemoryQueueOptions = {}): QueueAdapter {
  const opts = parseOptions('core', 'memoryQueue', optionsSchema, options);
  const state = new Map<Stage, StageState>(
    stages.map((s) => [
      s,
      { ready: [], consumers: [], next: 0, unacked: 0, retrying: 0, published: 0, acked: 0 },
    ]),
  );
  const dead = new Map<string, DeadLetter>();
  const timers = new Set<NodeJS.Timeout>();
  const rateSamples = new Map<Stage, { at: number; published: number; acked: number }>();
  let closed = false;

  const enqueue = (envelope: Envelope) => {
    state.get(envelope.stage)!.ready.push(envelope);
    pump(envelope.stage);
  };

  const pump = (stage: Stage) => {
    const s = state.get(stage)!;
    while (s.ready.length > 0) {
      const available = s.consumers.filter((c) => !c.cancelled && c.inFlight < c.prefetch);
      if (available.length === 0) return;
      const consumer = available[s.next++ % available.length]!;
      const envelope = s.ready.shift()!;
      deliver(s, consumer, envelope);
    }
  };

  const deliver = (s: StageState, consumer: Consumer, envelope: Envelope) => {
    consumer.inFlight++;
    s.unacked++;
    const message = {
      id: envelope.id,
      stage: envelope.stage,
      body: structuredClone(envelope.body),
      attempt: envelope.attempt,
      final: envelope.attempt >= opts.maxAttempts,
    };
    // Handlers run on a later tick, like a network delivery, so publishers never re-enter themselves.
    setImmediate(() => {
      consumer
        .handler(message)
        .then(
          () => {
            s.acked++;
          },
          (error: unknown) => {
            if (envelope.attempt >= opts.maxAttempts) {
              dead.set(envelope.id, {
                id: envelope.id,
                stage: envelope.stage,
                body: envelope.body,
                error: describeError(error),
                attempts: envelope.attempt,
                deadAt: new Date().toISOString(),
              });
              return;
            }
            const delays = opts.retryDelaysMs;
            const delay = delays[Math.min(envelope.attempt - 1, delays.length - 1)]!;
            s.retrying++;
            const timer = setTimeout(() => {
              timers.delete(timer);
              s.retrying--;
              enqueue({ ...envelope, attempt: envelope.attempt + 1 });
            }, delay);
            timers.add(timer);
          },
        )
        .finally(() => {
          consumer.inFlight--;
          s.unacked--;
          if (consumer.inFlight === 0) for (const resolve of consumer.idle) resolve();
          pump(envelope.stage);
        });
    });
  };

  return {
    name: 'memory',
    capabilities: { durableRedelivery: false, deadLetters: true, stats: true },
    async publish(stage, bodies) {
      if (closed) throw new Error('queue is closed');
      const s = state.get(stage)!;
      for (const body of bodies) {
        s.published++;
        // Bodies are copied once per delivery (below), as a broker would deserialize them.
        enqueue({ id: randomUUID(), stage, body, attempt: 1 });
      }
    },
    async consume(stage, handler, consumeOptions): Promise<Subscription> {
      const consumer: Consumer = {
        handler,
        prefetch: consumeOptions?.prefetch ?? opts.prefetch,
        inFlight: 0,
        cancelled: false,
        idle: new Set(),
      };
      const s = state.get(stage)!;
      s.consumers.push(consumer);
      pump(stage);
      return {
        async cancel() {
          consumer.cancelled = true;
          s.consumers = s.consumers.filter((c) => c !== consumer);
          if (consumer.inFlight > 0) await new Promise<void>((resolve) => consumer.idle.add(resolve));
        },
      };
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all(
        [...state.values()].flatMap((s) =>
          s.consumers.map(async (c) => {
            c.cancelled = true;
            if (c.inFlight > 0) await new Promise<void>((resolve) => c.idle.add(resolve));
          }),
        ),
      );
    },
    async stats(): Promise<QueueStats[]> {
      const now = Date.now();
      return stages.map((stage) => {
        const s = state.get(stage)!;
        // Rates over the interval since the previous stats() call (at least one second apart).
        const prev = rateSamples.get(stage);
        if (!prev || now - prev.at >= 1000)
          rateSamples.set(stage, { at: now, published: s.published, acked: s.acked });
        const seconds = prev ? Math.max((now - prev.at) / 1000, 0.001) : 0;
        return {
          stage,
          depth: s.ready.length,
          unacked: s.unacked,
          consumers: s.consumers.length,
          retrying: s.retrying,
          deadLetters: [...dead.values()].filter((d) => d.stage === stage).length,
          publishRate: prev ? Math.round((s.published - prev.published) / seconds) : undefined,
          ackRate: prev ? Math.round((s.acked - prev.acked) / seconds) : undefined,
        };
      });
    },
    deadLetters: {
      async list(listOptions) {
        return [...dead.values()]
          .filter((d) => !listOptions?.stage || d.stage === listOptions.stage)
          .slice(0, listOptions?.limit ?? 100)
          .map((d) => structuredClone(d));
      },
      async replay(id) {
        const letter = dead.get(id);
        if (!letter) return false;
        dead.delete(id);
        enqueue({ id: letter.id, stage: letter.stage, body: letter.body, attempt: 1 });
        return true;
      },
      async discard(id) {
        return dead.delete(id);
      },
    },
  };
}
