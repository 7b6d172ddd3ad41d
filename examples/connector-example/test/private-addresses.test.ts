import { testPrivateAddresses } from '@etl/core/testing';
import { trackerConnector } from '../src/index.js';

testPrivateAddresses({
  connector: () => trackerConnector(),
  field: 'baseUrl',
  config: (url) => ({ baseUrl: url, token: 'tracker-token-0123456789' }),
});
