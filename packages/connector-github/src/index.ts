export { githubConnector } from './connector.js';
export {
  githubConfigSchema,
  githubConnectorOptionsSchema,
  type GithubConfig,
  type GithubConfigInput,
  type GithubConnectorOptions,
} from './options.js';
export {
  githubExtractor,
  STREAMS as githubStreams,
  type UpdatedCheckpoint,
  type CommitCheckpoint,
} from './extractor.js';
export { githubTransformer, normaliseLogin } from './transformer.js';
export { findWorkItemKeys } from './work-item-keys.js';
