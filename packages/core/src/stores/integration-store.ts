import { randomUUID } from 'node:crypto';
import type { Connector } from '../connector/connector.js';
import type { Db } from '../db/db.js';
import { quoteIdent } from '../db/db.js';
import type {
  CreateIntegrationInput,
  Integration,
  SecretKeyUsage,
  SecretRotation,
  UpdateIntegrationInput,
} from '../engine/engine-types.js';
import { EtlError, registerSecret } from '../errors.js';
import { isUuid } from './row-keys.js';
import { secretOriginOf, singleSecretOrigin } from './secret-origin.js';
import { MASK, mapSecretFields, maskSealed, readPath, sealedValues, type SecretKeyring } from './secrets.js';
import { createIntegrationInputSchema, updateIntegrationInputSchema } from '../model/inputs.js';
import { assertCleanInput, formatIssues, issuesText, parseInput, type FieldIssue } from '../validation.js';

interface IntegrationRow {
  id: string;
  connector: string;
  name: string;
  config: Record<string, unknown>;
  schedule_seconds: number | null;
  schedule_cron: string | null;
  enabled: boolean;
  created_at: string | Date;
  updated_at: string | Date;
}

/** What a sealed secret is bound to: opened for another integration, field or origin, it fails. */
const bindingOf = (integrationId: string, field: string, origin: string) =>
  `etl-secret|${integrationId}|${field}|${origin}`;

