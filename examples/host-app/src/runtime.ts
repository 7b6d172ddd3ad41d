import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  createEngine,
  memoryQueue,
  openDb,
  type Connector,
  type Engine,
  type QueueAdapter,
  type Stage,
} from '@etl/core';
import { githubConnector } from '@etl/connector-github';
import { jiraConnector } from '@etl/connector-jira';
import { rabbitmqQueue, type RabbitmqQueue } from '@etl/queue-rabbitmq';
import type { Config } from './config.js';
import { countingQueue, type HandledCounts } from './counting-queue.js';
import { log } from './log.js';
import { pipelineMetrics, type PipelineMetrics } from './metrics.js';

/** Everything the host opened: it owns the db and queue connections and closes them last. */
export interface Runtime {
  config: Config;
  engine: Engine;
  /** Messages and records handled by workers in this process. */
  handled: HandledCounts;
  /** Prometheus metrics of this process (the app serves them at `/metrics`). */
  metrics: PipelineMetrics;
  dbKind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

/** The connectors this host offers; add your own here (see examples/connector-example). */
export function hostConnectors(): Connector[] {
  return [jiraConnector(), githubConnector()];
}

/**
 * The embedded mode keeps a generated key next to its data, so demo integrations survive restarts without
 * any setup; with PostgreSQL the key must come from ETL_SECRET_KEY (checked by loadConfig).
 */
async function embeddedSecretKey(dataDir: string): Promise<string> {
  const file = join(dataDir, 'secret.key');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const key = randomBytes(32).toString('base64url');
    await writeFile(file, `${key}\n`, { mode: 0o600 });
    return key;
  }
}

/**
 * Opens the database (PostgreSQL at DATABASE_URL, or PGlite persisted in ETL_DATA_DIR), the queue
 * (RabbitMQ at RABBITMQ_URL, or in memory) and the engine with the host's connectors.
 */
export async function openRuntime(
  config: Config,
  options: { connectors?: Connector[]; migrate?: boolean } = {},
): Promise<Runtime> {
  let secretKey = config.ETL_SECRET_KEY;
  let dataDir: string | undefined;
  if (!config.DATABASE_URL) {
    dataDir = resolve(config.ETL_DATA_DIR);
    await mkdir(dataDir, { recursive: true });
    if (!config.ETL_SECRET_KEYS) secretKey ??= await embeddedSecretKey(dataDir);
  }
  const opened = await openDb({ url: config.DATABASE_URL, dataDir: dataDir && join(dataDir, 'pg') });
  let base: QueueAdapter;
  try {
    base = config.RABBITMQ_URL
      ? rabbitmqQueue({
          url: config.RABBITMQ_URL,
          prefix: config.ETL_QUEUE_PREFIX,
          managementUrl: config.RABBITMQ_MANAGEMENT_URL,
        })
      : memoryQueue();
  } catch (error) {
    await opened.close();
    throw error;
  }
  const metrics = pipelineMetrics();
  const { queue, handled } = countingQueue(base, metrics);
  const stopLoggingBroker = logBrokerConnection(base);
  let engine: Engine;
  try {
    engine = await createEngine({
      db: opened.db,
      queue,
      schema: config.ETL_DB_SCHEMA,
      ...(config.ETL_SECRET_KEYS ? { secretKeys: config.ETL_SECRET_KEYS } : { secretKey }),
      batchSize: config.ETL_BATCH_SIZE,
      streamLeaseMs: config.ETL_LEASE_SECONDS * 1000,
      connectors: options.connectors ?? hostConnectors(),
      migrate: options.migrate ?? true,
      network: { allow: config.ETL_ALLOW_PRIVATE_NETWORK },
    });
  } catch (error) {
    stopLoggingBroker();
    await queue.close().catch(() => undefined);
    await opened.close();
    throw error;
  }
  const unbindMetrics = metrics.bind(engine);
  let closing: Promise<void> | undefined;
  return {
    config,
    engine,
    handled,
    metrics,
    dbKind: opened.kind,
    close() {
      closing ??= (async () => {
        unbindMetrics();
        await engine.stop();
        stopLoggingBroker();
        await queue.close();
        await opened.close();
      })();
      return closing;
    },
  };
}

/**
 * One warning when the broker connection is lost and one line when it is back, however many reconnect
 * attempts lie between (those are debug lines).
 */
function logBrokerConnection(queue: QueueAdapter): () => void {
  const rabbit = queue as Partial<RabbitmqQueue>;
  if (!rabbit.onConnectionEvent) return () => undefined;
  let down = false;
  return rabbit.onConnectionEvent((event) => {
    if (event.type === 'lost' && !down) {
      down = true;
      log.warn(
        { event: 'broker.lost', error: event.error },
        'lost the connection to the broker; reconnecting',
      );
    } else if (event.type === 'reconnect-scheduled') {
      log.debug({
        event: 'broker.reconnect',
        attempt: event.attempt,
        delayMs: event.delayMs,
        error: event.error,
      });
    } else if (event.type === 'connected' && down) {
      down = false;
      log.info({ event: 'broker.connected', generation: event.generation }, 'connected to the broker again');
    }
  });
}

export function allStages(): Stage[] {
  return ['extract', 'transform', 'load'];
}
