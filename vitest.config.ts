import { defineConfig } from 'vitest/config';
import { defaultServerConditions } from 'vite';
import { prepareTestServices } from './test-setup/services.js';

const conditions = ['etl-source', ...defaultServerConditions];
const resolve = { conditions };

/**
 * Three projects: `unit` runs files in parallel (each file owns its schema / queue prefix); `faults` stops and
 * restarts shared services (and runs the Quick start), so its files run one at a time; `browser` drives Chromium.
 * The Quick start test runs the README's test command inside the suite: that inner run is the unit project only.
 */
const inner = process.env.ETL_QUICKSTART_INNER === '1';

/** PostgreSQL and RabbitMQ, probed once (see test-setup/services.ts): suites whose services are missing are left out. */
const services = await prepareTestServices();
const notRun = services.notRun;

export default defineConfig({
  resolve,
  ssr: { resolve: { conditions, externalConditions: ['etl-source'] } },
  test: {
    globalSetup: ['./test-setup/global-setup.ts'],
    projects: [
      {
        resolve,
        ssr: { resolve: { conditions, externalConditions: ['etl-source'] } },
        test: {
          name: 'unit',
          include: [
            'packages/*/src/**/*.test.ts',
            'examples/**/test/**/*.test.ts',
            'bench/**/*.test.ts',
            'tooling/**/*.test.ts',
          ],
          exclude: [
            '**/*.fault.test.ts',
            '**/*.browser.test.ts',
            '**/node_modules/**',
            '**/dist/**',
            ...notRun,
          ],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
          maxWorkers: 2,
        },
      },
      ...(inner
        ? []
        : [
            {
              resolve,
              ssr: { resolve: { conditions, externalConditions: ['etl-source'] } },
              test: {
                name: 'faults',
                include: ['packages/*/src/**/*.fault.test.ts', 'examples/**/test/**/*.fault.test.ts'],
                exclude: ['**/node_modules/**', ...notRun],
                testTimeout: 180_000,
                hookTimeout: 120_000,
                pool: 'forks',
                fileParallelism: false,
                maxWorkers: 1,
              },
            },
            {
              resolve,
              ssr: { resolve: { conditions, externalConditions: ['etl-source'] } },
              test: {
                name: 'browser',
                include: ['packages/*/src/**/*.browser.test.ts', 'examples/**/test/**/*.browser.test.ts'],
                exclude: ['**/node_modules/**', ...notRun],
                testTimeout: 120_000,
                hookTimeout: 120_000,
                pool: 'forks',
                fileParallelism: false,
                maxWorkers: 1,
              },
            },
          ]),
    ],
  },
});
