import { cp } from 'node:fs/promises';
import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

export default defineConfig({
  ...packageBuild({ index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' }),
  external: ['vitest'],
  // The SQL migrations ship next to the bundle; migrate() reads them relative to its own module.
  async onSuccess() {
    await cp('src/db/migrations', 'dist/migrations', { recursive: true });
  },
});
