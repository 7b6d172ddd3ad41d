import { pino, type Logger } from 'pino';

/**
 * The host's logger: one JSON object per line on stdout (`level` by name, `at` in ISO time, `event` naming
 * what happened), easy to read and to ship to a log store. `ETL_LOG_LEVEL` (trace … fatal, default info)
 * sets the threshold.
 *
 * @example
 * log.error({ event: 'job.failed', jobId, error }, 'job failed');
 */
export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const configured = process.env.ETL_LOG_LEVEL;

export const log: Logger = pino({
  // loadConfig rejects an unknown level by name; until then the default holds.
  level: logLevels.includes(configured as (typeof logLevels)[number]) ? configured! : 'info',
  base: { pid: process.pid },
  timestamp: () => `,"at":"${new Date().toISOString()}"`,
  formatters: { level: (label) => ({ level: label }) },
});

/** An `info` line with the given fields (`event` names what happened). */
export function logLine(fields: Record<string, unknown>): void {
  log.info(fields);
}
