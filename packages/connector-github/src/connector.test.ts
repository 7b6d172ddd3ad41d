// @etl-test-services postgres
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, EngineEvent, Job } from '@etl/core';
import { startTestEngine, type TestEngine } from '@etl/core/testing';
import { githubConnector } from './connector.js';
import { startFakeGitHub, type FakeGitHub, type FakeGitHubOptions } from './testing/index.js';

const SECRET = 'github-connector-test-secret-key-01';
const ALL = ['repositories', 'pull_requests', 'commits', 'people'];

/** End to end through the engine: real PostgreSQL, in-memory queue, the fake GitHub on 127.0.0.1. */
describe('github connector through the engine', () => {
  let harness: TestEngine;
  let engine: Engine;
  const fakes: FakeGitHub[] = [];
  const events: EngineEvent[] = [];
  const q = <R = Record<string, unknown>>(sql: string, values?: unknown[]) => harness.rows<R>(sql, values);
  const count = async (table: string, integrationId: string) =>
    Number(
      (
        await q<{ n: string }>(`SELECT count(*) AS n FROM $schema.${table} WHERE integration_id = $1`, [
          integrationId,
        ])
      )[0].n,
    );

  const fake = async (options: FakeGitHubOptions) => {
    const f = await startFakeGitHub(options);
    fakes.push(f);
    return f;
  };
  const integrationFor = async (f: FakeGitHub, name: string, extra: Record<string, unknown> = {}) =>
    engine.integrations.create({
      connector: 'github',
      name,
      config: {
        token: f.token,
        baseUrl: f.url,
        organizations: ['acme'],
        workItemProjects: ['ABC', 'OPS'],
        ...extra,
      },
    });
  const runJob = async (
    integrationId: string,
    streams: string[],
    mode: 'full' | 'incremental' = 'incremental',
  ): Promise<Job> => {
    const job = await engine.jobs.start({ integrationId, streams, mode });
    return engine.jobs.waitFor(job.id, { timeoutMs: 50_000 });
  };
  /** Every distinct person the fake's data refers to. */
  const expectedPeople = (f: FakeGitHub) => {
    const ids = new Set<string>();
    for (const repo of f.repos) {
      for (const pr of repo.pullRequests) {
        for (const a of [pr.author, pr.mergedBy, ...pr.reviews.map((r) => r.author)])
          if (a) ids.add(a.nodeId);
      }
      for (const c of repo.commits) if (c.author) ids.add(c.author.nodeId);
    }
    return ids;
  };

  beforeAll(async () => {
    harness = await startTestEngine({
      database: 'postgres',
      connectors: [githubConnector()],
      secretKey: SECRET,
      network: { allow: ['127.0.0.0/8'] },
    });
    engine = harness.engine;
    engine.events.subscribe((e) => events.push(e));
  }, 60_000);

  afterAll(async () => {
    await harness?.close();
    await Promise.all(fakes.map((f) => f.close()));
  });

  it(
    'syncs 3 repositories × 500 pull requests with reviews and commits into exact rows, then only the 10 that changed',
    { timeout: 90_000 },
    async () => {
      const f = await fake({
        repos: ['acme/api', 'acme/web', 'acme/ops'],
        pullRequests: 500,
        commits: 60,
        seed: 5,
      });
      const integration = await integrationFor(f, 'three-repos');
      const job = await runJob(integration.id, ALL);
      expect(job.status, JSON.stringify(job.errors)).toBe('succeeded');
      const totals = f.totals();
      expect(totals).toMatchObject({ repositories: 3, pullRequests: 1500, commits: 180 });
      expect(await count('repositories', integration.id)).toBe(3);
      expect(await count('pull_requests', integration.id)).toBe(1500);
      expect(await count('pull_request_reviews', integration.id)).toBe(totals.reviews);
      expect(await count('commits', integration.id)).toBe(180);
      const people = expectedPeople(f);
      const stored = await q<{ source_id: string }>(
        'SELECT source_id FROM $schema.people WHERE integration_id = $1',
        [integration.id],
      );
      expect(new Set(stored.map((r) => r.source_id))).toEqual(people);
      // The bot is one person under its REST spelling; deleted authors left no person and a null author.
      const bots = await q<{ login: string }>(
        'SELECT login FROM $schema.people WHERE integration_id = $1 AND is_bot',
        [integration.id],
      );
      expect(bots.map((b) => b.login)).toEqual(['dependabot[bot]']);
      const ghosts = f.repos.flatMap((r) => r.pullRequests).filter((pr) => pr.author === null).length;
      expect(ghosts).toBeGreaterThan(0);
      expect(
        await q('SELECT 1 FROM $schema.pull_requests WHERE integration_id = $1 AND author_id IS NULL', [
          integration.id,
        ]),
      ).toHaveLength(ghosts);
      // Reviews beyond one nested page came through batched follow-ups: every review of a 45-review PR is there.
      const big = f.repos[0].pullRequests.find((pr) => pr.reviews.length === 45)!;
      expect(
        await q(
          'SELECT 1 FROM $schema.pull_request_reviews WHERE integration_id = $1 AND pull_request_id = $2',
          [integration.id, big.nodeId],
        ),
      ).toHaveLength(45);
      // Work-item links only for known projects; look-alikes never.
      const linked = await q<{ title: string; head_branch: string; work_item_keys: string[] }>(
        'SELECT title, head_branch, work_item_keys FROM $schema.pull_requests WHERE integration_id = $1 AND cardinality(work_item_keys) > 0',
        [integration.id],
      );
      expect(linked.length).toBeGreaterThan(50);
      for (const row of linked) for (const key of row.work_item_keys) expect(key).toMatch(/^(ABC|OPS)-\d+$/);
      const all = await q<{ work_item_keys: string[] }>(
        'SELECT work_item_keys FROM $schema.pull_requests WHERE integration_id = $1',
        [integration.id],
      );
      expect(all.flatMap((r) => r.work_item_keys).some((k) => /^(UTF|SHA|CVE|ZZZ)-/.test(k))).toBe(false);

      f.resetCounts();
      const changed = f.updatePullRequests('acme/web', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], {
        title: 'ABC-999 reworked',
      });
      const again = await runJob(integration.id, ['pull_requests']);
      expect(again.status).toBe('succeeded');
      expect(again.counters.extracted).toBe(10);
      // One page per repository: the walk stops at the previous run's high-water mark.
      expect(f.counts.graphql).toBe(3);
      const raw = await engine.raw.list({ jobId: again.id, limit: 100 });
      expect(raw.rows.map((r) => r.sourceId).sort()).toEqual([...changed].sort());
      const titles = await q<{ title: string; work_item_keys: string[] }>(
        'SELECT title, work_item_keys FROM $schema.pull_requests WHERE integration_id = $1 AND source_id = ANY($2)',
        [integration.id, changed],
      );
      expect(
        titles.every((r) => r.title === 'ABC-999 reworked' && r.work_item_keys.includes('ABC-999')),
      ).toBe(true);
      expect(await count('pull_requests', integration.id)).toBe(1500);
    },
  );

  it(
    'waits out an exhausted primary limit and a secondary limit, and finishes with every record',
    { timeout: 60_000 },
    async () => {
      const f = await fake({
        repos: ['acme/api'],
        pullRequests: 150,
        commits: 20,
        seed: 9,
        rateLimit: { limit: 10_000, windowSeconds: 2 },
        faults: {
          exhaustPrimaryAt: [4],
          secondaryRateLimit: { atRequests: [8], retryAfterSeconds: 1, status: 403 },
        },
      });
      const integration = await integrationFor(f, 'limited', { pageSize: 25 });
      const started = Date.now();
      const job = await runJob(integration.id, ['pull_requests', 'commits']);
      expect(job.status, JSON.stringify(job.errors)).toBe('succeeded');
      expect(f.counts.primaryLimited).toBeGreaterThanOrEqual(1);
      expect(f.counts.secondaryLimited).toBe(1);
      expect(await count('pull_requests', integration.id)).toBe(150);
      expect(await count('commits', integration.id)).toBe(20);
      // Nothing asked again before the secondary limit's Retry-After had passed.
      expect(f.log[7].status).toBe(403);
      const after = f.log.slice(8).find((l) => l.kind === f.log[7].kind);
      expect(after!.at - f.log[7].at).toBeGreaterThanOrEqual(950);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      // The pause was shared through the integration's budget and shown as job events.
      expect(
        await q('SELECT 1 FROM $schema.etl_rate_limits WHERE integration_id = $1', [integration.id]),
      ).toHaveLength(1);
      expect(
        events.some(
          (e) => e.type === 'throttled' && 'integrationId' in e && e.integrationId === integration.id,
        ),
      ).toBe(true);
    },
  );

  it(
    'spends the last unit of a primary limit, pauses until the reset instead of being refused, and finishes',
    { timeout: 60_000 },
    async () => {
      const f = await fake({
        repos: ['acme/api'],
        pullRequests: 120,
        commits: 5,
        seed: 11,
        rateLimit: { limit: 3, windowSeconds: 1 },
      });
      const integration = await integrationFor(f, 'tight-primary', { pageSize: 20 });
      const job = await runJob(integration.id, ['pull_requests']);
      expect(job.status, JSON.stringify(job.errors)).toBe('succeeded');
      expect(await count('pull_requests', integration.id)).toBe(120);
      expect(f.counts.graphql).toBeGreaterThanOrEqual(6);
    },
  );

  it(
    'answers GraphQL 502s with smaller pages (nested too), grows them back, and still loads everything',
    { timeout: 60_000 },
    async () => {
      const f = await fake({
        repos: ['acme/api'],
        pullRequests: 200,
        commits: 5,
        seed: 13,
        faults: { graphql502: { whenFirstAbove: 12, times: 5 } },
      });
      const integration = await integrationFor(f, 'bad-gateway');
      const job = await runJob(integration.id, ['pull_requests']);
      expect(job.status, JSON.stringify(job.errors)).toBe('succeeded');
      expect(f.counts.faults502).toBeGreaterThanOrEqual(3);
      expect(await count('pull_requests', integration.id)).toBe(200);
      expect(await count('pull_request_reviews', integration.id)).toBe(f.totals().reviews);
      const sizes = f.counts.pullRequestPageSizes;
      expect(sizes[0]).toBe(50);
      expect(Math.min(...sizes)).toBeLessThanOrEqual(12);
      expect(sizes.at(-1)).toBeGreaterThan(Math.min(...sizes));
      expect(Math.min(...f.counts.reviewPageSizes)).toBeLessThan(20);
    },
  );

  it(
    'fails a job with a bad token clearly, naming GitHub, with the token nowhere',
    { timeout: 60_000 },
    async () => {
      const f = await fake({ repos: ['acme/api'], pullRequests: 5, seed: 3 });
      const badToken = 'ghp_' + 'Q'.repeat(36);
      const integration = await integrationFor(f, 'bad-token', { token: badToken });
      const job = await runJob(integration.id, ['pull_requests']);
      expect(job.status).toBe('failed');
      const text = JSON.stringify(job.errors);
      expect(text).toMatch(/rejected the credentials \(401 Bad credentials\)/);
      expect(text).not.toContain(badToken);
      const check = await engine.integrations.test(integration.id);
      expect(check.ok).toBe(false);
      expect(check.message).toMatch(/401 Bad credentials/);
      expect(check.message).not.toContain(badToken);
      const stored = JSON.stringify(await q('SELECT * FROM $schema.etl_events'));
      expect(stored).not.toContain(badToken);
    },
  );

  it(
    'names a repository that does not exist while the others sync; the job ends partial',
    { timeout: 60_000 },
    async () => {
      const f = await fake({
        repos: ['acme/api', { fullName: 'acme/empty', empty: true }],
        pullRequests: 30,
        commits: 7,
        seed: 4,
      });
      const integration = await integrationFor(f, 'missing-repo', {
        organizations: [],
        repositories: ['acme/api', 'acme/empty', 'acme/ghost'],
      });
      const job = await runJob(integration.id, ['repositories', 'pull_requests', 'commits']);
      expect(job.status).toBe('partial');
      expect(JSON.stringify(job.errors)).toContain('repository acme/ghost does not exist');
      expect(await count('repositories', integration.id)).toBe(2);
      expect(await count('pull_requests', integration.id)).toBe(30);
      expect(await count('commits', integration.id)).toBe(7);
      const empty = await q<{ default_branch: string | null }>(
        "SELECT default_branch FROM $schema.repositories WHERE integration_id = $1 AND full_name = 'acme/empty'",
        [integration.id],
      );
      expect(empty).toEqual([{ default_branch: null }]);
      const check = await engine.integrations.test(integration.id);
      expect(check).toMatchObject({ ok: false });
      expect(check.message).toContain('acme/ghost');
    },
  );
});
