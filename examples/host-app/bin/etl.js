#!/usr/bin/env node
// The `etl` command (`pnpm exec etl`, `npx etl`). In a clone of the workspace it runs the TypeScript
// sources through tsx with the workspace's `etl-source` export condition, in this same process (so signals
// and exit codes are the CLI's own); a built app runs its compiled JavaScript.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const source = new URL('../src/cli.ts', import.meta.url);
if (existsSync(source)) {
  register('./source-conditions.js', import.meta.url);
  const tsx = await import('tsx/esm/api');
  tsx.register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli.js', import.meta.url).href);
}
