import type { Connector } from '../connector/connector.js';
import type { Db } from '../db/db.js';
import { quoteIdent } from '../db/db.js';

import {
  emptyMappings,
  mappingsSchema,
  mappingsView,
  type Mappings,
  type MappingsInput,
  type MappingsView,
} from '../model/mappings.js';
import { mappingsInputSchema } from '../model/inputs.js';
import { assertCleanInput, parseInput } from '../validation.js';

/**
 * An integration's mappings, versioned: owns `etl_mappings`. Every put adds a version; the newest one is current.
 * `assertIntegration` throws `not_found` for an unknown integration.
 */
export function mappingStore(db: Db, schema: string, assertIntegration: (id: string) => Promise<unknown>) {
  const table = `${quoteIdent(schema)}.etl_mappings`;

  const current = async (integrationId: string): Promise<{ version: number; mappings: Mappings }> => {
    await assertIntegration(integrationId);
    const { rows } = await db.query<{ version: number; mappings: Mappings }>(
      `SELECT version, mappings FROM ${table} WHERE integration_id = $1 ORDER BY version DESC LIMIT 1`,
      [integrationId],
    );
    return rows[0]
      ? { version: Number(rows[0].version), mappings: rows[0].mappings }
      : { version: 0, mappings: emptyMappings };
  };

  return {
    current,
    async put(integrationId: string, input: MappingsInput): Promise<{ version: number; mappings: Mappings }> {
      assertCleanInput(input, 'mappings');
      await assertIntegration(integrationId);
      const mappings = parseInput('mappings', mappingsInputSchema, input);
      const { rows } = await db.query<{ version: number }>(
        `INSERT INTO ${table} (integration_id, version, mappings)
         SELECT $1, coalesce(max(version), 0) + 1, $2 FROM ${table} WHERE integration_id = $1
         RETURNING version`,
        [integrationId, JSON.stringify(mappings)],
      );
      return { version: Number(rows[0]!.version), mappings: mappings };
    },
    /** The mappings a transform uses: the integration's current version over the connector's defaults. */
    async view(integrationId: string, connector: Connector): Promise<MappingsView> {
      const { version, mappings } = await current(integrationId);
      const defaults = mappingsSchema.parse(connector.defaultMappings ?? {});
      const merged: Mappings = {
        workItemTypes: [...mappings.workItemTypes, ...defaults.workItemTypes],
        statuses: [...mappings.statuses, ...defaults.statuses],
        workflows: mappings.workflows.length > 0 ? mappings.workflows : defaults.workflows,
      };
      // The first entry for a key wins in mappingsView, so the integration's own entries override defaults.
      return mappingsView(dedupeFirst(merged), version);
    },
  };
}

export type MappingStore = ReturnType<typeof mappingStore>;

function dedupeFirst(m: Mappings): Mappings {
  const seenTypes = new Set<string>();
  const seenStatuses = new Set<string>();
  return {
    workItemTypes: m.workItemTypes.filter(
      (t) => !seenTypes.has(t.rawType.toLowerCase()) && seenTypes.add(t.rawType.toLowerCase()),
    ),
    statuses: m.statuses.filter(
      (t) => !seenStatuses.has(t.rawStatus.toLowerCase()) && seenStatuses.add(t.rawStatus.toLowerCase()),
    ),
    workflows: m.workflows,
  };
}
