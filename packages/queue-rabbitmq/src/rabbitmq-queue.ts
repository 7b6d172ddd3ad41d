import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage, GetMessage } from 'amqplib';
import {
  describeError,
  EtlError,
  parseOptions,
  stages,
  type DeadLetter,
  type DeadLetterStore,
  type MessageHandler,
  type QueueAdapter,
  type QueueMessage,
  type QueueStats,
  type Stage,
  type Subscription,
} from '@etl/core';
import { BrokerConnection, type ConnectionEvent, type Session } from './connection.js';
import { decodeDeadLetter, headers } from './dead-letter-decode.js';
import { managementClient } from './management.js';
import { rabbitmqOptionsSchema, type RabbitmqQueueOptions } from './options.js';
import { publishConfirmed, type OutgoingMessage } from './publisher.js';
import { RateMeter } from './rate-meter.js';
import { declareTopology, topologyFor, type Topology } from './topology.js';

/** The adapter plus what only RabbitMQ offers: its queue names and connection events. */
export interface RabbitmqQueue extends QueueAdapter {
  readonly name: 'rabbitmq';
  readonly deadLetters: DeadLetterStore;
  start(): Promise<void>;
  stats(): Promise<QueueStats[]>;
  /** Queue names of this deployment (work, retry and dead-letter queues of every stage). */
  queueNames(): string[];
  /** Listens to connection losses and recoveries; returns an unsubscribe function. */
  onConnectionEvent(listener: (event: ConnectionEvent) => void): () => void;
}

interface ActiveSubscription {
  stage: Stage;
  handler: MessageHandler;
  prefetch: number;
  cancelled: boolean;
  inFlight: number;
  idle: Set<() => void>;
  channel?: Channel;
  consumerTag?: string;
  generation?: number;
  attaching?: Promise<void>;
}

const ERROR_HEADER_LIMIT = 4_000;

/**
 * The production queue: durable quorum (or classic) queues per stage, publisher confirms, manual
 * acks, delayed retries through TTL queues, a dead-letter queue per stage, and reconnection with
 * backoff that redeclares the topology and resumes consumers.
 *
 * @example
 * const queue = rabbitmqQueue({ url: 'amqp://etl:secret@rabbit:5672', prefix: 'acme', maxAttempts: 5 });
 * const engine = await createEngine({ db, queue, connectors });
 */
