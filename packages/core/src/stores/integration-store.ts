import { randomUUID } from 'node:crypto';
import type { Connector } from '../connector/connector.js';
import type { Db } from '../db/db.js';
import { quoteIdent } from '../db/db.js';
import type { CreateIntegrationInput, Integration, UpdateIntegrationInput } from '../engine/engine-types.js';
import { EtlError } from '../errors.js';
import { isUuid } from './row-keys.js';
import { MASK, mapSecretFields, type SecretBox } from './secrets.js';
import { formatIssues } from '../validation.js';

interface IntegrationRow {
  id: string;
  connector: string;
  name: string;
  config: Record<string, unknown>;
  schedule_seconds: number | null;
  enabled: boolean;
  created_at: string | Date;
  updated_at: string | Date;
}

/** Integrations and their config, secrets encrypted at rest: owns `etl_integrations`. */
export function integrationStore(
  db: Db,
  schema: string,
  connectors: ReadonlyMap<string, Connector>,
  box: SecretBox,
) {
  const s = quoteIdent(schema);

  const connectorFor = (name: string): Connector => {
    const connector = connectors.get(name);
    if (!connector) {
      throw new EtlError(
        'unknown_connector',
        `unknown connector "${name}"; registered: ${[...connectors.keys()].join(', ') || 'none'}`,
      );
    }
    return connector;
  };

  const parseConfig = (connector: Connector, config: unknown): Record<string, unknown> => {
    const result = connector.configSchema.safeParse(config);
    if (!result.success) {
      const issues = formatIssues(result.error.issues);
      throw new EtlError(
        'invalid_config',
        `invalid ${connector.name} config — ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        { details: issues },
      );
    }
    return result.data as Record<string, unknown>;
  };

  const masked = (row: IntegrationRow): Integration => {
    const connector = connectors.get(row.connector);
    return {
      id: row.id,
      connector: row.connector,
      name: row.name,
      config: mapSecretFields(row.config, connector?.secretFields, () => MASK),
      scheduleSeconds: row.schedule_seconds,
      enabled: row.enabled,
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString(),
    };
  };

  const row = async (id: string): Promise<IntegrationRow> => {
    if (!isUuid(id)) throw new EtlError('not_found', `integration ${id} does not exist`);
    const { rows } = await db.query<IntegrationRow>(`SELECT * FROM ${s}.etl_integrations WHERE id = $1`, [
      id,
    ]);
    if (!rows[0]) throw new EtlError('not_found', `integration ${id} does not exist`);
    return rows[0];
  };

  const validateName = (name: unknown) => {
    if (typeof name !== 'string' || name.trim().length === 0 || name.length > 200) {
      throw new EtlError('invalid_input', 'name: must be a non-empty string of at most 200 characters', {
        details: [{ path: 'name', message: 'must be a non-empty string of at most 200 characters' }],
      });
    }
  };

  return {
    connectorFor,
    async create(input: CreateIntegrationInput): Promise<Integration> {
      const connector = connectorFor(input.connector);
      validateName(input.name);
      const config = parseConfig(connector, input.config);
      const sealed = mapSecretFields(config, connector.secretFields, (v) => box.encrypt(v));
      const { rows } = await db.query<IntegrationRow>(
        `INSERT INTO ${s}.etl_integrations (id, connector, name, config, schedule_seconds, enabled)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [
          randomUUID(),
          connector.name,
          input.name.trim(),
          JSON.stringify(sealed),
          input.scheduleSeconds ?? null,
          input.enabled ?? true,
        ],
      );
      return masked(rows[0]!);
    },
    async get(id: string): Promise<Integration> {
      return masked(await row(id));
    },
    async list(): Promise<Integration[]> {
      const { rows } = await db.query<IntegrationRow>(
        `SELECT * FROM ${s}.etl_integrations ORDER BY created_at, id`,
      );
      return rows.map(masked);
    },
    async update(id: string, patch: UpdateIntegrationInput): Promise<Integration> {
      const current = await row(id);
      const connector = connectorFor(current.connector);
      if (patch.name !== undefined) validateName(patch.name);
      let sealed = current.config;
      if (patch.config !== undefined) {
        const stored = mapSecretFields(current.config, connector.secretFields, (v) => box.decrypt(v));
        const incoming = mapSecretFields(patch.config, connector.secretFields, (v, field) =>
          v === MASK ? readPath(stored, field) : v,
        );
        const config = parseConfig(connector, { ...stored, ...incoming });
        sealed = mapSecretFields(config, connector.secretFields, (v) => box.encrypt(v));
      }
      const { rows } = await db.query<IntegrationRow>(
        `UPDATE ${s}.etl_integrations SET name = $2, config = $3, schedule_seconds = $4, enabled = $5, updated_at = now()
         WHERE id = $1 RETURNING *`,
        [
          id,
          patch.name?.trim() ?? current.name,
          JSON.stringify(sealed),
          patch.scheduleSeconds === undefined ? current.schedule_seconds : patch.scheduleSeconds,
          patch.enabled ?? current.enabled,
        ],
      );
      return masked(rows[0]!);
    },
    async delete(id: string): Promise<void> {
      await row(id);
      await db.query(`DELETE FROM ${s}.etl_integrations WHERE id = $1`, [id]);
    },
    /** The integration with its secrets decrypted: only for connectors, never returned to callers. */
    async resolve(id: string): Promise<{ integration: Integration; connector: Connector; config: unknown }> {
      const r = await row(id);
      const connector = connectorFor(r.connector);
      const config = mapSecretFields(r.config, connector.secretFields, (v) => box.decrypt(v));
      return { integration: masked(r), connector, config: parseConfig(connector, config) };
    },
    /**
     * Changes whenever the integration, its mappings or the workspace's projects change (in any process): one
     * cheap query that tells a cached transform context whether it is still current.
     */
    async transformStamp(id: string): Promise<string> {
      const { rows } = await db.query<{ stamp: string | null }>(
        `SELECT concat_ws('|', i.updated_at,
           (SELECT max(version) FROM ${s}.etl_mappings m WHERE m.integration_id = i.id),
           (SELECT count(*) || ':' || coalesce(max(loaded_at)::text, '') FROM ${s}.projects)) AS stamp
         FROM ${s}.etl_integrations i WHERE i.id = $1`,
        [id],
      );
      return rows[0]?.stamp ?? 'missing';
    },
    /** Keys of the projects any integration of this workspace has loaded, upper-case. */
    async knownProjectKeys(): Promise<Set<string>> {
      const { rows } = await db.query<{ key: string }>(
        `SELECT DISTINCT upper(key) AS key FROM ${s}.projects`,
      );
      return new Set(rows.map((r) => r.key));
    },
  };
}

function readPath(obj: Record<string, unknown>, field: string): unknown {
  return field
    .split('.')
    .reduce<unknown>(
      (cur, key) => (cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[key] : undefined),
      obj,
    );
}
