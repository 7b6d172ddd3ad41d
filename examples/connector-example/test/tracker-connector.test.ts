import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, testConnector, type TestEngine } from '@etl/core/testing';
import { trackerConnector } from '../src/index.js';
import { startFakeTracker, trackerHooks, type FakeTracker } from './fake-tracker.js';

const network = { allow: ['127.0.0.0/8'] };

describe('tracker connector', () => {
  let tracker: FakeTracker;
  beforeAll(async () => {
    tracker = await startFakeTracker({
      teams: ['core', 'web', 'ops', 'data', 'api', 'app', 'docs', 'infra'],
      itemsPerTeam: 25,
      pageSize: 8,
    });
  });
  afterAll(() => tracker.close());

  testConnector({
    connector: () => trackerConnector(),
    config: () => ({ baseUrl: tracker.url, token: tracker.token }),
    invalidConfig: { baseUrl: 'not a url', token: '' },
    minRecords: 200,
    network,
    source: trackerHooks(() => tracker),
  });

  describe('through the engine', () => {
    let harness: TestEngine;
    beforeAll(async () => {
      harness = await startTestEngine({ connectors: [trackerConnector()], network });
    });
    afterAll(() => harness?.close());

    it('loads every item with its full history, then only what changed', { timeout: 60_000 }, async () => {
      const { engine } = harness;
      const integration = await engine.integrations.create({
        connector: 'tracker',
        name: 'tracker',
        config: { baseUrl: tracker.url, token: tracker.token },
      });
      const start = (mode: 'full' | 'incremental') =>
        engine.jobs
          .start({ integrationId: integration.id, mode })
          .then((job) => engine.jobs.waitFor(job.id, { timeoutMs: 60_000 }));
      const full = await start('full');
      expect(full.status, JSON.stringify(full.errors)).toBe('succeeded');
      const truth = tracker.items();
      const count = async (table: string) =>
        Number(
          (
            await harness.rows<{ n: string }>(
              `SELECT count(*) AS n FROM $schema.${table} WHERE integration_id = $1`,
              [integration.id],
            )
          )[0]!.n,
        );
      expect(await count('work_items')).toBe(truth.length);
      expect(await count('work_item_transitions')).toBe(truth.reduce((n, i) => n + i.history.length, 0));
      // Every fourth item's history is longer than its inline part: the sub-resource was read for those only.
      expect(truth.filter((i) => i.history.length > 3).length).toBeGreaterThan(0);

      const changed = [tracker.update('core-2'), tracker.update('web-7')];
      const incremental = await start('incremental');
      expect(incremental.status).toBe('succeeded');
      expect(incremental.counters.updated).toBeGreaterThanOrEqual(2);
      const statuses = await harness.rows<{ source_id: string; status: string }>(
        `SELECT source_id, status FROM $schema.work_items WHERE integration_id = $1 AND source_id = ANY($2)`,
        [integration.id, changed.map((c) => c.id)],
      );
      expect(Object.fromEntries(statuses.map((s) => [s.source_id, s.status]))).toEqual(
        Object.fromEntries(changed.map((c) => [c.id, c.status])),
      );
      expect(await count('work_item_transitions')).toBe(
        tracker.items().reduce((n, i) => n + i.history.length, 0),
      );
    });
  });
});
