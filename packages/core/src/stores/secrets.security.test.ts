import { createCipheriv, randomBytes, scryptSync } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Connector } from '../connector/connector.js';
import { openDb, quoteIdent, type Db } from '../db/db.js';
import { createEngine } from '../engine/engine.js';
import type { Engine } from '../engine/engine-types.js';
import { EtlError } from '../errors.js';
import { memoryQueue } from '../queue/memory-queue.js';
import { uniqueSchema } from '../testing/db.js';
import { syntheticConnector } from '../testing/synthetic.js';
import { secretOriginOf } from './secret-origin.js';

const SENTINEL = 'sentinel-token-7d1f0c9a4b';
const KEY_1 = { id: 'k1', key: 'first-secret-key-0123456789abcdef' };
const KEY_2 = { id: 'k2', key: 'second-secret-key-0123456789abcdef' };

/** A local HTTP listener that records every request's headers. */
async function listener(): Promise<{ url: string; seen: IncomingHttpHeaders[]; server: Server }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ items: [{ id: '1' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const probeConfig = z.strictObject({
  baseUrl: z.url(),
  token: z.string().min(1),
  label: z.string().optional(),
});

/** A connector that sends its token to its base URL, in `check()` and in every extraction. */
function probeConnector(originField: string | undefined): Connector<z.output<typeof probeConfig>> {
  const call = async (config: z.output<typeof probeConfig>) => {
    const res = await fetch(new URL('/items', config.baseUrl), {
      headers: { authorization: `Bearer ${config.token}` },
    });
    return (await res.json()) as { items: { id: string }[] };
  };
  return {
    name: originField ? 'probe' : 'probe-generic',
    configSchema: probeConfig,
    secretFields: ['token'],
    originField,
    streams: [{ name: 'items', primaryKey: ['id'] }],
    extractor: {
      async *extract(ctx) {
        const { items } = await call(ctx.config);
        yield { records: items.map((i) => ({ sourceId: i.id, payload: i })), checkpoint: null };
      },
    },
    transformer: { transform: () => [] },
    async check(config) {
      await call(config);
      return { ok: true, message: 'reached' };
    },
  };
}

const sentSecret = (seen: IncomingHttpHeaders[]) => seen.some((h) => JSON.stringify(h).includes(SENTINEL));

async function openEngine(db: Db, schema: string, options: Partial<Parameters<typeof createEngine>[0]> = {}) {
  return createEngine({
    db,
    schema,
    queue: memoryQueue({ maxAttempts: 3, retryDelaysMs: [10] }),
    connectors: [probeConnector('baseUrl'), probeConnector(undefined), syntheticConnector()],
    secretKeys: [KEY_1],
    progressIntervalMs: 0,
    eventPollMs: 50,
    ...options,
  });
}

async function rejection(promise: Promise<unknown>): Promise<EtlError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EtlError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('secrets', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let engine: Engine;
  let schema: string;
  let home: Awaited<ReturnType<typeof listener>>;
  let elsewhere: Awaited<ReturnType<typeof listener>>;

  beforeAll(async () => {
    const opened = await openDb();
    db = opened.db;
    closeDb = opened.close;
    schema = uniqueSchema('sec');
    engine = await openEngine(db, schema);
    await engine.startWorkers();
    home = await listener();
    elsewhere = await listener();
  });
  afterAll(async () => {
    await engine.stop();
    home.server.close();
    elsewhere.server.close();
    await closeDb();
  });

  describe('follow their origin', () => {
    it.each(['probe', 'probe-generic'])(
      '%s: a changed URL without its secret is refused, naming the field; nothing reaches the new host',
      async (connector) => {
        const created = await engine.integrations.create({
          connector,
          name: `origin ${connector}`,
          config: { baseUrl: home.url, token: SENTINEL },
        });
        expect(created.config.token).toBe('••••••');
        expect((await engine.integrations.test(created.id)).ok).toBe(true);
        expect(sentSecret(home.seen)).toBe(true);

        for (const config of [{ baseUrl: elsewhere.url }, { baseUrl: elsewhere.url, token: '••••••' }]) {
          const refused = await rejection(engine.integrations.update(created.id, { config }));
          expect(refused.code).toBe('invalid_config');
          expect(refused.message).toContain('re-enter token: the site changed');
          expect(refused.details).toContainEqual(
            expect.objectContaining({ path: 'token', message: expect.stringContaining('re-enter token') }),
          );
          // The same rule for a connection test of unsaved changes.
          const test = await rejection(engine.integrations.test(created.id, { config }));
          expect(test.message).toContain('re-enter token: the site changed');
        }
        // A port, a scheme or a host change is a change of site.
        const port = new URL(home.url);
        port.port = String(Number(port.port) + 1);
        for (const baseUrl of [port.toString(), home.url.replace('http:', 'https:'), 'http://localhost:1/']) {
          const refused = await rejection(engine.integrations.update(created.id, { config: { baseUrl } }));
          expect(refused.message).toContain('re-enter token');
        }
        expect(sentSecret(elsewhere.seen)).toBe(false);

        // Same site, masked secret: kept. A test of unsaved changes with the secret given uses only that one.
        await engine.integrations.update(created.id, { config: { label: 'x', token: '••••••' } });
        const tested = await engine.integrations.test(created.id, {
          config: { baseUrl: elsewhere.url, token: 'typed-in-again-123' },
        });
        expect(tested.ok).toBe(true);
        expect(sentSecret(elsewhere.seen)).toBe(false);
        expect(elsewhere.seen.at(-1)?.authorization).toBe('Bearer typed-in-again-123');
        await engine.integrations.delete(created.id);
      },
    );

    it('a URL changed in the database behind the engine opens no secret: the job fails, the host gets nothing', async () => {
      const created = await engine.integrations.create({
        connector: 'probe',
        name: 'tampered',
        config: { baseUrl: home.url, token: SENTINEL },
      });
      await db.query(
        `UPDATE ${quoteIdent(schema)}.etl_integrations SET config = jsonb_set(config, '{baseUrl}', to_jsonb($2::text)) WHERE id = $1`,
        [created.id, elsewhere.url],
      );
      const started = Date.now();
      const job = await engine.jobs.waitFor(
        (await engine.jobs.start({ integrationId: created.id, mode: 'full' })).id,
        { timeoutMs: 10_000 },
      );
      expect(job.status).toBe('failed');
      expect(job.errors[0]?.message).toMatch(/cannot decrypt a stored secret .*site it was saved for/);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await engine.integrations.test(created.id)).ok).toBe(false);
      expect(sentSecret(elsewhere.seen)).toBe(false);
      await engine.integrations.delete(created.id);
    });

    it('the origin is the declared field, or every URL in the config', () => {
      const declared = probeConnector('baseUrl');
      const generic = probeConnector(undefined);
      expect(secretOriginOf(declared, { baseUrl: 'https://A.example.com/x/y', token: 't' })).toBe(
        'https://a.example.com',
      );
      expect(secretOriginOf(declared, { baseUrl: 'https://a.example.com:443/' })).toBe(
        'https://a.example.com',
      );
      expect(
        secretOriginOf(generic, {
          nested: { hook: 'http://b.example:8080/p' },
          baseUrl: 'https://a.example.com',
          token: 'https://not-an-origin.example',
        }),
      ).toBe('http://b.example:8080 https://a.example.com');
    });
  });

  describe('keys', () => {
    it('a wrong key fails the job at once with a clear error', async () => {
      const created = await engine.integrations.create({
        connector: 'synthetic',
        name: 'wrong key',
        config: { token: SENTINEL, records: 10 },
      });
      const other = await openEngine(db, schema, {
        secretKeys: [{ id: 'k1', key: 'not-the-key-it-was-saved-with-0123' }],
        migrate: false,
      });
      await other.startWorkers();
      try {
        const started = Date.now();
        const job = await other.jobs.waitFor(
          (await other.jobs.start({ integrationId: created.id, mode: 'full' })).id,
          { timeoutMs: 10_000 },
        );
        expect(job.status).toBe('failed');
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(job.errors.map((e) => e.message).join('\n')).toContain(
          'integration "wrong key", token: cannot decrypt a stored secret with key "k1"',
        );
        const test = await other.integrations.test(created.id);
        expect(test).toMatchObject({ ok: false, message: expect.stringContaining('cannot decrypt') });
      } finally {
        await other.stop();
      }
    });

    it('rotation: data written with key 1 reads after rotating to key 2, and key 1 is retired', async () => {
      const created = await engine.integrations.create({
        connector: 'synthetic',
        name: 'rotated',
        config: { token: SENTINEL, records: 5 },
      });
      // A value of the first format (no key id, no binding) is read and re-encrypted too.
      const legacy = await engine.integrations.create({
        connector: 'synthetic',
        name: 'legacy',
        config: { token: 'placeholder-0000', records: 5 },
      });
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', scryptSync(KEY_1.key, 'etl-secret-fields', 32), iv);
      const data = Buffer.concat([cipher.update(SENTINEL, 'utf8'), cipher.final()]);
      const v1 = `enc:v1:${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64')}`;
      await db.query(
        `UPDATE ${quoteIdent(schema)}.etl_integrations SET config = jsonb_set(config, '{token}', to_jsonb($2::text)) WHERE id = $1`,
        [legacy.id, v1],
      );

      const both = await openEngine(db, schema, { secretKeys: [KEY_2, KEY_1], migrate: false });
      const before = await both.secrets.usage();
      expect(before.find((u) => u.keyId === 'k1')?.integrations.map((i) => i.name)).toEqual(
        expect.arrayContaining(['rotated', 'legacy']),
      );
      const rotation = await both.secrets.rotate();
      expect(rotation.keyId).toBe('k2');
      expect(rotation.integrations).toBeGreaterThanOrEqual(2);
      const after = await both.secrets.usage();
      expect(after.find((u) => u.keyId === 'k1')).toMatchObject({ current: false, integrations: [] });
      expect(after.find((u) => u.keyId === 'k2')).toMatchObject({ current: true });

      // Key 1 retired: a ring of key 2 alone opens everything.
      const retired = await openEngine(db, schema, { secretKeys: [KEY_2], migrate: false });
      const { rows } = await db.query<{ config: unknown }>(
        `SELECT config FROM ${quoteIdent(schema)}.etl_integrations`,
      );
      expect(JSON.stringify(rows)).not.toContain('enc:v1:');
      expect(JSON.stringify(rows)).not.toContain('enc:v2:k1:');
      for (const id of [created.id, legacy.id]) {
        expect((await retired.integrations.test(id)).ok).toBe(true);
      }
      // Key 1 alone no longer opens them, and says which key is missing.
      const old = await openEngine(db, schema, { secretKeys: [KEY_1], migrate: false });
      expect((await old.integrations.test(created.id)).message).toContain(
        'encrypted with key "k2", which is not in the keyring',
      );
      for (const e of [both, retired, old]) await e.stop();
    });

    it('an integration whose connector is not registered never shows its ciphertext', async () => {
      const created = await engine.integrations.create({
        connector: 'synthetic',
        name: 'orphan',
        config: { token: SENTINEL, records: 1 },
      });
      const without = await openEngine(db, schema, { connectors: [], migrate: false });
      const shown = JSON.stringify([
        await without.integrations.list(),
        await without.integrations.get(created.id),
      ]);
      expect(shown).not.toContain('enc:');
      expect(shown).toContain('••••••');
      await without.stop();
    });
  });

  describe('input', () => {
    it.each([
      ['a NUL in a name', { name: 'a\u0000b' }, 'name'],
      [
        'a lone surrogate in config',
        { config: { token: 'x', records: 1, seed: 1, x: '\ud800' } },
        'config.x',
      ],
      ['a NUL in a config key', { config: { 'a\u0000': 1 } }, 'config.a\\u0000'],
    ])('%s → invalid_input naming the field', async (_what, input, path) => {
      const refused = await rejection(
        engine.integrations.create({ connector: 'synthetic', name: 'n', config: {}, ...input }),
      );
      expect(refused.code).toBe('invalid_input');
      expect(refused.details).toContainEqual(expect.objectContaining({ path }));
    });

    it('unknown config keys are refused', async () => {
      const refused = await rejection(
        engine.integrations.create({
          connector: 'probe',
          name: 'n',
          config: { baseUrl: home.url, token: 't', extra: 1 },
        }),
      );
      expect(refused.code).toBe('invalid_config');
    });

    it('NUL in filters, mappings and replay selectors; from after to', async () => {
      const created = await engine.integrations.create({
        connector: 'synthetic',
        name: 'inputs',
        config: { token: SENTINEL, records: 1 },
      });
      const refusals = await Promise.all([
        rejection(engine.jobs.list({ connector: 'a\u0000' })),
        rejection(engine.raw.list({ stream: '\udc00' })),
        rejection(engine.replay({ integrationId: created.id, stream: 'a\u0000' })),
        rejection(
          engine.mappings.put(created.id, { statuses: [{ rawStatus: 'x\u0000', category: 'done' }] }),
        ),
        rejection(engine.jobs.start({ integrationId: created.id, requestedBy: 'a\u0000' })),
        rejection(
          engine.jobs.start({
            integrationId: created.id,
            mode: 'backfill',
            window: { from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' },
          }),
        ),
        rejection(engine.replay({ from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' })),
      ]);
      for (const refused of refusals) expect(refused.code).toBe('invalid_input');
      expect(refusals[5]!.message).toContain('window.from: from must not be after to');
    });
  });
});
