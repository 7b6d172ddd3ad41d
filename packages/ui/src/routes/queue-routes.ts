import { Hono } from 'hono';
import { deadLetterQuery, emptyBody } from '../api-schemas.js';
import { readJsonBody, readQuery } from '../request-input.js';
import type { RouteDeps } from './route-deps.js';

/** `/api/queues` and `/api/dead-letters`: per-stage figures, and dead letters to inspect, replay or discard. */
export function queueRoutes({ engine, write }: RouteDeps): Hono {
  const api = new Hono();

  api.get('/queues', async (c) =>
    c.json({ adapter: engine.queue.name, at: new Date().toISOString(), stages: await engine.queues.stats() }),
  );

  api.get('/dead-letters', async (c) => {
    const q = readQuery(c, deadLetterQuery);
    return c.json({ deadLetters: await engine.deadLetters.list({ stage: q.stage, limit: q.limit ?? 100 }) });
  });

  api.post('/dead-letters/:id/replay', write, async (c) => {
    await readJsonBody(c, emptyBody);
    await engine.deadLetters.replay(c.req.param('id'));
    return c.json({ replayed: c.req.param('id') });
  });

  api.delete('/dead-letters/:id', write, async (c) => {
    await readJsonBody(c, emptyBody);
    await engine.deadLetters.discard(c.req.param('id'));
    return c.json({ discarded: c.req.param('id') });
  });
  return api;
}
