import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector, ExtractContext, RawRow } from '../connector/connector.js';
import { openDb } from '../db/db.js';
import { createEngine } from '../engine/engine.js';
import type { Engine } from '../engine/engine-types.js';
import { mappingsSchema, mappingsView } from '../model/mappings.js';
import { streamOrder, validateConnector } from '../connector/validate-connector.js';
import { memoryQueue } from '../queue/memory-queue.js';
import { entitySchemas, entityTables } from '../model/canonical.js';
import { sourceHttp, type EngineNetworkOptions } from '../source/source-http.js';
import { checkIncremental, checkResume, checkRetryAfter, type FakeSourceHooks } from './strict-checks.js';

/** `testConnector`'s options: the connector, a config against a local fake. */
export interface ConnectorSuiteOptions<C> {
  /** Makes the connector under test (called once). */
  connector: () => Connector<C> | Promise<Connector<C>>;
  /** A valid config against the test source (a local fake server). */
  config: () => C | Promise<C> | unknown;
  /** A config the schema must refuse (e.g. `{}`), checked to name a field. */
  invalidConfig?: unknown;
  /** Streams to exercise; all by default. */
  streams?: string[];
  /** Records the whole run must at least extract. */
  minRecords?: number;
  /** Pages read per stream in the direct extraction check (bounded; default 50). */
  maxPages?: number;
  timeoutMs?: number;
  /** What the fake source needs the host to allow (the engine's `network` option); loopback by default. */
  network?: EngineNetworkOptions;
  /**
   * Hooks into the fake source, for the strict checks: resuming mid-stream exactly, incremental runs that pick
   * up every change made during a crawl with the source's clock a year ahead or behind, and no request inside
   * a `Retry-After` window with every partition at once.
   */
  source?: FakeSourceHooks;
}

/**
 * The contract every connector passes: a well-formed definition, pages that are JSON with checkpoints that
 * resume, transforms that validate against the canonical model and are deterministic, and a full run through
 * the engine (embedded PostgreSQL + in-memory queue) that loads every record exactly once, twice over.
 *
 * @example
 * testConnector({ connector: () => jiraConnector(), config: () => ({ siteUrl: fake.url, … }) });
 */
