// @etl-test-services postgres
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdent, type Job } from '@etl/core';
import { defaultDatabaseUrl, uniqueSchema } from '@etl/core/testing';
import { startFakeJira, type FakeJira } from '@etl/connector-jira/testing';
import { eventually, hostAppDir } from './processes.js';

/**
 * The `etl` CLI end to end, through the documented invocation (`npx -y pnpm@12.4.2 exec etl …` from the
 * repository root), on PostgreSQL with the in-memory queue (each CLI process runs its own jobs).
 */
const repoRoot = new URL('../../..', `file://${hostAppDir}/`).pathname;
const databaseUrl = process.env.DATABASE_URL ?? defaultDatabaseUrl;
const schema = uniqueSchema('cli');
const env = {
  DATABASE_URL: databaseUrl,
  ETL_DB_SCHEMA: schema,
  ETL_SECRET_KEY: randomBytes(24).toString('base64url'),
  ETL_BATCH_SIZE: '20',
  ETL_LEASE_SECONDS: '2',
  // The fake Jira servers listen on 127.0.0.1: the host lets connectors reach it.
  ETL_ALLOW_PRIVATE_NETWORK: '127.0.0.0/8',
};

let pool: pg.Pool;
let jira: FakeJira;
let slowJira: FakeJira;

interface Run {
  pid: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  interrupt(): void;
  kill(): void;
}

/**
 * `via: 'pnpm'` is the documented `npx -y pnpm@12.4.2 exec etl`; `via: 'bin'` runs the bin it resolves to
 * (node_modules/.bin/etl) in a process group of its own, for Ctrl+C: a terminal's SIGINT reaches npx and
 * pnpm too, which leave at once and would hide the CLI's own exit.
 */
function etl(args: string[], extraEnv: Record<string, string> = {}, via: 'pnpm' | 'bin' = 'pnpm'): Run {
  const [command, ...prefix] =
    via === 'pnpm'
      ? ['npx', '-y', '--prefer-offline', 'pnpm@12.4.2', 'exec', 'etl']
      : [`${repoRoot}node_modules/.bin/etl`];
  const child = spawn(command!, [...prefix, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // As a terminal's Ctrl+C: SIGINT to the whole foreground process group (npx, pnpm, node).
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      // gone
    }
  };
  return {
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    interrupt: () => signal('SIGINT'),
    kill: () => signal('SIGKILL'),
  };
}

async function done(args: string[], extraEnv?: Record<string, string>) {
  const run = etl(args, extraEnv);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

async function jobOf(id: string): Promise<Job & { events: { type: string }[] }> {
  const { rows } = await pool.query<{ status: Job['status']; extracted: string }>(
    `SELECT status, extracted FROM ${quoteIdent(schema)}.etl_jobs WHERE id = $1`,
    [id],
  );
  const events = await pool.query<{ type: string; payload: Record<string, unknown> }>(
    `SELECT type, payload FROM ${quoteIdent(schema)}.etl_events WHERE job_id = $1 ORDER BY id`,
    [id],
  );
  return {
    ...(rows[0] as unknown as Job),
    events: events.rows.map((r) => ({ type: r.type, ...r.payload })),
  };
}

const jiraConfig = (fake: FakeJira) =>
  JSON.stringify({
    siteUrl: fake.url,
    email: fake.email,
    apiToken: fake.apiToken,
  });

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: databaseUrl, max: 2, connectionTimeoutMillis: 5000 });
  pool.on('error', () => undefined);
  await pool.query('SELECT 1');
  jira = await startFakeJira({ issues: 80, projects: ['ENG'], seed: 5 });
  slowJira = await startFakeJira({ issues: 400, projects: ['ENG', 'OPS'], seed: 6, latencyMs: 1500 });
});

afterAll(async () => {
  await jira?.close();
  await slowJira?.close();
  await pool?.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await pool?.end();
});

