import { parseArgs, type ParseArgsConfig } from 'node:util';
import { finishedStatuses, isEtlError, jobStatuses, type Engine, type Job, type JobStatus } from '@etl/core';
import {
  integrationsCommand,
  integrationsOptions,
  integrationsUsage,
  findIntegration,
} from './cli-integrations.js';
import { editDistance, jobSummary, table } from './cli-output.js';
import { syncProgress } from './cli-progress-view.js';
import { loadConfig } from './config.js';
import { openRuntime, type Runtime } from './runtime.js';
import { onShutdown } from './shutdown.js';
import { secretsCommand, secretsUsage } from './secrets-command.js';
import { describeStartupError, errorLine, exitCodes } from './startup-error.js';
import { UsageError, workerSettings } from './worker-flags.js';
import { startWorkerProcess } from './worker-process.js';

const usage = `usage: etl <command> [options]

commands:
  migrate                               create or upgrade the database schema
${integrationsUsage}
  sync <integration> [--stream S]… [--mode incremental|full|backfill] [--from ISO] [--to ISO] [--no-wait] [--work]
       [--on-interrupt cancel|pause] [--progress]
                                        start a job and follow it: a progress bar per stream, a summary at the end;
                                        Ctrl+C cancels the job (or pauses it) and says so
  replay --job ID | --integration I [--stream S] | --from ISO --to ISO [--integration I]  [--dry-run]
                                        transform and load stored raw rows again, without calling the source
  jobs [--status S] [--integration I] [--limit N]
                                        list recent jobs
  worker [--stages extract,transform,load] [--concurrency N | stage=N,…]
                                        consume stages until SIGTERM (needs DATABASE_URL and RABBITMQ_URL)
${secretsUsage}

options:  --json  machine-readable output on stdout      -h, --help  this help
<integration> is a name or an id. Configuration comes from the environment (see the README).

exit codes:  0 ok · 1 a job failed, ended partial or was cancelled · 2 usage error
             3 configuration / environment error · 4 database or broker unreachable · 5 internal error`;

const commands = ['migrate', 'integrations', 'sync', 'replay', 'jobs', 'worker', 'secrets'] as const;
type Command = (typeof commands)[number];

