export * from './errors.js';
export * from './db/db.js';
export * from './options.js';
export * from './model/canonical.js';
export * from './model/mappings.js';
export * from './connector/connector.js';
export * from './queue/queue.js';
export * from './loader/loader.js';
export * from './model/jobs.js';
export * from './model/events.js';
export * from './engine/engine-types.js';
export { memoryQueue, type MemoryQueueOptions } from './queue/memory-queue.js';
export { createEngine, type EngineOptions } from './engine/engine.js';
export { migrate, loadMigrations, type Migration } from './db/migrate.js';
export { postgresLoader, canonicalColumns, dedupeEntities } from './loader/postgres-loader.js';
export { MASK, type SecretKey } from './stores/secrets.js';
export {
  formatIssues,
  parseInput,
  assertCleanInput,
  inputIssues,
  maxInputDepth,
  type FieldIssue,
} from './validation.js';
export {
  scheduleSecondsSchema,
  createIntegrationInputSchema,
  updateIntegrationInputSchema,
  testIntegrationInputSchema,
  dateWindowSchema,
  startJobInputSchema,
  replaySelectorSchema,
  replayRequestSchema,
  mappingsInputSchema,
} from './model/inputs.js';
export { validateConnector, streamOrder } from './connector/validate-connector.js';
export { memoryRateLimit } from './connector/memory-rate-limit.js';
export { sleep } from './sleep.js';
export { seededRandom } from './testing/seeded-random.js';
export * from './vector/vector.js';
export { pgvectorStore, type PgvectorStoreOptions } from './vector/pgvector-store.js';
export * from './source/index.js';
