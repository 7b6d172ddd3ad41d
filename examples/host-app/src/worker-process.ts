import type { Stage } from '@etl/core';
import { ConfigError, type Config } from './config.js';
import { logLine } from './log.js';
import { openRuntime, type Runtime } from './runtime.js';

export interface RunningWorker {
  runtime: Runtime;
  stop(): Promise<void>;
}

/**
 * A worker process: consumes the given stages and nothing else (no HTTP, no scheduler). Needs a shared
 * database and RabbitMQ; the embedded database and in-memory queue live inside one process.
 */
export async function startWorkerProcess(
  config: Config,
  options: { stages: Stage[]; concurrency?: Partial<Record<Stage, number>>; logEveryMs?: number },
): Promise<RunningWorker> {
  const missing = (['DATABASE_URL', 'RABBITMQ_URL'] as const).filter((name) => !config[name]);
  if (missing.length > 0) {
    throw new ConfigError(
      missing.map((name) => ({
        name,
        message: 'is required by a separate worker (the embedded database and memory queue are per process)',
      })),
    );
  }
  const runtime = await openRuntime(config);
  await runtime.engine.startWorkers({ stages: options.stages, concurrency: options.concurrency });
  logLine({ event: 'worker.started', stages: options.stages, concurrency: options.concurrency ?? 'default' });
  let last = '';
  const timer = setInterval(() => {
    const now = JSON.stringify(runtime.handled);
    if (now !== last) logLine({ event: 'worker.handled', handled: runtime.handled });
    last = now;
  }, options.logEveryMs ?? 5000);
  timer.unref();
  let stopping: Promise<void> | undefined;
  return {
    runtime,
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        await runtime.engine.stop();
        logLine({ event: 'worker.handled', final: true, handled: runtime.handled });
        await runtime.close();
      })();
      return stopping;
    },
  };
}
