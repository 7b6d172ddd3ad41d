import { canonicalWorkItemTypes, statusCategories } from '@etl/core';
import { Hono } from 'hono';
import { z } from 'zod';
import {
  createIntegrationBody,
  emptyBody,
  mappingsBody,
  testIntegrationBody,
  updateIntegrationBody,
} from '../api-schemas.js';
import { readJsonBody } from '../request-input.js';
import type { RouteDeps } from './route-deps.js';

/** What the mappings editor offers in its drop-downs. */
const mappingChoices = { workItemTypes: canonicalWorkItemTypes, statusCategories };

/** The JSON schema of a connector's config, for the integration form; null when zod cannot express it. */
function configJsonSchema(schema: z.ZodType): unknown {
  try {
    return z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' });
  } catch {
    return null;
  }
}

/** `/api/connectors`, `/api/integrations` (secrets masked by the engine on every read) and their mappings. */
export function integrationRoutes({ engine, write }: RouteDeps): Hono {
  const api = new Hono();

  api.get('/connectors', (c) =>
    c.json({
      connectors: [...engine.connectors.values()].map((connector) => ({
        name: connector.name,
        streams: connector.streams.map((s) => ({ name: s.name, dependsOn: s.dependsOn ?? [] })),
        secretFields: connector.secretFields ?? [],
        canTest: typeof connector.check === 'function',
        configSchema: configJsonSchema(connector.configSchema),
      })),
    }),
  );

  api.get('/integrations', async (c) => c.json({ integrations: await engine.integrations.list() }));

  api.post('/integrations', write, async (c) => {
    const body = await readJsonBody(c, createIntegrationBody);
    return c.json({ integration: await engine.integrations.create(body) }, 201);
  });

  api.get('/integrations/:id', async (c) =>
    c.json({ integration: await engine.integrations.get(c.req.param('id')) }),
  );

  api.patch('/integrations/:id', write, async (c) => {
    const patch = await readJsonBody(c, updateIntegrationBody);
    return c.json({ integration: await engine.integrations.update(c.req.param('id'), patch) });
  });

  api.delete('/integrations/:id', write, async (c) => {
    await readJsonBody(c, emptyBody);
    await engine.integrations.delete(c.req.param('id'));
    return c.json({ deleted: c.req.param('id') });
  });

  // Testing a connection reads the source and changes nothing, so read-only mode allows it. Unsaved changes
  // follow the rule of a save: a changed URL needs its secrets in the request.
  api.post('/integrations/:id/test', async (c) => {
    const body = await readJsonBody(c, testIntegrationBody);
    return c.json({ result: await engine.integrations.test(c.req.param('id'), body) });
  });

  api.get('/integrations/:id/mappings', async (c) =>
    c.json({ ...(await engine.mappings.get(c.req.param('id'))), choices: mappingChoices }),
  );

  api.put('/integrations/:id/mappings', write, async (c) => {
    const mappings = await readJsonBody(c, mappingsBody);
    return c.json(await engine.mappings.put(c.req.param('id'), mappings));
  });
  return api;
}
