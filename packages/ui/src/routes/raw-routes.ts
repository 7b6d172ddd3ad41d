import type { ReplaySelector } from '@etl/core';
import { Hono } from 'hono';
import { rawListQuery, replayBody } from '../api-schemas.js';
import { httpRefusal } from '../http-errors.js';
import { readJsonBody, readQuery } from '../request-input.js';
import type { RouteDeps } from './route-deps.js';

/** `/api/raw` (stored source payloads, paged; payload on demand) and `/api/replay`. */
export function rawRoutes({ engine, readOnly, requestedBy }: RouteDeps): Hono {
  const api = new Hono();

  api.get('/raw', async (c) => {
    const q = readQuery(c, rawListQuery);
    const limit = q.limit ?? 50;
    const offset = q.offset ?? 0;
    const { rows, total } = await engine.raw.list({
      jobId: q.jobId,
      integrationId: q.integrationId,
      stream: q.stream,
      status: q.status,
      withPayload: q.payload ?? false,
      limit,
      offset,
    });
    return c.json({ rows, total, limit, offset });
  });

  api.get('/raw/:id', async (c) => c.json({ row: await engine.raw.get(c.req.param('id')) }));

  api.post('/replay', async (c) => {
    const { dryRun, ...selector } = await readJsonBody(c, replayBody);
    // A dry run changes nothing, so it stays available in read-only mode.
    if (readOnly && !dryRun) {
      c.header('Allow', 'GET, HEAD');
      throw httpRefusal(405, 'read_only', 'this UI is read-only; only a dry run is allowed');
    }
    const result = await engine.replay(selector as ReplaySelector, { dryRun, requestedBy: requestedBy(c) });
    return c.json(result, dryRun ? 200 : 201);
  });
  return api;
}
