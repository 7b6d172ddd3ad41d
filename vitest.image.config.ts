import { defineConfig } from 'vitest/config';

/**
 * `pnpm test:image`: the container image's build steps, run without Docker on a fresh clone (minutes of
 * installs and builds, so not part of `pnpm test`; CI runs it after the suite).
 */
export default defineConfig({
  test: {
    include: ['examples/**/test/**/*.image.test.ts'],
    testTimeout: 900_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
