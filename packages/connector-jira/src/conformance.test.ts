import { afterAll, beforeAll, describe } from 'vitest';
import { testConnector } from '@etl/core/testing';
import { jiraConnector } from './connector.js';
import { startFakeJira, type FakeJira } from './testing/index.js';

describe('jira connector conformance', () => {
  let fake: FakeJira;
  beforeAll(async () => {
    fake = await startFakeJira({ issues: 150, projects: ['ENG', 'OPS'], seed: 21 });
  });
  afterAll(() => fake.close());

  testConnector({
    connector: () => jiraConnector(),
    config: () => ({
      siteUrl: fake.url,
      email: fake.email,
      apiToken: fake.apiToken,
      pageSize: 40,
    }),
    invalidConfig: { siteUrl: 'not a url', email: 'x' },
    minRecords: 150,
    timeoutMs: 60_000,
  });
});
