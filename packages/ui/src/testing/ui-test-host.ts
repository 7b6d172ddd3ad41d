import type { AddressInfo } from 'node:net';
import { memoryQueue, type Engine } from '@etl/core';
import { startTestEngine } from '@etl/core/testing';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { ensureAppBuilt } from '../app-build.js';
import { createEtlUi, type EtlUiOptions } from '../create-etl-ui.js';

/** A real engine on embedded PGlite with the in-memory queue and the synthetic connector, workers running. */
export interface TestEngine {
  engine: Engine;
  close(): Promise<void>;
}

export async function createTestEngine(): Promise<TestEngine> {
  const { engine, close } = await startTestEngine({
    queue: memoryQueue({ maxAttempts: 2, retryDelaysMs: [10] }),
    eventPollMs: 50,
  });
  return { engine, close };
}

/**
 * What the browser tests drive: an HTTP server on 127.0.0.1 with the UI mounted at `mountPath`.
 * The example host app can provide the same shape and replace `startUiTestHost`.
 */
export interface UiTestHost {
  /** URL of the UI's root, ending in `/`. */
  uiUrl: string;
  engine: Engine;
  close(): Promise<void>;
}

export async function startUiTestHost(
  options: { mountPath?: string; ui?: Omit<EtlUiOptions, 'engine'> } = {},
): Promise<UiTestHost> {
  await ensureAppBuilt();
  const mountPath = options.mountPath ?? '/etl';
  const { engine, close: closeEngine } = await createTestEngine();
  const app = new Hono();
  app.get('/', (c) => c.text('host app'));
  app.route(mountPath, createEtlUi({ engine, ...options.ui }));
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    uiUrl: `http://127.0.0.1:${port}${mountPath.replace(/\/$/, '')}/`,
    engine,
    async close() {
      // Open event streams would keep the server up; closeAllConnections ends them.
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeEngine();
    },
  };
}
