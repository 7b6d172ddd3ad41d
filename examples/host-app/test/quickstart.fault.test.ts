// @etl-test-services postgres rabbitmq
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostAppDir } from './processes.js';

/**
 * Clones the repository and runs the README's two Quick start commands exactly as written. The inner test
 * run sets ETL_QUICKSTART_INNER=1, under which this file does nothing (no recursion).
 */
const inner = process.env.ETL_QUICKSTART_INNER === '1';
const repoRoot = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: hostAppDir }).toString().trim();

export function quickStartCommands(readme: string): { demo: string; test: string } {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start'));
  if (!section) throw new Error('README.md has no "## Quick start" section');
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
  if (blocks.length !== 2)
    throw new Error(`Quick start must hold exactly two commands, found ${blocks.length}`);
  return { demo: blocks[0]!, test: blocks[1]! };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A newcomer's shell: none of the service URLs or settings that CI exports for the test suite. */
function newcomerEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(DATABASE_URL|RABBITMQ_URL|ETL_|VITEST)/.test(key)),
  );
}

function shell(
  command: string,
  cwd: string,
  env: Record<string, string>,
  base: NodeJS.ProcessEnv = process.env,
) {
  const child = spawn('sh', ['-c', command], { cwd, env: { ...base, ...env }, detached: true });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    output: () => output,
    exited,
    /** Signals the whole process group (sh → npx → pnpm → node). */
    signal: (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    },
  };
}

let clone: string | undefined;
afterAll(async () => {
  if (clone) await rm(clone, { recursive: true, force: true });
});

describe.skipIf(inner)('README Quick start on a fresh clone', () => {
  it('runs the demo (UI answers, first Jira and GitHub jobs succeed) and then the tests', async () => {
    const { demo, test } = quickStartCommands(await readFile(join(repoRoot, 'README.md'), 'utf8'));
    clone = await mkdtemp(join(tmpdir(), 'etl-quickstart-'));
    execFileSync('git', ['clone', '--quiet', repoRoot, clone]);

    const port = await freePort();
    const running = shell(demo, clone, { PORT: String(port) }, newcomerEnv());
    try {
      const deadline = Date.now() + 600_000;
      while (!running.output().includes(`open http://127.0.0.1:${port}/etl/`)) {
        if (Date.now() > deadline) throw new Error(`demo did not print its URL:\n${running.output()}`);
        const code = await Promise.race([running.exited, new Promise((r) => setTimeout(r, 500, 'running'))]);
        if (code !== 'running') throw new Error(`demo exited with ${String(code)}:\n${running.output()}`);
      }
      const page = await fetch(`http://127.0.0.1:${port}/etl/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="app">');
      const asset = await fetch(`http://127.0.0.1:${port}/etl/assets/app.js`);
      expect(asset.status).toBe(200);
      const { jobs } = (await (await fetch(`http://127.0.0.1:${port}/etl/api/jobs`)).json()) as {
        jobs: { connector: string; status: string; counters: { loaded: number } }[];
      };
      for (const connector of ['jira', 'github']) {
        const first = jobs.filter((j) => j.connector === connector).at(-1);
        expect(first, `${connector} job`).toMatchObject({ status: 'succeeded' });
        expect(first!.counters.loaded).toBeGreaterThan(0);
      }
    } finally {
      running.signal('SIGTERM');
      const timer = setTimeout(() => running.signal('SIGKILL'), 30_000);
      await running.exited;
      clearTimeout(timer);
    }
    // SIGTERM reached the whole group: after its graceful shutdown nothing serves the port any more.
    const closed = async () =>
      fetch(`http://127.0.0.1:${port}/healthz`).then(
        () => false,
        () => true,
      );
    const stopDeadline = Date.now() + 30_000;
    while (!(await closed()) && Date.now() < stopDeadline) await new Promise((r) => setTimeout(r, 200));
    const stoppedBySigterm = await closed();
    if (!stoppedBySigterm) running.signal('SIGKILL');
    expect(stoppedBySigterm, 'the demo stops within 30 s of SIGTERM').toBe(true);

    const tests = shell(test, clone, { ETL_QUICKSTART_INNER: '1' });
    const code = await tests.exited;
    expect(code, tests.output().slice(-4000)).toBe(0);
  }, 1_800_000);
});
