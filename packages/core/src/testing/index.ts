export { testQueueAdapter, type QueueAdapterSuiteOptions } from './queue-suite.js';
export { testConnector, type ConnectorSuiteOptions } from './connector-suite.js';
export { testLoader, workItem, type LoaderSuiteOptions } from './loader-suite.js';
export { syntheticConnector, syntheticItem, type SyntheticConfig, type SyntheticItem } from './synthetic.js';
export { openTestDb, uniqueSchema, defaultDatabaseUrl, type TestDb } from './db.js';
export { startTestEngine, testSecretKey, type TestEngine, type TestEngineOptions } from './test-engine.js';
export { withDuplicateDelivery } from './duplicate-delivery.js';
export { waitUntil } from './wait-until.js';
export { testVectorStore, type VectorStoreSuiteOptions } from './vector-store-suite.js';
export {
  fakeDns,
  privateAddressCases,
  redirectingServer,
  loopbackName,
  publicName,
  type PrivateAddressCase,
} from './private-addresses.js';
export { testServiceAvailable, testDbKinds, type TestService } from './services.js';
export { startFaultProxy, type FaultProxy } from './fault-proxy.js';
export { testExtractContext, type TestExtractOptions } from './extract-context.js';
export {
  strictConnectorProblems,
  checkResume,
  checkIncremental,
  checkRetryAfter,
  type FakeSourceHooks,
  type StrictCheckOptions,
} from './strict-checks.js';
export { testPrivateAddresses, type PrivateAddressSuiteOptions } from './private-address-suite.js';
