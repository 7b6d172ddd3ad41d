/**
 * @etl/core: the public API, in two parts. The host API is what a service embedding the engine uses (create it,
 * open its database, pick a queue, drive jobs, read stats). The plugin API is what connector, queue, loader and
 * vector-store authors build against. Everything else in this package is internal and may change.
 */

// ── Host API ────────────────────────────────────────────────────────────────────────────────────────────
export { createEngine } from './engine/engine.js';
export type { EngineOptions } from './engine/engine-options.js';
export type {
  Engine,
  EngineStats,
  WorkerOptions,
  Integration,
  SecretKeyUsage,
  SecretRotation,
  RawRowSummary,
  RawFilter,
  ReplaySelector,
  ReplayResult,
} from './engine/engine-types.js';
export type { SecretKey } from './stores/secrets.js';
export { MASK } from './stores/secrets.js';

export {
  openDb,
  pgDb,
  pgliteDb,
  quoteIdent,
  defaultDbTimeouts,
  type Db,
  type DbClient,
  type DbTimeouts,
  type OpenedDb,
  type QueryResult,
} from './db/db.js';
export { migrate, loadMigrations, type Migration } from './db/migrate.js';
export { memoryQueue, type MemoryQueueOptions } from './queue/memory-queue.js';
export { postgresLoader } from './loader/postgres-loader.js';

export {
  jobModes,
  jobStatuses,
  finishedStatuses,
  type Job,
  type JobMode,
  type JobStatus,
  type JobCounters,
  type JobStreamState,
  type JobFilter,
  type StartJobInput,
} from './model/jobs.js';
export type { EngineEvent, EngineEventPayload, EventListener, EventSource } from './model/events.js';

// Input rules: the engine parses with these; a UI or CLI in front of it reuses them.
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
  type CreateIntegrationInput,
  type UpdateIntegrationInput,
} from './model/inputs.js';
export { parseInput, assertCleanInput, inputIssues, maxInputDepth, type FieldIssue } from './validation.js';

export {
  EtlError,
  isEtlError,
  describeError,
  redact,
  registerSecret,
  type EtlErrorCode,
  type EtlErrorOptions,
} from './errors.js';

// ── Plugin API ──────────────────────────────────────────────────────────────────────────────────────────
export type {
  Connector,
  StreamDefinition,
  Extractor,
  ExtractContext,
  Page,
  RawRecord,
  RawRow,
  Transformer,
  TransformContext,
  ConnectorEvent,
  SourceHttp,
  PartitionContext,
  CheckResult,
} from './connector/connector.js';
export { validateConnector } from './connector/validate-connector.js';
export { parseOptions } from './options.js';
export { sleep } from './sleep.js';
export { seededRandom } from './testing/seeded-random.js';

export {
  entitySchemas,
  entityTables,
  canonicalWorkItemTypes,
  statusCategories,
  type Entity,
  type EntityDraft,
  type EntityKind,
  type EntityData,
  type EntityInput,
  type CanonicalWorkItemType,
  type StatusCategory,
} from './model/canonical.js';
export {
  mappingsSchema,
  mappingsView,
  emptyMappings,
  type Mappings,
  type MappingsInput,
  type MappingsView,
} from './model/mappings.js';

export {
  stages,
  type Stage,
  type QueueAdapter,
  type QueueCapabilities,
  type QueueMessage,
  type MessageHandler,
  type Subscription,
  type QueueStats,
  type DeadLetter,
  type DeadLetterStore,
} from './queue/queue.js';
export type { Loader, LoadContext, LoadCounts } from './loader/loader.js';

export {
  collectionNamePattern,
  vectorPointId,
  type Embedder,
  type VectorStore,
  type VectorPoint,
  type VectorPayload,
  type VectorPayloadValue,
  type VectorFilter,
  type VectorSearchHit,
  type VectorCollectionInfo,
} from './vector/vector.js';
export { pgvectorStore, type PgvectorStoreOptions } from './vector/pgvector-store.js';

// The source toolkit: one HTTP client, the private-network guard, request gates, rate-limit headers.
export {
  createHttpClient,
  httpPolicySchema,
  isPermanentSourceError,
  hostPort,
  safeUrl,
  type HttpClient,
  type HttpClientOptions,
  type HttpPolicy,
  type HttpPolicyInput,
  type HttpRequest,
  type HttpResponse,
  type QueryValue,
} from './source/http-client.js';
export {
  networkGuard,
  networkOptionsSchema,
  isPrivateAddress,
  privateAddressKind,
  type NetworkGuard,
  type NetworkOptions,
  type AddressVerdict,
} from './source/network-guard.js';
export {
  memoryGate,
  memoryGates,
  type RequestGate,
  type RequestGates,
  type RequestSlot,
  type GateLimits,
} from './source/request-gate.js';
export { retryAt, windowSpent, type HeaderSource } from './source/retry-at.js';
export {
  sourceHttp,
  engineNetworkSchema,
  engineHttpSchema,
  type EngineNetworkOptions,
  type SourceHttpFactory,
  type SourceRun,
} from './source/source-http.js';
export {
  dataCursor,
  comparePositions,
  type CursorPosition,
  type DataCursor,
  type DataCursorOptions,
} from './source/data-cursor.js';
export {
  cursorPaginator,
  pageTokenPaginator,
  linkPaginator,
  offsetPaginator,
  pagePaginator,
  nextLink,
  pathValue,
  type Paginator,
  type PageAnswer,
  type PageState,
} from './source/paginators.js';
export {
  restStream,
  restConnector,
  restPartitions,
  restCheckpointSchema,
  type RestStream,
  type RestStreamOptions,
  type RestChildRequest,
  type RestCheckpoint,
  type RestConnectorOptions,
} from './source/rest-stream.js';
export { statusTransitions, type StatusChange } from './model/status-history.js';
