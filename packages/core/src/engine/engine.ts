import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { migrate } from '../db/migrate.js';
import { postgresLoader } from '../loader/postgres-loader.js';
import { replayer } from '../stages/replay.js';
import { engineRuntime } from '../stages/stage-runtime.js';
import { checkpointStore } from '../stores/checkpoint-store.js';
import { eventLog } from '../stores/event-log.js';
import { integrationStore } from '../stores/integration-store.js';
import { jobStore } from '../stores/job-store.js';
import { mappingStore } from '../stores/mapping-store.js';
import { requestGates } from '../stores/rate-limit.js';
import { sourceHttp } from '../source/source-http.js';
import { rawStore } from '../stores/raw-store.js';
import { parseEngineOptions, type EngineOptions } from './engine-options.js';
import { engineStats } from './engine-stats.js';
import type { Engine } from './engine-types.js';
import { integrationsApi, mappingsApi, secretsApi } from './integrations-api.js';
import { jobsApi } from './jobs-api.js';
import { deadLettersApi, queuesApi } from './queue-api.js';
import { stageWorkers } from './workers.js';

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
  const opts = parseEngineOptions(options);
  const { db, queue, schema, registry: connectors } = opts;
  if (opts.migrate) await migrate(db, schema);
  await queue.start?.();
  const loader = opts.loader ?? postgresLoader({ schema });
  await loader.migrate?.();

  const integrations = integrationStore(db, schema, connectors, opts.keyring);
  const mappings = mappingStore(db, schema, (id) => integrations.get(id));
  const events = eventLog(db, schema, opts.eventPollMs);
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const gates = requestGates(db, schema, workerId, (integrationId, until, reason) => {
    void rt.emit({ type: 'throttled', jobId: null, integrationId, until: until.toISOString(), reason });
  });
  // Every connector's HTTP client: the host's network guard, the integrations' gates, the host's policy.
  const http = sourceHttp({ network: opts.network, policy: opts.http, gates });
  const rt = engineRuntime({
    ...opts,
    connectors,
    workerId,
    loader,
    integrations,
    jobs: jobStore(db, schema),
    raw: rawStore(db, schema),
    checkpoints: checkpointStore(db, schema),
    mappings,
    sourceHttp: http,
    appendEvent: (event) => events.append(event),
  });
  const workers = stageWorkers(rt);

  return {
    db,
    schema,
    queue,
    connectors,
    events: events.source,
    startWorkers: (workerOptions) => workers.start(workerOptions),
    async stop() {
      await workers.stop();
      events.stop();
    },
    integrations: integrationsApi(integrations, http),
    secrets: secretsApi(integrations),
    mappings: mappingsApi(integrations, mappings),
    jobs: jobsApi(rt),
    raw: { list: (filter) => rt.raw.list(filter), get: (id) => rt.raw.get(id) },
    replay: replayer(rt),
    deadLetters: deadLettersApi(queue),
    queues: queuesApi(queue),
    stats: engineStats({ jobs: rt.jobs, budgets: gates, events, queue }),
    async prune(ages) {
      const drain = async (step: () => Promise<number>) => {
        let total = 0;
        for (let n = await step(); n > 0; n = await step()) total += n;
        return total;
      };
      return {
        events: ages.eventsMs === undefined ? 0 : await drain(() => events.prune(ages.eventsMs!)),
        finishedJobs:
          ages.finishedJobsMs === undefined
            ? 0
            : await drain(() => rt.jobs.pruneFinished(ages.finishedJobsMs!)),
        supersededRaw:
          ages.supersededRawMs === undefined
            ? 0
            : await drain(() => rt.raw.pruneSuperseded(ages.supersededRawMs!)),
      };
    },
  };
}

export type { EngineOptions };
