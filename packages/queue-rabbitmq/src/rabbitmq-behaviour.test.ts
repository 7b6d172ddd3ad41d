// @etl-test-services rabbitmq
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'amqplib';
import type { DeadLetter, QueueMessage } from '@etl/core';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteRabbitmqQueues } from './delete-queues.js';
import { rabbitmqQueue, type RabbitmqQueue } from './rabbitmq-queue.js';
import type { RabbitmqQueueOptions } from './options.js';

const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('rabbitmqQueue behaviour beyond the conformance suite', () => {
  const created: RabbitmqQueueOptions[] = [];
  const open: RabbitmqQueue[] = [];
  const make = (extra: Partial<RabbitmqQueueOptions> = {}, prefix?: string) => {
    const options: RabbitmqQueueOptions = {
      url,
      prefix: prefix ?? `etl-test-beh-${randomBytes(4).toString('hex')}`,
      maxAttempts: 3,
      retryDelaysMs: [50, 100],
      ...extra,
    };
    created.push(options);
    const queue = rabbitmqQueue(options);
    open.push(queue);
    return queue;
  };

  afterAll(async () => {
    for (const queue of open) await queue.close();
    for (const options of created) await deleteRabbitmqQueues(options);
  });

  it('names every queue with the prefix: a work, a dead-letter and one delay queue per distinct delay, per stage', () => {
    const queue = make({ maxAttempts: 5, retryDelaysMs: [100, 1_000] }, 'acme-prod');
    expect(queue.queueNames().sort()).toEqual(
      ['extract', 'load', 'transform']
        .flatMap((s) => [
          `acme-prod.${s}`,
          `acme-prod.${s}.dead`,
          `acme-prod.${s}.retry.100ms`,
          `acme-prod.${s}.retry.1000ms`,
        ])
        .sort(),
    );
  });

  it('waits longer before later retries (per-attempt delay queues)', async () => {
    const queue = make({ maxAttempts: 3, retryDelaysMs: [100, 600] });
    const times: number[] = [];
    await queue.consume('transform', async (m) => {
      times.push(Date.now());
      if (m.attempt < 3) throw new Error('again');
    });
    await queue.publish('transform', [{ x: 1 }]);
    await until(() => times.length >= 3, 10_000, 'three attempts');
    const first = times[1]! - times[0]!;
    const second = times[2]! - times[1]!;
    expect(first).toBeGreaterThanOrEqual(90);
    expect(second).toBeGreaterThanOrEqual(590);
    expect(second).toBeGreaterThan(first);
  });

  it('two adapter instances (two connections, like two worker processes) share one stage, each message once', async () => {
    const prefix = `etl-test-beh-${randomBytes(4).toString('hex')}`;
    const a = make({}, prefix);
    const b = make({}, prefix);
    const seen = new Map<string, number>();
    const perWorker = [0, 0];
    const handler = (worker: number) => async (m: QueueMessage) => {
      perWorker[worker]!++;
      seen.set(m.id, (seen.get(m.id) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 2));
    };
    await a.consume('load', handler(0), { prefetch: 4 });
    await b.consume('load', handler(1), { prefetch: 4 });
    await a.publish(
      'load',
      Array.from({ length: 400 }, (_, i) => ({ i })),
    );
    await until(() => seen.size >= 400, 20_000, '400 messages');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen.size).toBe(400);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(perWorker[0]).toBeGreaterThan(0);
    expect(perWorker[1]).toBeGreaterThan(0);
    const stats = await b.stats();
    expect(stats.find((s) => s.stage === 'load')!.consumers).toBe(2);
  });

  it('close() lets in-flight handlers finish and ack before closing', async () => {
    const prefix = `etl-test-beh-${randomBytes(4).toString('hex')}`;
    const queue = make({}, prefix);
    let started = 0;
    let finished = 0;
    await queue.consume(
      'extract',
      async () => {
        started++;
        await new Promise((resolve) => setTimeout(resolve, 300));
        finished++;
      },
      { prefetch: 3 },
    );
    await queue.publish(
      'extract',
      Array.from({ length: 10 }, (_, i) => ({ i })),
    );
    await until(() => started >= 3, 10_000, 'three in flight');
    await queue.close();
    expect(finished).toBe(started);
    await expect(queue.publish('extract', [{}])).rejects.toThrow(/after close/);
    // What was acked is gone; the rest waits on the broker for the next worker.
    const observer = make({}, prefix);
    const depth = (await observer.stats()).find((s) => s.stage === 'extract')!.depth;
    expect(depth).toBe(10 - finished);
  });

  it('stats measure publish and ack rates locally when no management API is configured', async () => {
    const queue = make();
    let handled = 0;
    await queue.consume('transform', async () => void handled++);
    await queue.publish(
      'transform',
      Array.from({ length: 200 }, (_, i) => ({ i })),
    );
    await until(() => handled >= 200, 10_000, '200 handled');
    // Rates cover whole seconds, the current one excluded.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const transform = (await queue.stats()).find((s) => s.stage === 'transform')!;
    expect(transform.publishRate).toBeCloseTo(20, 5);
    expect(transform.ackRate).toBeCloseTo(20, 5);
    expect(transform).toMatchObject({ depth: 0, unacked: 0, consumers: 1, retrying: 0, deadLetters: 0 });
  });

  it('stats take unacked counts and rates from the management API when its URL is set', async () => {
    const requests: IncomingMessage[] = [];
    let healthy = true;
    const server: Server = createServer((req, res) => {
      requests.push(req);
      if (!healthy) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          messages_unacknowledged: 7,
          message_stats: { publish_details: { rate: 123.5 }, ack_details: { rate: 99.5 } },
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const queue = make({ managementUrl: `http://monitor:s3cret@127.0.0.1:${port}` });
      const [extract] = await queue.stats();
      expect(extract).toMatchObject({ stage: 'extract', unacked: 7, publishRate: 123.5, ackRate: 99.5 });
      const first = requests[0]!;
      expect(first.url).toMatch(/^\/api\/queues\/%2F\/etl-test-beh-[0-9a-f]+\.extract\?/);
      expect(first.headers.authorization).toBe(`Basic ${Buffer.from('monitor:s3cret').toString('base64')}`);

      // A broken management API degrades to local figures instead of failing stats.
      healthy = false;
      const [degraded] = await queue.stats();
      expect(degraded).toMatchObject({ stage: 'extract', unacked: 0, publishRate: 0, ackRate: 0 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a message redelivered past deliveryLimit (its consumers keep dying) is dead-lettered by the broker and listed', async () => {
    const queue = make({ deliveryLimit: 2 });
    await queue.start();
    await queue.publish('load', [{ crashes: 'its worker' }]);
    const [name] = queue.queueNames().filter((n) => n.endsWith('.load'));
    // Consumers that take the message and die without an ack, as a crashing worker would.
    const model = await connect(url);
    try {
      for (let i = 0; i < 5; i++) {
        const channel = await model.createChannel();
        const message = await channel.get(name!, { noAck: false });
        await channel.close();
        if (message === false) break;
      }
    } finally {
      await model.close();
    }
    let letters: DeadLetter[] = [];
    await until(
      async () => (letters = await queue.deadLetters.list({ stage: 'load' })).length === 1,
      10_000,
      'a dead letter',
    );
    expect(letters[0]).toMatchObject({ stage: 'load', body: { crashes: 'its worker' }, attempts: 1 });
    expect(letters[0]!.error).toContain('delivered too many times without an ack');
    expect((await queue.stats()).find((s) => s.stage === 'load')).toMatchObject({ depth: 0, deadLetters: 1 });
    const replayed: QueueMessage[] = [];
    await queue.consume('load', async (m) => void replayed.push(m));
    expect(await queue.deadLetters.replay(letters[0]!.id)).toBe(true);
    await until(() => replayed.length === 1, 10_000, 'the replayed message');
    expect(replayed[0]).toMatchObject({ id: letters[0]!.id, attempt: 1, body: { crashes: 'its worker' } });
  });
});