export function testConnector<C>(options: ConnectorSuiteOptions<C>): void {
  const timeout = options.timeoutMs ?? 90_000;
  let connector: Connector<C>;
  let config: C;
  let streams: string[];
  const extracted = new Map<string, RawRow[]>();
  const network = options.network ?? { allow: ['127.0.0.0/8', '::1/128', 'localhost'] };
  const clients = sourceHttp({ network });

  const context = (stream: string, partition: string | null, checkpoint: unknown): ExtractContext<C> => ({
    integrationId: '00000000-0000-4000-8000-000000000001',
    jobId: '00000000-0000-4000-8000-000000000002',
    config,
    stream,
    partition,
    checkpoint,
    mode: 'incremental',
    signal: AbortSignal.timeout(timeout),
    http: clients.client(connector, config, {
      integrationId: '00000000-0000-4000-8000-000000000001',
      signal: AbortSignal.timeout(timeout),
    }),
    emit: () => undefined,
  });

  describe(`Connector conformance`, () => {
    beforeAll(async () => {
      connector = await options.connector();
      config = connector.configSchema.parse(await options.config());
      streams = options.streams ?? connector.streams.map((s) => s.name);
    }, timeout);

    it('is well formed: unique streams with primary keys, known and acyclic dependencies', () => {
      expect(connector.name).toMatch(/^[a-z][a-z0-9-]*$/);
      // The same check createEngine makes when it registers the connector.
      expect(() => validateConnector(connector)).not.toThrow();
    });

    it('refuses an invalid config, naming the field', () => {
      if (options.invalidConfig === undefined) return;
      const result = connector.configSchema.safeParse(options.invalidConfig);
      expect(result.success).toBe(false);
      expect(result.error!.issues.length).toBeGreaterThan(0);
      expect(result.error!.issues[0]!.path.length).toBeGreaterThan(0);
    });

    it('extracts JSON pages whose last checkpoint resumes without new records', { timeout }, async () => {
      const maxPages = options.maxPages ?? 50;
      for (const stream of streamOrder(connector, streams)) {
        const def = connector.streams.find((d) => d.name === stream)!;
        const partitions = def.partitioned
          ? await connector.extractor.partitions!({ ...context(stream, null, null) })
          : [null];
        const rows: RawRow[] = [];
        for (const partition of partitions) {
          let last: unknown = null;
          let pages = 0;
          for await (const page of connector.extractor.extract(context(stream, partition, null))) {
            expect(Array.isArray(page.records)).toBe(true);
            expect(() => JSON.stringify(page.checkpoint)).not.toThrow();
            for (const record of page.records) {
              expect(['string', 'number']).toContain(typeof record.sourceId);
              expect(JSON.parse(JSON.stringify(record.payload))).toEqual(record.payload);
              rows.push({
                id: String(rows.length + 1),
                stream,
                partition,
                sourceId: String(record.sourceId),
                payload: record.payload,
                extractedAt: new Date().toISOString(),
              });
            }
            last = JSON.parse(JSON.stringify(page.checkpoint ?? null));
            if (++pages >= maxPages) break;
          }
          if (pages >= maxPages || last === null) continue;
          const seen = new Set(rows.filter((r) => r.partition === partition).map((r) => r.sourceId));
          for await (const page of connector.extractor.extract(context(stream, partition, last))) {
            for (const record of page.records)
              expect(
                seen.has(String(record.sourceId)),
                `${stream}: resumed record ${record.sourceId} was already read`,
              ).toBe(true);
          }
        }
        extracted.set(stream, rows);
      }
      const total = [...extracted.values()].reduce((n, r) => n + r.length, 0);
      expect(total).toBeGreaterThanOrEqual(options.minRecords ?? 1);
    });

    it('transforms into valid canonical entities, deterministically', { timeout }, async () => {
      const mappings = mappingsView(mappingsSchema.parse(connector.defaultMappings ?? {}), 0);
      for (const [stream, rows] of extracted) {
        if (rows.length === 0) continue;
        const ctx = {
          integrationId: '00000000-0000-4000-8000-000000000001',
          stream,
          config,
          mappings,
          knownProjectKeys: new Set<string>(),
        };
        const first = await connector.transformer.transform(rows, ctx);
        const second = await connector.transformer.transform(structuredClone(rows), ctx);
        expect(second).toEqual(first);
        for (const entity of first) {
          expect(Object.keys(entityTables)).toContain(entity.kind);
          const parsed = entitySchemas[entity.kind].safeParse(entity.data);
          expect(
            parsed.success,
            `${stream} → ${entity.kind} ${entity.sourceId}: ${parsed.error?.message}`,
          ).toBe(true);
          expect(String(entity.sourceId).length).toBeGreaterThan(0);
        }
      }
    });

    it('passes its own connection check', { timeout }, async () => {
      if (!connector.check) return;
      const signal = AbortSignal.timeout(timeout);
      const http = clients.client(connector, config, { integrationId: 'check', signal });
      const result = await connector.check(config, { signal, http });
      expect(result.ok, result.message).toBe(true);
    });

    describe.runIf(options.source)('strict checks', () => {
      const strict = () => ({ connector, config, source: options.source!, network });
      const year = 365 * 86_400_000;
      it('resumes mid-stream exactly: no page dropped, none read twice', { timeout }, async () => {
        expect(await checkResume(strict())).toEqual([]);
      });
      it.each([
        ['the same clock', 0],
        ['a source clock a year ahead', year],
        ['a source clock a year behind', -year],
      ])(
        'with %s, the next incremental run picks up every change made during a crawl',
        { timeout },
        async (_, shift) => {
          expect(await checkIncremental(strict(), shift)).toEqual([]);
        },
      );
      it('sends no request inside a Retry-After window, every partition at once', { timeout }, async () => {
        expect(await checkRetryAfter(strict())).toEqual([]);
      });
    });

    describe('through the engine', () => {
      let engine: Engine;
      let close: () => Promise<void>;
      beforeAll(async () => {
        const opened = await openDb();
        close = opened.close;
        engine = await createEngine({
          db: opened.db,
          queue: memoryQueue({ retryDelaysMs: [20] }),
          connectors: [connector],
          secretKey: 'conformance-suite-secret-key',
          network,
        });
        await engine.startWorkers();
      }, timeout);
      afterAll(async () => {
        await engine?.stop();
        await close?.();
      });

      it('loads every record, and a second run duplicates nothing', { timeout }, async () => {
        const integration = await engine.integrations.create({
          connector: connector.name,
          name: 'conformance',
          config: config as Record<string, unknown>,
        });
        for (const field of connector.secretFields ?? []) {
          const value = field
            .split('.')
            .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], integration.config);
          if (value !== undefined) expect(value, `secret ${field} is masked`).toBe('••••••');
        }
        const first = await engine.jobs.waitFor(
          (await engine.jobs.start({ integrationId: integration.id, streams, mode: 'full' })).id,
          { timeoutMs: timeout },
        );
        expect(first.status, JSON.stringify(first.errors)).toBe('succeeded');
        expect(first.counters.extracted).toBeGreaterThanOrEqual(options.minRecords ?? 1);
        expect(first.counters.loaded).toBe(first.counters.extracted);
        const counts = async () => {
          const out: Record<string, number> = {};
          for (const [kind, table] of Object.entries(entityTables)) {
            const { rows } = await engine.db.query<{ n: string }>(
              `SELECT count(*) AS n FROM "${engine.schema}"."${table}" WHERE integration_id = $1`,
              [integration.id],
            );
            out[kind] = Number(rows[0]!.n);
          }
          return out;
        };
        const before = await counts();
        expect(Object.values(before).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
        const second = await engine.jobs.waitFor(
          (await engine.jobs.start({ integrationId: integration.id, streams, mode: 'full' })).id,
          { timeoutMs: timeout },
        );
        expect(second.status, JSON.stringify(second.errors)).toBe('succeeded');
        expect(second.counters.inserted).toBe(0);
        expect(second.counters.updated).toBe(0);
        expect(await counts()).toEqual(before);
      });
    });
  });
}
