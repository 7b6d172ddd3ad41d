import type { Engine } from '@etl/core';
import { createEtlUi } from '@etl/ui';
import { Hono } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import type { HandledCounts } from './counting-queue.js';
import { renderMetrics } from './metrics.js';

export interface HostAppOptions {
  engine: Engine;
  handled: HandledCounts;
  ui?: { user?: string; password?: string; readOnly?: boolean };
}

/**
 * The host service: the ETL UI under `/etl`, Prometheus metrics at `/metrics`, a liveness probe at
 * `/healthz`. The host owns authentication: set a user and password to put the UI behind basic auth.
 *
 * @example
 * const app = createHostApp({ engine, handled });
 * serve({ fetch: app.fetch, port: 3000 });
 */
export function createHostApp(options: HostAppOptions): Hono {
  const { engine, handled, ui = {} } = options;
  const app = new Hono();
  app.get('/', (c) => c.redirect('/etl/'));
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/metrics', async (c) =>
    c.text(await renderMetrics(engine, handled), 200, {
      'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
    }),
  );
  app.route(
    '/etl',
    createEtlUi({
      engine,
      readOnly: ui.readOnly ?? false,
      auth: ui.user && ui.password ? basicAuth({ username: ui.user, password: ui.password }) : undefined,
      requestedBy: ui.user ? () => ui.user : undefined,
    }),
  );
  return app;
}
