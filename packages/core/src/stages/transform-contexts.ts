import type { Connector, TransformContext } from '../connector/connector.js';
import type { IntegrationStore } from '../stores/integration-store.js';
import type { MappingStore } from '../stores/mapping-store.js';

export type IntegrationContext = Omit<TransformContext, 'integrationId' | 'stream'> & {
  connector: Connector;
};

/**
 * The decrypted config, current mappings and known project keys of an integration, cached. One cheap query per
 * batch tells whether any of them changed (in this process or another); only then are they rebuilt.
 */
export function transformContexts(integrations: IntegrationStore, mappings: MappingStore) {
  const contexts = new Map<string, { stamp: string; context: IntegrationContext }>();
  return async function transformContext(integrationId: string): Promise<IntegrationContext> {
    const stamp = await integrations.transformStamp(integrationId);
    const cached = contexts.get(integrationId);
    if (cached && cached.stamp === stamp) return cached.context;
    // Transformers never call the source: they get the config with its secrets masked, not decrypted.
    const { connector, config } = await integrations.resolveWithoutSecrets(integrationId);
    const context = {
      connector,
      config,
      mappings: await mappings.view(integrationId, connector),
      knownProjectKeys: await integrations.knownProjectKeys(),
    };
    if (contexts.size > 1000) contexts.clear();
    contexts.set(integrationId, { stamp, context });
    return context;
  };
}
