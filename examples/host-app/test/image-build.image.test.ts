import { execFile, execFileSync, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { hostAppDir } from './processes.js';

/**
 * The container image built without Docker: on a fresh clone, each stage of examples/host-app/Dockerfile
 * gets a directory of its own standing for its filesystem root; COPY copies what the Dockerfile copies
 * (minus Dockerfile.dockerignore), RUN runs what it runs (installs offline, from the local store), and
 * the last stage's CMD starts the app, which must serve the UI's page and its assets and pass the
 * HEALTHCHECK. The runtime stage must hold compiled JavaScript and no devDependencies.
 */
const run = promisify(execFile);
const repoRoot = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: hostAppDir }).toString().trim();

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  cmd?: string[];
  healthcheck?: string[];
}

function instructions(dockerfile: string): Instruction[] {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

function ignoreMatcher(patterns: string[]): (path: string) => boolean {
  const regexes = patterns.map((p) => {
    const body = p
      .replace(/[.+^${}()|[\]]/g, '\\$&')
      .replace(/\*\*\//g, '(?:.*/)?')
      .replace(/\*/g, '[^/]*');
    return new RegExp(`^${body}(?:/.*)?$`);
  });
  return (path) => regexes.some((r) => r.test(path));
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

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

let scratch: string | undefined;
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the container image, built step by step without Docker', () => {
  it('builds the packages and the SPA, runs compiled JavaScript without devDependencies, serves the UI', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'etl-image-'));
    const context = join(scratch, 'context');
    execFileSync('git', ['clone', '--quiet', repoRoot, context]);
    const dockerfile = await readFile(join(context, 'examples/host-app/Dockerfile'), 'utf8');
    const ignored = ignoreMatcher(
      (await readFile(join(context, 'examples/host-app/Dockerfile.dockerignore'), 'utf8'))
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    );

    const stages: Stage[] = [];
    let stage: Stage | undefined;
    const inStage = (s: Stage, path: string) =>
      join(s.root, path.startsWith('/') ? path : join(s.workdir, path));
    for (const { op, args } of instructions(dockerfile)) {
      if (op === 'FROM') {
        const [image, as, name] = args.split(/\s+/);
        expect(image, 'every stage starts from the Node.js image').toMatch(/^node:20/);
        const root = join(scratch, `stage-${stages.length}`);
        await mkdir(root);
        stage = {
          name: as?.toUpperCase() === 'AS' ? name! : String(stages.length),
          root,
          workdir: '/',
          env: {},
        };
        stages.push(stage);
        continue;
      }
      if (!stage) throw new Error(`${op} before FROM`);
      if (op === 'WORKDIR') {
        stage.workdir = args.startsWith('/') ? args : join(stage.workdir, args);
        await mkdir(inStage(stage, '.'), { recursive: true });
      } else if (op === 'ENV') {
        for (const pair of args.split(/\s+/)) {
          const [key, value] = pair.split('=');
          stage.env[key!] = value!;
        }
      } else if (op === 'COPY') {
        const words = args.split(/\s+/);
        const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
        const paths = words.filter((w) => !w.startsWith('--'));
        const dest = paths.pop()!;
        const source = from ? stages.find((s) => s.name === from)! : undefined;
        for (const path of paths) {
          const src = source ? inStage(source, path) : join(context, path);
          const target =
            paths.length > 1 || dest.endsWith('/')
              ? join(inStage(stage, dest), path.split('/').pop()!)
              : inStage(stage, dest);
          await cp(src, target, {
            recursive: true,
            filter: (file) => source !== undefined || !ignored(relative(context, file)),
          });
        }
      } else if (op === 'RUN') {
        expect(args, 'RUN uses paths inside its WORKDIR').not.toMatch(/(^|\s)\/(?!dev\/null)/);
        const started = Date.now();
        await run('sh', ['-c', args], {
          cwd: inStage(stage, '.'),
          // Installs come from the local store: no registry needed.
          env: { ...process.env, ...stage.env, npm_config_offline: 'true', CI: 'true' },
          maxBuffer: 64 * 1024 * 1024,
          timeout: 600_000,
        }).catch((error: { stdout?: string; stderr?: string }) => {
          throw new Error(`RUN ${args} failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
        });
        console.log(`[image] RUN ${args} — ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } else if (op === 'USER') stage.user = args;
      else if (op === 'CMD') stage.cmd = JSON.parse(args) as string[];
      else if (op === 'HEALTHCHECK')
        stage.healthcheck = JSON.parse(args.slice(args.indexOf('CMD ') + 4)) as string[];
    }

    const final = stages.at(-1)!;
    expect(stages.length, 'a multi-stage build').toBeGreaterThanOrEqual(2);
    expect(final.user, 'the app runs as an unprivileged user').toBeDefined();
    expect(['root', '0']).not.toContain(final.user);
    expect(final.healthcheck, 'the image has a HEALTHCHECK').toBeDefined();
    expect(final.cmd?.[0]).toBe('node');
    expect(final.cmd?.[1], 'the app runs compiled JavaScript').toMatch(/\.js$/);
    expect(final.env.NODE_ENV).toBe('production');

    const app = inStage(final, '.');
    const files = (await filesUnder(app)).map((f) => relative(app, f));
    // The workspace's and the host app's build tools. (vitest, with vite, esbuild and tsx under it, does appear:
    // it is an optional peer of @etl/core for its testing subpath, and pnpm links an optional peer the
    // workspace has.)
    const devOnly = ['typescript', 'tsup', 'playwright-core', 'preact', 'eslint', 'prettier', 'publint'];
    for (const name of devOnly)
      expect(
        files.some((f) => f.startsWith(`node_modules/${name}/`) || f.includes(`/node_modules/${name}/`)),
        `devDependency ${name} in the image`,
      ).toBe(false);
    expect(files.filter((f) => !f.includes('node_modules/') && f.endsWith('.ts'))).toEqual([]);
    await stat(join(app, final.cmd![1]!));

    const port = await freePort();
    const child = spawn(final.cmd![0]!, final.cmd!.slice(1), {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', ...final.env, HOST: '127.0.0.1', PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      for (;;) {
        const ok = await fetch(`${base}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(`the app did not come up:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const page = await fetch(`${base}/etl/`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<div id="app">');
      for (const asset of ['assets/app.js', 'assets/app.css']) {
        expect(html).toContain(asset);
        const response = await fetch(`${base}/etl/${asset}`);
        expect(response.status, asset).toBe(200);
        expect((await response.arrayBuffer()).byteLength, asset).toBeGreaterThan(1000);
      }
      const health = await run(final.healthcheck![0]!, final.healthcheck!.slice(1), {
        cwd: app,
        env: { PATH: process.env.PATH ?? '', ...final.env, PORT: String(port) },
      }).then(
        () => 0,
        (e: { code?: number }) => e.code ?? 1,
      );
      expect(health, 'HEALTHCHECK passes').toBe(0);
    } finally {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      expect(await exited, output).toBe(0);
      clearTimeout(timer);
    }
  }, 900_000);
});
