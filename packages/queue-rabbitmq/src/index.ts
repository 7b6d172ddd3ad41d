export { rabbitmqQueue, type RabbitmqQueue } from './rabbitmq-queue.js';
export { deleteRabbitmqQueues } from './delete-queues.js';
export type { RabbitmqQueueOptions } from './options.js';
export type { ConnectionEvent } from './connection.js';
