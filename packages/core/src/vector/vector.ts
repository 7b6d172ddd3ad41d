import { createHash } from 'node:crypto';

/**
 * Turns texts into vectors. The host picks the model; the library never downloads one.
 * Implementations enforce their own rate budget and concurrency cap, and may declare them so that callers
 * batch accordingly.
 *
 * @example
 * const embedder = openAiEmbedder({ url: 'http://127.0.0.1:11434', model: 'nomic-embed-text', dimension: 768 });
 * const [vector] = await embedder.embed(['Login fails with SSO']);
 */
export interface Embedder {
  /** The implementation, e.g. `openai-compatible`. */
  readonly name: string;
  /** The model the vectors come from; a different model means a different collection. */
  readonly model: string;
  /** Length of every vector `embed` returns. */
  readonly dimension: number;
  /** Texts per `embed` call at most (callers split larger sets); unlimited when absent. */
  readonly maxBatchSize?: number;
  /** `embed` calls this embedder runs at once at most; callers need not queue beyond it. */
  readonly concurrency?: number;
  /** One vector per text, in order. Throws an EtlError (`rate_limited`, `timeout`, `source_error`, …). */
  embed(texts: string[], options?: { signal?: AbortSignal }): Promise<number[][]>;
}

/** Payload values a store keeps with a point and can filter on (equality). */
export type VectorPayloadValue = string | number | boolean | null;
/** The fields stored with a vector point. */
export type VectorPayload = Record<string, VectorPayloadValue>;

/** One point: an id (a UUID, which every store accepts), its vector and payload. */
export interface VectorPoint {
  id: string;
  vector: number[];
  payload: VectorPayload;
}

/** Equality on payload fields, all of which must match. */
export type VectorFilter = Record<string, string | number | boolean>;

/** A point a search found, with its score. */
export interface VectorSearchHit {
  id: string;
  /** Cosine similarity, higher is nearer (1 for the same direction). */
  score: number;
  payload: VectorPayload;
}

/** A collection: its name, dimensions and point count. */
export interface VectorCollectionInfo {
  name: string;
  dimension: number;
  points: number;
}

/**
 * Where vectors live: pgvector in the engine's own database (`pgvectorStore`), Qdrant (`@etl/vector-qdrant`),
 * or any store that passes `testVectorStore` from `@etl/core/testing`. Distances are cosine.
 *
 * @example
 * const store = pgvectorStore({ db, schema: 'etl' });
 * await store.ensureCollection('items', { dimension: 384 });
 * await store.upsert('items', [{ id: randomUUID(), vector, payload: { kind: 'work_item' } }]);
 * const hits = await store.search('items', vector, { limit: 10, filter: { kind: 'work_item' } });
 */
export interface VectorStore {
  /** The store, e.g. `pgvector` or `qdrant`. */
  readonly name: string;
  /** Creates the collection when missing; an existing one of another dimension is a `conflict`. */
  ensureCollection(collection: string, options: { dimension: number }): Promise<void>;
  /** Inserts or replaces points by id. A vector of the wrong length is `invalid_input`; a missing collection `not_found`. */
  upsert(collection: string, points: VectorPoint[]): Promise<void>;
  /** Replaces the payloads of existing points, keeping their vectors; unknown ids are ignored. */
  setPayload(collection: string, points: { id: string; payload: VectorPayload }[]): Promise<void>;
  /** Removes points by id; unknown ids are ignored. */
  delete(collection: string, ids: string[]): Promise<void>;
  count(collection: string, filter?: VectorFilter): Promise<number>;
  /** The nearest points first. */
  search(
    collection: string,
    vector: number[],
    options?: { limit?: number; filter?: VectorFilter },
  ): Promise<VectorSearchHit[]>;
  /** The collection's dimension and point count, or null when it does not exist. */
  info(collection: string): Promise<VectorCollectionInfo | null>;
  /** Drops the collection and its points; false when it did not exist. */
  deleteCollection?(collection: string): Promise<boolean>;
  /** Closes connections the store opened (never the host's). */
  close?(): Promise<void>;
}

/** Collection names every store accepts: lower-case letters, digits and `_`, starting with a letter. */
export const collectionNamePattern = /^[a-z][a-z0-9_]{0,47}$/;

/**
 * The point id of a canonical row: a UUID derived from kind, integration and source id, the same in every
 * process and store, so an upsert of the same row replaces its point.
 */
export function vectorPointId(kind: string, integrationId: string, sourceId: string): string {
  const hex = createHash('sha1').update(`${kind}\u0000${integrationId}\u0000${sourceId}`).digest('hex');
  // RFC 4122 layout, version 5 (name-based, SHA-1).
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
