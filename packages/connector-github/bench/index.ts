import { emptyMappings, mappingsView, sourceHttp, type RawRow } from '@etl/core';
import { testExtractContext } from '@etl/core/testing';
import { githubConfigSchema, githubConnector, type GithubConfig } from '../src/index.js';
import { startFakeGitHub, type FakeGitHubFaults, type FakeGitHubOptions } from '../src/testing/index.js';
import type { BenchResult } from '../../../bench/types.js';

const REPOS = ['acme/api', 'acme/web'];
const PER_REPO = 500;
const TOTAL = REPOS.length * PER_REPO;

/** Extracts and transforms every pull request (with all its reviews) of a fresh fake GitHub. */
async function crawl(
  label: string,
  faults: FakeGitHubFaults | undefined,
  rateLimit?: FakeGitHubOptions['rateLimit'],
) {
  const fake = await startFakeGitHub({
    repos: REPOS,
    pullRequests: PER_REPO,
    commits: 0,
    seed: 42,
    faults,
    rateLimit,
  });
  try {
    const connector = githubConnector();
    const config: GithubConfig = githubConfigSchema.parse({
      token: fake.token,
      baseUrl: fake.url,
      repositories: REPOS,
    });
    // One client factory: the partitions share the integration's gate, as the engine's workers would.
    const clients = sourceHttp({ network: { allow: ['127.0.0.0/8'] } });
    const signal = AbortSignal.timeout(100_000);
    const started = performance.now();
    let records = 0;
    let reviews = 0;
    await Promise.all(
      REPOS.map(async (partition) => {
        const ctx = testExtractContext(connector, config, {
          stream: 'pull_requests',
          partition,
          mode: 'full',
          clients,
          signal,
        });
        for await (const page of connector.extractor.extract(ctx)) {
          const rows: RawRow[] = page.records.map((r, i) => ({
            id: String(i),
            stream: 'pull_requests',
            partition,
            sourceId: r.sourceId,
            payload: JSON.parse(JSON.stringify(r.payload)) as unknown,
            extractedAt: new Date().toISOString(),
          }));
          records += rows.length;
          const out = await connector.transformer.transform(rows, {
            integrationId: 'bench',
            stream: 'pull_requests',
            config,
            mappings: mappingsView(emptyMappings, 1),
            knownProjectKeys: new Set<string>(),
          });
          reviews += out.filter((e) => e.kind === 'pull_request_review').length;
          process.stderr.write(`\r[github bench] ${label}: ${records}/${TOTAL} pull requests`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write('\n');
    const expected = fake.totals();
    if (records !== TOTAL || reviews !== expected.reviews) {
      throw new Error(
        `github bench read ${records} pull requests / ${reviews} reviews, expected ${TOTAL} / ${expected.reviews}`,
      );
    }
    return {
      recordsPerSecond: records / seconds,
      requests: fake.counts.total,
      counts: { ...fake.counts },
      reviews,
    };
  } finally {
    await fake.close();
  }
}

/** GitHub section of `pnpm bench`: the connector (extract + transform) against the fake GitHub on loopback. */
export async function run(): Promise<BenchResult> {
  const clean = await crawl('clean', undefined);
  const faulty = await crawl(
    'limits + 502s',
    {
      exhaustPrimaryAt: [5],
      secondaryRateLimit: { atRequests: [9, 14], retryAfterSeconds: 1, status: 403 },
      graphql502: { whenFirstAbove: 20, times: 4 },
    },
    { limit: 5000, windowSeconds: 2 },
  );
  const perThousand = Math.round((clean.requests / TOTAL) * 1000 * 10) / 10;
  return {
    rows: [
      {
        section: 'github',
        name: 'records/s, clean',
        value: Math.round(clean.recordsPerSecond),
        unit: 'PRs/s',
        note: `${TOTAL} pull requests with ${clean.reviews} reviews, extract + transform`,
      },
      {
        section: 'github',
        name: 'records/s, limits + 502s',
        value: Math.round(faulty.recordsPerSecond),
        unit: 'PRs/s',
        note: `${faulty.counts.primaryLimited} primary-limit refusals (reset ≤ 2 s), ${faulty.counts.secondaryLimited} × 403 Retry-After 1 s, ${faulty.counts.faults502} × 502`,
      },
      {
        section: 'github',
        name: 'requests per 1,000 PRs incl. reviews',
        value: perThousand,
        unit: 'requests',
        note: 'goal ≤ 40; one PR in 40 has 45 reviews (batched follow-ups)',
      },
    ],
    json: {
      github_records_per_s: Math.round(clean.recordsPerSecond),
      github_records_per_s_faults: Math.round(faulty.recordsPerSecond),
      github_requests_per_1000: perThousand,
    },
  };
}
