import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRecord } from '@etl/core';
import { testExtractContext } from '@etl/core/testing';
import { githubConnector } from './connector.js';
import { githubConfigSchema, type GithubConfig } from './options.js';
import { startFakeGitHub, type FakeGitHub } from './testing/index.js';

/** The extractor alone against the fake: walks, checkpoints and messy data, without a database. */
describe('github extractor', () => {
  let fake: FakeGitHub;
  const connector = githubConnector();
  beforeAll(async () => {
    fake = await startFakeGitHub({ repos: ['acme/api'], pullRequests: 60, commits: 12, seed: 17 });
  });
  afterAll(() => fake.close());

  const run = async (stream: string, checkpoint: unknown, extra: Partial<GithubConfig> = {}) => {
    const config = githubConfigSchema.parse({
      token: fake.token,
      baseUrl: fake.url,
      repositories: ['acme/api'],
      pageSize: 5,
      ...extra,
    });
    const ctx = testExtractContext(connector, config, {
      stream,
      partition: 'acme/api',
      checkpoint,
      network: { allow: ['127.0.0.0/8'] },
    });
    const records: RawRecord[] = [];
    let last: unknown = checkpoint;
    for await (const page of connector.extractor.extract(ctx)) {
      records.push(...page.records);
      last = page.checkpoint;
    }
    return { records, checkpoint: last };
  };

  it(
    'neither loses nor duplicates pull requests that share one updated time or move during the walk',
    { timeout: 30_000 },
    async () => {
      const prs = fake.repos[0].pullRequests;
      // Groups of seven share one updatedAt, across pages of five.
      expect(new Set(prs.map((p) => p.updatedAt)).size).toBeLessThan(prs.length);
      let moved: string[] = [];
      fake.onRequest(({ kind }) => {
        if (kind === 'graphql' && fake.counts.graphql === 3 && moved.length === 0) {
          moved = fake.updatePullRequests('acme/api', [1]); // not read yet: jumps ahead of the walk
        }
      });
      const first = await run('pull_requests', null);
      fake.onRequest(null);
      const ids = first.records.map((r) => r.sourceId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).not.toContain(moved[0]);
      expect(ids).toHaveLength(59);

      const second = await run('pull_requests', first.checkpoint);
      expect(second.records.map((r) => r.sourceId)).toEqual(moved);
      const third = await run('pull_requests', second.checkpoint);
      expect(third.records).toHaveLength(0);

      // Two pull requests updated in the same second as the high-water mark are still picked up.
      const [a, b] = fake.updatePullRequests('acme/api', [20, 21]);
      fake.repos[0].pullRequests.find((p) => p.nodeId === b)!.updatedAt = fake.repos[0].pullRequests.find(
        (p) => p.nodeId === a,
      )!.updatedAt;
      const fourth = await run('pull_requests', third.checkpoint);
      expect(fourth.records.map((r) => r.sourceId).sort()).toEqual([a, b].sort());
      const fifth = await run('pull_requests', fourth.checkpoint);
      expect(fifth.records).toHaveLength(0);
    },
  );

  it('reads commits newest first and, incrementally, only newer ones', { timeout: 30_000 }, async () => {
    const first = await run('commits', null);
    expect(first.records).toHaveLength(12);
    const again = await run('commits', first.checkpoint);
    expect(again.records).toHaveLength(0);
  });

  it(
    'pages reviews as their own stream, following up on pull requests with many reviews',
    { timeout: 30_000 },
    async () => {
      const { records } = await run('pull_request_reviews', null);
      expect(records).toHaveLength(fake.totals().reviews);
      expect(new Set(records.map((r) => r.sourceId)).size).toBe(records.length);
    },
  );
});
