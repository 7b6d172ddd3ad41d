import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';

/** How long a client may take: the server closes connections that are slower (slowloris, stalled bodies). */
export interface ServerTimeouts {
  /** To send the request line and headers. */
  headersTimeoutMs: number;
  /** To send the whole request, body included (responses such as event streams may last longer). */
  requestTimeoutMs: number;
  /** An idle kept-alive connection stays open this long. */
  keepAliveTimeoutMs: number;
}

export const defaultServerTimeouts: ServerTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
};

/** Starts the HTTP server and resolves with the port it listens on (PORT=0 picks a free one). */
export function listen(
  app: Hono,
  port: number,
  hostname: string,
  timeouts: ServerTimeouts = defaultServerTimeouts,
): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: app.fetch,
        port,
        hostname,
        serverOptions: {
          headersTimeout: Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs),
          requestTimeout: timeouts.requestTimeoutMs,
          keepAliveTimeout: timeouts.keepAliveTimeoutMs,
          // Node checks the two timeouts above this often (30 s by default, too coarse for them).
          connectionsCheckingInterval: Math.min(1_000, timeouts.headersTimeoutMs),
        },
      },
      (info) => resolve({ server, port: info.port }),
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
