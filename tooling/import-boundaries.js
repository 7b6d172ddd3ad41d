/**
 * The architecture as lint rules (see ARCHITECTURE.md): core imports no plugin, no broker and no HTTP
 * framework; plugins import only core (and, in tests, the workspace's test fixtures); no library imports
 * `examples/`. Used by eslint.config.js and proven live by tooling/import-boundaries.test.ts.
 */

const vendors = [
  'amqplib',
  'hono',
  'hono/*',
  '@hono/*',
  'jira.js',
  'octokit',
  '@octokit/*',
  'express',
  'fastify',
  'koa',
];
const examples = {
  group: ['**/examples/**', '@etl/example-*'],
  message: 'libraries never import the examples',
};
const otherPackages = (allowed) => ({
  group: ['@etl/*', '@etl/*/**', ...allowed.map((name) => `!${name}`)],
  message: `a plugin imports only ${allowed.join(', ')}`,
});
const siblingSources = {
  group: ['**/../../core/**', '**/../../queue-rabbitmq/**', '**/../../connector-*/**', '**/../../ui/**'],
  message: 'import another package by its name, not by a path into its sources',
};

/** @type {import('eslint').Linter.Config[]} */
export const importBoundaries = [
  {
    files: ['packages/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [],
          patterns: [
            {
              group: ['@etl/*', '@etl/*/**', '!@etl/core', '!@etl/core/testing'],
              message: 'core knows no plugin',
            },
            { group: vendors, message: 'core knows no broker, source SDK or HTTP framework' },
            examples,
            siblingSources,
          ],
        },
      ],
    },
  },
  {
    files: ['packages/{queue-rabbitmq,connector-jira,connector-github}/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            otherPackages(['@etl/core', '@etl/core/testing', '@etl/test-utils']),
            examples,
            siblingSources,
          ],
        },
      ],
    },
  },
  {
    files: ['packages/ui/src/**/*.ts', 'packages/ui/src/**/*.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            otherPackages(['@etl/core', '@etl/core/testing', '@etl/test-utils']),
            {
              group: ['amqplib', 'jira.js', 'octokit', '@octokit/*'],
              message: 'the UI knows no broker or source SDK',
            },
            examples,
            siblingSources,
          ],
        },
      ],
    },
  },
];
