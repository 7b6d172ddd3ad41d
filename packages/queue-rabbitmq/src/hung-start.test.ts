import { createServer, type Server, type Socket } from 'node:net';
import { isEtlError, openDb } from '@etl/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rabbitmqQueue } from './rabbitmq-queue.js';

/** A server that accepts connections and never sends a byte: a hung database or broker. */
async function startHungServer() {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.concurrent('start-up against a service that accepts and never answers', () => {
  let hung: Awaited<ReturnType<typeof startHungServer>>;
  beforeAll(async () => {
    hung = await startHungServer();
  });
  afterAll(async () => {
    await hung?.close();
  });

  // The bound is the test's own timeout: the defaults must fail well within 15 s, naming the service.
  it(
    'PostgreSQL: fails with the default connect timeout, naming the database',
    { timeout: 15_000 },
    async () => {
      const started = Date.now();
      const error = await openDb({ url: `postgres://etl:hunter22@127.0.0.1:${hung.port}/etl` }).then(
        () => undefined,
        (e: unknown) => e,
      );
      console.log(`[hung PostgreSQL] failed after ${Date.now() - started} ms: ${String(error)}`);
      expect(isEtlError(error, 'unreachable')).toBe(true);
      expect(String(error)).toMatch(
        /cannot connect to PostgreSQL at postgres:\/\/etl@127\.0\.0\.1:\d+\/etl within 10000 ms/,
      );
      expect(String(error)).not.toContain('hunter22');
    },
  );

  it('RabbitMQ: fails with the default connect timeout, naming the broker', { timeout: 15_000 }, async () => {
    const started = Date.now();
    const queue = rabbitmqQueue({ url: `amqp://etl:hunter22@127.0.0.1:${hung.port}` });
    const error = await queue.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await queue.close();
    console.log(`[hung RabbitMQ] failed after ${Date.now() - started} ms: ${String(error)}`);
    expect(isEtlError(error, 'unreachable')).toBe(true);
    expect(String(error)).toMatch(/broker at amqp:\/\/127\.0\.0\.1:\d+ did not answer within 10000 ms/);
    expect(String(error)).not.toContain('hunter22');
  });

  it('rejects a timeout that is not a positive number of milliseconds', async () => {
    await expect(openDb({ url: 'postgres://127.0.0.1:1/x', statementTimeoutMs: 0 })).rejects.toThrow(
      /statementTimeoutMs: must be an integer/,
    );
  });
});
