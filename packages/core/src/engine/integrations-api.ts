import type { Connector } from '../connector/connector.js';
import { describeError, isEtlError } from '../errors.js';
import { mappingsSchema } from '../model/mappings.js';
import type { IntegrationStore } from '../stores/integration-store.js';
import type { MappingStore } from '../stores/mapping-store.js';
import type { SourceHttpFactory } from '../source/source-http.js';
import type { Engine } from './engine-types.js';

/** How long `engine.integrations.test` lets a connector's connection check run. */
const checkTimeoutMs = 30_000;

/** `engine.integrations`: CRUD (inputs parsed by the store with core's schemas) and the connection test. */
export function integrationsApi(
  integrations: IntegrationStore,
  sourceHttp: SourceHttpFactory,
): Engine['integrations'] {
  return {
    create: (input) => integrations.create(input),
    get: (id) => integrations.get(id),
    list: () => integrations.list(),
    update: (id, patch) => integrations.update(id, patch),
    delete: (id) => integrations.delete(id),
    async test(id, changes) {
      let resolved: { connector: Connector; config: unknown; secretOrigin?: string | null };
      try {
        resolved =
          changes?.config === undefined
            ? await integrations.resolve(id)
            : await integrations.draft(id, changes.config);
      } catch (error) {
        // A secret that cannot be opened is the answer of the test, not a server error.
        if (isEtlError(error, 'secret_key')) return { ok: false, message: describeError(error) };
        throw error;
      }
      const { connector, config, secretOrigin } = resolved;
      if (!connector.check)
        return { ok: true, message: `${connector.name} has no connection check; config is valid` };
      const signal = AbortSignal.timeout(checkTimeoutMs);
      try {
        const http = sourceHttp.client(connector, config, { integrationId: id, signal, secretOrigin });
        try {
          return await connector.check(config, { signal, http });
        } finally {
          await http.close();
        }
      } catch (error) {
        return { ok: false, message: describeError(error) };
      }
    },
  };
}

/** `engine.mappings`: the integration's current version, or the connector's defaults as version 0. */
export function mappingsApi(integrations: IntegrationStore, mappings: MappingStore): Engine['mappings'] {
  return {
    async get(integrationId) {
      const current = await mappings.current(integrationId);
      if (current.version > 0) return current;
      const { connector } = await integrations.resolveWithoutSecrets(integrationId);
      return { version: 0, mappings: mappingsSchema.parse(connector.defaultMappings ?? {}) };
    },
    put: (integrationId, input) => mappings.put(integrationId, input),
  };
}

/** `engine.secrets`: re-encrypt every secret with the current key; which key encrypts which integrations. */
export function secretsApi(integrations: IntegrationStore): Engine['secrets'] {
  return {
    rotate: () => integrations.rotate(),
    usage: () => integrations.keyUsage(),
  };
}
