// @etl-test-services rabbitmq
import { randomBytes } from 'node:crypto';
import type { QueueMessage } from '@etl/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConnectionEvent } from './connection.js';
import { deleteRabbitmqQueues } from './delete-queues.js';
import { rabbitmqQueue } from './rabbitmq-queue.js';
import { startRelay } from './tcp-relay.fixture.js';

const url = new URL(process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672');

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('rabbitmqQueue heartbeats', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('a silent connection is detected by heartbeats; the adapter reconnects and a pending publish completes', async () => {
    const relay = await startRelay(url.toString());
    cleanups.push(() => relay.close());
    const options = {
      url: relay.url,
      prefix: `etl-test-hb-${randomBytes(4).toString('hex')}`,
      heartbeatSeconds: 1,
      publishTimeoutMs: 20_000,
      reconnectInitialDelayMs: 100,
      maxAttempts: 2,
      retryDelaysMs: [50],
    };
    cleanups.push(() => deleteRabbitmqQueues({ ...options, url: url.toString() }));
    const queue = rabbitmqQueue(options);
    cleanups.push(() => queue.close());
    const events: (ConnectionEvent & { at: number })[] = [];
    queue.onConnectionEvent((event) => events.push({ ...event, at: Date.now() }));
    const seen: QueueMessage[] = [];
    await queue.consume('extract', async (m) => void seen.push(m));
    await queue.publish('extract', [{ n: 1 }]);
    await until(() => seen.length === 1, 10_000, 'the first message');
    // Let its ack reach the broker; an ack lost in the partition would (rightly) mean a redelivery.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const silencedAt = Date.now();
    relay.silenceExisting();
    // Published into the partition: must neither vanish nor fail, but go out on the next connection.
    await queue.publish('extract', [{ n: 2 }]);
    await until(
      () => seen.some((m) => (m.body as { n: number }).n === 2),
      20_000,
      'the message published in the partition',
    );

    const lost = events.find((e) => e.type === 'lost');
    expect(lost, JSON.stringify(events)).toBeDefined();
    // Nothing passes the relay, so only heartbeats end the connection: ours ("Heartbeat timeout") or the
    // broker's, which closes its side and the relay passes the close on ("Unexpected close").
    expect(lost!.type === 'lost' && lost!.error).toMatch(/heartbeat|unexpected close/i);
    expect(lost!.at - silencedAt).toBeLessThan(6_000);
    expect(events.filter((e) => e.type === 'connected').at(-1)).toMatchObject({ generation: 2 });
    expect(seen.map((m) => (m.body as { n: number }).n).sort()).toEqual([1, 2]);
  });
});
