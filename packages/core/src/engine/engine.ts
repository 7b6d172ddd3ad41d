import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import type { Connector } from '../connector/connector.js';
import type { Db } from '../db/db.js';
import { engineRuntime, invalidInput, type ExtractTask } from './engine-runtime.js';
import type { Engine, WorkerOptions } from './engine-types.js';
import { EtlError, describeError, isEtlError } from '../errors.js';
import { eventLog } from '../stores/event-log.js';
import { extractStage } from '../stages/extract-stage.js';
import { checkpointStore } from '../stores/checkpoint-store.js';
import { integrationStore } from '../stores/integration-store.js';
import { jobStore } from '../stores/job-store.js';
import { mappingStore } from '../stores/mapping-store.js';
import { rawStore } from '../stores/raw-store.js';
import { finishedStatuses, jobModes, type Job, type StartJobInput } from '../model/jobs.js';
import type { LoadCounts, Loader } from '../loader/loader.js';
import { mappingsSchema } from '../model/mappings.js';
import { migrate } from '../db/migrate.js';
import { parseOptions } from '../options.js';
import { postgresLoader } from '../loader/postgres-loader.js';
import type { QueueAdapter, QueueMessage, Stage, Subscription } from '../queue/queue.js';
import { rateLimitBudgets } from '../stores/rate-limit.js';
import { replayer } from '../stages/replay.js';
import { secretKeySchema, secretKeyring } from '../stores/secrets.js';
import { assertCleanInput } from '../validation.js';
import { transformAndLoadStages } from '../stages/transform-load-stages.js';

const optionsSchema = z.object({
  db: z.custom<Db>(
    (v) => !!v && typeof (v as Db).query === 'function' && typeof (v as Db).transaction === 'function',
    {
      message: 'must be a Db ({ query, transaction }); wrap a pg Pool with pgDb() or PGlite with pgliteDb()',
    },
  ),
  queue: z.custom<QueueAdapter>(
    (v) =>
      !!v &&
      typeof (v as QueueAdapter).publish === 'function' &&
      typeof (v as QueueAdapter).consume === 'function',
    { message: 'must be a QueueAdapter (memoryQueue(), rabbitmqQueue(), …)' },
  ),
  connectors: z
    .array(
      z.custom<Connector>(
        (v) => !!v && typeof (v as Connector).name === 'string' && Array.isArray((v as Connector).streams),
        {
          message: 'must be a Connector object',
        },
      ),
    )
    .default([]),
  /** PostgreSQL schema for every table. */
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/i, 'must be a plain SQL identifier')
    .default('etl'),
  /** Key for secret config fields (AES-256-GCM); required once an integration has secrets. */
  secretKey: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * A keyring instead of `secretKey`: the first key encrypts new values, every key decrypts. Rotate by putting a
   * new key first and calling `engine.secrets.rotate()`; remove an old key once `secrets.usage()` shows it unused.
   */
  secretKeys: z
    .array(secretKeySchema)
    .min(1, 'give at least one key')
    .refine((keys) => new Set(keys.map((k) => k.id)).size === keys.length, 'key ids must be unique')
    .optional(),
  loader: z.custom<Loader>((v) => !!v && typeof (v as Loader).load === 'function').optional(),
  /** Raw records per transform message. */
  batchSize: z.number().int().min(1).max(10_000).default(500),
  /** Streams (and partitions) of one integration extracted at once in this process. */
  maxParallelStreams: z.number().int().min(1).max(64).default(4),
  /** Run migrations at start. */
  migrate: z.boolean().default(true),
  eventPollMs: z.number().int().min(20).default(250),
  /** Minimum interval between persisted progress events per job and stream. */
  progressIntervalMs: z.number().int().min(0).default(500),
  /**
   * Records a job may have extracted but not yet loaded before extraction waits. Bounds queue depth and
   * memory whatever the speed of the source, across all processes (the counters live in the database).
   */
  maxInFlightRecords: z.number().int().min(1).default(20_000),
  /**
   * How long an extractor's lease on a stream lasts without renewal (renewed every third of it while it runs).
   * A stream whose holder died is taken over once its lease expired.
   */
  streamLeaseMs: z.number().int().min(1_000).max(3_600_000).default(60_000),
});
export type EngineOptions = z.input<typeof optionsSchema>;

