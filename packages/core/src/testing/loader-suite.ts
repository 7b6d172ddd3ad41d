import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../db/db.js';
import type { Loader } from '../loader/loader.js';
import type { Entity } from '../model/canonical.js';

/** `testLoader`'s options. */
export interface LoaderSuiteOptions {
  /** Makes the loader on a database prepared for it (migrations run); returns how to count rows per kind. */
  create(): Promise<{
    loader: Loader;
    db: Db;
    count(kind: Entity['kind'], integrationId: string): Promise<number>;
    close(): Promise<void>;
  }>;
  timeoutMs?: number;
}

const INTEGRATION = '00000000-0000-4000-8000-00000000000a';

/** A valid canonical work-item entity, for loader tests. */
export function workItem(
  id: number,
  updatedAt: string,
  patch: Partial<Extract<Entity, { kind: 'work_item' }>['data']> = {},
): Entity {
  return {
    kind: 'work_item',
    sourceId: String(id),
    sourceUpdatedAt: updatedAt,
    data: {
      key: `T-${id}`,
      title: `Item ${id}`,
      type: 'task',
      rawType: 'Task',
      status: 'To Do',
      statusCategory: 'todo',
      workflowStep: null,
      projectKey: 'T',
      parentKey: null,
      epicKey: null,
      hierarchyLevel: 0,
      assigneeId: null,
      reporterId: null,
      priority: null,
      storyPoints: null,
      sprint: null,
      createdAt: '2024-01-01T00:00:00.000Z',
      updatedAt,
      resolvedAt: null,
      ...patch,
    },
  };
}

/**
 * The contract every Loader passes: inserts, idempotent reloads, newer-wins updates, older versions ignored,
 * duplicates within one batch collapsed.
 */
export function testLoader(options: LoaderSuiteOptions): void {
  const timeout = options.timeoutMs ?? 90_000;
  let ctx: Awaited<ReturnType<LoaderSuiteOptions['create']>>;
  const load = (entities: Entity[]) =>
    ctx.db.transaction((tx) =>
      ctx.loader.load(entities, { integrationId: INTEGRATION, jobId: 'loader-suite', tx }),
    );

  describe('Loader conformance', () => {
    beforeAll(async () => {
      ctx = await options.create();
    }, timeout);
    afterAll(async () => ctx?.close());

    it('inserts new entities and counts them', { timeout }, async () => {
      const counts = await load([1, 2, 3].map((i) => workItem(i, '2024-02-01T00:00:00.000Z')));
      expect(counts).toEqual({ inserted: 3, updated: 0, unchanged: 0 });
      expect(await ctx.count('work_item', INTEGRATION)).toBe(3);
    });

    it('changes nothing when the same entities load again', { timeout }, async () => {
      const counts = await load([1, 2, 3].map((i) => workItem(i, '2024-02-01T00:00:00.000Z')));
      expect(counts).toEqual({ inserted: 0, updated: 0, unchanged: 3 });
      expect(await ctx.count('work_item', INTEGRATION)).toBe(3);
    });

    it('updates with a newer version and ignores an older one', { timeout }, async () => {
      expect(
        await load([workItem(1, '2024-03-01T00:00:00.000Z', { status: 'Done', statusCategory: 'done' })]),
      ).toEqual({
        inserted: 0,
        updated: 1,
        unchanged: 0,
      });
      expect(await load([workItem(1, '2024-01-15T00:00:00.000Z', { status: 'To Do' })])).toEqual({
        inserted: 0,
        updated: 0,
        unchanged: 1,
      });
    });

    it(
      'updates a same-version entity whose derived fields changed (a mapping change)',
      { timeout },
      async () => {
        const counts = await load([
          workItem(2, '2024-02-01T00:00:00.000Z', { statusCategory: 'in_progress' }),
        ]);
        expect(counts.updated).toBe(1);
      },
    );

    it('collapses duplicates within one batch to the newest', { timeout }, async () => {
      const counts = await load([
        workItem(9, '2024-02-01T00:00:00.000Z'),
        workItem(9, '2024-02-02T00:00:00.000Z', { title: 'newest' }),
      ]);
      expect(counts.inserted).toBe(1);
      expect(await ctx.count('work_item', INTEGRATION)).toBe(4);
    });

    it('rolls back with the transaction', { timeout }, async () => {
      await expect(
        ctx.db.transaction(async (tx) => {
          await ctx.loader.load([workItem(50, '2024-02-01T00:00:00.000Z')], {
            integrationId: INTEGRATION,
            jobId: 'x',
            tx,
          });
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await ctx.count('work_item', INTEGRATION)).toBe(4);
    });
  });
}
