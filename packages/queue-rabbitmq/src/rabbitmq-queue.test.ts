// @etl-test-services rabbitmq
import { randomBytes } from 'node:crypto';
import { testQueueAdapter } from '@etl/core/testing';
import { describe } from 'vitest';
import { deleteRabbitmqQueues } from './delete-queues.js';
import { rabbitmqQueue } from './rabbitmq-queue.js';

const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const prefixes = new WeakMap<object, string>();

for (const queueType of ['quorum', 'classic'] as const) {
  const settings = { url, queueType, maxAttempts: 3, retryDelaysMs: [50, 100], connectTimeoutMs: 5_000 };
  describe(`${queueType} queues`, () => {
    testQueueAdapter({
      create() {
        const prefix = `etl-test-${queueType}-${randomBytes(4).toString('hex')}`;
        const queue = rabbitmqQueue({ ...settings, prefix });
        prefixes.set(queue, prefix);
        return queue;
      },
      maxAttempts: settings.maxAttempts,
      timeoutMs: 20_000,
      async cleanup(queue) {
        await deleteRabbitmqQueues({ ...settings, prefix: prefixes.get(queue)! });
      },
    });
  });
}
