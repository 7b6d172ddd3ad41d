import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mappingsView, emptyMappings, type ConnectorEvent, type RawRow } from '@etl/core';
import { testExtractContext } from '@etl/core/testing';
import { jiraConnector, parseJiraConfig } from './connector.js';
import type { JiraConfig } from './options.js';
import { startFakeJira, type FakeJira } from './testing/index.js';

async function extractAll(config: JiraConfig, stream: string, checkpoint: unknown = null) {
  const connector = jiraConnector();
  const events: ConnectorEvent[] = [];
  const rows: RawRow[] = [];
  const checkpoints = new Map<string | null, unknown>();
  const network = { allow: ['127.0.0.0/8'] };
  const context = (partition: string | null) =>
    testExtractContext(connector, config, {
      stream,
      partition,
      checkpoint,
      network,
      emit: (e) => events.push(e),
    });
  const partitions = connector.streams.find((s) => s.name === stream)?.partitioned
    ? await connector.extractor.partitions!(context(null))
    : [null];
  for (const partition of partitions) {
    const ctx = context(partition);
    for await (const page of connector.extractor.extract(ctx)) {
      for (const r of page.records) {
        rows.push({
          id: String(rows.length),
          stream,
          partition,
          sourceId: r.sourceId,
          payload: r.payload,
          extractedAt: '',
        });
      }
      checkpoints.set(partition, page.checkpoint);
    }
  }
  return { rows, events, checkpoints };
}

describe('extractor and transformer against the fake Jira', () => {
  let fake: FakeJira;
  beforeAll(async () => {
    fake = await startFakeJira({ issues: 300, projects: ['ENG', 'OPS'], seed: 3, longChangelogRatio: 0.1 });
  });
  afterAll(() => fake.close());

  it('reads every issue with its complete changelog', async () => {
    const config = parseJiraConfig({
      siteUrl: fake.url,
      email: fake.email,
      apiToken: fake.apiToken,
      pageSize: 50,
    });
    const { rows } = await extractAll(config, 'issues');
    expect(rows).toHaveLength(300);
    const connector = jiraConnector();
    const entities = await connector.transformer.transform(rows, {
      integrationId: 'i',
      stream: 'issues',
      config,
      mappings: mappingsView(emptyMappings, 1),
      knownProjectKeys: new Set<string>(),
    });
    const items = entities.filter((e) => e.kind === 'work_item');
    expect(items).toHaveLength(300);
    const transitions = entities.filter((e) => e.kind === 'work_item_transition');
    const expected = fake.issues().reduce((n, i) => n + fake.statusTransitions(i.key).length, 0);
    expect(transitions).toHaveLength(expected);
  });

  it('reads the metadata streams and changelogs alone, with exact counts', async () => {
    const config = parseJiraConfig({
      siteUrl: fake.url,
      email: fake.email,
      apiToken: fake.apiToken,
      projects: ['ENG', 'OPS'],
    });
    const counts: Record<string, number> = {};
    for (const stream of ['projects', 'issue_types', 'statuses', 'users', 'boards', 'sprints']) {
      counts[stream] = (await extractAll(config, stream)).rows.length;
    }
    expect(counts).toEqual({ projects: 2, issue_types: 6, statuses: 5, users: 11, boards: 3, sprints: 6 });

    const { rows } = await extractAll(config, 'issue_changelogs');
    expect(rows).toHaveLength(300);
    const entities = await jiraConnector().transformer.transform(rows, {
      integrationId: 'i',
      stream: 'issue_changelogs',
      config,
      mappings: mappingsView(emptyMappings, 1),
      knownProjectKeys: new Set<string>(),
    });
    const expected = fake.issues().reduce((n, i) => n + fake.statusTransitions(i.key).length, 0);
    expect(entities.filter((e) => e.kind === 'work_item_transition')).toHaveLength(expected);
  });
});
