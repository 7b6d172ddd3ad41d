import {
  createIntegrationInputSchema,
  jobStatuses,
  mappingsInputSchema,
  replayRequestSchema,
  stages,
  startJobInputSchema,
  testIntegrationInputSchema,
  updateIntegrationInputSchema,
} from '@etl/core';
import { z } from 'zod';

const id = z.string().min(1).max(200);
const pageLimit = z.coerce.number().int().min(1).max(500).optional();
const pageOffset = z.coerce.number().int().min(0).max(1_000_000).optional();
const booleanFlag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const jobListQuery = z.strictObject({
  status: z.enum(jobStatuses).optional(),
  integration: id.optional(),
  integrationId: id.optional(),
  connector: z.string().min(1).max(100).optional(),
  limit: pageLimit,
  offset: pageOffset,
});

/** Core's job input; who asked comes from the request (the host's auth), not from the body. */
export const startJobBody = startJobInputSchema.omit({ requestedBy: true });

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

export const replayBody = replayRequestSchema;

export const createIntegrationBody = createIntegrationInputSchema;

export const updateIntegrationBody = updateIntegrationInputSchema;

/** A connection test: of the stored config, or of unsaved `config` changes merged over it. */
export const testIntegrationBody = testIntegrationInputSchema;

export const mappingsBody = mappingsInputSchema;

export const emptyBody = z.strictObject({});
