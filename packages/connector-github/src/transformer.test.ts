import { describe, expect, it } from 'vitest';
import { entitySchemas, mappingsView, emptyMappings, parseOptions, type RawRow } from '@etl/core';
import { githubConnector } from './connector.js';
import { githubConfigSchema } from './options.js';
import { findWorkItemKeys } from './work-item-keys.js';

describe('work-item keys', () => {
  const known = new Set(['ABC', 'OPS']);
  it('links keys of known projects in titles and branches, case-insensitively', () => {
    expect(findWorkItemKeys(['ABC-12: fix login', 'feature/ops-7-cache', 'abc-12 again'], known)).toEqual([
      'ABC-12',
      'OPS-7',
    ]);
  });
  it('ignores look-alikes and unknown projects', () => {
    expect(
      findWorkItemKeys(
        ['Handle UTF-8 names', 'Use SHA-256', 'Patch CVE-2024-3094', 'ZZZ-1', 'XABC-1', 'ABC-1x'],
        known,
      ),
    ).toEqual([]);
    expect(findWorkItemKeys(['ABC-1'], new Set())).toEqual([]);
  });
});

describe('github transformer', () => {
  const connector = githubConnector();
  const config = githubConfigSchema.parse({
    token: 'ghp_x',
    repositories: ['acme/api'],
    workItemProjects: ['ABC'],
  });
  const ctx = (stream: string) => ({
    integrationId: 'i',
    stream,
    config,
    mappings: mappingsView(emptyMappings, 1),
    knownProjectKeys: new Set<string>(),
  });
  const row = (stream: string, payload: unknown): RawRow => ({
    id: '1',
    stream,
    partition: 'acme/api',
    sourceId: 's',
    payload,
    extractedAt: '2024-01-01T00:00:00Z',
  });

  it('keeps a pull request by a deleted user and names bots the REST way', async () => {
    const pr = {
      id: 'PR_1',
      number: 1,
      title: 'ABC-5 bump',
      state: 'MERGED',
      isDraft: false,
      url: 'u',
      createdAt: '2024-01-01T00:00:00Z',
      updatedAt: '2024-01-02T00:00:00Z',
      closedAt: '2024-01-02T00:00:00Z',
      mergedAt: '2024-01-02T00:00:00Z',
      merged: true,
      mergedBy: { __typename: 'Bot', login: 'dependabot', id: 'BOT_1' },
      author: null,
      baseRefName: 'main',
      headRefName: 'x',
      additions: 1,
      deletions: 2,
      reviewDecision: 'APPROVED',
      repository: 'acme/api',
      labels: { totalCount: 0, nodes: [] },
      reviewRequests: { totalCount: 0, nodes: [] },
      reviews: {
        totalCount: 2,
        pageInfo: { hasNextPage: false, endCursor: null },
        nodes: [
          { id: 'R2', state: 'APPROVED', submittedAt: '2024-01-01T05:00:00Z', author: null },
          {
            id: 'R1',
            state: 'COMMENTED',
            submittedAt: '2024-01-01T03:00:00Z',
            author: { __typename: 'User', login: 'alice', id: 'U_a' },
          },
        ],
      },
    };
    const out = await connector.transformer.transform([row('pull_requests', pr)], ctx('pull_requests'));
    const pull = out.find((e) => e.kind === 'pull_request')!;
    const parsed = entitySchemas.pull_request.parse(pull.data);
    expect(parsed).toMatchObject({
      state: 'merged',
      authorId: null,
      firstReviewAt: '2024-01-01T03:00:00Z',
      workItemKeys: ['ABC-5'],
    });
    expect(out.filter((e) => e.kind === 'pull_request_review')).toHaveLength(2);
    const bot = out.find((e) => e.kind === 'person' && e.sourceId === 'BOT_1')!;
    expect(bot.data).toMatchObject({ login: 'dependabot[bot]', isBot: true });
    const rest = await connector.transformer.transform(
      [row('people', { login: 'dependabot[bot]', node_id: 'BOT_1', type: 'Bot' })],
      ctx('people'),
    );
    expect(rest[0].data).toMatchObject({ login: 'dependabot[bot]', isBot: true });
  });

  it('refuses bad config naming the field', () => {
    expect(() =>
      parseOptions('github', 'config', githubConfigSchema, { token: 't', repositories: ['nope'] }),
    ).toThrow(/repositories\.0: must be owner\/name/);
    expect(() => parseOptions('github', 'config', githubConfigSchema, { repositories: ['a/b'] })).toThrow(
      /app: give either a personal access token/,
    );
    expect(() => githubConnector({ maxServerErrorRetries: -1 } as never)).toThrow(
      expect.objectContaining({ plugin: 'github', message: expect.stringMatching(/maxServerErrorRetries/) }),
    );
  });
  it('links keys of projects another integration loaded, without listing them in config', async () => {
    const plain = githubConfigSchema.parse({ token: 'ghp_x', repositories: ['acme/api'] });
    const pr = (title: string) => ({
      id: 'PR_9',
      number: 9,
      title,
      state: 'OPEN',
      isDraft: false,
      url: 'u',
      createdAt: '2024-01-01T00:00:00Z',
      updatedAt: '2024-01-02T00:00:00Z',
      closedAt: null,
      mergedAt: null,
      merged: false,
      author: null,
      baseRefName: 'main',
      headRefName: 'feature',
      repository: 'acme/api',
      labels: { totalCount: 0, nodes: [] },
      reviewRequests: { totalCount: 0, nodes: [] },
      reviews: { totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, nodes: [] },
    });
    const keys = async (title: string, known: string[]) => {
      const out = await connector.transformer.transform([row('pull_requests', pr(title))], {
        ...ctx('pull_requests'),
        config: plain,
        knownProjectKeys: new Set(known),
      });
      return entitySchemas.pull_request.parse(out.find((e) => e.kind === 'pull_request')!.data).workItemKeys;
    };
    expect(await keys('OPS-12 fix UTF-8 parsing', ['OPS'])).toEqual(['OPS-12']);
    expect(await keys('OPS-12 fix UTF-8 parsing', [])).toEqual([]);
  });
});
