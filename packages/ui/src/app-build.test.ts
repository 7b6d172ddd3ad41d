import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appJsBudgetBytes, buildApp } from './app-build.js';

describe('the SPA bundle', () => {
  let outDir: string | undefined;
  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('stays within 60 kB of gzipped JavaScript and uses only relative URLs', async () => {
    outDir = await mkdtemp(join(tmpdir(), 'etl-ui-app-'));
    const result = await buildApp({ outDir });
    const js = result.files.find((f) => f.name === 'app.js')!;
    const css = result.files.find((f) => f.name === 'app.css')!;
    expect(js.gzipBytes).toBeGreaterThan(5_000);
    expect(js.gzipBytes).toBeLessThanOrEqual(appJsBudgetBytes);
    expect(css.bytes).toBeGreaterThan(1_000);

    const source = await readFile(join(outDir, 'app.js'), 'utf8');
    // Everything resolves against <base href>: no root-relative API paths, no external hosts.
    expect(source.match(/["'`]\/api\/[^"'`]*/g)).toBeNull();
    expect(source.match(/https?:\/\/(?!www\.w3\.org\/)[a-z0-9.-]+\.[a-z]{2,}[^"'`]*/gi)).toBeNull();
  });
});
