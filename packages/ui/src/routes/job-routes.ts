import { Hono } from 'hono';
import { emptyBody, jobListQuery, startJobBody } from '../api-schemas.js';
import { readJsonBody, readQuery } from '../request-input.js';
import { jobEventsHandler } from './job-events.js';
import type { RouteDeps } from './route-deps.js';

/** `/api/jobs`: list, start, inspect, pause / resume / cancel, and the live event stream. */
export function jobRoutes({ engine, write, requestedBy }: RouteDeps): Hono {
  const api = new Hono();

  api.get('/', async (c) => {
    const q = readQuery(c, jobListQuery);
    const limit = q.limit ?? 50;
    const offset = q.offset ?? 0;
    const { jobs, total } = await engine.jobs.list({
      status: q.status,
      integrationId: q.integrationId ?? q.integration,
      connector: q.connector,
      limit,
      offset,
    });
    return c.json({ jobs, total, limit, offset });
  });

  api.post('/', write, async (c) => {
    const body = await readJsonBody(c, startJobBody);
    const job = await engine.jobs.start({ ...body, requestedBy: requestedBy(c) });
    return c.json({ job }, 201);
  });

  api.get('/:id', async (c) => c.json({ job: await engine.jobs.get(c.req.param('id')) }));

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    api.post(`/:id/${action}`, write, async (c) => {
      await readJsonBody(c, emptyBody);
      return c.json({ job: await engine.jobs[action](c.req.param('id')) });
    });
  }

  api.get('/:id/events', jobEventsHandler(engine));
  return api;
}
