import { stages, type Stage } from '@etl/core';
import { concurrencySpec, ConfigError, type Config } from './config.js';

/** `--stages transform,load --concurrency load=2` over ETL_WORKER_STAGES / ETL_WORKER_CONCURRENCY. */
export function workerSettings(
  config: Config,
  flags: { stages?: string; concurrency?: string },
): { stages: Stage[]; concurrency?: Partial<Record<Stage, number>> } {
  let chosen = config.ETL_WORKER_STAGES as Stage[];
  if (flags.stages !== undefined) {
    const list = flags.stages.split(',').map((s) => s.trim());
    const unknown = list.filter((s) => !stages.includes(s as Stage));
    if (unknown.length > 0 || list.length === 0) {
      throw new UsageError(`--stages: unknown stage ${unknown.join(', ')}; use ${stages.join(',')}`);
    }
    chosen = list as Stage[];
  }
  let concurrency = config.ETL_WORKER_CONCURRENCY;
  if (flags.concurrency !== undefined) {
    const parsed = concurrencySpec.safeParse(flags.concurrency);
    if (!parsed.success) throw new UsageError(`--concurrency: ${parsed.error.issues[0]?.message}`);
    concurrency = parsed.data;
  }
  return { stages: chosen, concurrency };
}

/** A bad command line: the CLI prints usage and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export { ConfigError };