describe('the etl CLI', () => {
  it('keeps its exit codes through the documented invocation: 0, 2, 3, 4', async () => {
    expect((await done(['--help'])).code).toBe(0);
    const usage = await done(['syncc']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('did you mean "sync"');
    expect(usage.stderr.trim().split('\n').length, 'a short usage error').toBeLessThanOrEqual(3);
    const config = await done(['jobs'], { ETL_DB_SCHEMA: 'Not A Schema' });
    expect(config.code).toBe(3);
    expect(config.stderr).toContain('ETL_DB_SCHEMA');
    const unreachable = await done(['jobs'], { DATABASE_URL: 'postgres://etl@127.0.0.1:1/etl' });
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toMatch(/^etl: (\[core\] )?cannot connect to PostgreSQL/);
    expect(unreachable.stderr).not.toContain('[etl]');
  }, 120_000);

  it('adds, lists, shows and tests an integration, then syncs it with live bars, a summary and --json', async () => {
    const added = await done([
      'integrations',
      'add',
      '--connector',
      'jira',
      '--name',
      'CLI Jira',
      '--config',
      jiraConfig(jira),
      '--json',
    ]);
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ name: 'CLI Jira', connector: 'jira' });
    const list = await done(['integrations', 'list', '--json']);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((i) => i.name)).toEqual(['CLI Jira']);
    const show = await done(['integrations', 'show', 'CLI Jira']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('"apiToken":"••••');
    const tested = await done(['integrations', 'test', 'CLI Jira']);
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(tested.stdout).toMatch(/^ok: CLI Jira/);

    const sync = await done(['sync', 'CLI Jira', '--mode', 'full', '--progress']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toMatch(/^stream\s+status\s+pages\s+extracted\s+loaded\s+failed/m);
    expect(sync.stdout).toMatch(/job \S+ succeeded in/);
    const frames = sync.stderr.split('\n').filter((l) => / extracted .* loaded /.test(l));
    expect(frames.length, sync.stderr).toBeGreaterThan(0);
    for (const frame of frames.filter((l) => /(running|queued|waiting)$/.test(l)))
      expect(frame, 'a running stream is never shown full').not.toContain('█'.repeat(24));
    expect(frames.some((l) => /done$/.test(l) && l.includes('█'.repeat(24)))).toBe(true);

    const json = await done(['sync', 'CLI Jira', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const job = JSON.parse(json.stdout) as Job;
    expect(job).toMatchObject({ status: 'succeeded', mode: 'incremental' });
    expect(json.stderr).toBe('');

    const failed = await done([
      'integrations',
      'add',
      '--connector',
      'jira',
      '--name',
      'Wrong token',
      '--config',
      JSON.stringify({ siteUrl: jira.url, email: jira.email, apiToken: 'wrong' }),
    ]);
    expect(failed.code).toBe(0);
    expect((await done(['integrations', 'test', 'Wrong token'])).code).toBe(1);
    expect((await done(['sync', 'Wrong token'])).code, 'a failed job exits 1').toBe(1);
  }, 240_000);

  it('Ctrl+C during sync cancels the job it started, and says so', async () => {
    expect(
      (
        await done([
          'integrations',
          'add',
          '--connector',
          'jira',
          '--name',
          'Slow',
          '--config',
          jiraConfig(slowJira),
        ])
      ).code,
    ).toBe(0);
    const sync = etl(['sync', 'Slow', '--mode', 'full', '--progress'], {}, 'bin');
    await eventually(
      async () => (/ extracted .*running$/m.test(sync.stderr()) ? true : undefined),
      60_000,
      'a running stream',
    );
    sync.interrupt();
    expect(await sync.exited, sync.stderr()).toBe(1);
    const said = /interrupted: job (\S+) cancelled/.exec(sync.stderr());
    expect(said, sync.stderr()).not.toBeNull();
    expect((await jobOf(said![1]!)).status).toBe('cancelled');
    expect(sync.stdout()).toMatch(/job \S+ cancelled/);
  }, 120_000);

  it('two CLI processes never run the same job; a dead owner’s job is taken over after its lease, saying so', async () => {
    const first = etl(['sync', 'Slow', '--mode', 'full', '--progress'], {}, 'bin');
    await eventually(
      async () => (/ extracted .*running$/m.test(first.stderr()) ? true : undefined),
      60_000,
      'the first sync running',
    );
    const { rows } = await pool.query<{ id: string }>(
      `SELECT id FROM ${quoteIdent(schema)}.etl_jobs WHERE status = 'running' ORDER BY created_at DESC LIMIT 1`,
    );
    const firstJob = rows[0]!.id;
    // A second process runs its own job while the first is alive (and renews its lease every 2/3 s).
    const second = await done(['sync', 'CLI Jira', '--mode', 'full', '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect((await jobOf(firstJob)).events.filter((e) => e.type === 'job.adopted')).toEqual([]);

    // The first process dies mid-job: a later process takes its job over once the lease expired, and says so.
    expect((await jobOf(firstJob)).status).toBe('running');
    first.kill();
    await first.exited;
    // It runs a long job of its own, so it lives past the dead owner's lease.
    const third = etl(['sync', 'Slow', '--mode', 'full', '--progress'], {}, 'bin');
    const adopted = await eventually(
      async () => (await jobOf(firstJob)).events.find((e) => e.type === 'job.adopted'),
      30_000,
      'the take-over of the dead process’s job',
    );
    expect(adopted).toMatchObject({ previousOwner: expect.any(String), owner: expect.any(String) });
    await eventually(
      async () => (/ extracted .*running$/m.test(third.stderr()) ? true : undefined),
      60_000,
      'the third sync following its job',
    );
    third.interrupt();
    expect(await third.exited, third.stderr()).toBe(1);
  }, 300_000);
});
