import { Cron } from 'croner';
import { z } from 'zod';
import { jobModes } from './jobs.js';
import { mappingsSchema } from './mappings.js';

/**
 * The inputs of the engine's API, validated by core: `createEngine`'s methods parse with these, and the UI and
 * the CLI reuse them, so a value is refused the same way (and with the same message) wherever it comes from.
 */

const id = z.string().min(1).max(200);
const streamName = z.string().min(1).max(100);
const isoDate = z.iso.datetime({ offset: true });
const name = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

/** Seconds between scheduled incremental runs: at least a minute, at most a year; null for manual runs only. */
export const scheduleSecondsSchema = z
  .number({ error: 'must be a number of seconds, or null for manual runs only' })
  .int('must be a whole number of seconds')
  .min(60, 'must be at least 60 seconds (or null for manual runs only)')
  .max(31_536_000, 'must be at most 31536000 seconds (one year)')
  .nullable();

/**
 * A cron expression (five fields, evaluated in UTC; `*\/15 * * * *` is every quarter hour) for scheduled
 * incremental runs, parsed by croner; null for none. At most one run a minute.
 */
export const scheduleCronSchema = z
  .string({ error: 'must be a cron expression like "*/15 * * * *", or null' })
  .trim()
  .max(200)
  .refine((pattern) => pattern.split(/\s+/).length === 5 && validCron(pattern), {
    message: 'must be a five-field cron expression like "*/15 * * * *" (minute hour day month weekday)',
  })
  .nullable();

function validCron(pattern: string): boolean {
  try {
    new Cron(pattern, { paused: true, timezone: 'UTC' });
    return true;
  } catch {
    return false;
  }
}

const oneSchedule = (input: { scheduleSeconds?: number | null; scheduleCron?: string | null }) =>
  !(input.scheduleSeconds && input.scheduleCron);
const oneScheduleMessage = {
  message: 'set scheduleSeconds or scheduleCron, not both',
  path: ['scheduleCron'],
};

/** A connector's config before the connector's own schema parses it. */
const configInput = z.record(z.string().max(200), z.unknown());

/** `engine.integrations.create(input)`. */
export const createIntegrationInputSchema = z
  .strictObject({
    connector: z.string().min(1).max(100),
    name,
    config: configInput.default({}),
    scheduleSeconds: scheduleSecondsSchema.optional(),
    scheduleCron: scheduleCronSchema.optional(),
    enabled: z.boolean().optional(),
  })
  .refine(oneSchedule, oneScheduleMessage);

/** What `engine.integrations.create` takes: a connector's name, a display name, its config, a schedule. */
export type CreateIntegrationInput = z.input<typeof createIntegrationInputSchema>;

/** `engine.integrations.update(id, patch)`: at least one field. */
export const updateIntegrationInputSchema = z
  .strictObject({
    name: name.optional(),
    config: configInput.optional(),
    scheduleSeconds: scheduleSecondsSchema.optional(),
    scheduleCron: scheduleCronSchema.optional(),
    enabled: z.boolean().optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, { message: 'nothing to change' })
  .refine(oneSchedule, oneScheduleMessage);

/**
 * What `engine.integrations.update` takes. `config` is merged over the stored config; a masked secret value
 * (`'••••••'`) keeps the stored secret.
 */
export type UpdateIntegrationInput = z.input<typeof updateIntegrationInputSchema>;

const fromNotAfterTo = (w: { from?: string; to?: string }) =>
  !w.from || !w.to || Date.parse(w.from) <= Date.parse(w.to);
const fromAfterTo = { message: 'from must not be after to', path: ['from'] };

/** `engine.integrations.test(id, changes)`: of the stored config, or of unsaved `config` changes merged over it. */
export const testIntegrationInputSchema = z.strictObject({ config: configInput.optional() });

/** A date window, both ends optional (ISO 8601 with an offset), `from` not after `to`. */
export const dateWindowSchema = z
  .strictObject({ from: isoDate.optional(), to: isoDate.optional() })
  .refine(fromNotAfterTo, fromAfterTo);

/** `engine.jobs.start(input)`. */
export const startJobInputSchema = z.strictObject({
  integrationId: id,
  streams: z.array(streamName).min(1).max(100).optional(),
  mode: z
    .enum(jobModes.filter((m) => m !== 'replay') as ['incremental', 'full', 'backfill'])
    .default('incremental'),
  window: dateWindowSchema.optional(),
  requestedBy: z.string().max(200).optional(),
});

const selectorShapes = {
  job: { jobId: id },
  stream: { integrationId: id, stream: streamName.optional() },
  range: { from: isoDate, to: isoDate, integrationId: id.optional() },
};

/** `engine.replay(selector)`: by job, by integration (and stream), or by extraction time range. */
export const replaySelectorSchema = z.union([
  z.strictObject(selectorShapes.job),
  z.strictObject(selectorShapes.stream),
  z.strictObject(selectorShapes.range).refine(fromNotAfterTo, fromAfterTo),
]);

/** A replay request as one object: a selector plus `dryRun` (what the HTTP API and the CLI take). */
export const replayRequestSchema = z.union([
  z.strictObject({ ...selectorShapes.job, dryRun: z.boolean().default(false) }),
  z.strictObject({ ...selectorShapes.stream, dryRun: z.boolean().default(false) }),
  z
    .strictObject({ ...selectorShapes.range, dryRun: z.boolean().default(false) })
    .refine(fromNotAfterTo, fromAfterTo),
]);

/** `engine.mappings.put(integrationId, input)`. */
export const mappingsInputSchema = mappingsSchema;
