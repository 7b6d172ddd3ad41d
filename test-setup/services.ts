import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join, relative } from 'node:path';
import pg from 'pg';

/**
 * The test run's services, found once per run. Test files that need PostgreSQL or RabbitMQ declare it in
 * their first lines (`// @etl-test-services postgres rabbitmq`); a file whose services are missing is not
 * run, and one line says which files were left out and how to include them. Files that also cover the
 * embedded database declare `postgres-optional` and pick their variants with `testDbKinds()`.
 *
 * - both services reachable: everything runs;
 * - one missing and a Docker engine answers: `docker compose up -d --wait postgres rabbitmq`, then probe again;
 * - still missing and `ETL_REQUIRE_SERVICES=1` (CI): the run fails at once, naming what is unreachable;
 * - still missing otherwise: the embedded suites run, the service suites are reported as not run.
 */
export type Service = 'postgres' | 'rabbitmq';

export interface TestServices {
  available: Service[];
  /** Why each missing service is missing. */
  missing: { service: Service; reason: string }[];
  /** Files left out because a service they declare is missing (repository-relative). */
  notRun: string[];
  /** Files that run, minus the cases that need a missing service. */
  partial: string[];
  /** What was done to get the services (e.g. docker compose). */
  notes: string[];
}

const root = join(import.meta.dirname, '..');
const databaseUrl = () => process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const rabbitmqUrl = () => process.env.RABBITMQ_URL || 'amqp://guest:guest@127.0.0.1:5672';

function shortError(error: unknown): string {
  const e = error as { code?: string; message?: string; errors?: { code?: string }[] };
  return e.code ?? e.errors?.[0]?.code ?? e.message ?? String(error);
}

async function probePostgres(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: databaseUrl(), connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${redact(databaseUrl())}: ${shortError(error)}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Sends the AMQP 0-9-1 protocol header and expects the broker's first frame (or its own header back). */
function probeRabbitmq(): Promise<string | undefined> {
  const url = new URL(rabbitmqUrl());
  const port = Number(url.port || (url.protocol === 'amqps:' ? 5671 : 5672));
  const where = `RabbitMQ at ${url.hostname}:${port}`;
  if (url.protocol === 'amqps:') return tcpOnly(url.hostname, port, where);
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port });
    const done = (reason: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => done(`${where}: no answer within 2 s`), 2_000);
    socket.once('connect', () => socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
    socket.once('data', (chunk: Buffer) =>
      done(
        chunk[0] === 1 || chunk.subarray(0, 4).toString('latin1') === 'AMQP'
          ? undefined
          : `${where}: not AMQP`,
      ),
    );
    socket.once('error', (error) => done(`${where}: ${shortError(error)}`));
  });
}

function tcpOnly(host: string, port: number, where: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`${where}: no answer within 2 s`);
    }, 2_000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      resolve(`${where}: ${shortError(error)}`);
    });
  });
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function probe(): Promise<{ service: Service; reason: string }[]> {
  const [postgres, rabbitmq] = await Promise.all([probePostgres(), probeRabbitmq()]);
  const missing: { service: Service; reason: string }[] = [];
  if (postgres) missing.push({ service: 'postgres', reason: postgres });
  if (rabbitmq) missing.push({ service: 'rabbitmq', reason: rabbitmq });
  return missing;
}

function run(command: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  // Compose refuses the whole file without ETL_SECRET_KEY (the app's key has no default); the two services the
  // tests start never read it.
  const env = {
    ...process.env,
    ETL_SECRET_KEY: process.env.ETL_SECRET_KEY || 'not-used-by-postgres-or-rabbitmq',
  };
  return new Promise((resolve) => {
    execFile(command, args, { cwd: root, timeout: timeoutMs, env }, (error, stdout, stderr) =>
      resolve({ ok: !error, output: `${stdout}${stderr}`.trim() }),
    );
  });
}

