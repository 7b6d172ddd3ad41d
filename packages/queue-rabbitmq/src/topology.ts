import type { Channel } from 'amqplib';
import { EtlError, stages, type Stage } from '@etl/core';
import type { ResolvedOptions } from './options.js';

/** Queue names and arguments of one deployment (one prefix). */
export interface Topology {
  work(stage: Stage): string;
  dead(stage: Stage): string;
  /** The delay queue a message enters after failing `attempt` (1-based). */
  retryFor(stage: Stage, attempt: number): string;
  /** Every queue, with its declare arguments. */
  queues(): { name: string; stage: Stage; role: 'work' | 'retry' | 'dead'; args: Record<string, unknown> }[];
}

type TopologyOptions = Pick<
  ResolvedOptions,
  'prefix' | 'queueType' | 'retryDelaysMs' | 'maxAttempts' | 'deliveryLimit'
>;

export function topologyFor(options: TopologyOptions, serverMajorVersion = 3): Topology {
  const { prefix, queueType } = options;
  const work = (stage: Stage) => `${prefix}.${stage}`;
  const dead = (stage: Stage) => `${prefix}.${stage}.dead`;
  const retryName = (stage: Stage, delay: number) => `${prefix}.${stage}.retry.${delay}ms`;
  const delayFor = (attempt: number) =>
    options.retryDelaysMs[Math.min(attempt - 1, options.retryDelaysMs.length - 1)]!;
  // Only delays that some attempt can reach get a queue.
  const delays = [
    ...new Set(Array.from({ length: Math.max(0, options.maxAttempts - 1) }, (_, i) => delayFor(i + 1))),
  ];
  const quorum = queueType === 'quorum';

  return {
    work,
    dead,
    retryFor: (stage, attempt) => retryName(stage, delayFor(attempt)),
    queues() {
      return stages.flatMap((stage) => [
        {
          name: work(stage),
          stage,
          role: 'work' as const,
          args: {
            'x-queue-type': queueType,
            // Messages the broker gives up on (delivery limit) land with the ones we dead-letter.
            'x-dead-letter-exchange': '',
            'x-dead-letter-routing-key': dead(stage),
            ...(quorum ? { 'x-delivery-limit': options.deliveryLimit } : {}),
          },
        },
        ...delays.map((delay) => ({
          name: retryName(stage, delay),
          stage,
          role: 'retry' as const,
          args: {
            'x-queue-type': queueType,
            'x-message-ttl': delay,
            'x-dead-letter-exchange': '',
            'x-dead-letter-routing-key': work(stage),
            // Expired messages must not be dropped on their way back to the work queue.
            ...(quorum ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } : {}),
          },
        })),
        {
          name: dead(stage),
          stage,
          role: 'dead' as const,
          args: {
            'x-queue-type': queueType,
            // RabbitMQ 4 gives quorum queues a default delivery limit; browsing dead letters must not consume it.
            ...(quorum && serverMajorVersion >= 4 ? { 'x-delivery-limit': -1 } : {}),
          },
        },
      ]);
    },
  };
}

/** Declares every queue; idempotent. A queue that exists with other arguments gives a clear error. */
export async function declareTopology(channel: Channel, topology: Topology): Promise<void> {
  for (const queue of topology.queues()) {
    try {
      await channel.assertQueue(queue.name, { durable: true, arguments: queue.args });
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (text.includes('PRECONDITION_FAILED')) {
        throw new EtlError(
          'conflict',
          `queue ${queue.name} already exists with other arguments (${text}); delete it or use another prefix`,
          { plugin: 'rabbitmq', cause: error },
        );
      }
      throw EtlError.wrap(error, 'queue_error', 'rabbitmq', `declaring queue ${queue.name}`);
    }
  }
}