const common = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;
const optionsOf: Record<Command, NonNullable<ParseArgsConfig['options']>> = {
  migrate: common,
  integrations: { ...common, ...integrationsOptions },
  sync: {
    ...common,
    stream: { type: 'string', multiple: true },
    mode: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    'no-wait': { type: 'boolean' },
    work: { type: 'boolean' },
    'timeout-seconds': { type: 'string' },
    'on-interrupt': { type: 'string' },
    progress: { type: 'boolean' },
  },
  replay: {
    ...common,
    job: { type: 'string' },
    integration: { type: 'string' },
    stream: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    'dry-run': { type: 'boolean' },
  },
  jobs: { ...common, status: { type: 'string' }, integration: { type: 'string' }, limit: { type: 'string' } },
  worker: { ...common, stages: { type: 'string' }, concurrency: { type: 'string' } },
  secrets: common,
};
const positionalsOf: Record<Command, number> = {
  migrate: 0,
  // integrations checks its own arguments (an action, and an integration for show and test).
  integrations: -1,
  sync: 1,
  replay: 0,
  jobs: 0,
  worker: 0,
  // The secrets command checks its own arguments (an action, and a key id for can-retire).
  secrets: -1,
};

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function out(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

function jobExitCode(job: Job): number {
  return job.status === 'succeeded' ? exitCodes.ok : exitCodes.jobFailed;
}

/**
 * Follows a job to its end: live bars on a terminal (or with `--progress`), none with `--json`. Ctrl+C
 * (SIGINT) cancels the job this command started, or pauses it with `--on-interrupt pause`, says so, and
 * ends with the job's summary; a second Ctrl+C leaves at once (exit 130).
 */
async function follow(
  engine: Engine,
  started: Job,
  options: { json: boolean; progress: boolean; timeoutMs: number; onInterrupt?: 'cancel' | 'pause' },
): Promise<Job> {
  const view =
    !options.json && (process.stderr.isTTY || options.progress)
      ? syncProgress(engine, started, { force: options.progress })
      : undefined;
  let interrupted: Promise<void> | undefined;
  const onSigint = () => {
    if (interrupted || !options.onInterrupt) {
      process.stderr.write('\netl: interrupted again; leaving without waiting\n');
      process.exit(130);
    }
    const action = options.onInterrupt;
    interrupted = (async () => {
      const job = await engine.jobs[action](started.id).catch(() => undefined);
      const said = job
        ? `interrupted: job ${started.id} ${action === 'cancel' ? 'cancelled' : 'paused'}`
        : `interrupted: job ${started.id} had already finished`;
      if (view) view.note(said);
      else process.stderr.write(`${said}\n`);
    })();
  };
  if (options.onInterrupt) process.on('SIGINT', onSigint);
  const deadline = Date.now() + options.timeoutMs;
  try {
    for (;;) {
      const job = await engine.jobs.get(started.id);
      view?.update(job);
      // A paused job waits for a resume: after an interrupt that paused it, the command is done.
      if (finishedStatuses.includes(job.status) || (interrupted && job.status === 'paused')) {
        await interrupted;
        return job;
      }
      if (Date.now() > deadline)
        throw new Error(`job ${started.id} still ${job.status} after ${options.timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    process.off('SIGINT', onSigint);
    view?.stop();
  }
}

async function run(
  command: Command,
  values: Values,
  positionals: string[],
  runtime: Runtime,
): Promise<number> {
  const { engine } = runtime;
  const json = values.json === true;
  switch (command) {
    case 'migrate':
      out(
        json,
        { ok: true, schema: engine.schema, database: runtime.dbKind },
        `schema "${engine.schema}" is up to date`,
      );
      return exitCodes.ok;
    case 'integrations':
      return integrationsCommand(engine, positionals, values, out);
    case 'jobs': {
      const status = values.status as string | undefined;
      if (status !== undefined && !jobStatuses.includes(status as JobStatus))
        throw new UsageError(`--status: use one of ${jobStatuses.join(', ')}`);
      const limit = values.limit === undefined ? 20 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new UsageError('--limit: a number from 1 to 1000');
      const integrationId = values.integration
        ? (await findIntegration(engine, values.integration as string)).id
        : undefined;
      const { jobs, total } = await engine.jobs.list({
        status: status as JobStatus | undefined,
        integrationId,
        limit,
      });
      out(
        json,
        { jobs, total },
        table(
          ['id', 'connector', 'mode', 'status', 'extracted', 'loaded', 'failed', 'created'],
          jobs.map((j) => [
            j.id,
            j.connector,
            j.mode,
            j.status,
            j.counters.extracted,
            j.counters.loaded,
            j.counters.failed,
            j.createdAt,
          ]),
        ) + `\n${jobs.length} of ${total}`,
      );
      return exitCodes.ok;
    }
    case 'sync': {
      const integration = await findIntegration(engine, positionals[0]!);
      const onInterrupt = (values['on-interrupt'] as string | undefined) ?? 'cancel';
      if (!['cancel', 'pause'].includes(onInterrupt))
        throw new UsageError('--on-interrupt: use cancel or pause');
      const mode = (values.mode as string | undefined) ?? 'incremental';
      if (!['incremental', 'full', 'backfill'].includes(mode))
        throw new UsageError('--mode: use incremental, full or backfill');
      const known = engine.connectors.get(integration.connector)?.streams.map((s) => s.name) ?? [];
      const streams = values.stream as string[] | undefined;
      const unknown = (streams ?? []).filter((s) => !known.includes(s));
      if (unknown.length > 0)
        throw new UsageError(
          `--stream: ${integration.connector} has no stream ${unknown.join(', ')} (it has ${known.join(', ')})`,
        );
      const window =
        values.from || values.to
          ? { from: values.from as string | undefined, to: values.to as string | undefined }
          : undefined;
      // The in-memory queue lives in this process: someone here has to do the work.
      if (engine.queue.name === 'memory' || values.work === true) await engine.startWorkers();
      const started = await engine.jobs.start({
        integrationId: integration.id,
        streams,
        mode: mode as 'incremental',
        window,
        requestedBy: 'cli',
      });
      if (values['no-wait'] === true) {
        out(json, started, `started job ${started.id}`);
        return exitCodes.ok;
      }
      const timeoutSeconds =
        values['timeout-seconds'] === undefined ? 3600 : Number(values['timeout-seconds']);
      const job = await follow(engine, started, {
        json,
        progress: values.progress === true,
        timeoutMs: timeoutSeconds * 1000,
        onInterrupt: onInterrupt as 'cancel' | 'pause',
      });
      out(json, job, jobSummary(job));
      return jobExitCode(job);
    }
    case 'replay': {
      const dryRun = values['dry-run'] === true;
      let selector;
      if (values.job) selector = { jobId: values.job as string };
      else if (values.from || values.to) {
        if (!values.from || !values.to) throw new UsageError('replay by time needs both --from and --to');
        selector = {
          from: values.from as string,
          to: values.to as string,
          integrationId: values.integration
            ? (await findIntegration(engine, values.integration as string)).id
            : undefined,
        };
      } else if (values.integration) {
        selector = {
          integrationId: (await findIntegration(engine, values.integration as string)).id,
          stream: values.stream as string | undefined,
        };
      } else throw new UsageError('replay needs --job, --integration or --from/--to');
      if (engine.queue.name === 'memory' && !dryRun) await engine.startWorkers();
      const result = await engine.replay(selector, { dryRun, requestedBy: 'cli' });
      const c = result.counts;
      const changes = `${result.records} raw records: ${c.inserted} to insert, ${c.updated} to update, ${c.unchanged} unchanged`;
      if (dryRun || !result.job) {
        out(json, result, `dry run — ${changes}`);
        return exitCodes.ok;
      }
      const job = await follow(engine, result.job, { json, progress: false, timeoutMs: 3600_000 });
      out(json, { ...result, job }, jobSummary(job));
      return jobExitCode(job);
    }
    case 'secrets':
      return secretsCommand(engine, positionals, (value, text) => out(json, value, text));
    case 'worker':
      throw new Error('unreachable');
  }
}

/** A usage error in two lines: what was wrong, and where the full usage is. */
function usageError(message: string): number {
  process.stderr.write(
    `${errorLine(message)}\nusage: etl <command> [options] — "etl --help" lists the commands\n`,
  );
  return exitCodes.usage;
}

/** Runs the CLI and resolves with its exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(`${usage}\n`);
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  if (!commands.includes(name as Command)) {
    const best = [...commands].sort((a, b) => editDistance(name, a) - editDistance(name, b))[0]!;
    const hint = editDistance(name, best) <= 2 ? ` — did you mean "${best}"?` : '';
    return usageError(`unknown command "${name}"${hint}`);
  }
  const command = name as Command;
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: optionsOf[command],
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return exitCodes.ok;
  }
  if (positionalsOf[command] >= 0 && positionals.length !== positionalsOf[command]) {
    return usageError(
      positionalsOf[command] === 0
        ? `${command} takes no arguments (got ${positionals.join(' ')})`
        : `${command} needs exactly one <integration>`,
    );
  }
  let runtime: Runtime | undefined;
  try {
    const config = loadConfig(process.env);
    if (command === 'worker') {
      const worker = await startWorkerProcess(
        config,
        workerSettings(config, values as { stages?: string; concurrency?: string }),
      );
      onShutdown(() => worker.stop(), config.ETL_SHUTDOWN_TIMEOUT_SECONDS * 1000);
      return await new Promise<number>(() => undefined);
    }
    runtime = await openRuntime(config);
    return await run(command, values, positionals, runtime);
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message);
    if (isEtlError(error, 'invalid_input') || isEtlError(error, 'not_found')) {
      process.stderr.write(`${errorLine(error.message)}\n`);
      return exitCodes.usage;
    }
    const { code, message } = describeStartupError(error);
    process.stderr.write(`${errorLine(message)}\n`);
    return code;
  } finally {
    await runtime?.close().catch(() => undefined);
  }
}

process.exitCode = await main(process.argv.slice(2));
