import { mkdir, rename, stat, writeFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const appSourceDir = join(packageDir, 'src', 'app');
/** Where the server looks for the bundle when running from source (see `spaAssetDir`). */
export const defaultAppOutDir = join(packageDir, 'dist', 'app');
/** The budget from the issue: the SPA's JavaScript, gzipped. */
export const appJsBudgetBytes = 60 * 1024;

export interface AppBuildResult {
  outDir: string;
  files: { name: string; bytes: number; gzipBytes: number }[];
}

/**
 * Bundles the Preact SPA (`src/app/main.tsx` and `src/app/styles.css`) into `outDir/app.js` and
 * `outDir/app.css` with esbuild. Files are written under a temporary name and renamed, so parallel
 * builds (test files starting together) never expose a half-written bundle.
 */
export async function buildApp(options: { outDir?: string; minify?: boolean } = {}): Promise<AppBuildResult> {
  const outDir = options.outDir ?? defaultAppOutDir;
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: { app: join(appSourceDir, 'main.tsx') },
    bundle: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: options.minify ?? true,
    legalComments: 'none',
    write: false,
    outdir: outDir,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  await mkdir(outDir, { recursive: true });
  const files: AppBuildResult['files'] = [];
  for (const file of result.outputFiles) {
    const name = file.path.slice(dirname(file.path).length + 1);
    const temp = `${file.path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temp, file.contents);
    await rename(temp, file.path);
    files.push({
      name,
      bytes: file.contents.byteLength,
      gzipBytes: gzipSync(file.contents, { level: 9 }).byteLength,
    });
  }
  return { outDir, files };
}

async function newestSourceTime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const time = entry.isDirectory() ? await newestSourceTime(path) : (await stat(path)).mtimeMs;
    newest = Math.max(newest, time);
  }
  return newest;
}

/** Builds the SPA unless an up-to-date bundle is already there: what tests call before serving it. */
export async function ensureAppBuilt(outDir: string = defaultAppOutDir): Promise<void> {
  const bundle = join(outDir, 'app.js');
  const present = existsSync(bundle) && existsSync(join(outDir, 'app.css'));
  if (present && (await stat(bundle)).mtimeMs >= (await newestSourceTime(appSourceDir))) return;
  try {
    await buildApp({ outDir });
  } catch (error) {
    // An installed package ships its bundle but not esbuild (a dev dependency): keep the shipped one.
    if (present && (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return;
    throw error;
  }
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} kB`;
}

/** `tsx src/app-build.ts`: the package's build step after tsup; prints sizes and enforces the budget. */
async function main(): Promise<void> {
  const { outDir, files } = await buildApp();
  console.log(`SPA bundle → ${relative(process.cwd(), outDir) || '.'}`);
  for (const f of files)
    console.log(`  ${f.name.padEnd(10)} ${kib(f.bytes).padStart(9)}  (gzip ${kib(f.gzipBytes)})`);
  const js = files.find((f) => f.name === 'app.js');
  if (!js || js.gzipBytes > appJsBudgetBytes) {
    console.error(
      `SPA JavaScript is ${js ? kib(js.gzipBytes) : 'missing'} gzipped; the budget is ${kib(appJsBudgetBytes)}`,
    );
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
