import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { importBoundaries } from './import-boundaries.js';

/**
 * The import-boundary rules of eslint.config.js are live: the same rule objects refuse each deliberate
 * violation below and accept the imports the architecture allows. (The workspace's lint run applies them to
 * the whole tree.)
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const eslint = new ESLint({
  cwd: root,
  overrideConfigFile: true,
  overrideConfig: [
    {
      files: ['**/*.ts', '**/*.tsx'],
      languageOptions: { parser: (await import('typescript-eslint')).parser },
    },
    ...importBoundaries,
  ],
});

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('import boundaries', () => {
  it.each([
    ['packages/core/src/engine/x.ts', "import amqp from 'amqplib';", /core knows no broker/],
    ['packages/core/src/engine/x.ts', "import { Hono } from 'hono';", /HTTP framework/],
    [
      'packages/core/src/engine/x.ts',
      "import { jiraConnector } from '@etl/connector-jira';",
      /core knows no plugin/,
    ],
    [
      'packages/core/src/engine/x.ts',
      "import { fakeJira } from '@etl/connector-jira/testing';",
      /core knows no plugin/,
    ],
    [
      'packages/core/src/engine/x.ts',
      "import { demo } from '../../../../examples/host-app/src/demo.js';",
      /examples/,
    ],
    [
      'packages/connector-github/src/x.ts',
      "import { jiraConnector } from '@etl/connector-jira';",
      /imports only @etl\/core/,
    ],
    [
      'packages/connector-github/src/x.ts',
      "import { rabbitmqQueue } from '@etl/queue-rabbitmq';",
      /imports only @etl\/core/,
    ],
    ['packages/queue-rabbitmq/src/x.ts', "import { createEtlUi } from '@etl/ui';", /imports only @etl\/core/],
    ['packages/connector-jira/src/x.ts', "import { x } from '../../core/src/index.js';", /by its name/],
    ['packages/ui/src/x.ts', "import amqp from 'amqplib';", /the UI knows no broker/],
  ])('%s refuses %s', async (file, code, says) => {
    const found = await problems(file, code);
    expect(found.length, `${file}: ${code}`).toBe(1);
    expect(found[0]).toMatch(/^no-restricted-imports: /);
    expect(found[0]).toMatch(says);
  });

  it.each([
    ['packages/core/src/engine/x.ts', "import { z } from 'zod';"],
    ['packages/connector-jira/src/x.ts', "import { EtlError } from '@etl/core';"],
    ['packages/connector-jira/src/x.test.ts', "import { testConnector } from '@etl/core/testing';"],
    ['packages/ui/src/x.ts', "import { Hono } from 'hono';"],
    ['packages/ui/src/x.test.ts', "import { launchChromium } from '@etl/test-utils';"],
    ['examples/host-app/src/x.ts', "import { jiraConnector } from '@etl/connector-jira';"],
  ])('%s allows %s', async (file, code) => {
    expect(await problems(file, code)).toEqual([]);
  });
});