/** Integrations and their config, secrets encrypted at rest and bound to their origin: owns `etl_integrations`. */
export function integrationStore(
  db: Db,
  schema: string,
  connectors: ReadonlyMap<string, Connector>,
  keyring: SecretKeyring,
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

  const invalidConfig = (connector: Connector, issues: FieldIssue[]) =>
    new EtlError('invalid_config', `invalid ${connector.name} config — ${issuesText(issues)}`, {
      details: issues,
    });

  /** Keys of the input the schema dropped: refused, whatever the connector's schema does with them. */
  const unknownKeys = (input: unknown, output: unknown): FieldIssue[] => {
    if (!input || typeof input !== 'object' || Array.isArray(input)) return [];
    if (!output || typeof output !== 'object') return [];
    return Object.keys(input)
      .filter((key) => !(key in output))
      .map((key) => ({ path: key, message: `unknown key "${key}"` }));
  };

  const configIssues = (connector: Connector, config: unknown) => {
    const result = connector.configSchema.safeParse(config);
    if (!result.success) return { issues: formatIssues(result.error.issues), data: undefined };
    return {
      issues: unknownKeys(config, result.data),
      data: result.data as Record<string, unknown>,
    };
  };

  const parseConfig = (connector: Connector, config: unknown): Record<string, unknown> => {
    const { issues, data } = configIssues(connector, config);
    if (issues.length > 0 || !data) throw invalidConfig(connector, issues);
    return data;
  };

  const seal = (connector: Connector, id: string, config: Record<string, unknown>) => {
    const origin = secretOriginOf(connector, config);
    return mapSecretFields(config, connector.secretFields, (v, field) => {
      // Every secret the store handles is redacted from every error from now on, whatever the connector does.
      registerSecret(v);
      return keyring.encrypt(v, bindingOf(id, field, origin));
    });
  };

  const unseal = (connector: Connector, r: IntegrationRow) => {
    const origin = secretOriginOf(connector, r.config);
    return mapSecretFields(r.config, connector.secretFields, (v, field) => {
      try {
        const plain = keyring.decrypt(v, bindingOf(r.id, field, origin));
        registerSecret(plain);
        return plain;
      } catch (error) {
        if (!(error instanceof EtlError)) throw error;
        throw new EtlError(error.code, `integration "${r.name}", ${field}: ${error.message}`, {
          cause: error,
        });
      }
    });
  };

  const masked = (row: IntegrationRow): Integration => {
    const connector = connectors.get(row.connector);
    const config = mapSecretFields(row.config, connector?.secretFields, () => MASK);
    return {
      id: row.id,
      connector: row.connector,
      name: row.name,
      // Sealed values are masked wherever they are, so a connector no longer registered shows no ciphertext.
      config: maskSealed(config) as Record<string, unknown>,
      scheduleSeconds: row.schedule_seconds,
      scheduleCron: row.schedule_cron,
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

  /**
   * The stored config with `patch` merged over it. A masked or omitted secret keeps the stored one only while
   * the origin stays the same: a changed site (scheme, host or port) needs every stored secret entered again.
   */
  const mergeConfig = (connector: Connector, r: IntegrationRow, patch: Record<string, unknown>) => {
    const stored = unseal(connector, r);
    const incoming = mapSecretFields(patch, connector.secretFields, (v, field) =>
      v === MASK ? readPath(stored, field) : v,
    );
    const merged = { ...stored, ...incoming };
    const { issues, data } = configIssues(connector, merged);
    const before = secretOriginOf(connector, stored);
    const after = secretOriginOf(connector, data ?? merged);
    if (before !== after) {
      const missing = (connector.secretFields ?? []).filter((field) => {
        const kept = readPath(stored, field);
        const given = readPath(patch, field);
        return typeof kept === 'string' && kept !== '' && (given === undefined || given === MASK);
      });
      issues.unshift(
        ...missing.map((field) => ({
          path: field,
          message: `re-enter ${field}: the site changed (${before || 'none'} → ${after || 'none'}); a stored secret is only sent to the site it was saved for`,
        })),
      );
    }
    if (issues.length > 0 || !data) throw invalidConfig(connector, issues);
    return data;
  };

  return {
    connectorFor,
    async create(given: CreateIntegrationInput): Promise<Integration> {
      const input = parseInput('integration', createIntegrationInputSchema, given);
      const connector = connectorFor(input.connector);
      const config = parseConfig(connector, input.config);
      const id = randomUUID();
      const { rows } = await db.query<IntegrationRow>(
        `INSERT INTO ${s}.etl_integrations (id, connector, name, config, schedule_seconds, enabled, schedule_cron)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [
          id,
          connector.name,
          input.name,
          JSON.stringify(seal(connector, id, config)),
          input.scheduleSeconds ?? null,
          input.enabled ?? true,
          input.scheduleCron ?? null,
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
    async update(id: string, given: UpdateIntegrationInput): Promise<Integration> {
      const patch = parseInput('integration patch', updateIntegrationInputSchema, given);
      const current = await row(id);
      const connector = connectorFor(current.connector);
      let sealed = current.config;
      if (patch.config !== undefined) {
        sealed = seal(connector, id, mergeConfig(connector, current, patch.config));
      }
      const { rows } = await db.query<IntegrationRow>(
        `UPDATE ${s}.etl_integrations SET name = $2, config = $3, schedule_seconds = $4, enabled = $5,
           schedule_cron = $6, updated_at = now()
         WHERE id = $1 RETURNING *`,
        [
          id,
          patch.name ?? current.name,
          JSON.stringify(sealed),
          patch.scheduleSeconds !== undefined
            ? patch.scheduleSeconds
            : patch.scheduleCron
              ? null
              : current.schedule_seconds,
          patch.enabled ?? current.enabled,
          // One schedule at a time: setting either kind clears the other.
          patch.scheduleCron !== undefined
            ? patch.scheduleCron
            : patch.scheduleSeconds
              ? null
              : current.schedule_cron,
        ],
      );
      return masked(rows[0]!);
    },
    async delete(id: string): Promise<void> {
      await row(id);
      await db.query(`DELETE FROM ${s}.etl_integrations WHERE id = $1`, [id]);
    },
    /**
     * The integration with its secrets decrypted: only for connectors, never returned to callers.
     * `secretOrigin` is the one origin the secrets may be sent to (null when the config names none or several).
     */
    async resolve(id: string): Promise<{
      integration: Integration;
      connector: Connector;
      config: unknown;
      secretOrigin: string | null;
    }> {
      const r = await row(id);
      const connector = connectorFor(r.connector);
      const config = parseConfig(connector, unseal(connector, r));
      return {
        integration: masked(r),
        connector,
        config,
        secretOrigin: singleSecretOrigin(secretOriginOf(connector, config)),
      };
    },
    /** The config with secrets masked, not decrypted: what stages that never call the source get. */
    async resolveWithoutSecrets(id: string): Promise<{ connector: Connector; config: unknown }> {
      const r = await row(id);
      const connector = connectorFor(r.connector);
      return { connector, config: parseConfig(connector, masked(r).config) };
    },
    /**
     * Unsaved changes merged over the stored config, as `update` would save them (same origin rule), for a
     * connection test that saves nothing.
     */
    async draft(id: string, config: Record<string, unknown>) {
      assertCleanInput({ config }, 'integration');
      const r = await row(id);
      const connector = connectorFor(r.connector);
      return { connector, config: mergeConfig(connector, r, config) };
    },
    /**
     * Re-encrypts every secret with the keyring's current key (and binds legacy values to their origin).
     * Integrations of connectors no longer registered are left as they are and counted as skipped.
     */
    async rotate(): Promise<SecretRotation> {
      const { rows: ids } = await db.query<{ id: string }>(
        `SELECT id FROM ${s}.etl_integrations ORDER BY created_at, id`,
      );
      const result: SecretRotation = {
        keyId: keyring.currentKeyId,
        integrations: 0,
        secrets: 0,
        skipped: [],
      };
      for (const { id } of ids) {
        await db.transaction(async (tx) => {
          const { rows } = await tx.query<IntegrationRow>(
            `SELECT * FROM ${s}.etl_integrations WHERE id = $1 FOR UPDATE`,
            [id],
          );
          const r = rows[0];
          if (!r) return;
          const sealed = sealedValues(r.config);
          if (sealed.length === 0) return;
          const connector = connectors.get(r.connector);
          if (!connector) {
            result.skipped.push({
              id: r.id,
              name: r.name,
              reason: `connector "${r.connector}" is not registered`,
            });
            return;
          }
          let plain: Record<string, unknown>;
          try {
            plain = unseal(connector, r);
          } catch (error) {
            if (!(error instanceof EtlError)) throw error;
            result.skipped.push({
              id: r.id,
              name: r.name,
              reason: error.message,
            });
            return;
          }
          const resealed = seal(connector, r.id, plain);
          await tx.query(`UPDATE ${s}.etl_integrations SET config = $2 WHERE id = $1`, [
            r.id,
            JSON.stringify(resealed),
          ]);
          result.integrations += 1;
          result.secrets += sealed.length;
        });
      }
      return result;
    },
    /** Which key encrypts the secrets of which integrations: a key no row uses can be retired. */
    async keyUsage(): Promise<SecretKeyUsage[]> {
      const { rows } = await db.query<IntegrationRow>(
        `SELECT * FROM ${s}.etl_integrations ORDER BY created_at, id`,
      );
      const usage = new Map<string, SecretKeyUsage>();
      const entry = (keyId: string) => {
        let u = usage.get(keyId);
        if (!u) {
          u = {
            keyId,
            current: keyId === keyring.currentKeyId,
            inKeyring: keyring.keyIds.includes(keyId),
            integrations: [],
          };
          usage.set(keyId, u);
        }
        return u;
      };
      for (const id of keyring.keyIds) entry(id);
      for (const r of rows) {
        const ids = new Set(sealedValues(r.config).map((v) => keyring.keyIdOf(v.sealed) ?? '(unknown key)'));
        for (const keyId of ids) entry(keyId).integrations.push({ id: r.id, name: r.name });
      }
      return [...usage.values()];
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

export type IntegrationStore = ReturnType<typeof integrationStore>;
