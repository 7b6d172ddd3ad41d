import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import { createEngine, memoryQueue, type QueueAdapter } from '@etl/core';
import { openTestDb, syntheticConnector } from '@etl/core/testing';
import { deleteRabbitmqQueues, rabbitmqQueue } from '../src/index.js';
import type { BenchResult } from '../../../bench/types.js';

const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const MESSAGES = 20_000;
const BATCH = 1_000;
const PREFETCH = 100;
const ROUNDS = 3;
const RECORDS = 10_000;
const body = (n: number) => ({ n, jobId: '00000000-0000-0000-0000-000000000000', payload: 'x'.repeat(200) });

const progress = (text: string) => process.stderr.write(`[rabbitmq bench] ${text}\n`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Raw amqplib: a confirm channel publishing in batches, a consumer with the same prefetch acking each message. */
async function rawRound(queueType: 'quorum' | 'classic'): Promise<number> {
  const model = await connect(url);
  const queue = `etl-bench-raw-${randomBytes(4).toString('hex')}`;
  try {
    const publisher = await model.createConfirmChannel();
    const consumer = await model.createChannel();
    await publisher.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': queueType } });
    await consumer.prefetch(PREFETCH);
    let consumed = 0;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    await consumer.consume(queue, (message) => {
      if (!message) return;
      JSON.parse(message.content.toString('utf8'));
      consumer.ack(message);
      if (++consumed === MESSAGES) finish();
    });
    const started = performance.now();
    for (let start = 0; start < MESSAGES; start += BATCH) {
      for (let n = start; n < start + BATCH; n++) {
        const content = Buffer.from(JSON.stringify(body(n)));
        if (!publisher.sendToQueue(queue, content, { persistent: true, contentType: 'application/json' })) {
          await once(publisher, 'drain');
        }
      }
      await publisher.waitForConfirms();
    }
    await done;
    const rate = MESSAGES / ((performance.now() - started) / 1000);
    await publisher.deleteQueue(queue);
    return rate;
  } finally {
    await model.close().catch(() => undefined);
  }
}

/** The adapter doing the same: publish() in the same batches, consume() with the same prefetch. */
async function adapterRound(queueType: 'quorum' | 'classic'): Promise<number> {
  const options = {
    url,
    prefix: `etl-bench-${randomBytes(4).toString('hex')}`,
    queueType,
    prefetch: PREFETCH,
  };
  const queue = rabbitmqQueue(options);
  try {
    await queue.start();
    let consumed = 0;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    await queue.consume('transform', async () => {
      if (++consumed === MESSAGES) finish();
    });
    const started = performance.now();
    for (let start = 0; start < MESSAGES; start += BATCH) {
      await queue.publish(
        'transform',
        Array.from({ length: BATCH }, (_, i) => body(start + i)),
      );
    }
    await done;
    return MESSAGES / ((performance.now() - started) / 1000);
  } finally {
    await queue.close();
    await deleteRabbitmqQueues(options);
  }
}

/** Records/s of a full-mode synthetic job through the engine into real PostgreSQL. */
async function engineRun(makeQueue: () => QueueAdapter, cleanup: () => Promise<unknown>): Promise<number> {
  const t = await openTestDb('postgres', { max: 12 });
  const queue = makeQueue();
  const engine = await createEngine({
    db: t.db,
    schema: t.schema,
    queue,
    connectors: [syntheticConnector()],
    secretKey: 'bench-secret-key-0123456789abcdef',
  });
  try {
    await engine.startWorkers();
    const integration = await engine.integrations.create({
      connector: 'synthetic',
      name: 'bench',
      config: { records: RECORDS, pageSize: 500 },
    });
    const started = performance.now();
    const job = await engine.jobs.start({ integrationId: integration.id, mode: 'full' });
    const finished = await engine.jobs.waitFor(job.id, { timeoutMs: 100_000 });
    if (finished.status !== 'succeeded') throw new Error(`bench job ended ${finished.status}`);
    return RECORDS / ((performance.now() - started) / 1000);
  } finally {
    await engine.stop();
    await queue.close();
    await cleanup();
    await t.close();
  }
}

export async function run(): Promise<BenchResult> {
  const raw: number[] = [];
  const adapter: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    progress(`round ${round}/${ROUNDS}: raw amqplib`);
    raw.push(await rawRound('quorum'));
    progress(`round ${round}/${ROUNDS}: adapter`);
    adapter.push(await adapterRound('quorum'));
  }
  const rawRate = median(raw);
  const adapterRate = median(adapter);

  progress(`engine: ${RECORDS} records on the in-memory queue`);
  const memoryRate = await engineRun(
    () => memoryQueue(),
    async () => undefined,
  );
  progress(`engine: ${RECORDS} records on RabbitMQ`);
  const engineQueueOptions = { url, prefix: `etl-bench-engine-${randomBytes(4).toString('hex')}` };
  const rabbitRate = await engineRun(
    () => rabbitmqQueue(engineQueueOptions),
    () => deleteRabbitmqQueues(engineQueueOptions),
  );

  const note = `${MESSAGES} msgs of ~${JSON.stringify(body(0)).length} B, quorum queue, prefetch ${PREFETCH}, batches of ${BATCH}, median of ${ROUNDS}`;
  const rounds = (values: number[]) => `rounds: ${values.map((v) => Math.round(v)).join(', ')}`;
  return {
    rows: [
      {
        section: 'rabbitmq',
        name: 'raw amqplib publish+consume',
        value: Math.round(rawRate),
        unit: 'msg/s',
        note: `${note}; ${rounds(raw)}`,
      },
      {
        section: 'rabbitmq',
        name: 'adapter publish+consume',
        value: Math.round(adapterRate),
        unit: 'msg/s',
        note: `${note}; ${rounds(adapter)}`,
      },
      {
        section: 'rabbitmq',
        name: 'adapter / raw',
        value: Number((adapterRate / rawRate).toFixed(3)),
        unit: 'ratio',
        note: 'goal ≥ 0.7',
      },
      {
        section: 'rabbitmq',
        name: 'engine end-to-end, in-memory queue',
        value: Math.round(memoryRate),
        unit: 'records/s',
        note: `${RECORDS} synthetic records into PostgreSQL`,
      },
      {
        section: 'rabbitmq',
        name: 'engine end-to-end, RabbitMQ',
        value: Math.round(rabbitRate),
        unit: 'records/s',
        note: `${RECORDS} synthetic records into PostgreSQL`,
      },
    ],
    json: {
      rabbit_ratio: Number((adapterRate / rawRate).toFixed(3)),
      rabbit_adapter_msgs_per_s: Math.round(adapterRate),
      rabbit_raw_msgs_per_s: Math.round(rawRate),
      rabbit_engine_records_per_s: Math.round(rabbitRate),
      memory_engine_records_per_s: Math.round(memoryRate),
    },
  };
}
