import { logLine } from './log.js';

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits 0; exits 1 if it takes longer than `timeoutMs`
 * (a queue that redelivers unacknowledged messages makes that safe: nothing is acked before it is durable).
 */
export function onShutdown(stop: () => Promise<void>, timeoutMs: number): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logLine({ event: 'shutdown.started', signal });
    const timer = setTimeout(() => {
      logLine({ event: 'shutdown.timeout', timeoutMs });
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      () => {
        logLine({ event: 'shutdown.done' });
        process.exit(0);
      },
      (error: unknown) => {
        logLine({ event: 'shutdown.error', error: error instanceof Error ? error.message : String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
