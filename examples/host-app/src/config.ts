import { z } from 'zod';
import { networkOptionsSchema, stages, type Stage } from '@etl/core';
import { logLevels } from './log.js';

/** Thrown when the environment is invalid; the message names every offending variable. */
export class ConfigError extends Error {
  constructor(readonly variables: { name: string; message: string }[]) {
    super(
      `invalid configuration — ${variables.map((v) => `${v.name}: ${v.message}`).join('; ')}` +
        ' (see the configuration reference in the README)',
    );
    this.name = 'ConfigError';
  }
}

const flag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const url = (protocols: string[], example: string) =>
  z
    .string()
    .refine(
      (value) => URL.canParse(value) && protocols.includes(new URL(value).protocol),
      `must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL like ${example}`,
    );

const stageList = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.enum(stages)).min(1, `name at least one of ${stages.join(', ')}`));

/**
 * `8` (every stage) or `extract=2,transform=4,load=2`: messages handled at once per stage in this process.
 */
export const concurrencySpec = z.string().transform((value, ctx) => {
  const out: Partial<Record<Stage, number>> = {};
  const bad = () => {
    ctx.addIssue({ code: 'custom', message: 'use a number or stage=number pairs (extract=2,load=1)' });
    return z.NEVER;
  };
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n < 1 || n > 256) return bad();
    for (const stage of stages) out[stage] = n;
    return out;
  }
  for (const part of value.split(',')) {
    const [stage, count] = part.split('=').map((s) => s.trim());
    if (!stages.includes(stage as Stage) || !count || !/^\d+$/.test(count)) return bad();
    const n = Number(count);
    if (n < 1 || n > 256) return bad();
    out[stage as Stage] = n;
  }
  return out;
});

/**
 * `new:KEY2,old:KEY1`: a keyring of `id:key` pairs, the first encrypting new values, every one decrypting.
 * Keys are at least 16 characters and contain no comma (base64 or hex keys never do).
 */
export const secretKeyring = z.string().transform((value, ctx) => {
  const keys: { id: string; key: string }[] = [];
  for (const entry of value.split(',').map((e) => e.trim())) {
    const colon = entry.indexOf(':');
    const id = entry.slice(0, colon);
    const key = entry.slice(colon + 1);
    if (colon < 1 || !/^[A-Za-z0-9_.-]{1,40}$/.test(id) || key.length < 16) {
      ctx.addIssue({
        code: 'custom',
        message:
          'use id:key pairs separated by commas (ids of letters, digits, _ . -; keys of 16+ characters)',
      });
      return z.NEVER;
    }
    if (keys.some((k) => k.id === id)) {
      ctx.addIssue({ code: 'custom', message: `key id "${id}" appears twice` });
      return z.NEVER;
    }
    keys.push({ id, key });
  }
  return keys;
});

const envSchema = z.object({
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'postgres://user:password@host:5432/db').optional(),
  ETL_DATA_DIR: z.string().min(1).default('.demo-data'),
  ETL_DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
    .default('etl'),
  RABBITMQ_URL: url(['amqp:', 'amqps:'], 'amqp://user:password@host:5672').optional(),
  RABBITMQ_MANAGEMENT_URL: url(['http:', 'https:'], 'http://user:password@host:15672').optional(),
  ETL_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'use 1-100 letters, digits, or _ . : -')
    .default('etl'),
  ETL_SECRET_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  ETL_SECRET_KEYS: secretKeyring.optional(),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  ETL_WORKERS: z.enum(['in-process', 'none']).default('in-process'),
  ETL_WORKER_STAGES: stageList.default([...stages]),
  ETL_WORKER_CONCURRENCY: concurrencySpec.optional(),
  ETL_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  ETL_SCHEDULER: flag.default(true),
  ETL_SCHEDULER_TICK_SECONDS: z.coerce.number().min(0.1).max(3600).default(10),
  ETL_SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().min(0).max(3600).default(30),
  ETL_HTTP_HEADERS_TIMEOUT_SECONDS: z.coerce.number().min(1).max(3600).default(10),
  ETL_HTTP_REQUEST_TIMEOUT_SECONDS: z.coerce.number().min(1).max(3600).default(30),
  ETL_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: z.coerce.number().min(1).max(3600).default(5),
  ETL_UI_USER: z.string().min(1).optional(),
  ETL_UI_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  ETL_UI_READ_ONLY: flag.default(false),
  ETL_LOG_LEVEL: z.enum(logLevels).default('info'),
  ETL_LEASE_SECONDS: z.coerce.number().min(1).max(3600).default(60),
  /**
   * Private ranges and host names connectors may reach (`10.0.0.0/8,jira.internal`): the engine's
   * `network.allow`. Nothing private by default; no integration config can widen it.
   */
  ETL_ALLOW_PRIVATE_NETWORK: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry.length > 0),
    )
    .pipe(networkOptionsSchema.shape.allow.unwrap())
    .default([]),
  /** Days to keep events, finished jobs and raw rows a newer payload supersedes; 0 keeps them. */
  ETL_RETENTION_EVENTS_DAYS: z.coerce.number().min(0).max(36_500).default(30),
  ETL_RETENTION_JOBS_DAYS: z.coerce.number().min(0).max(36_500).default(90),
  ETL_RETENTION_RAW_DAYS: z.coerce.number().min(0).max(36_500).default(180),
});

export type Config = z.output<typeof envSchema>;

/**
 * Reads the configuration from environment variables. Empty strings count as unset, so
 * `DATABASE_URL=` in a compose file means "embedded".
 *
 * @example
 * const config = loadConfig(process.env); // throws ConfigError naming DATABASE_URL, PORT, …
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.keys(envSchema.shape).map((name) => [name, env[name] === '' ? undefined : env[name]]),
  );
  const result = envSchema.safeParse(present);
  const problems: { name: string; message: string }[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      problems.push({ name: String(issue.path[0] ?? '?'), message: issue.message });
    }
    throw new ConfigError(problems);
  }
  const config = result.data;
  if (config.DATABASE_URL && !config.ETL_SECRET_KEY && !config.ETL_SECRET_KEYS) {
    problems.push({
      name: 'ETL_SECRET_KEY',
      message: 'is required with DATABASE_URL (it encrypts integration secrets at rest), or ETL_SECRET_KEYS',
    });
  }
  if (config.ETL_SECRET_KEY && config.ETL_SECRET_KEYS) {
    problems.push({
      name: 'ETL_SECRET_KEYS',
      message: 'set ETL_SECRET_KEY or ETL_SECRET_KEYS, not both (a single key is `default:KEY` in the ring)',
    });
  }
  if (!!config.ETL_UI_USER !== !!config.ETL_UI_PASSWORD) {
    problems.push({
      name: config.ETL_UI_USER ? 'ETL_UI_PASSWORD' : 'ETL_UI_USER',
      message: 'set both ETL_UI_USER and ETL_UI_PASSWORD, or neither',
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
