import { describe, expect, it } from 'vitest';
import { startEntry } from './processes.js';

async function run(entry: string, args: string[], env: Record<string, string>) {
  const child = startEntry(entry, args, env);
  const { code } = await child.exited;
  return { code, output: child.output() };
}

describe('bad input', () => {
  it.each([
    ['PORT', { PORT: 'eighty' }, 'PORT: '],
    [
      'RABBITMQ_URL',
      { RABBITMQ_URL: 'http://127.0.0.1:5672' },
      'RABBITMQ_URL: must be a amqp:// or amqps:// URL',
    ],
    ['ETL_SECRET_KEY (missing)', { DATABASE_URL: 'postgres://127.0.0.1:1/x' }, 'ETL_SECRET_KEY: is required'],
    ['ETL_SECRET_KEY (short)', { ETL_SECRET_KEY: 'short' }, 'ETL_SECRET_KEY: must be at least 16 characters'],
    ['ETL_WORKER_STAGES', { ETL_WORKER_STAGES: 'extract,lod' }, 'ETL_WORKER_STAGES: '],
  ])('the app refuses to start on a bad %s, naming it (exit 3)', async (_name, env, message) => {
    const { code, output } = await run('src/main.ts', [], { PORT: '0', ...(env as Record<string, string>) });
    expect(output).toContain(message);
    expect(output).not.toContain('app.listening');
    expect(code).toBe(3);
  });

  it('a separate worker without a shared database and broker names both variables (exit 3)', async () => {
    const { code, output } = await run('src/worker.ts', [], {});
    expect(output).toMatch(/DATABASE_URL: is required by a separate worker.*RABBITMQ_URL: is required/);
    expect(code).toBe(3);
  });

  it('a mistyped CLI command prints usage with a suggestion and exits 2', async () => {
    const { code, output } = await run('src/cli.ts', ['synk', 'Demo Jira'], {});
    expect(output).toContain('unknown command "synk" — did you mean "sync"?');
    expect(output).toContain('usage: etl <command>');
    // Short: what was wrong and where the usage is, not the whole help text.
    expect(output).not.toContain('exit codes:');
    expect(output.trim().split('\n')).toHaveLength(2);
    expect(code).toBe(2);
  });

  it('an unknown CLI option prints usage and exits 2', async () => {
    const { code, output } = await run('src/cli.ts', ['jobs', '--stauts', 'failed'], {});
    expect(output).toContain("Unknown option '--stauts'");
    expect(output).toContain('usage: etl <command>');
    expect(code).toBe(2);
  });

  it('a worker flag typo prints the worker usage and exits 2', async () => {
    const { code, output } = await run('src/worker.ts', ['--stages', 'extract,lod'], {});
    expect(output).toContain('--stages: unknown stage lod');
    expect(code).toBe(2);
  });
});
