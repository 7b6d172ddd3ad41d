import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHttpClient,
  memoryGate,
  networkGuard,
  type Connector,
  type ExtractContext,
  type Page,
} from '@etl/core';
import { checkIncremental, checkResume, checkRetryAfter, type StrictCheckOptions } from '@etl/core/testing';
import { trackerConnector, type TrackerConfig } from '../src/index.js';
import { startFakeTracker, trackerHooks, type FakeTracker } from './fake-tracker.js';

const YEAR = 365 * 86_400_000;

/** The example connector with its extraction replaced by `extract(real, ctx)`. */
function mutant(
  extract: (real: Connector<TrackerConfig>, ctx: ExtractContext<TrackerConfig>) => AsyncIterable<Page>,
): Connector<TrackerConfig> {
  const real = trackerConnector();
  return { ...real, extractor: { ...real.extractor, extract: (ctx) => extract(real, ctx) } };
}

const mutants = {
  /** Starts from the beginning whatever the checkpoint says. */
  ignoresCheckpoint: mutant((real, ctx) => real.extractor.extract({ ...ctx, checkpoint: null })),
  /** Resumed from a checkpoint, loses the first page it reads. */
  dropsFirstPageAfterResume: mutant(async function* (real, ctx) {
    let first = ctx.checkpoint !== null;
    for await (const page of real.extractor.extract(ctx)) {
      if (first) {
        first = false;
        continue;
      }
      yield page;
    }
  }),
  /** Saves "now" on this machine's clock as the position a finished crawl reached. */
  wallClockCursor: mutant(async function* (real, ctx) {
    for await (const page of real.extractor.extract(ctx)) {
      const checkpoint = page.checkpoint as { crawl?: unknown };
      yield checkpoint.crawl
        ? page
        : { ...page, checkpoint: { position: { value: new Date().toISOString(), id: '' } } };
    }
  }),
  /**
   * Each partition with an HTTP client of its own, 8 requests in flight: it waits out the 429s it gets itself,
   * but nothing holds back the other partitions' requests (the hand-made queue the source toolkit replaces).
   */
  unserialisedUnder429s: mutant((real, ctx) => {
    const own = createHttpClient({
      plugin: 'tracker',
      baseUrl: ctx.config.baseUrl,
      auth: { authorization: `Bearer ${ctx.config.token}` },
      guard: networkGuard({ allow: ['127.0.0.0/8'] }),
      gate: memoryGate({ concurrency: 8 }),
      signal: ctx.signal,
    });
    return real.extractor.extract({ ...ctx, http: own });
  }),
};

describe('the strict testConnector checks fail connectors that get the hard parts wrong', () => {
  let tracker: FakeTracker;
  const options = (connector: Connector<TrackerConfig>): StrictCheckOptions<TrackerConfig> => ({
    connector,
    config: connector.configSchema.parse({ baseUrl: tracker.url, token: tracker.token }),
    source: trackerHooks(() => tracker),
    network: { allow: ['127.0.0.0/8'] },
  });
  beforeAll(async () => {
    tracker = await startFakeTracker({
      teams: ['core', 'web', 'ops', 'data', 'api', 'app', 'docs', 'infra'],
      itemsPerTeam: 25,
      pageSize: 8,
    });
  });
  afterAll(() => tracker.close());

  it('the real connector passes every check', { timeout: 120_000 }, async () => {
    const real = options(trackerConnector());
    expect(await checkResume(real)).toEqual([]);
    for (const shift of [0, YEAR, -YEAR]) expect(await checkIncremental(real, shift)).toEqual([]);
    expect(await checkRetryAfter(real)).toEqual([]);
  });

  it('fails a connector that ignores its checkpoint', { timeout: 60_000 }, async () => {
    const problems = await checkResume(options(mutants.ignoresCheckpoint));
    expect(problems.join('\n')).toMatch(
      /ignores its checkpoint: resuming after page 1 of \d+ read all 8 records/,
    );
  });

  it('fails a connector that drops the first page after resuming', { timeout: 60_000 }, async () => {
    const problems = await checkResume(options(mutants.dropsFirstPageAfterResume));
    expect(problems.join('\n')).toMatch(/drops 8 records resuming after page 1/);
  });

  it(
    'fails a connector whose cursor comes from the wall clock, a year either way',
    { timeout: 60_000 },
    async () => {
      const behind = await checkIncremental(options(mutants.wallClockCursor), -YEAR);
      expect(behind.join('\n')).toMatch(/source clock -1 year: misses 3 of 3 records changed during a crawl/);
      const ahead = await checkIncremental(options(mutants.wallClockCursor), YEAR);
      expect(ahead.join('\n')).toMatch(
        /source clock \+1 year: an incremental run after no change re-read 200 of 200/,
      );
    },
  );

  it(
    'fails a connector that sends concurrent requests no gate holds back under 429s',
    { timeout: 120_000 },
    async () => {
      const problems = await checkRetryAfter(options(mutants.unserialisedUnder429s));
      expect(problems.join('\n')).toMatch(
        /sent [1-9]\d* requests inside Retry-After windows \(8 partitions at once\)/,
      );
    },
  );
});
