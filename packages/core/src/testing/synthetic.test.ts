import { describe, expect, it } from 'vitest';
import { testConnector } from './connector-suite.js';
import { syntheticConnector, syntheticItem } from './synthetic.js';

testConnector({
  connector: () => syntheticConnector(),
  config: () => ({ records: 1200, pageSize: 500 }),
  invalidConfig: { records: 'many' },
  minRecords: 1203,
});

describe('syntheticItem', () => {
  it('is a pure function of seed, revision and index', () => {
    const config = { seed: 3, revision: 0, projects: 3, poison: [] };
    expect(syntheticItem(42, config)).toEqual(syntheticItem(42, config));
    expect(syntheticItem(42, config)).not.toEqual(syntheticItem(42, { ...config, seed: 4 }));
    expect(syntheticItem(42, { ...config, revision: 1 }).updated > syntheticItem(42, config).updated).toBe(
      true,
    );
    expect(syntheticItem(5, { ...config, poison: [5] }).status).toBe('Blocked');
  });
});
