import { EtlError } from '../errors.js';
import type { DeadLetterStore, QueueAdapter } from '../queue/queue.js';
import type { Engine } from './engine-types.js';

function deadLetterStore(queue: QueueAdapter): DeadLetterStore {
  if (!queue.capabilities.deadLetters || !queue.deadLetters)
    throw new EtlError('unsupported', `queue ${queue.name} does not keep dead letters`);
  return queue.deadLetters;
}

/** `engine.deadLetters`: what the queue declares it keeps, inspected, replayed or discarded. */
export function deadLettersApi(queue: QueueAdapter): Engine['deadLetters'] {
  return {
    async list(options) {
      return deadLetterStore(queue).list(options);
    },
    async replay(id) {
      if (!(await deadLetterStore(queue).replay(id)))
        throw new EtlError('not_found', `dead letter ${id} does not exist`);
    },
    async discard(id) {
      if (!(await deadLetterStore(queue).discard(id)))
        throw new EtlError('not_found', `dead letter ${id} does not exist`);
    },
  };
}

/** `engine.queues`: depth, consumers, retries and dead letters per stage, when the queue declares stats. */
export function queuesApi(queue: QueueAdapter): Engine['queues'] {
  return {
    async stats() {
      if (!queue.capabilities.stats || !queue.stats)
        throw new EtlError('unsupported', `queue ${queue.name} does not report stats`);
      return queue.stats();
    },
  };
}