export function rabbitmqQueue(options: RabbitmqQueueOptions): RabbitmqQueue {
  const opts = parseOptions('rabbitmq', 'rabbitmqQueue', rabbitmqOptionsSchema, options);

  let topology: Topology = topologyFor(opts);
  const subscriptions = new Set<ActiveSubscription>();
  const publishing = new Set<Promise<unknown>>();
  const published = new Map(stages.map((s) => [s, new RateMeter()]));
  const acked = new Map(stages.map((s) => [s, new RateMeter()]));
  const listeners = new Set<(event: ConnectionEvent) => void>();
  const management = opts.managementUrl ? managementClient(opts.managementUrl, opts.url) : undefined;
  let closing = false;
  let adminLock: Promise<unknown> = Promise.resolve();

  const connection = new BrokerConnection({
    url: opts.url,
    connectionName: opts.connectionName ?? `etl ${opts.prefix}`,
    connectTimeoutMs: opts.connectTimeoutMs,
    heartbeatSeconds: opts.heartbeatSeconds,
    reconnectInitialDelayMs: opts.reconnectInitialDelayMs,
    reconnectMaxDelayMs: opts.reconnectMaxDelayMs,
    async setup(session) {
      const version = String(session.model.connection.serverProperties.version ?? '3');
      topology = topologyFor(opts, Number.parseInt(version, 10) || 3);
      const channel = await session.model.createChannel();
      channel.on('error', () => undefined);
      try {
        await declareTopology(channel, topology);
      } finally {
        await channel.close().catch(() => undefined);
      }
      for (const sub of subscriptions) if (!sub.cancelled) await attach(sub, session);
    },
    onEvent(event) {
      for (const listener of listeners) listener(event);
    },
  });

  const track = <T>(promise: Promise<T>): Promise<T> => {
    publishing.add(promise);
    void promise.then(
      () => publishing.delete(promise),
      () => publishing.delete(promise),
    );
    return promise;
  };

  const attach = (sub: ActiveSubscription, session: Session): Promise<void> => {
    if (sub.generation === session.generation) return sub.attaching ?? Promise.resolve();
    sub.generation = session.generation;
    sub.attaching = (async () => {
      const channel = await session.model.createChannel();
      channel.on('error', (error: Error) => {
        closeCauses.set(channel, error.message);
      });
      channel.on('close', () => {
        // Deliveries of a closed channel can no longer be acked; the broker requeues them for another consumer,
        // so their handlers are told to stop (a consumer timeout closes the channel alone, a loss all of them).
        const deliveries = inFlightOn.get(channel);
        inFlightOn.delete(channel);
        if (deliveries && deliveries.size > 0) {
          const cause = closeCauses.get(channel) ?? (session.alive ? 'channel closed' : 'connection lost');
          const reason = new EtlError(
            'queue_error',
            `the ${sub.stage} channel closed (${cause}); ${deliveries.size} deliveries will be redelivered`,
            { plugin: 'rabbitmq' },
          );
          for (const delivery of deliveries) delivery.abort(reason);
        }
        // A channel-level failure on a live connection: take a fresh channel after a pause.
        if (sub.channel !== channel || sub.cancelled || closing || !session.alive) return;
        sub.generation = undefined;
        setTimeout(() => {
          if (!sub.cancelled && !closing && session.alive && sub.generation === undefined) {
            attach(sub, session).catch(() => void session.model.close().catch(() => undefined));
          }
        }, 500).unref();
      });
      await channel.prefetch(sub.prefetch);
      sub.channel = channel;
      const reply = await channel.consume(
        topology.work(sub.stage),
        (message) => onDelivery(sub, channel, session, message),
        { noAck: false },
      );
      sub.consumerTag = reply.consumerTag;
    })();
    return sub.attaching;
  };

  /** Abort controllers of the deliveries in flight on each consumer channel. */
  const inFlightOn = new WeakMap<Channel, Set<AbortController>>();
  const closeCauses = new WeakMap<Channel, string>();

  const onDelivery = (
    sub: ActiveSubscription,
    channel: Channel,
    session: Session,
    raw: ConsumeMessage | null,
  ) => {
    if (raw === null) {
      // The broker cancelled the consumer (queue deleted); closing the channel makes attach retry.
      void channel.close().catch(() => undefined);
      return;
    }
    if (sub.cancelled || closing) {
      safely(() => channel.nack(raw, false, true));
      return;
    }
    sub.inFlight++;
    void handleDelivery(sub, channel, session, raw).finally(() => {
      sub.inFlight--;
      if (sub.inFlight === 0) for (const wake of [...sub.idle]) wake();
    });
  };

  const handleDelivery = async (
    sub: ActiveSubscription,
    channel: Channel,
    session: Session,
    raw: ConsumeMessage,
  ) => {
    const h = (raw.properties.headers ?? {}) as Record<string, unknown>;
    const attempt = Math.max(1, Number(h[headers.attempt] ?? 1) || 1);
    const id = typeof raw.properties.messageId === 'string' ? raw.properties.messageId : randomUUID();
    let body: unknown;
    try {
      body = JSON.parse(raw.content.toString('utf8'));
    } catch (error) {
      await reroute(
        sub.stage,
        channel,
        session,
        raw,
        id,
        opts.maxAttempts,
        `message body is not JSON: ${describeError(error)}`,
      );
      return;
    }
    const delivery = new AbortController();
    let deliveries = inFlightOn.get(channel);
    if (!deliveries) inFlightOn.set(channel, (deliveries = new Set()));
    deliveries.add(delivery);
    const message: QueueMessage = {
      id,
      stage: sub.stage,
      body,
      attempt,
      final: attempt >= opts.maxAttempts,
      signal: delivery.signal,
    };
    try {
      await sub.handler(message);
    } catch (error) {
      // A delivery whose channel closed is the broker's again: neither a retry copy nor an ack.
      if (!delivery.signal.aborted)
        await reroute(sub.stage, channel, session, raw, id, attempt, describeError(error));
      return;
    } finally {
      deliveries.delete(delivery);
    }
    if (delivery.signal.aborted) return;
    if (safely(() => channel.ack(raw))) acked.get(sub.stage)!.add(1);
  };

  /** Failed attempt: to the delay queue for this attempt, or to dead letters after the last; then ack. */
  const reroute = async (
    stage: Stage,
    channel: Channel,
    session: Session,
    raw: ConsumeMessage,
    id: string,
    attempt: number,
    error: string,
  ) => {
    // The broker requeues deliveries of a lost connection by itself; a copy would be a duplicate.
    if (!session.alive) return;
    const final = attempt >= opts.maxAttempts;
    const text = error.slice(0, ERROR_HEADER_LIMIT);
    const outgoing: OutgoingMessage = {
      queue: final ? topology.dead(stage) : topology.retryFor(stage, attempt),
      content: raw.content,
      properties: {
        persistent: true,
        messageId: id,
        contentType: 'application/json',
        headers: final
          ? { [headers.attempt]: attempt, [headers.error]: text, [headers.deadAt]: new Date().toISOString() }
          : { [headers.attempt]: attempt + 1, [headers.lastError]: text },
      },
    };
    try {
      await track(
        publishConfirmed(connection, [outgoing], {
          deadline: Date.now() + opts.publishTimeoutMs,
          window: 1,
          what: final ? `dead-lettering ${id}` : `scheduling retry of ${id}`,
          session,
        }),
      );
    } catch {
      safely(() => channel.nack(raw, false, true));
      return;
    }
    if (safely(() => channel.ack(raw))) acked.get(stage)!.add(1);
  };

  /** Runs `fn` on a short-lived channel, one at a time (dead-letter browsing holds messages unacked). */
  const withAdminChannel = <T>(
    what: string,
    fn: (channel: Channel, session: Session) => Promise<T>,
  ): Promise<T> => {
    const run = adminLock.then(async () => {
      // Monitoring and dead-letter browsing answer within the connect budget rather than hang in an outage.
      const session = await connection.ready(Date.now() + opts.connectTimeoutMs, what);
      let channel: Channel;
      try {
        channel = await session.model.createChannel();
      } catch (error) {
        throw EtlError.wrap(error, 'queue_error', 'rabbitmq', what);
      }
      channel.on('error', () => undefined);
      try {
        return await fn(channel, session);
      } catch (error) {
        throw EtlError.wrap(error, 'queue_error', 'rabbitmq', what);
      } finally {
        await channel.close().catch(() => undefined);
      }
    });
    adminLock = run.catch(() => undefined);
    return run;
  };

  /** Takes every message of a dead-letter queue (unacked, so nothing is lost if we crash). */
  const drainDead = async (channel: Channel, stage: Stage, stopAt?: (held: GetMessage[]) => boolean) => {
    const held: GetMessage[] = [];
    for (;;) {
      if (stopAt?.(held)) break;
      const message = await channel.get(topology.dead(stage), { noAck: false });
      if (message === false) break;
      held.push(message);
    }
    return held;
  };

  const takeDeadLetter = async (id: string, action: 'replay' | 'discard'): Promise<boolean> =>
    withAdminChannel(`${action} dead letter ${id}`, async (channel, session) => {
      for (const stage of stages) {
        const held = await drainDead(channel, stage);
        const matches = held.filter((m) => m.properties.messageId === id);
        if (matches.length > 0) {
          if (action === 'replay') {
            const first = matches[0]!;
            await publishConfirmed(
              connection,
              [
                {
                  queue: topology.work(stage),
                  content: first.content,
                  properties: { persistent: true, messageId: id, contentType: 'application/json' },
                },
              ],
              { deadline: Date.now() + opts.publishTimeoutMs, window: 1, what: `replaying ${id}`, session },
            );
          }
          for (const message of matches) channel.ack(message);
        }
        channel.nackAll(true);
        if (matches.length > 0) return true;
      }
      return false;
    });

  const deadLetters: DeadLetterStore = {
    async list(listOptions) {
      const limit = listOptions?.limit ?? 100;
      return withAdminChannel('listing dead letters', async (channel) => {
        const letters: DeadLetter[] = [];
        const seen = new Set<string>();
        for (const stage of listOptions?.stage ? [listOptions.stage] : stages) {
          const held = await drainDead(channel, stage, () => letters.length >= limit);
          for (const message of held) {
            const letter = decodeDeadLetter(message, stage);
            if (seen.has(letter.id) || letters.length >= limit) continue;
            seen.add(letter.id);
            letters.push(letter);
          }
          channel.nackAll(true);
        }
        return letters;
      });
    },
    replay: (id) => takeDeadLetter(id, 'replay'),
    discard: (id) => takeDeadLetter(id, 'discard'),
  };

  const queue: RabbitmqQueue = {
    name: 'rabbitmq',
    capabilities: { durableRedelivery: true, deadLetters: true, stats: true },
    deadLetters,

    async start() {
      await connection.start();
    },

    async publish(stage, bodies) {
      if (closing) throw new EtlError('queue_error', 'publish after close', { plugin: 'rabbitmq' });
      if (bodies.length === 0) return;
      await connection.start();
      const target = topology.work(stage);
      const messages: OutgoingMessage[] = bodies.map((body) => ({
        queue: target,
        content: Buffer.from(JSON.stringify(body) ?? 'null'),
        properties: { persistent: true, messageId: randomUUID(), contentType: 'application/json' },
      }));
      await track(
        publishConfirmed(connection, messages, {
          deadline: Date.now() + opts.publishTimeoutMs,
          window: opts.confirmWindow,
          what: `publishing ${messages.length} messages to ${stage}`,
        }),
      );
      published.get(stage)!.add(messages.length);
    },

    async consume(stage, handler, consumeOptions): Promise<Subscription> {
      if (closing) throw new EtlError('queue_error', 'consume after close', { plugin: 'rabbitmq' });
      await connection.start();
      const prefetch = consumeOptions?.prefetch ?? opts.prefetch;
      if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 65_535) {
        throw new EtlError('invalid_input', `prefetch: must be an integer from 1 to 65535, got ${prefetch}`, {
          plugin: 'rabbitmq',
        });
      }
      const sub: ActiveSubscription = {
        stage,
        handler,
        prefetch,
        cancelled: false,
        inFlight: 0,
        idle: new Set(),
      };
      subscriptions.add(sub);
      const session = connection.current;
      if (session) {
        try {
          await attach(sub, session);
        } catch (error) {
          // A connection lost meanwhile resumes the consumer on reconnect; anything else is a real failure.
          if (session.alive) {
            subscriptions.delete(sub);
            throw EtlError.wrap(error, 'queue_error', 'rabbitmq', `consuming ${stage}`);
          }
        }
      }
      return {
        async cancel() {
          if (sub.cancelled) return;
          sub.cancelled = true;
          subscriptions.delete(sub);
          await stopSubscription(sub);
        },
      };
    },

    async close() {
      if (closing) return;
      closing = true;
      const subs = [...subscriptions];
      subscriptions.clear();
      for (const sub of subs) sub.cancelled = true;
      await Promise.all(subs.map(stopSubscription));
      await Promise.allSettled([...publishing]);
      await adminLock;
      await connection.close();
    },

    async stats() {
      const figures = await withAdminChannel('reading queue stats', async (channel) =>
        Promise.all(
          stages.map(async (stage) => {
            const work = await channel.checkQueue(topology.work(stage));
            const retryNames = [
              ...new Set(
                topology
                  .queues()
                  .filter((q) => q.stage === stage && q.role === 'retry')
                  .map((q) => q.name),
              ),
            ];
            let retrying = 0;
            for (const name of retryNames) retrying += (await channel.checkQueue(name)).messageCount;
            const dead = await channel.checkQueue(topology.dead(stage));
            return { stage, work, retrying, dead: dead.messageCount };
          }),
        ),
      );
      return Promise.all(
        figures.map(async ({ stage, work, retrying, dead }): Promise<QueueStats> => {
          const remote = await management?.queue(topology.work(stage));
          let localUnacked = 0;
          for (const sub of subscriptions) if (sub.stage === stage) localUnacked += sub.inFlight;
          return {
            stage,
            depth: work.messageCount,
            unacked: remote?.unacked ?? localUnacked,
            consumers: work.consumerCount,
            retrying,
            deadLetters: dead,
            publishRate: remote?.publishRate ?? published.get(stage)!.rate(),
            ackRate: remote?.ackRate ?? acked.get(stage)!.rate(),
          };
        }),
      );
    },

    queueNames() {
      return topology.queues().map((q) => q.name);
    },

    onConnectionEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return queue;
}

/** Cancels the consumer, waits for in-flight handlers, then closes the channel (requeueing leftovers). */
async function stopSubscription(sub: ActiveSubscription): Promise<void> {
  // A consumer being set up right now must be cancelled too, not left running.
  await sub.attaching?.catch(() => undefined);
  const channel = sub.channel;
  if (channel && sub.consumerTag) await channel.cancel(sub.consumerTag).catch(() => undefined);
  if (sub.inFlight > 0) await new Promise<void>((resolve) => sub.idle.add(resolve));
  if (channel) await channel.close().catch(() => undefined);
}

/** Acks and nacks on a closed channel throw; the broker has requeued those deliveries already. */
function safely(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}