const startJobSchema = z.strictObject({
  integrationId: z.string().min(1),
  streams: z.array(z.string().min(1)).min(1).optional(),
  mode: z
    .enum(jobModes.filter((m) => m !== 'replay') as ['incremental', 'full', 'backfill'])
    .default('incremental'),
  window: z
    .strictObject({
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
    })
    .refine((w) => !w.from || !w.to || Date.parse(w.from) <= Date.parse(w.to), {
      message: 'from must not be after to',
      path: ['from'],
    })
    .optional(),
  requestedBy: z.string().max(200).optional(),
});

/**
 * Creates the engine: runs migrations, then offers jobs, integrations, mappings, replay and dead letters.
 * Call `startWorkers()` to process the three stages in this process (or in others on the same db + queue).
 *
 * @example
 * const { db } = await openDb();                      // embedded PGlite, or openDb({ url })
 * const engine = await createEngine({ db, queue: memoryQueue(), connectors: [jiraConnector()] });
 * await engine.startWorkers();
 * const job = await engine.jobs.start({ integrationId, mode: 'incremental' });
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const opts = parseOptions('core', 'createEngine', optionsSchema, options);
  const { db, queue, schema, batchSize } = opts;
  const connectors = new Map<string, Connector>();
  for (const connector of opts.connectors) {
    if (connectors.has(connector.name)) {
      throw new EtlError('invalid_config', `connectors: two connectors are named "${connector.name}"`);
    }
    connectors.set(connector.name, connector);
  }
  if (opts.migrate) await migrate(db, schema);
  await queue.start?.();

  const loader = opts.loader ?? postgresLoader({ schema });
  await loader.migrate?.();
  if (opts.secretKey && opts.secretKeys) {
    throw new EtlError(
      'invalid_config',
      'invalid createEngine options — give secretKey or secretKeys, not both',
    );
  }
  const keyring = secretKeyring(
    opts.secretKeys ?? (opts.secretKey ? [{ id: 'default', key: opts.secretKey }] : []),
  );
  const integrations = integrationStore(db, schema, connectors, keyring);
  const jobs = jobStore(db, schema);
  const raw = rawStore(db, schema);
  const mappings = mappingStore(db, schema, (id) => integrations.get(id));
  const events = eventLog(db, schema, opts.eventPollMs);
  const budgets = rateLimitBudgets(db, schema, (integrationId, until, reason) => {
    void emit({ type: 'throttled', jobId: null, integrationId, until: until.toISOString(), reason });
  });
  const subscriptions: Subscription[] = [];
  const rt = engineRuntime({
    db,
    queue,
    schema,
    batchSize,
    progressIntervalMs: opts.progressIntervalMs,
    maxParallelStreams: opts.maxParallelStreams,
    maxInFlightRecords: opts.maxInFlightRecords,
    workerId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    streamLeaseMs: opts.streamLeaseMs,
    connectors,
    loader,
    integrations,
    jobs,
    raw,
    checkpoints: checkpointStore(db, schema),
    mappings,
    budgets,
    appendEvent: (event) => events.append(event),
  });
  const { emit, publishTransforms } = rt;
  const { handleExtract } = extractStage(rt);
  const { handleTransform, handleLoad } = transformAndLoadStages(rt);
  const replay = replayer(rt);

  async function startJob(input: StartJobInput): Promise<Job> {
    assertCleanInput(input, 'job');
    const parsed = startJobSchema.safeParse(input);
    if (!parsed.success) throw invalidInput('job', parsed.error);
    const { integrationId, mode, window, requestedBy } = parsed.data;
    const integration = await integrations.get(integrationId);
    const connector = integrations.connectorFor(integration.connector);
    if (!integration.enabled)
      throw new EtlError('conflict', `integration ${integration.name} is disabled; enable it first`);
    const known = connector.streams.map((d) => d.name);
    const requested = parsed.data.streams ?? known;
    const unknown = requested.filter((name) => !known.includes(name));
    if (unknown.length > 0) {
      throw new EtlError(
        'invalid_input',
        `streams: unknown stream(s) ${unknown.join(', ')} for ${connector.name}; known: ${known.join(', ')}`,
        {
          details: [{ path: 'streams', message: `unknown: ${unknown.join(', ')}` }],
        },
      );
    }
    if (mode === 'backfill' && !window?.from) {
      throw new EtlError('invalid_input', 'window.from: a backfill needs a date window', {
        details: [{ path: 'window.from', message: 'required for backfill' }],
      });
    }
    const selected = [...new Set(requested)];
    const initial = selected.map((stream) => {
      const deps = (connector.streams.find((d) => d.name === stream)?.dependsOn ?? []).filter((d) =>
        selected.includes(d),
      );
      return { stream, status: deps.length === 0 ? ('queued' as const) : ('waiting' as const) };
    });
    const job = await jobs.create(
      {
        integrationId,
        connector: connector.name,
        streams: selected,
        mode,
        window: window ?? null,
        requestedBy: requestedBy ?? null,
        status: 'queued',
        streamsPending: selected.length,
      },
      initial,
    );
    await emit({ type: 'job.status', jobId: job.id, status: 'queued' });
    await queue.publish(
      'extract',
      initial
        .filter((i) => i.status === 'queued')
        .map((i): ExtractTask => ({ jobId: job.id, stream: i.stream, partition: null })),
    );
    return job;
  }

  async function illegal(id: string, action: string): Promise<never> {
    const job = await jobs.get(id);
    throw new EtlError('illegal_transition', `cannot ${action} job ${id}: it is ${job.status}`, {
      details: { status: job.status },
    });
  }

  async function resumeJob(id: string): Promise<Job> {
    const { job, streams: tasks } = await jobs.resume(id);
    if (!job) return illegal(id, 'resume');
    await emit({ type: 'job.status', jobId: id, status: 'running' });
    if (tasks.length > 0) await queue.publish('extract', tasks);
    return job;
  }

  /** After a restart with the in-memory queue, re-publishes what running jobs still need. */
  async function recover() {
    const streams = await jobs.activeStreams();
    if (streams.length > 0) await queue.publish('extract', streams satisfies ExtractTask[]);
    for (const batch of await raw.pendingOfActiveJobs()) {
      await publishTransforms(batch.jobId, batch.stream, batch.partition, batch.ids);
    }
  }

  const handlers: Record<Stage, (m: QueueMessage) => Promise<void>> = {
    extract: handleExtract,
    transform: handleTransform,
    load: handleLoad,
  };
  const defaultConcurrency: Record<Stage, number> = { extract: 4, transform: 2, load: 4 };
  let workersStarted = false;

  const engine: Engine = {
    db,
    schema,
    queue,
    connectors,
    events: events.source,
    async startWorkers(workerOptions: WorkerOptions = {}) {
      const stagesToRun = workerOptions.stages ?? (['extract', 'transform', 'load'] as Stage[]);
      if (!workersStarted && queue.name === 'memory') await recover();
      workersStarted = true;
      for (const stage of stagesToRun) {
        const prefetch = workerOptions.concurrency?.[stage] ?? defaultConcurrency[stage];
        subscriptions.push(await queue.consume(stage, handlers[stage], { prefetch }));
      }
    },
    async stop() {
      const subs = subscriptions.splice(0);
      await Promise.all(subs.map((sub) => sub.cancel()));
      events.stop();
    },
    integrations: {
      create: (input) => integrations.create(input),
      get: (id) => integrations.get(id),
      list: () => integrations.list(),
      update: (id, patch) => integrations.update(id, patch),
      delete: (id) => integrations.delete(id),
      async test(id, changes) {
        let resolved: { connector: Connector; config: unknown };
        try {
          resolved =
            changes?.config === undefined
              ? await integrations.resolve(id)
              : await integrations.draft(id, changes.config);
        } catch (error) {
          // A secret that cannot be opened is the answer of the test, not a server error.
          if (isEtlError(error, 'secret_key')) return { ok: false, message: describeError(error) };
          throw error;
        }
        const { connector, config } = resolved;
        if (!connector.check)
          return { ok: true, message: `${connector.name} has no connection check; config is valid` };
        try {
          return await connector.check(config, { signal: AbortSignal.timeout(30_000) });
        } catch (error) {
          return { ok: false, message: describeError(error) };
        }
      },
    },
    secrets: {
      rotate: () => integrations.rotate(),
      usage: () => integrations.keyUsage(),
    },
    mappings: {
      async get(integrationId) {
        const current = await mappings.current(integrationId);
        if (current.version > 0) return current;
        const { connector } = await integrations.resolveWithoutSecrets(integrationId);
        return { version: 0, mappings: mappingsSchema.parse(connector.defaultMappings ?? {}) };
      },
      put: (integrationId, input) => mappings.put(integrationId, input),
    },
    jobs: {
      start: startJob,
      get: (id) => jobs.getWithStreams(id),
      list: (filter) => jobs.list(filter),
      async pause(id) {
        const job = await jobs.transition(id, 'pause');
        if (!job) return illegal(id, 'pause');
        await emit({ type: 'job.status', jobId: id, status: 'paused' });
        return job;
      },
      resume: resumeJob,
      async cancel(id) {
        const job = await jobs.transition(id, 'cancel');
        if (!job) return illegal(id, 'cancel');
        await jobs.cancelStreams(id);
        await emit({ type: 'job.status', jobId: id, status: 'cancelled' });
        return job;
      },
      async waitFor(id, waitOptions = {}) {
        const deadline = Date.now() + (waitOptions.timeoutMs ?? 60_000);
        for (;;) {
          const job = await jobs.get(id);
          if (finishedStatuses.includes(job.status)) return jobs.getWithStreams(id);
          if (Date.now() > deadline) {
            throw new EtlError(
              'timeout',
              `job ${id} is still ${job.status} after ${waitOptions.timeoutMs ?? 60_000} ms (counters ${JSON.stringify(job.counters)})`,
            );
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      },
    },
    raw: {
      list: (filter) => raw.list(filter),
      get: (id) => raw.get(id),
    },
    replay,
    deadLetters: {
      async list(listOptions) {
        if (!queue.deadLetters)
          throw new EtlError('unsupported', `queue ${queue.name} does not keep dead letters`);
        return queue.deadLetters.list(listOptions);
      },
      async replay(id) {
        if (!queue.deadLetters)
          throw new EtlError('unsupported', `queue ${queue.name} does not keep dead letters`);
        if (!(await queue.deadLetters.replay(id)))
          throw new EtlError('not_found', `dead letter ${id} does not exist`);
      },
      async discard(id) {
        if (!queue.deadLetters)
          throw new EtlError('unsupported', `queue ${queue.name} does not keep dead letters`);
        if (!(await queue.deadLetters.discard(id)))
          throw new EtlError('not_found', `dead letter ${id} does not exist`);
      },
    },
    queues: {
      async stats() {
        if (!queue.stats) throw new EtlError('unsupported', `queue ${queue.name} does not report stats`);
        return queue.stats();
      },
    },
  };
  return engine;
}

export type { LoadCounts };
