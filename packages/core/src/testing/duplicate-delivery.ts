import type { QueueAdapter } from '../queue/queue.js';

/**
 * Wraps a queue so that every message is handled twice (the second time after the first finished), as a
 * broker does when an ack is lost. The engine's effect must be the same as with single delivery.
 */
export function withDuplicateDelivery(queue: QueueAdapter): QueueAdapter {
  return {
    ...queue,
    name: queue.name,
    publish: (stage, bodies) => queue.publish(stage, bodies),
    consume: (stage, handler, options) =>
      queue.consume(
        stage,
        async (message) => {
          await handler(message);
          await handler(structuredClone(message));
        },
        options,
      ),
    close: () => queue.close(),
  };
}
