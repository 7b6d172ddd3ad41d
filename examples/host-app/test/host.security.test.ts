import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openRuntime } from '../src/runtime.js';
import { closeServer, listen } from '../src/serve.js';
import { hostAppDir, startEntry } from './processes.js';

/** Opens a raw connection, writes `data`, and resolves with what came back and how long the server kept it open. */
function rawRequest(port: number, data: string): Promise<{ answer: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1', () => socket.write(data));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve({ answer, ms: Date.now() - started }));
    setTimeout(() => {
      socket.destroy();
      reject(new Error('the server kept a stalled request open for 10 s'));
    }, 10_000).unref();
  });
}

describe('the host server closes slow clients', () => {
  const app = new Hono()
    .post('/echo', async (c) => c.text(await c.req.text()))
    .onError((_error, c) => c.text('request aborted', 400));
  let port: number;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const started = await listen(app, 0, '127.0.0.1', {
      headersTimeoutMs: 1_000,
      requestTimeoutMs: 2_000,
      keepAliveTimeoutMs: 500,
    });
    port = (started.server.address() as AddressInfo).port;
    close = () => closeServer(started.server);
  });
  afterAll(() => close());

  it('headers that never finish: closed after the headers timeout', async () => {
    const { answer, ms } = await rawRequest(port, 'GET /echo HTTP/1.1\r\nHost: x\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(ms).toBeLessThan(4_000);
  });

  it('a body that never finishes: closed after the request timeout', async () => {
    const { answer, ms } = await rawRequest(
      port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly part',
    );
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(ms).toBeGreaterThanOrEqual(1_500);
    expect(ms).toBeLessThan(5_000);
  });

  it('an idle kept-alive connection: closed after the keep-alive timeout', async () => {
    const { answer, ms } = await rawRequest(
      port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok',
    );
    expect(answer).toMatch(/^HTTP\/1.1 200[\s\S]*ok$/);
    expect(ms).toBeLessThan(3_000);
  });

  it('the defaults come from the environment', () => {
    const config = loadConfig({ ETL_HTTP_REQUEST_TIMEOUT_SECONDS: '12' });
    expect(config.ETL_HTTP_REQUEST_TIMEOUT_SECONDS).toBe(12);
    expect(config.ETL_HTTP_HEADERS_TIMEOUT_SECONDS).toBe(10);
    expect(config.ETL_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS).toBe(5);
  });
});

describe('docker-compose.yml', () => {
  it('has no default ETL_SECRET_KEY: Compose refuses to start without one', async () => {
    const compose = await readFile(join(hostAppDir, '..', '..', 'docker-compose.yml'), 'utf8');
    const line = compose.split('\n').find((l) => /^\s*ETL_SECRET_KEY:/.test(l));
    expect(line).toMatch(/ETL_SECRET_KEY: \$\{ETL_SECRET_KEY:\?[^}]+\}/);
    expect(compose).not.toMatch(/ETL_SECRET_KEY:-/);
  });
});

describe('etl secrets: rotation through the CLI', () => {
  const k1 = 'k1:first-key-0123456789abcdef';
  const k2 = 'k2:second-key-0123456789abcdef';
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'etl-secrets-'));
    const runtime = await openRuntime(loadConfig({ ETL_DATA_DIR: dataDir, ETL_SECRET_KEYS: k1 }));
    await runtime.engine.integrations.create({
      connector: 'jira',
      name: 'Acme Jira',
      config: {
        siteUrl: 'https://acme.atlassian.net',
        email: 'ops@acme.test',
        apiToken: 'rotation-sentinel-token-42',
      },
    });
    await runtime.close();
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  const cli = async (args: string[], keys: string) => {
    const child = startEntry('src/cli.ts', ['secrets', ...args, '--json'], {
      ETL_DATA_DIR: dataDir,
      ETL_SECRET_KEYS: keys,
    });
    const { code } = await child.exited;
    const output = child.output();
    return { code, output, json: () => JSON.parse(output) as Record<string, unknown> };
  };

  it('status, can-retire, rotate: key 1 can be retired after rotating to key 2', async () => {
    const before = await cli(['can-retire', 'k1'], `${k2},${k1}`);
    expect(before.code, before.output).toBe(1);
    expect(before.json()).toMatchObject({ keyId: 'k1', retire: false });

    const rotated = await cli(['rotate'], `${k2},${k1}`);
    expect(rotated.code, rotated.output).toBe(0);
    expect(rotated.json()).toMatchObject({ keyId: 'k2', integrations: 1, secrets: 1, skipped: [] });

    const after = await cli(['can-retire', 'k1'], `${k2},${k1}`);
    expect(after.code, after.output).toBe(0);
    expect(after.json()).toMatchObject({ keyId: 'k1', retire: true });

    const status = await cli(['status'], k2);
    expect(status.code, status.output).toBe(0);
    expect(status.json()).toEqual([
      {
        keyId: 'k2',
        current: true,
        inKeyring: true,
        integrations: [expect.objectContaining({ name: 'Acme Jira' })],
      },
    ]);
    expect(status.output).not.toContain('rotation-sentinel-token-42');
  });

  it('a bad keyring is a configuration error naming the variable', async () => {
    const bad = await cli(['status'], 'no-colon-here');
    expect(bad.code).toBe(3);
    expect(bad.output).toContain('ETL_SECRET_KEYS: use id:key pairs');
  });
});
