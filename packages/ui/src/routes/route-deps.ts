import type { Engine } from '@etl/core';
import type { Context, MiddlewareHandler } from 'hono';

/** What every group of API routes gets from `createEtlUi`. */
export interface RouteDeps {
  engine: Engine;
  readOnly: boolean;
  /** Middleware refusing the route in read-only mode. */
  write: MiddlewareHandler;
  /** Who is asking, for the job's `requestedBy`. */
  requestedBy(c: Context): string | undefined;
}
