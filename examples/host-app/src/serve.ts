import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';

/** Starts the HTTP server and resolves with the port it listens on (PORT=0 picks a free one). */
export function listen(
  app: Hono,
  port: number,
  hostname: string,
): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname }, (info) =>
      resolve({ server, port: info.port }),
    );
    server.once('error', reject);
  });
}

/** Stops accepting connections and waits for open requests (SSE streams are cut after `graceMs`). */
export function closeServer(server: ServerType, graceMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    }, graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });
}
