import { describe, expect, it } from 'vitest';
import { memoryQueue } from './memory-queue.js';
import { testQueueAdapter } from '../testing/queue-suite.js';
import { sleep } from '../sleep.js';
import { waitUntil } from '../testing/wait-until.js';

testQueueAdapter({ create: () => memoryQueue({ maxAttempts: 3, retryDelaysMs: [10, 20] }), maxAttempts: 3 });

describe('memoryQueue options', () => {
  it('names the offending option', () => {
    expect(() => memoryQueue({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => memoryQueue({ prefetch: 'x' } as never)).toThrow(/^invalid memoryQueue options — prefetch/);
  });
});

describe('memoryQueue stats', () => {
  it('reports publish and ack rates between two calls', async () => {
    const queue = memoryQueue();
    let handled = 0;
    await queue.consume('load', async () => void handled++);
    expect((await queue.stats!())[2]!.publishRate).toBeUndefined();
    await queue.publish(
      'load',
      Array.from({ length: 50 }, (_, i) => ({ i })),
    );
    await waitUntil(
      async () => handled >= 50 && (await queue.stats!())[2]!.unacked === 0,
      10_000,
      '50 acknowledged',
    );
    // Rates are per second between two calls: some time has to pass between them.
    await sleep(20);
    const load = (await queue.stats!()).find((s) => s.stage === 'load')!;
    expect(load.publishRate).toBeGreaterThan(0);
    expect(load.ackRate).toBeGreaterThan(0);
    await queue.close();
  });
});
