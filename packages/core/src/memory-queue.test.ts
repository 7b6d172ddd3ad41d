import { describe, expect, it } from 'vitest';
import { memoryQueue } from './memory-queue.js';
import { testQueueAdapter } from './testing/queue-suite.js';

testQueueAdapter({ create: () => memoryQueue({ maxAttempts: 3, retryDelaysMs: [10, 20] }), maxAttempts: 3 });

describe('memoryQueue options', () => {
  it('names the offending option', () => {
    expect(() => memoryQueue({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => memoryQueue({ prefetch: 'x' } as never)).toThrow(
      /\[etl\] \[core\] invalid memoryQueue options — prefetch/,
    );
  });
});
