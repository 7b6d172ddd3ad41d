import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { onShutdown } from './shutdown.js';
import { exitCodes, exitOnStartupError } from './startup-error.js';
import { UsageError, workerSettings } from './worker-flags.js';
import { startWorkerProcess } from './worker-process.js';

const usage = `usage: worker [--stages extract,transform,load] [--concurrency N | stage=N,…]

Consumes the given stages from RabbitMQ (RABBITMQ_URL) against PostgreSQL (DATABASE_URL).
Run as many as you like; SIGTERM stops taking messages and lets in-flight ones finish.`;

try {
  let flags: { stages?: string; concurrency?: string };
  try {
    flags = parseArgs({
      options: { stages: { type: 'string' }, concurrency: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const config = loadConfig(process.env);
  const worker = await startWorkerProcess(config, workerSettings(config, flags));
  onShutdown(() => worker.stop(), config.ETL_SHUTDOWN_TIMEOUT_SECONDS * 1000);
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`worker: ${error.message}\n\n${usage}\n`);
    process.exit(exitCodes.usage);
  }
  exitOnStartupError(error);
}
