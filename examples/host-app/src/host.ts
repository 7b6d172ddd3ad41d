import type { Connector, Stage } from '@etl/core';
import { createHostApp } from './app.js';
import type { Config } from './config.js';
import { logJobOutcomes } from './job-log.js';
import { startRetention } from './retention.js';
import { logLine } from './log.js';
import { openRuntime, type Runtime } from './runtime.js';
import { startScheduler, type Scheduler } from './scheduler.js';
import { closeServer, listen } from './serve.js';

export interface RunningHost {
  runtime: Runtime;
  url: string;
  port: number;
  scheduler: Scheduler | undefined;
  /** Graceful stop: no new requests or messages, in-flight handlers finish, then queue and db close. */
  stop(): Promise<void>;
}

/** Opens the runtime, starts in-process workers and the scheduler as configured, and serves the app. */
export async function startHost(
  config: Config,
  options: { connectors?: Connector[] } = {},
): Promise<RunningHost> {
  const runtime = await openRuntime(config, options);
  const { engine } = runtime;
  try {
    if (config.ETL_WORKERS === 'in-process') {
      await engine.startWorkers({
        stages: config.ETL_WORKER_STAGES as Stage[],
        concurrency: config.ETL_WORKER_CONCURRENCY,
      });
    }
    const scheduler = config.ETL_SCHEDULER
      ? startScheduler(engine, { tickMs: config.ETL_SCHEDULER_TICK_SECONDS * 1000, log: logLine })
      : undefined;
    const stopJobLog = logJobOutcomes(engine);
    const stopRetention = config.ETL_SCHEDULER ? startRetention(engine, config) : () => undefined;
    const app = createHostApp({
      engine,
      metrics: runtime.metrics,
      ui: { user: config.ETL_UI_USER, password: config.ETL_UI_PASSWORD, readOnly: config.ETL_UI_READ_ONLY },
    });
    const { server, port } = await listen(app, config.PORT, config.HOST, {
      headersTimeoutMs: config.ETL_HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
      requestTimeoutMs: config.ETL_HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
      keepAliveTimeoutMs: config.ETL_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    });
    const shownHost = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
    const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
    logLine({
      event: 'app.listening',
      url: `${url}/etl/`,
      database: runtime.dbKind,
      queue: engine.queue.name,
      workers: config.ETL_WORKERS === 'in-process' ? config.ETL_WORKER_STAGES : [],
    });
    let stopping: Promise<void> | undefined;
    return {
      runtime,
      url,
      port,
      scheduler,
      stop() {
        stopping ??= (async () => {
          await scheduler?.stop();
          stopJobLog();
          stopRetention();
          await Promise.all([closeServer(server), engine.stop()]);
          logLine({ event: 'worker.handled', handled: runtime.handled });
          await runtime.close();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await runtime.close().catch(() => undefined);
    throw error;
  }
}
