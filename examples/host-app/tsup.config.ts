import { defineConfig } from 'tsup';

/**
 * The compiled host app the container runs (`node dist/main.js`): one ESM file per entry point, its
 * dependencies left as imports (the workspace packages resolve to their own builds).
 */
export default defineConfig({
  entry: {
    main: 'src/main.ts',
    worker: 'src/worker.ts',
    cli: 'src/cli.ts',
    demo: 'src/demo.ts',
    healthcheck: 'src/healthcheck.ts',
  },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  clean: true,
  splitting: true,
  outDir: 'dist',
  external: [/^@etl\//],
});
