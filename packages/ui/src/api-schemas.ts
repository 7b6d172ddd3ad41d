import { jobModes, jobStatuses, mappingsSchema, stages } from '@etl/core';
import { z } from 'zod';

const id = z.string().min(1).max(200);
const isoDate = z.iso.datetime({ offset: true });
const pageLimit = z.coerce.number().int().min(1).max(500).optional();
const pageOffset = z.coerce.number().int().min(0).max(1_000_000).optional();
const name = z.string().trim().min(1).max(200);
const booleanFlag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const jobListQuery = z.strictObject({
  status: z.enum(jobStatuses).optional(),
  integration: id.optional(),
  integrationId: id.optional(),
  connector: z.string().min(1).max(100).optional(),
  limit: pageLimit,
  offset: pageOffset,
});

const fromNotAfterTo = (w: { from?: string; to?: string }) =>
  !w.from || !w.to || Date.parse(w.from) <= Date.parse(w.to);
const fromAfterTo = { message: 'from must not be after to', path: ['from'] };

const window = z
  .strictObject({ from: isoDate.optional(), to: isoDate.optional() })
  .refine(fromNotAfterTo, fromAfterTo);

export const startJobBody = z.strictObject({
  integrationId: id,
  streams: z.array(z.string().min(1).max(100)).max(100).optional(),
  mode: z
    .enum(jobModes.filter((m) => m !== 'replay') as ['incremental', 'full', 'backfill'])
    .default('incremental'),
  window: window.optional(),
});

export const eventsQuery = z.strictObject({
  lastEventId: z.coerce.number().int().min(0).optional(),
});

export const deadLetterQuery = z.strictObject({
  stage: z.enum(stages).optional(),
  limit: pageLimit,
});

export const rawListQuery = z.strictObject({
  jobId: id.optional(),
  integrationId: id.optional(),
  stream: z.string().min(1).max(100).optional(),
  status: z.enum(['pending', 'loaded', 'failed']).optional(),
  payload: booleanFlag.optional(),
  limit: pageLimit,
  offset: pageOffset,
});

const replayOptions = { dryRun: z.boolean().default(false) };

export const replayBody = z.union([
  z.strictObject({ jobId: id, ...replayOptions }),
  z.strictObject({ integrationId: id, stream: z.string().min(1).max(100).optional(), ...replayOptions }),
  z
    .strictObject({ from: isoDate, to: isoDate, integrationId: id.optional(), ...replayOptions })
    .refine(fromNotAfterTo, fromAfterTo),
]);

const config = z.record(z.string().max(200), z.unknown());
const scheduleSeconds = z.number().int().min(60).max(31_536_000).nullable();

export const createIntegrationBody = z.strictObject({
  connector: z.string().min(1).max(100),
  name,
  config: config.default({}),
  scheduleSeconds: scheduleSeconds.optional(),
  enabled: z.boolean().optional(),
});

export const updateIntegrationBody = z
  .strictObject({
    name: name.optional(),
    config: config.optional(),
    scheduleSeconds: scheduleSeconds.optional(),
    enabled: z.boolean().optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, { message: 'nothing to change' });

/** A connection test: of the stored config, or of unsaved `config` changes merged over it. */
export const testIntegrationBody = z.strictObject({ config: config.optional() });

export const mappingsBody = mappingsSchema;

export const emptyBody = z.strictObject({});
