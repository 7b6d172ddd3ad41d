/**
 * A load-stage worker run as a child process by the SIGKILL fault test. After its `KILL_AFTER_LOADS`-th
 * load message is written to the database, and before the adapter can ack it, the process kills itself
 * with SIGKILL — the crash window at-least-once delivery must survive.
 */
import { createEngine, openDb, type QueueAdapter } from '@etl/core';
import { syntheticConnector } from '@etl/core/testing';
import { rabbitmqQueue } from './rabbitmq-queue.js';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const killAfter = Number(env('KILL_AFTER_LOADS'));
const rabbit = rabbitmqQueue(JSON.parse(env('QUEUE_OPTIONS')) as Parameters<typeof rabbitmqQueue>[0]);
let loads = 0;
const queue: QueueAdapter = {
  ...rabbit,
  name: rabbit.name,
  consume: (stage, handler, options) =>
    rabbit.consume(
      stage,
      async (message) => {
        await handler(message);
        if (stage === 'load' && ++loads === killAfter) {
          process.stdout.write(`killed-after ${message.id}\n`);
          process.kill(process.pid, 'SIGKILL');
          await new Promise(() => undefined);
        }
      },
      options,
    ),
};

const { db } = await openDb({ url: env('DATABASE_URL') });
const engine = await createEngine({
  db,
  schema: env('SCHEMA'),
  queue,
  connectors: [syntheticConnector()],
  secretKey: env('SECRET_KEY'),
  migrate: false,
});
await engine.startWorkers({ stages: ['load'], concurrency: { load: 1 } });
process.stdout.write('ready\n');
