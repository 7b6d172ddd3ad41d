import { connect } from 'amqplib';
import { parseOptions } from '@etl/core';
import { connectError } from './connection.js';
import { rabbitmqOptionsSchema, type RabbitmqQueueOptions } from './options.js';
import { topologyFor } from './topology.js';

/**
 * Deletes every queue an adapter with these options declares (work, retry and dead-letter queues of
 * each stage), messages included. Meant for tests and for tearing down a deployment's prefix.
 * Returns how many messages the deleted queues held.
 *
 * @example
 * await deleteRabbitmqQueues({ url, prefix: 'test-1234', retryDelaysMs: [50, 100], maxAttempts: 3 });
 */
export async function deleteRabbitmqQueues(options: RabbitmqQueueOptions): Promise<number> {
  const opts = parseOptions('rabbitmq', 'deleteRabbitmqQueues', rabbitmqOptionsSchema, options);
  let model;
  try {
    model = await connect(opts.url, { timeout: opts.connectTimeoutMs });
  } catch (error) {
    throw connectError(error, opts.url, opts.connectTimeoutMs);
  }
  try {
    const channel = await model.createChannel();
    let messages = 0;
    const names = new Set(
      [...topologyFor(opts, 3).queues(), ...topologyFor(opts, 4).queues()].map((queue) => queue.name),
    );
    for (const name of names) messages += (await channel.deleteQueue(name)).messageCount;
    await channel.close();
    return messages;
  } finally {
    await model.close().catch(() => undefined);
  }
}
