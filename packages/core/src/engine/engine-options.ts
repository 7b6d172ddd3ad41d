import { z } from 'zod';
import type { Connector } from '../connector/connector.js';
import { validateConnector } from '../connector/validate-connector.js';
import type { Db } from '../db/db.js';
import { EtlError } from '../errors.js';
import type { Loader } from '../loader/loader.js';
import { parseOptions } from '../options.js';
import type { QueueAdapter } from '../queue/queue.js';
import { engineHttpSchema, engineNetworkSchema } from '../source/source-http.js';
import { secretKeyring, secretKeySchema, type SecretKeyring } from '../stores/secrets.js';

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
      typeof (v as QueueAdapter).consume === 'function' &&
      typeof (v as QueueAdapter).capabilities === 'object',
    { message: 'must be a QueueAdapter with its capabilities (memoryQueue(), rabbitmqQueue(), …)' },
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
  /**
   * What connectors may reach beyond the public internet: `{ allow: ['10.0.0.0/8', 'jira.internal'] }`.
   * The host's decision alone; no integration config can widen it.
   */
  network: engineNetworkSchema.default({ allow: [] }),
  /** Timeouts and retries of every connector's HTTP client, over the connectors' own defaults. */
  http: engineHttpSchema.default({}),
});

/** What `createEngine` takes: the host's database and queue, the connectors, and tuning with safe defaults. */
export type EngineOptions = z.input<typeof optionsSchema>;
export type ParsedEngineOptions = z.output<typeof optionsSchema>;

/**
 * The connectors by name, each validated (`validateConnector`): a broken definition fails at registration,
 * naming the connector, the stream and the problem, instead of leaving a job queued forever.
 */
function registerConnectors(list: readonly Connector[]): Map<string, Connector> {
  const connectors = new Map<string, Connector>();
  for (const connector of list) {
    if (connectors.has(connector.name)) {
      throw new EtlError('invalid_config', `connectors: two connectors are named "${connector.name}"`);
    }
    validateConnector(connector);
    connectors.set(connector.name, connector);
  }
  return connectors;
}

/** `createEngine`'s options parsed (naming each offending field), its connectors registered, its keyring. */
export function parseEngineOptions(options: EngineOptions): ParsedEngineOptions & {
  registry: Map<string, Connector>;
  keyring: SecretKeyring;
} {
  const opts = parseOptions('core', 'createEngine', optionsSchema, options);
  if (opts.secretKey && opts.secretKeys) {
    throw new EtlError(
      'invalid_config',
      'invalid createEngine options — give secretKey or secretKeys, not both',
    );
  }
  const keyring = secretKeyring(
    opts.secretKeys ?? (opts.secretKey ? [{ id: 'default', key: opts.secretKey }] : []),
  );
  return { ...opts, registry: registerConnectors(opts.connectors), keyring };
}
