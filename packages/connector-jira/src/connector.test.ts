// @etl-test-services postgres
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '@etl/core';
import { startTestEngine, type TestEngine } from '@etl/core/testing';
import { jiraConnector } from './connector.js';
import { startFakeJira, type FakeJira } from './testing/index.js';

const SECRET = 'jira-connector-test-secret-key-0123';

/** End to end through the engine: real PostgreSQL, in-memory queue, the fake Jira on 127.0.0.1. */
describe('jira connector through the engine', () => {
  let harness: TestEngine;
  let engine: Engine;
  const fakes: FakeJira[] = [];
  const q = <R = Record<string, unknown>>(sql: string, values?: unknown[]) => harness.rows<R>(sql, values);

  const integrationFor = async (fake: FakeJira, name: string, extra: Record<string, unknown> = {}) =>
    engine.integrations.create({
      connector: 'jira',
      name,
      config: {
        siteUrl: fake.url,
        email: fake.email,
        apiToken: fake.apiToken,
        ...extra,
      },
    });
  const runJob = async (
    integrationId: string,
    streams: string[],
    mode: 'full' | 'incremental' = 'incremental',
  ) => {
    const job = await engine.jobs.start({ integrationId, streams, mode });
    return engine.jobs.waitFor(job.id, { timeoutMs: 90_000 });
  };
  const fake = async (options: Parameters<typeof startFakeJira>[0]) => {
    const f = await startFakeJira(options);
    fakes.push(f);
    return f;
  };

  beforeAll(async () => {
    harness = await startTestEngine({
      database: 'postgres',
      connectors: [jiraConnector()],
      secretKey: SECRET,
      network: { allow: ['127.0.0.0/8'] },
      http: { baseDelayMs: 50 },
    });
    engine = harness.engine;
  }, 60_000);

  afterAll(async () => {
    await harness?.close();
    await Promise.all(fakes.map((f) => f.close()));
  });

  it(
    'loads 2,000 issues and every transition in order, a tenth with long changelogs, then replays a mapping change without a request',
    { timeout: 120_000 },
    async () => {
      const jira = await fake({ issues: 2000, seed: 11, longChangelogRatio: 0.1, sameMillisecondRatio: 0.2 });
      const truth = jira.issues();
      expect(truth.filter((i) => i.histories > 40)).toHaveLength(200);
      const { id } = await integrationFor(jira, 'big');
      const job = await runJob(id, ['issues'], 'full');
      expect(job.status, JSON.stringify(job.errors)).toBe('succeeded');

      const items = await q<{ source_id: string; key: string; status: string; status_category: string }>(
        'SELECT source_id, key, status, status_category FROM $schema.work_items WHERE integration_id = $1',
        [id],
      );
      expect(items).toHaveLength(2000);
      const byKey = new Map(items.map((i) => [i.key, i]));
      for (const issue of truth) expect(byKey.get(issue.key)?.status, issue.key).toBe(issue.status);

      const rows = await q<{
        work_item_id: string;
        seq: number;
        from_status: string | null;
        to_status: string;
        transitioned_at: Date;
      }>(
        'SELECT work_item_id, seq, from_status, to_status, transitioned_at FROM $schema.work_item_transitions WHERE integration_id = $1 ORDER BY work_item_id, seq',
        [id],
      );
      const expected = truth.flatMap((i) => jira.statusTransitions(i.key).map((tr) => ({ ...tr, id: i.id })));
      expect(rows).toHaveLength(expected.length);
      const loaded = new Map<string, typeof rows>();
      for (const row of rows) loaded.set(row.work_item_id, [...(loaded.get(row.work_item_id) ?? []), row]);
      let sameMsPairs = 0;
      for (const issue of truth) {
        const want = jira.statusTransitions(issue.key);
        const got = loaded.get(issue.id) ?? [];
        expect(
          got.map((r) => [r.seq, r.from_status, r.to_status]),
          issue.key,
        ).toEqual(want.map((w, i) => [i + 1, w.from, w.to]));
        if (got.length > 0)
          expect(got[got.length - 1].to_status, `${issue.key} ends on its status`).toBe(issue.status);
        for (let i = 1; i < want.length; i += 1) if (want[i].at === want[i - 1].at) sameMsPairs += 1;
      }
      expect(sameMsPairs).toBeGreaterThan(50);

      const requests = jira.requestCount();
      console.error(
        `[jira test] ${requests} requests for 2,000 issues (${jira.requestCount('/rest/api/3/changelog/bulkfetch')} bulk changelog, ${jira.requestCount('/rest/api/3/issue/')} per issue)`,
      );
      expect(requests).toBeLessThanOrEqual(40);
      expect(jira.requestCount('/rest/api/3/issue/')).toBe(0);

      // A mapping change + replay recomputes categories from stored raw rows: not one request to Jira.
      const before = jira.requestCount();
      await engine.mappings.put(id, { statuses: [{ rawStatus: 'In Review', category: 'done' }] });
      const replay = await engine.replay({ integrationId: id, stream: 'issues' });
      const replayJob = await engine.jobs.waitFor(replay.job!.id, { timeoutMs: 90_000 });
      expect(replayJob.status, JSON.stringify(replayJob.errors)).toBe('succeeded');
      expect(jira.requestCount()).toBe(before);
      const inReview = await q<{ status_category: string }>(
        `SELECT DISTINCT status_category FROM $schema.work_items WHERE integration_id = $1 AND status = 'In Review'`,
        [id],
      );
      expect(inReview).toEqual([{ status_category: 'done' }]);
      const toReview = await q<{ to_category: string }>(
        `SELECT DISTINCT to_category FROM $schema.work_item_transitions WHERE integration_id = $1 AND to_status = 'In Review'`,
        [id],
      );
      expect(toReview).toEqual([{ to_category: 'done' }]);
      const inProgress = await q<{ status_category: string }>(
        `SELECT DISTINCT status_category FROM $schema.work_items WHERE integration_id = $1 AND status = 'In Progress'`,
        [id],
      );
      expect(inProgress).toEqual([{ status_category: 'in_progress' }]);
    },
  );

  it(
    'picks up an issue updated during a crawl on the next incremental run',
    { timeout: 60_000 },
    async () => {
      const jira = await fake({ issues: 300, projects: ['ENG', 'OPS'], seed: 5 });
      const { id } = await integrationFor(jira, 'moving', { pageSize: 25 });
      const target = jira.issues().find((i) => i.projectKey === 'ENG' && i.status !== 'Blocked')!;
      let searches = 0;
      jira.onRequest((r) => {
        if (r.path === '/rest/api/3/search/jql' && ++searches === 3)
          jira.transitionIssue(target.key, 'Blocked');
      });
      const first = await runJob(id, ['issues']);
      expect(first.status, JSON.stringify(first.errors)).toBe('succeeded');
      expect(searches).toBeGreaterThan(3);
      const second = await runJob(id, ['issues']);
      expect(second.status, JSON.stringify(second.errors)).toBe('succeeded');
      expect(second.counters.extracted).toBeLessThan(10);
      const [item] = await q<{ status: string }>(
        'SELECT status FROM $schema.work_items WHERE integration_id = $1 AND key = $2',
        [id, target.key],
      );
      expect(item.status).toBe('Blocked');
      const [last] = await q<{ to_status: string }>(
        'SELECT to_status FROM $schema.work_item_transitions WHERE integration_id = $1 AND work_item_id = $2 ORDER BY seq DESC LIMIT 1',
        [id, target.id],
      );
      expect(last.to_status).toBe('Blocked');
      expect(await q('SELECT 1 FROM $schema.work_items WHERE integration_id = $1', [id])).toHaveLength(300);
    },
  );

  it(
    'survives 429 storms and 5xx bursts with every record, never asking before Retry-After',
    { timeout: 90_000 },
    async () => {
      const jira = await fake({
        issues: 400,
        projects: ['ENG', 'OPS'],
        seed: 9,
        faults: {
          rateLimit429: { every: 6, count: 5, retryAfterSeconds: 1 },
          serverErrors: { every: 5, burst: 3, count: 4 },
        },
      });
      const { id } = await integrationFor(jira, 'stormy', { pageSize: 40 });
      const job = await runJob(id, ['projects', 'issue_types', 'statuses', 'users', 'issues'], 'full');
      expect(job.status, JSON.stringify(job.errors)).toBe('succeeded');
      expect(jira.requests.filter((r) => r.status === 429)).toHaveLength(5);
      expect(jira.requests.filter((r) => r.status >= 500)).toHaveLength(12);
      expect(jira.earlyRequests(50)).toEqual([]);
      // Waits as long as asked, not a fixed longer delay: each 429 is followed by a request within ~1.5 s.
      for (const r of jira.requests.filter((x) => x.retryAfterUntil)) {
        const next = jira.requests.find((x) => x.at >= r.retryAfterUntil!);
        expect(next, 'a request follows the pause').toBeDefined();
        expect(next!.at - r.retryAfterUntil!).toBeLessThan(1500);
      }
      expect(await q('SELECT 1 FROM $schema.work_items WHERE integration_id = $1', [id])).toHaveLength(400);
      const transitions = jira.issues().reduce((n, i) => n + jira.statusTransitions(i.key).length, 0);
      expect(
        await q('SELECT 1 FROM $schema.work_item_transitions WHERE integration_id = $1', [id]),
      ).toHaveLength(transitions);
      const events = await engine.events.since(0, { jobId: job.id, limit: 10_000 });
      expect(events.filter((e) => e.type === 'throttled').length).toBeGreaterThanOrEqual(5);
    },
  );

  it(
    'fails a job with a wrong token, naming the site, with the token nowhere',
    { timeout: 60_000 },
    async () => {
      const jira = await fake({ issues: 20, seed: 2 });
      const wrong = 'wrong-token-ATATT3xFfGF0-do-not-leak';
      const { id } = await integrationFor(jira, 'wrong', { apiToken: wrong });
      const job = await runJob(id, ['issues']);
      expect(job.status).toBe('failed');
      const text = JSON.stringify(job.errors);
      expect(text).toContain(jira.url);
      expect(text).toContain('rejected the credentials');
      const events = await engine.events.since(0, { jobId: job.id, limit: 10_000 });
      const raw = await q(
        'SELECT payload::text AS p, error FROM $schema.raw_extraction_data WHERE integration_id = $1',
        [id],
      );
      const stored = await q('SELECT config::text AS c FROM $schema.etl_integrations');
      for (const haystack of [
        text,
        JSON.stringify(events),
        JSON.stringify(raw),
        JSON.stringify(stored),
        JSON.stringify(await engine.integrations.get(id)),
      ]) {
        expect(haystack).not.toContain(wrong);
      }
      const check = await engine.integrations.test(id);
      expect(check.ok).toBe(false);
      expect(check.message).toContain('credentials rejected');
      expect(check.message).not.toContain(wrong);
    },
  );

  it('refuses a site on an address the host did not allow, naming the field, before any request', async () => {
    const { id } = await engine.integrations.create({
      connector: 'jira',
      name: 'private',
      config: { siteUrl: 'https://10.1.2.3', email: 'a@b.c', apiToken: 'tok-12345' },
    });
    const job = await runJob(id, ['projects', 'issues']);
    expect(job.status).toBe('failed');
    expect(job.errors[0]!.message).toMatch(/siteUrl: 10\.1\.2\.3 is a private address/);
    expect(job.streamStates!.find((s) => s.stream === 'issues')!.status).toBe('skipped');
    const check = await engine.integrations.test(id);
    expect(check).toMatchObject({
      ok: false,
      message: expect.stringMatching(/siteUrl: 10\.1\.2\.3 is a private/),
    });
  });

  it(
    'keeps a malformed JSON page in raw storage, reports it, and finishes the job',
    { timeout: 60_000 },
    async () => {
      const jira = await fake({ issues: 120, seed: 4, faults: { malformedJson: { every: 2, count: 1 } } });
      const { id } = await integrationFor(jira, 'malformed', { pageSize: 30 });
      const job = await runJob(id, ['issues']);
      expect(job.status, JSON.stringify(job.errors)).toBe('succeeded');
      const raw = await q<{ payload: { unparseable?: boolean; body?: string } }>(
        'SELECT payload FROM $schema.raw_extraction_data WHERE integration_id = $1',
        [id],
      );
      const bad = raw.filter((r) => r.payload.unparseable === true);
      expect(bad).toHaveLength(1);
      expect(bad[0].payload.body?.length).toBeGreaterThan(10);
      const events = await engine.events.since(0, { jobId: job.id, limit: 10_000 });
      expect(JSON.stringify(events)).toContain('malformed JSON');
      expect(await q('SELECT 1 FROM $schema.work_items WHERE integration_id = $1', [id])).toHaveLength(120);
    },
  );
});
