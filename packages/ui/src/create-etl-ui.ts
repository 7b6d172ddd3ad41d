import { parseOptions, type Engine } from '@etl/core';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { basePath } from 'hono/route';
import { z } from 'zod';
import { errorBody, errorResponse, httpRefusal } from './http-errors.js';
import { crossSiteGuard, writeGuard } from './request-guards.js';
import { cleanUrlGuard } from './request-input.js';
import { integrationRoutes } from './routes/integration-routes.js';
import { jobRoutes } from './routes/job-routes.js';
import { queueRoutes } from './routes/queue-routes.js';
import { rawRoutes } from './routes/raw-routes.js';
import type { RouteDeps } from './routes/route-deps.js';
import { contentSecurityPolicy, relativeBaseHref, renderIndexHtml, spaAssets } from './spa-assets.js';

/** What the Vector index page shows when the host has a vector loader. */
export interface VectorIndexStatus {
  /** The vector store, e.g. `qdrant`. */
  provider: string;
  collection: string;
  status: string;
  points?: number;
  vectorSize?: number;
  details?: Record<string, string | number | boolean | null>;
}

export interface EtlUiOptions {
  engine: Engine;
  /**
   * The public path of the UI as the browser sees it (e.g. `/tools/etl` when a proxy adds `/tools` in front
   * of a mount at `/etl`). By default every URL is relative, which works under any mount and proxy prefix.
   */
  basePath?: string;
  /** The host's authentication, run before every route of the UI. */
  auth?: MiddlewareHandler;
  /** Hides write controls in the SPA and refuses writes with 405. */
  readOnly?: boolean;
  /** Largest accepted request body in bytes (default 256 KiB). */
  bodyLimitBytes?: number;
  /** Other origins (`https://admin.example.com`) allowed to make state-changing requests. */
  allowedOrigins?: string[];
  /** Who is asking, stored as the job's `requestedBy`; typically read from what `auth` put on the context. */
  requestedBy?: (c: Context) => string | undefined;
  /** Status of the vector index, when the host runs a vector loader; the page shows an empty state otherwise. */
  vectorIndex?: () => Promise<VectorIndexStatus>;
  /** Page title (default `ETL`). */
  title?: string;
}

const engineShape = z.custom<Engine>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    ['jobs', 'integrations', 'mappings', 'raw', 'deadLetters', 'queues', 'events'].every((k) => k in value),
  { message: 'expected an Engine from createEngine()' },
);

const optionsSchema = z.strictObject({
  engine: engineShape,
  basePath: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)*\/?$/, 'a path like /etl or /tools/etl')
    .transform((p) => p.replace(/\/$/, ''))
    .optional(),
  auth: z
    .custom<MiddlewareHandler>((v) => typeof v === 'function', { message: 'expected a Hono middleware' })
    .optional(),
  readOnly: z.boolean().default(false),
  bodyLimitBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(256 * 1024),
  allowedOrigins: z.array(z.url()).default([]),
  requestedBy: z.custom<(c: Context) => string | undefined>((v) => typeof v === 'function').optional(),
  vectorIndex: z.custom<() => Promise<VectorIndexStatus>>((v) => typeof v === 'function').optional(),
  title: z.string().min(1).max(100).default('ETL'),
});

const version = '0.1.0';

/**
 * The operations UI as a Hono sub-app: a JSON API, Server-Sent Events and a prebuilt Preact SPA.
 *
 * @example
 * const engine = await createEngine({ db, queue: memoryQueue(), connectors: [jiraConnector()] });
 * const app = new Hono();
 * app.route('/etl', createEtlUi({ engine, auth: basicAuth({ username, password }) }));
 */
export function createEtlUi(options: EtlUiOptions): Hono {
  const opts = parseOptions('ui', 'createEtlUi', optionsSchema, options);
  const { engine, readOnly } = opts;
  const deps: RouteDeps = {
    engine,
    readOnly,
    write: writeGuard(readOnly),
    requestedBy: (c) => opts.requestedBy?.(c) ?? undefined,
  };
  const assets = spaAssets();
  const ui = new Hono();

  ui.onError((error, c) => errorResponse(c, error));
  if (opts.auth) ui.use('*', opts.auth);

  const api = new Hono();
  api.use('*', async (c, next) => {
    await next();
    c.header('Cache-Control', c.res.headers.get('Cache-Control') ?? 'no-store');
    c.header('X-Content-Type-Options', 'nosniff');
  });
  api.use('*', crossSiteGuard(opts.allowedOrigins));
  api.use('*', cleanUrlGuard());
  api.use(
    '*',
    bodyLimit({
      maxSize: opts.bodyLimitBytes,
      onError: () => {
        throw httpRefusal(413, 'body_too_large', `request body is larger than ${opts.bodyLimitBytes} bytes`);
      },
    }),
  );

  api.get('/health', async (c) => {
    let database = 'ok';
    try {
      await engine.db.query('SELECT 1');
    } catch {
      database = 'unreachable';
    }
    return c.json(
      {
        ok: database === 'ok',
        version,
        readOnly,
        database,
        queue: engine.queue.name,
        connectors: [...engine.connectors.keys()],
      },
      database === 'ok' ? 200 : 503,
    );
  });
  api.route('/jobs', jobRoutes(deps));
  api.route('/', queueRoutes(deps));
  api.route('/', rawRoutes(deps));
  api.route('/', integrationRoutes(deps));
  api.get('/vector-index', async (c) =>
    c.json({
      configured: opts.vectorIndex !== undefined,
      status: opts.vectorIndex ? await opts.vectorIndex() : null,
    }),
  );
  api.all('*', (c) => c.json(errorBody('not_found', `no API route ${c.req.method} ${c.req.path}`), 404));
  api.onError((error, c) => errorResponse(c, error));
  ui.route('/api', api);

  ui.get('/assets/:name', async (c) => {
    const asset = await assets.get(c.req.param('name'));
    if (!asset) {
      return c.json(
        errorBody('not_found', 'no such asset (is the package built? run its build script)'),
        404,
      );
    }
    const headers = { ETag: asset.etag, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' };
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304, headers);
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, { ...headers, 'Content-Type': asset.type });
  });

  ui.get('/*', (c) => {
    // The mount point as requested (`/etl`, `/acme/etl` for a mount at `/:tenant/etl`), without a trailing slash.
    const mountPath = basePath(c).replace(/\/$/, '');
    const pathInUi = c.req.path.slice(mountPath.length);
    const mountSegment = mountPath.split('/').pop() || null;
    const baseHref =
      opts.basePath !== undefined ? `${opts.basePath}/` : relativeBaseHref(pathInUi, mountSegment);
    return c.html(renderIndexHtml({ baseHref, readOnly, title: opts.title }), 200, {
      'Content-Security-Policy': contentSecurityPolicy,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    });
  });
  return ui;
}
