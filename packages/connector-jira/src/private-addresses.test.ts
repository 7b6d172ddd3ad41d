import { testPrivateAddresses } from '@etl/core/testing';
import { jiraConnector } from './connector.js';

testPrivateAddresses({
  connector: () => jiraConnector(),
  field: 'siteUrl',
  config: (url) => ({
    siteUrl: url,
    email: 'ops@acme.test',
    apiToken: 'jira-token-0123456789',
    projects: ['ENG'],
  }),
});
