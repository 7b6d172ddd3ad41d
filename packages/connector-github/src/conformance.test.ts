import { afterAll, beforeAll, describe } from 'vitest';
import { testConnector } from '@etl/core/testing';
import { githubConnector } from './connector.js';
import { startFakeGitHub, type FakeGitHub } from './testing/index.js';

describe('github connector conformance', () => {
  let fake: FakeGitHub;
  beforeAll(async () => {
    fake = await startFakeGitHub({
      repos: ['acme/api', 'acme/web', { fullName: 'acme/empty', empty: true }],
      pullRequests: 60,
      commits: 15,
      seed: 21,
    });
  });
  afterAll(() => fake.close());

  testConnector({
    connector: () => githubConnector(),
    config: () => ({
      token: fake.token,
      baseUrl: fake.url,
      organizations: ['acme'],
      pageSize: 20,
      workItemProjects: ['ABC'],
    }),
    invalidConfig: { baseUrl: 'not a url', repositories: ['no-slash'] },
    minRecords: 120,
    timeoutMs: 60_000,
  });
});
