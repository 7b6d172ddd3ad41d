// @etl-test-services rabbitmq
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { isEtlError } from '@etl/core';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteRabbitmqQueues } from './delete-queues.js';
import { rabbitmqQueue } from './rabbitmq-queue.js';

const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('rabbitmqQueue bad input', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    for (const server of servers) {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('an unreachable broker fails fast with an unreachable error', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));

    const queue = rabbitmqQueue({ url: `amqp://guest:guest@127.0.0.1:${port}`, connectTimeoutMs: 2_000 });
    const started = Date.now();
    const error = await failure(queue.start());
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(isEtlError(error, 'unreachable')).toBe(true);
    expect(String(error)).toMatch(
      /^\[etl\] \[rabbitmq\] cannot connect to the broker at amqp:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED/,
    );
    await expect(queue.publish('extract', [{ a: 1 }])).rejects.toThrow(/cannot connect/);
    await queue.close();
  });

  it('a server that accepts TCP but never speaks AMQP times out within connectTimeoutMs', async () => {
    // Reads and ignores whatever the client says, so the AMQP handshake never completes.
    const server = createServer((socket) => void sockets.push(socket.resume()));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const queue = rabbitmqQueue({ url: `amqp://guest:guest@127.0.0.1:${port}`, connectTimeoutMs: 700 });
    const started = Date.now();
    const error = await failure(queue.start());
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(600);
    expect(elapsed).toBeLessThan(2_000);
    expect(isEtlError(error, 'unreachable')).toBe(true);
    expect((error as Error).message).toContain('did not answer within 700 ms');
    await queue.close();
  });

  it('wrong credentials say the credentials were rejected, and do not hang', async () => {
    const wrong = new URL(url);
    wrong.password = 'definitely-not-the-password';
    const queue = rabbitmqQueue({ url: wrong.toString(), connectTimeoutMs: 5_000 });
    const started = Date.now();
    const error = await failure(queue.start());
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(isEtlError(error, 'auth_failed')).toBe(true);
    expect((error as Error).message).toContain(
      `credentials for user "${wrong.username}" were rejected by the broker`,
    );
    expect((error as Error).message).not.toContain('definitely-not-the-password');
    await queue.close();
  });

  it('a virtual host that does not exist is reported as refused access, not as bad credentials', async () => {
    const elsewhere = new URL(url);
    elsewhere.pathname = `/no-such-vhost-${randomBytes(3).toString('hex')}`;
    const queue = rabbitmqQueue({ url: elsewhere.toString(), connectTimeoutMs: 5_000 });
    const error = await failure(queue.start());
    expect(isEtlError(error, 'forbidden'), String(error)).toBe(true);
    expect((error as Error).message).toContain('refused access to the virtual host');
    await queue.close();
  });

  it.each([
    [{ url: 'http://127.0.0.1:5672' }, 'url'],
    [{ url }, undefined],
    [{ url, prefix: 'has spaces' }, 'prefix'],
    [{ url, queueType: 'stream' }, 'queueType'],
    [{ url, prefetch: 0 }, 'prefetch'],
    [{ url, maxAttempts: 0 }, 'maxAttempts'],
    [{ url, retryDelaysMs: [] }, 'retryDelaysMs'],
    [{ url, retryDelaysMs: [10, -1] }, 'retryDelaysMs.1'],
    [{ url, connectTimeoutMs: 'soon' }, 'connectTimeoutMs'],
    [{ url, publishTimeoutMs: 1 }, 'publishTimeoutMs'],
    [{ url, managementUrl: 'amqp://x' }, 'managementUrl'],
    [{ url, unknownOption: true }, 'unknownOption'],
  ])('invalid options %j name the field %s', (input, field) => {
    if (field === undefined) {
      expect(() => rabbitmqQueue(input as never)).not.toThrow();
      return;
    }
    let error: unknown;
    try {
      rabbitmqQueue(input as never);
    } catch (caught) {
      error = caught;
    }
    expect(isEtlError(error, 'invalid_config')).toBe(true);
    expect((error as Error).message).toContain(`${field}:`);
    expect(String(error)).toMatch(/^\[etl\] \[rabbitmq\] invalid rabbitmqQueue options/);
  });

  it('a missing url is named', () => {
    expect(() => rabbitmqQueue({} as never)).toThrow(/url:/);
  });

  it('a prefix declared with another queue type gives a conflict error naming the queue', async () => {
    const prefix = `etl-test-conflict-${randomBytes(4).toString('hex')}`;
    const settings = { url, prefix, maxAttempts: 2, retryDelaysMs: [50] };
    const quorum = rabbitmqQueue({ ...settings, queueType: 'quorum' });
    const classic = rabbitmqQueue({ ...settings, queueType: 'classic' });
    try {
      await quorum.start();
      const error = await failure(classic.start());
      expect(isEtlError(error, 'conflict')).toBe(true);
      expect((error as Error).message).toContain(
        `queue ${prefix}.extract already exists with other arguments`,
      );
    } finally {
      await classic.close();
      await quorum.close();
      await deleteRabbitmqQueues(settings);
    }
  });

  it('an invalid prefetch on consume names it', async () => {
    const prefix = `etl-test-prefetch-${randomBytes(4).toString('hex')}`;
    const queue = rabbitmqQueue({ url, prefix, maxAttempts: 2, retryDelaysMs: [50] });
    try {
      await expect(queue.consume('load', async () => undefined, { prefetch: 0 })).rejects.toThrow(
        /prefetch:/,
      );
    } finally {
      await queue.close();
      await deleteRabbitmqQueues({ url, prefix, maxAttempts: 2, retryDelaysMs: [50] });
    }
  });
});
