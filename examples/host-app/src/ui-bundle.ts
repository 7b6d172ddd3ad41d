import { existsSync } from 'node:fs';

/**
 * The UI's single-page app is a build artefact of `@etl/ui`. A fresh clone runs the workspace from
 * source without a build step, so the demo bundles the SPA once (esbuild, about a second) when it is
 * missing or older than its sources.
 */
export async function ensureUiBundle(): Promise<void> {
  const pkg = new URL(import.meta.resolve('@etl/ui/package.json'));
  const builder = new URL('src/app-build.ts', pkg);
  if (!existsSync(builder)) return; // a published @etl/ui ships its bundle in dist/app
  const { ensureAppBuilt } = (await import(builder.href)) as { ensureAppBuilt: () => Promise<void> };
  await ensureAppBuilt();
}
