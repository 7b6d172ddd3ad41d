import type { Engine } from '@etl/core';
import { createEtlUi } from '@etl/ui';
import { Hono } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import type { PipelineMetrics } from './metrics.js';
import { readiness } from './readiness.js';

export interface HostAppOptions {
  engine: Engine;
  metrics: PipelineMetrics;
  ui?: { user?: string; password?: string; readOnly?: boolean };
}

/**
 * The host service: the ETL UI under `/etl`, Prometheus metrics at `/metrics`, a liveness probe at
 * `/healthz` (the process answers) and a readiness probe at `/readyz` (the database and the queue answer;
 * 503 otherwise). The probes and metrics stay outside the UI's authentication, which the host owns: set a
 * user and password to put the UI behind basic auth.
 *
 * @example
 * const app = createHostApp({ engine, metrics });
 * serve({ fetch: app.fetch, port: 3000 });
 */
export function createHostApp(options: HostAppOptions): Hono {
  const { engine, metrics, ui = {} } = options;
  const app = new Hono();
  app.get('/', (c) => c.redirect('/etl/'));
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    const report = await readiness(engine);
    return c.json(report, report.ok ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    const { text, contentType } = await metrics.render();
    return c.text(text, 200, { 'Content-Type': contentType });
  });
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
