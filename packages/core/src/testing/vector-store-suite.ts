import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtlError } from '../errors.js';
import { seededRandom } from './seeded-random.js';
import type { VectorPoint, VectorStore } from '../vector/vector.js';

/** `testVectorStore`'s options. */
export interface VectorStoreSuiteOptions {
  /** Makes the store under test; called once for the suite. */
  create(): Promise<VectorStore> | VectorStore;
  /** Called after the suite with the store, to drop what it made (collections are also deleted one by one). */
  cleanup?(store: VectorStore): Promise<void>;
  /** Per-case timeout; remote stores need more than embedded ones. */
  timeoutMs?: number;
}

/** A unit vector along axis `axis`, slightly tilted towards `towards` (so neighbours are predictable). */
function axisVector(dimension: number, axis: number, tilt = 0, towards = (axis + 1) % dimension): number[] {
  const v = Array.from({ length: dimension }, () => 0);
  v[axis] = 1;
  v[towards] = tilt;
  return v;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/**
 * The contract every VectorStore passes: collections, upsert / replace, payload updates, delete, count with
 * filters, nearest-first cosine search with filters, and the errors a caller relies on.
 *
 * @example
 * testVectorStore({ create: () => pgvectorStore({ db, schema }) });
 */
export function testVectorStore(options: VectorStoreSuiteOptions): void {
  const timeout = options.timeoutMs ?? 30_000;
  let store: VectorStore;
  const made: string[] = [];
  const collection = (label: string) => {
    const name = `c_${label}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
    made.push(name);
    return name;
  };

  describe('VectorStore conformance', () => {
    beforeAll(
      async () => {
        store = await options.create();
        // Opening a database (an embedded one starts a whole PostgreSQL) takes longer than a case on a busy machine.
      },
      Math.max(timeout, 120_000),
    );
    afterAll(async () => {
      if (!store) return;
      for (const name of made) await store.deleteCollection?.(name).catch(() => undefined);
      await options.cleanup?.(store);
      await store.close?.();
    }, timeout);

    it(
      'creates a collection once; info reports dimension and points; another dimension conflicts',
      { timeout },
      async () => {
        const name = collection('info');
        expect(await store.info(name)).toBeNull();
        await store.ensureCollection(name, { dimension: 8 });
        await store.ensureCollection(name, { dimension: 8 });
        expect(await store.info(name)).toEqual({ name, dimension: 8, points: 0 });
        const error = await rejection(store.ensureCollection(name, { dimension: 16 }));
        expect(isEtlError(error, 'conflict'), String(error)).toBe(true);
        expect(String(error)).toContain('8');
        if (store.deleteCollection) {
          expect(await store.deleteCollection(name)).toBe(true);
          expect(await store.info(name)).toBeNull();
          expect(await store.deleteCollection(name)).toBe(false);
        }
      },
    );

    it(
      'upserts by id: a second upsert of the same ids replaces vectors and payloads, counts stay exact',
      { timeout },
      async () => {
        const name = collection('upsert');
        await store.ensureCollection(name, { dimension: 4 });
        const ids = Array.from({ length: 10 }, () => randomUUID());
        await store.upsert(
          name,
          ids.map((id, i) => ({
            id,
            vector: axisVector(4, i % 4, 0.1),
            payload: { n: i, kind: 'work_item' },
          })),
        );
        expect(await store.count(name)).toBe(10);
        await store.upsert(name, [
          { id: ids[0]!, vector: axisVector(4, 3), payload: { n: 100, kind: 'pull_request' } },
        ]);
        expect(await store.count(name)).toBe(10);
        const [hit] = await store.search(name, axisVector(4, 3), {
          limit: 1,
          filter: { kind: 'pull_request' },
        });
        expect(hit).toMatchObject({ id: ids[0], payload: { n: 100, kind: 'pull_request' } });
        expect(hit!.score).toBeCloseTo(1, 4);
        expect(await store.info(name)).toEqual({ name, dimension: 4, points: 10 });
        await store.upsert(name, []);
        expect(await store.count(name)).toBe(10);
      },
    );

    it(
      'refuses a vector of the wrong dimension and a collection that does not exist',
      { timeout },
      async () => {
        const name = collection('errors');
        await store.ensureCollection(name, { dimension: 4 });
        const wrong = await rejection(
          store.upsert(name, [{ id: randomUUID(), vector: [1, 0, 0], payload: {} }]),
        );
        expect(isEtlError(wrong, 'invalid_input'), String(wrong)).toBe(true);
        expect(await store.count(name)).toBe(0);
        const missing = collection('missing');
        for (const call of [
          () => store.upsert(missing, [{ id: randomUUID(), vector: [1, 0, 0, 0], payload: {} }]),
          () => store.count(missing),
          () => store.search(missing, [1, 0, 0, 0]),
          () => store.delete(missing, [randomUUID()]),
        ]) {
          const error = await rejection(call());
          expect(isEtlError(error, 'not_found'), String(error)).toBe(true);
        }
      },
    );

    it('searches nearest first by cosine, with limits and payload filters', { timeout }, async () => {
      const name = collection('search');
      const dimension = 16;
      await store.ensureCollection(name, { dimension });
      const points: VectorPoint[] = [];
      for (let axis = 0; axis < dimension; axis++) {
        for (const tilt of [0, 0.2, 0.5]) {
          points.push({
            id: randomUUID(),
            vector: axisVector(dimension, axis, tilt),
            payload: {
              axis,
              tilt,
              kind: axis % 2 === 0 ? 'work_item' : 'pull_request',
              project: `P${axis % 3}`,
              deleted: false,
            },
          });
        }
      }
      await store.upsert(name, points);
      const hits = await store.search(name, axisVector(dimension, 5), { limit: 3 });
      expect(hits.map((h) => h.payload.axis)).toEqual([5, 5, 5]);
      expect(hits.map((h) => h.payload.tilt)).toEqual([0, 0.2, 0.5]);
      expect(hits[0]!.score).toBeCloseTo(1, 4);
      expect(hits[1]!.score).toBeCloseTo(1 / Math.sqrt(1.04), 3);
      expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
      expect(hits[1]!.score).toBeGreaterThan(hits[2]!.score);
      expect(hits[0]!.id).toBe(points.find((p) => p.payload.axis === 5 && p.payload.tilt === 0)!.id);

      const filtered = await store.search(name, axisVector(dimension, 5), {
        limit: 5,
        filter: { kind: 'work_item', project: 'P1' },
      });
      expect(filtered.length).toBe(5);
      expect(filtered.every((h) => h.payload.kind === 'work_item' && h.payload.project === 'P1')).toBe(true);
      const all = await store.search(name, axisVector(dimension, 0), {
        limit: 100,
        filter: { project: 'P2' },
      });
      expect(all).toHaveLength(points.filter((p) => p.payload.project === 'P2').length);
      expect(await store.search(name, axisVector(dimension, 0), { filter: { project: 'nowhere' } })).toEqual(
        [],
      );
      expect(
        await store.search(name, axisVector(dimension, 0), { filter: { deleted: false }, limit: 2 }),
      ).toHaveLength(2);

      expect(await store.count(name)).toBe(points.length);
      expect(await store.count(name, { kind: 'pull_request' })).toBe(points.length / 2);
      expect(await store.count(name, { kind: 'pull_request', project: 'P0' })).toBe(
        points.filter((p) => p.payload.kind === 'pull_request' && p.payload.project === 'P0').length,
      );
      const wrong = await rejection(store.search(name, [1, 0]));
      expect(isEtlError(wrong, 'invalid_input'), String(wrong)).toBe(true);
    });

    it('replaces payloads without touching vectors; unknown ids are ignored', { timeout }, async () => {
      const name = collection('payload');
      await store.ensureCollection(name, { dimension: 4 });
      const a = randomUUID();
      const b = randomUUID();
      await store.upsert(name, [
        { id: a, vector: axisVector(4, 0), payload: { status: 'todo', keep: 'x' } },
        { id: b, vector: axisVector(4, 1), payload: { status: 'todo' } },
      ]);
      await store.setPayload(name, [
        { id: a, payload: { status: 'done' } },
        { id: randomUUID(), payload: { status: 'ghost' } },
      ]);
      expect(await store.count(name)).toBe(2);
      expect(await store.count(name, { status: 'done' })).toBe(1);
      const [hit] = await store.search(name, axisVector(4, 0), { limit: 1 });
      expect(hit).toMatchObject({ id: a, payload: { status: 'done' } });
      expect(hit!.payload.keep).toBeUndefined();
      expect(hit!.score).toBeCloseTo(1, 4);
    });

    it('deletes by id; deleting unknown ids changes nothing', { timeout }, async () => {
      const name = collection('delete');
      await store.ensureCollection(name, { dimension: 4 });
      const ids = Array.from({ length: 6 }, () => randomUUID());
      await store.upsert(
        name,
        ids.map((id, i) => ({ id, vector: axisVector(4, i % 4, 0.3), payload: { i } })),
      );
      await store.delete(name, [ids[0]!, ids[1]!, randomUUID()]);
      expect(await store.count(name)).toBe(4);
      const hits = await store.search(name, axisVector(4, 0), { limit: 10 });
      expect(hits.map((h) => h.id).sort()).toEqual(ids.slice(2).sort());
      await store.delete(name, []);
      expect(await store.count(name)).toBe(4);
    });

    it('keeps collections apart', { timeout }, async () => {
      const one = collection('one');
      const two = collection('two');
      await store.ensureCollection(one, { dimension: 4 });
      await store.ensureCollection(two, { dimension: 6 });
      const id = randomUUID();
      await store.upsert(one, [{ id, vector: axisVector(4, 0), payload: { in: 'one' } }]);
      await store.upsert(two, [{ id, vector: axisVector(6, 5), payload: { in: 'two' } }]);
      expect((await store.search(one, axisVector(4, 0)))[0]!.payload).toEqual({ in: 'one' });
      expect((await store.search(two, axisVector(6, 5)))[0]!.payload).toEqual({ in: 'two' });
      await store.delete(one, [id]);
      expect(await store.count(one)).toBe(0);
      expect(await store.count(two)).toBe(1);
    });

    it(
      'round-trips a batch of 1,000 points of 64 dimensions; each finds itself first',
      { timeout },
      async () => {
        const name = collection('bulk');
        const dimension = 64;
        await store.ensureCollection(name, { dimension });
        const rand = seededRandom(7);
        const points: VectorPoint[] = Array.from({ length: 1000 }, (_, i) => ({
          id: randomUUID(),
          vector: Array.from({ length: dimension }, () => rand() * 2 - 1),
          payload: {
            i,
            group: i % 7 === 0 ? 'seventh' : 'other',
            updatedAt: new Date(i * 1000).toISOString(),
          },
        }));
        await store.upsert(name, points);
        expect(await store.count(name)).toBe(1000);
        expect(await store.count(name, { group: 'seventh' })).toBe(143);
        for (const i of [0, 499, 999]) {
          const [hit] = await store.search(name, points[i]!.vector, { limit: 1 });
          expect(hit!.id).toBe(points[i]!.id);
          expect(hit!.payload).toEqual(points[i]!.payload);
        }
        const [seventh] = await store.search(name, points[7]!.vector, {
          limit: 1,
          filter: { group: 'seventh' },
        });
        expect(seventh!.id).toBe(points[7]!.id);
      },
    );
  });
}
