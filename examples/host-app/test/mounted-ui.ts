import { createEngine, memoryQueue, openDb, type Engine } from '@etl/core';
import { uniqueSchema } from '@etl/core/testing';
import { createEtlUi } from '@etl/ui';
import { Hono } from 'hono';
import { hostConnectors } from '../src/runtime.js';

export interface MountedUi {
  engine: Engine;
  /** One request to the mounted UI's JSON API (`/etl/api…`), answered with its status and JSON body. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, any> }>;
  close(): Promise<void>;
}

/**
 * The host's connectors on an engine of embedded PGlite with the in-memory queue, workers running, and the UI
 * mounted at `/etl` of a Hono app: what the security suites drive through the HTTP API.
 */
export async function startMountedUi(
  options: Partial<Parameters<typeof createEngine>[0]> & { schemaPrefix: string },
): Promise<MountedUi> {
  const { schemaPrefix, ...engineOptions } = options;
  const opened = await openDb();
  const engine = await createEngine({
    db: opened.db,
    schema: uniqueSchema(schemaPrefix),
    queue: memoryQueue({ maxAttempts: 2, retryDelaysMs: [10] }),
    connectors: hostConnectors(),
    secretKey: 'mounted-ui-secret-key-0123456789',
    progressIntervalMs: 0,
    ...engineOptions,
  });
  await engine.startWorkers();
  const app = new Hono();
  app.route('/etl', createEtlUi({ engine }));
  return {
    engine,
    async api(method, path, body) {
      const res = await app.request(`/etl/api${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    },
    async close() {
      await engine.stop();
      await opened.close();
    },
  };
}