/** `@etl-test-services …` in the first lines of each test file. */
function declaredServices(): { file: string; needs: Service[]; optional: boolean }[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.test.ts')) files.push(path);
    }
  };
  for (const dir of ['packages', 'examples', 'bench']) walk(join(root, dir));
  return files.flatMap((path) => {
    const head = readFileSync(path, 'utf8').split('\n', 12).join('\n');
    const match = /@etl-test-services\s+([a-z\- ]+)/.exec(head);
    if (!match) return [];
    const words = match[1]!.trim().split(/\s+/);
    const needs = words
      .map((w) => w.replace(/-optional$/, ''))
      .filter((w): w is Service => w === 'postgres' || w === 'rabbitmq');
    return [{ file: relative(root, path), needs, optional: words.some((w) => w.endsWith('-optional')) }];
  });
}

async function prepare(): Promise<TestServices> {
  const notes: string[] = [];
  let missing = await probe();
  if (missing.length > 0 && process.env.ETL_TEST_DOCKER !== '0') {
    const docker = await run('docker', ['info', '--format', '{{.ServerVersion}}'], 5_000);
    if (!docker.ok) notes.push('no Docker engine to start them');
    else {
      process.stderr.write(
        `[etl] ${missing.map((m) => m.service).join(' and ')} not reachable: docker compose up -d --wait postgres rabbitmq\n`,
      );
      const up = await run('docker', ['compose', 'up', '-d', '--wait', 'postgres', 'rabbitmq'], 240_000);
      notes.push(
        up.ok ? 'started postgres and rabbitmq with docker compose' : `docker compose failed: ${up.output}`,
      );
      const deadline = Date.now() + 60_000;
      do missing = await probe();
      while (
        missing.length > 0 &&
        Date.now() < deadline &&
        (await new Promise((r) => setTimeout(r, 1_000, true)))
      );
    }
  }
  if (missing.length > 0 && process.env.ETL_REQUIRE_SERVICES === '1') {
    throw new Error(
      `ETL_REQUIRE_SERVICES=1 and ${missing.map((m) => m.reason).join('; ')}` +
        (notes.length > 0 ? ` (${notes.join('; ')})` : '') +
        ' — start them (docker compose up -d postgres rabbitmq) or set DATABASE_URL / RABBITMQ_URL',
    );
  }
  const absent = new Set(missing.map((m) => m.service));
  const declared = declaredServices();
  const lacking = (d: { needs: Service[] }) => d.needs.some((s) => absent.has(s));
  return {
    available: (['postgres', 'rabbitmq'] as const).filter((s) => !absent.has(s)),
    missing,
    notRun: declared.filter((d) => !d.optional && lacking(d)).map((d) => d.file),
    partial: declared.filter((d) => d.optional && lacking(d)).map((d) => d.file),
    notes,
  };
}

/**
 * Probes once per test run: the result is kept in the environment, which the config's later evaluations
 * and the test workers inherit (`ETL_TEST_SERVICES` is what `testServiceAvailable()` reads).
 */
export async function prepareTestServices(): Promise<TestServices> {
  const cached = process.env.ETL_TEST_SERVICES_STATE;
  if (cached) return JSON.parse(cached) as TestServices;
  const services = await prepare();
  process.env.ETL_TEST_SERVICES_STATE = JSON.stringify(services);
  process.env.ETL_TEST_SERVICES = services.available.join(',');
  return services;
}

/** The one line a run without some services ends with; undefined when nothing was left out. */
export function notRunLine(services: TestServices): string | undefined {
  if (services.missing.length === 0) return undefined;
  const short = (f: string) => f.replace(/^(packages|examples)\//, '').replace(/\.test\.ts$/, '');
  const names = services.notRun.map(short);
  // Only PostgreSQL has optional cases (files that also cover embedded PGlite).
  const partial = services.missing.some((m) => m.service === 'postgres') ? services.partial.map(short) : [];
  return (
    `Not run (${[...services.missing.map((m) => m.reason), ...services.notes].join('; ')}): ` +
    `${names.length} suites (${names.join(', ')})` +
    (partial.length > 0 ? ` and the PostgreSQL cases of ${partial.join(', ')}` : '') +
    '. To run them: docker compose up -d postgres rabbitmq, or set DATABASE_URL and RABBITMQ_URL.'
  );
}
