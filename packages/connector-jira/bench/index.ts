import { emptyMappings, mappingsView, sourceHttp, type RawRow } from '@etl/core';
import { testExtractContext } from '@etl/core/testing';
import { jiraConnector, parseJiraConfig, type JiraConfig } from '../src/index.js';
import { startFakeJira, type FakeJiraFaults } from '../src/testing/index.js';
import type { BenchResult } from '../../../bench/types.js';

const ISSUES = 2000;

/** Extracts and transforms every issue of a fresh fake Jira; returns records/s and the requests it took. */
async function crawl(faults: FakeJiraFaults | undefined) {
  const fake = await startFakeJira({
    issues: ISSUES,
    projects: ['ENG', 'OPS'],
    seed: 42,
    longChangelogRatio: 0.1,
    faults,
  });
  try {
    const connector = jiraConnector();
    const config: JiraConfig = parseJiraConfig({
      siteUrl: fake.url,
      email: fake.email,
      apiToken: fake.apiToken,
    });
    // One client factory: the partitions share the integration's gate, as engine workers would.
    const clients = sourceHttp({ network: { allow: ['127.0.0.0/8'] }, policy: { baseDelayMs: 100 } });
    const signal = AbortSignal.timeout(100_000);
    const context = (partition: string | null) =>
      testExtractContext(connector, config, { stream: 'issues', mode: 'full', partition, clients, signal });
    const started = performance.now();
    const partitions = await connector.extractor.partitions!(context(null));
    let records = 0;
    let entities = 0;
    // Partitions run side by side, as engine workers would, sharing one budget.
    await Promise.all(
      partitions.map(async (partition) => {
        const ctx = context(partition);
        for await (const page of connector.extractor.extract(ctx)) {
          const rows: RawRow[] = page.records.map((r, i) => ({
            id: String(i),
            stream: 'issues',
            partition,
            sourceId: r.sourceId,
            payload: JSON.parse(JSON.stringify(r.payload)) as unknown,
            extractedAt: new Date().toISOString(),
          }));
          records += rows.length;
          const out = await connector.transformer.transform(rows, {
            integrationId: 'bench',
            stream: 'issues',
            config,
            mappings: mappingsView(emptyMappings, 1),
            knownProjectKeys: new Set<string>(),
          });
          entities += out.length;
          process.stderr.write(`\r[jira bench] ${records}/${ISSUES} issues`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write('\n');
    if (records !== ISSUES) throw new Error(`jira bench read ${records} issues, expected ${ISSUES}`);
    return {
      recordsPerSecond: records / seconds,
      entities,
      requests: fake.requestCount(),
      throttled: fake.requests.filter((r) => r.status === 429).length,
      failed: fake.requests.filter((r) => r.status >= 500).length,
    };
  } finally {
    await fake.close();
  }
}

/** Jira section of `pnpm bench`: the connector (extract + transform) against the fake Jira on loopback. */
export async function run(): Promise<BenchResult> {
  const clean = await crawl(undefined);
  const faulty = await crawl({
    rateLimit429: { every: 9, count: 3, retryAfterSeconds: 1 },
    serverErrors: { every: 7, burst: 3, count: 3 },
  });
  const perThousand = (clean.requests / ISSUES) * 1000;
  return {
    rows: [
      {
        section: 'jira',
        name: 'records/s, clean',
        value: Math.round(clean.recordsPerSecond),
        unit: 'issues/s',
        note: `${ISSUES} issues, 10% long changelogs, extract + transform`,
      },
      {
        section: 'jira',
        name: 'records/s, 429s + 5xx bursts',
        value: Math.round(faulty.recordsPerSecond),
        unit: 'issues/s',
        note: `${faulty.throttled} × 429 (Retry-After 1 s), ${faulty.failed} × 5xx`,
      },
      {
        section: 'jira',
        name: 'HTTP requests per 1,000 issues',
        value: Math.round(perThousand * 10) / 10,
        unit: 'requests',
        note: 'goal ≤ 20; a tenth of issues with changelogs past the inline limit',
      },
    ],
    json: {
      jira_records_per_s: Math.round(clean.recordsPerSecond),
      jira_records_per_s_faults: Math.round(faulty.recordsPerSecond),
      jira_requests_per_1000: Math.round(perThousand * 10) / 10,
    },
  };
}
