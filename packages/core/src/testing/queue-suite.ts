import { afterEach, describe, expect, it } from 'vitest';
import type { QueueAdapter, QueueMessage } from '../queue/queue.js';
import { sleep } from '../sleep.js';
import { waitUntil as until } from './wait-until.js';

/** `testQueueAdapter`'s options: how to make (and clean up) the adapter. */
export interface QueueAdapterSuiteOptions {
  /** Makes a fresh adapter with its own queues; it must use `maxAttempts` and retry delays under a second. */
  create(): Promise<QueueAdapter> | QueueAdapter;
  maxAttempts: number;
  /** Called after each case with the adapter (already closed), to delete its queues. */
  cleanup?(queue: QueueAdapter): Promise<void>;
  /** Per-case timeout; brokers need more than memory. */
  timeoutMs?: number;
}

/**
 * The contract every QueueAdapter passes: delivery, acks, retries, dead letters, prefetch, competing consumers.
 *
 * @example
 * testQueueAdapter({ create: () => rabbitmqQueue({ url, prefix: `t${Date.now()}`, maxAttempts: 3 }), maxAttempts: 3 });
 */
export function testQueueAdapter(options: QueueAdapterSuiteOptions): void {
  const timeout = options.timeoutMs ?? 20_000;
  let open: QueueAdapter[] = [];
  /**
   * Waits until nothing of `stage` is waiting, in flight or due for a retry (by the adapter's stats; an adapter
   * without stats is taken as settled once the awaited deliveries arrived).
   */
  const settled = async (queue: QueueAdapter, stage: QueueMessage['stage']) => {
    if (!queue.stats) return;
    const stats = queue.stats.bind(queue);
    await until(
      async () => {
        const s = (await stats()).find((x) => x.stage === stage)!;
        return s.depth === 0 && s.unacked === 0 && s.retrying === 0;
      },
      timeout,
      `the ${stage} queue to settle`,
    );
  };
  const make = async () => {
    const queue = await options.create();
    await queue.start?.();
    open.push(queue);
    return queue;
  };

  describe('QueueAdapter conformance', () => {
    afterEach(async () => {
      for (const queue of open) {
        await queue.close();
        await options.cleanup?.(queue);
      }
      open = [];
    });

    it('declares its capabilities, and offers what it declares', async () => {
      const queue = await make();
      const { capabilities } = queue;
      expect(typeof capabilities?.durableRedelivery, 'capabilities.durableRedelivery').toBe('boolean');
      expect(capabilities.deadLetters, 'capabilities.deadLetters matches queue.deadLetters').toBe(
        queue.deadLetters !== undefined,
      );
      expect(capabilities.stats, 'capabilities.stats matches queue.stats').toBe(
        typeof queue.stats === 'function',
      );
    });

    it(
      'delivers every published body exactly once, as JSON, with ids and attempt 1',
      { timeout },
      async () => {
        const queue = await make();
        const seen: QueueMessage[] = [];
        await queue.consume('transform', async (m) => void seen.push(m));
        const bodies = Array.from({ length: 500 }, (_, i) => ({ n: i, nested: { tags: ['a', String(i)] } }));
        await queue.publish('transform', bodies);
        await until(() => seen.length >= 500, timeout, '500 deliveries');
        await settled(queue, 'transform');
        expect(seen).toHaveLength(500);
        expect(new Set(seen.map((m) => (m.body as { n: number }).n)).size).toBe(500);
        expect(new Set(seen.map((m) => m.id)).size).toBe(500);
        expect(seen.every((m) => m.attempt === 1 && m.stage === 'transform')).toBe(true);
        expect(seen.find((m) => (m.body as { n: number }).n === 7)!.body).toEqual(bodies[7]);
      },
    );

    it('keeps stages apart', { timeout }, async () => {
      const queue = await make();
      const got: string[] = [];
      await queue.consume('load', async (m) => void got.push(`load:${(m.body as { v: string }).v}`));
      await queue.consume('extract', async (m) => void got.push(`extract:${(m.body as { v: string }).v}`));
      await queue.publish('load', [{ v: 'a' }]);
      await queue.publish('extract', [{ v: 'b' }]);
      await until(() => got.length >= 2, timeout, 'two deliveries');
      expect(got.sort()).toEqual(['extract:b', 'load:a']);
    });

    it(
      'retries a failing handler with the same id and a growing attempt, then succeeds',
      { timeout },
      async () => {
        const queue = await make();
        const attempts: QueueMessage[] = [];
        await queue.consume('transform', async (m) => {
          attempts.push(m);
          if (m.attempt < 2) throw new Error('transient');
        });
        await queue.publish('transform', [{ x: 1 }]);
        await until(() => attempts.length >= 2, timeout, 'a retry');
        await settled(queue, 'transform');
        expect(attempts.map((m) => m.attempt)).toEqual([1, 2]);
        expect(attempts[0]!.id).toBe(attempts[1]!.id);
        expect(attempts[0]!.final).toBe(options.maxAttempts === 1);
        const stats = await queue.stats?.();
        if (stats) expect(stats.find((s) => s.stage === 'transform')!.deadLetters).toBe(0);
      },
    );

    it(
      'dead-letters after maxAttempts with the last error; replay and discard work',
      { timeout },
      async () => {
        const queue = await make();
        expect(queue.deadLetters, 'adapter offers dead letters').toBeDefined();
        const attempts: QueueMessage[] = [];
        let poison = true;
        const done: unknown[] = [];
        await queue.consume('load', async (m) => {
          attempts.push(m);
          if (poison) throw new Error(`bad record at attempt ${m.attempt}`);
          done.push(m.body);
        });
        await queue.publish('load', [{ poison: 1 }, { poison: 2 }]);
        await until(
          async () => (await queue.deadLetters!.list({ stage: 'load' })).length >= 2,
          timeout,
          'two dead letters',
        );
        expect(attempts).toHaveLength(2 * options.maxAttempts);
        expect(attempts.filter((m) => m.final)).toHaveLength(2);
        const letters = await queue.deadLetters!.list({ stage: 'load' });
        expect(letters.map((l) => l.attempts)).toEqual([options.maxAttempts, options.maxAttempts]);
        expect(letters[0]!.error).toContain(`bad record at attempt ${options.maxAttempts}`);
        const stats = await queue.stats?.();
        if (stats) expect(stats.find((s) => s.stage === 'load')!.deadLetters).toBe(2);

        poison = false;
        const first = letters.find((l) => (l.body as { poison: number }).poison === 1)!;
        const second = letters.find((l) => (l.body as { poison: number }).poison === 2)!;
        expect(await queue.deadLetters!.replay(first.id)).toBe(true);
        await until(() => done.length >= 1, timeout, 'the replayed message');
        expect(done).toEqual([{ poison: 1 }]);
        expect(attempts.at(-1)!.attempt).toBe(1);
        expect(await queue.deadLetters!.discard(second.id)).toBe(true);
        expect(await queue.deadLetters!.discard(second.id)).toBe(false);
        expect(await queue.deadLetters!.replay('no-such-id')).toBe(false);
        expect(await queue.deadLetters!.list({ stage: 'load' })).toEqual([]);
      },
    );

    it('bounds handlers in flight by prefetch', { timeout }, async () => {
      const queue = await make();
      let inFlight = 0;
      let peak = 0;
      let handled = 0;
      await queue.consume(
        'extract',
        async () => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await sleep(20);
          inFlight--;
          handled++;
        },
        { prefetch: 3 },
      );
      await queue.publish(
        'extract',
        Array.from({ length: 30 }, (_, i) => ({ i })),
      );
      await until(() => handled >= 30, timeout, '30 handled');
      expect(peak).toBeLessThanOrEqual(3);
      expect(peak).toBeGreaterThan(1);
    });

    it('shares one stage between competing consumers, each message once', { timeout }, async () => {
      const queue = await make();
      const a: number[] = [];
      const b: number[] = [];
      const slow = (into: number[]) => async (m: QueueMessage) => {
        await sleep(5);
        into.push((m.body as { i: number }).i);
      };
      await queue.consume('transform', slow(a), { prefetch: 2 });
      await queue.consume('transform', slow(b), { prefetch: 2 });
      await queue.publish(
        'transform',
        Array.from({ length: 200 }, (_, i) => ({ i })),
      );
      await until(() => a.length + b.length >= 200, timeout, '200 handled');
      await settled(queue, 'transform');
      expect(a.length + b.length).toBe(200);
      expect(new Set([...a, ...b]).size).toBe(200);
      expect(a.length).toBeGreaterThan(0);
      expect(b.length).toBeGreaterThan(0);
    });

    it('cancel waits for in-flight handlers and stops new deliveries', { timeout }, async () => {
      const queue = await make();
      let finished = 0;
      let started = 0;
      const sub = await queue.consume(
        'load',
        async () => {
          started++;
          await sleep(200);
          finished++;
        },
        { prefetch: 2 },
      );
      await queue.publish(
        'load',
        Array.from({ length: 10 }, (_, i) => ({ i })),
      );
      await until(() => started >= 2, timeout, 'two started');
      await sub.cancel();
      expect(finished).toBe(started);
      const afterCancel = started;
      const stats = queue.stats?.bind(queue);
      if (stats) {
        // What was not started is back on the queue, and stays there: no consumer is left.
        await until(
          async () => (await stats()).find((s) => s.stage === 'load')!.depth === 10 - afterCancel,
          timeout,
          'the messages not started to wait on the queue',
        );
      }
      expect(started).toBe(afterCancel);
    });

    it('a message whose handler never acked is delivered to the next consumer', { timeout }, async () => {
      const queue = await make();
      let firstTook = 0;
      const sub = await queue.consume(
        'extract',
        async () => {
          firstTook++;
          throw new Error('crash before ack');
        },
        { prefetch: 1 },
      );
      await queue.publish('extract', [{ only: true }]);
      await until(() => firstTook >= 1, timeout, 'first delivery');
      await sub.cancel();
      const second: QueueMessage[] = [];
      await queue.consume('extract', async (m) => void second.push(m));
      await until(() => second.length >= 1, timeout, 'redelivery');
      expect(second[0]!.body).toEqual({ only: true });
      expect(second[0]!.attempt).toBeGreaterThanOrEqual(2);
    });
  });
}
