import { testPrivateAddresses } from '@etl/core/testing';
import { githubConnector } from './connector.js';

testPrivateAddresses({
  connector: () => githubConnector(),
  field: 'baseUrl',
  config: (url) => ({ token: 'ghp_' + 'x'.repeat(36), baseUrl: url, repositories: ['acme/api'] }),
});
