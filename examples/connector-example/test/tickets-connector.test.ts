import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, memoryQueue, openDb, sourceHttp } from '@etl/core';
import { testConnector } from '@etl/core/testing';
import { ticketsConnector, type Ticket } from '../src/index.js';

function tickets(count: number, revision = 0): Ticket[] {
  const statuses = ['open', 'in progress', 'closed'];
  const types = ['Bug', 'Feature', 'Chore'];
  return Array.from({ length: count }, (_, i) => ({
    id: `T-${String(i + 1).padStart(4, '0')}`,
    project: i % 2 ? 'WEB' : 'API',
    title: `Ticket ${i + 1}`,
    type: types[i % 3]!,
    status: statuses[(i + revision) % 3]!,
    assignee: i % 4 ? `user-${i % 7}` : null,
    createdAt: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
    // Several tickets share each timestamp: the checkpoint must break ties by id.
    updatedAt: new Date(
      Date.UTC(2024, 1, 1) + Math.floor(i / 3) * 60_000 + revision * 86_400_000,
    ).toISOString(),
  }));
}

let dir: string;
let file: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickets-'));
  file = join(dir, 'tickets.json');
  await writeFile(file, JSON.stringify(tickets(230)));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('tickets connector', () => {
  testConnector({
    connector: () => ticketsConnector(),
    config: () => ({ path: file, pageSize: 40 }),
    invalidConfig: { pageSize: 0 },
    minRecords: 230,
    timeoutMs: 60_000,
  });

  it('an incremental run reads only tickets changed since the last one', async () => {
    const own = join(dir, 'incremental.json');
    await writeFile(own, JSON.stringify(tickets(50)));
    const { db, close } = await openDb();
    const engine = await createEngine({ db, queue: memoryQueue(), connectors: [ticketsConnector()] });
    try {
      await engine.startWorkers();
      const integration = await engine.integrations.create({
        connector: 'tickets',
        name: 'helpdesk',
        config: { path: own, pageSize: 7 },
      });
      const first = await engine.jobs.waitFor(
        (await engine.jobs.start({ integrationId: integration.id })).id,
      );
      expect(first.status).toBe('succeeded');
      expect(first.streamStates?.find((s) => s.stream === 'tickets')?.extracted).toBe(50);

      const changed = tickets(50);
      for (const i of [3, 17, 42]) {
        changed[i] = { ...changed[i]!, status: 'closed', updatedAt: '2025-01-01T00:00:00.000Z' };
      }
      await writeFile(own, JSON.stringify(changed));
      const second = await engine.jobs.waitFor(
        (await engine.jobs.start({ integrationId: integration.id })).id,
      );
      expect(second.status).toBe('succeeded');
      expect(second.streamStates?.find((s) => s.stream === 'tickets')?.extracted).toBe(3);
      const { rows } = await db.query<{ source_id: string; status_category: string }>(
        `SELECT source_id, status_category FROM etl.work_items WHERE source_id = ANY($1) ORDER BY source_id`,
        [['T-0004', 'T-0018', 'T-0043']],
      );
      expect(rows).toEqual([
        { source_id: 'T-0004', status_category: 'done' },
        { source_id: 'T-0018', status_category: 'done' },
        { source_id: 'T-0043', status_category: 'done' },
      ]);
      const total = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM etl.work_items`);
      expect(total.rows[0]?.n).toBe(50);
    } finally {
      await engine.stop();
      await engine.queue.close();
      await close();
    }
  });

  it('refuses a file that is not a list of tickets, naming the file', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify([{ id: 1 }]));
    const connector = ticketsConnector();
    await expect(
      connector.check!(
        { path: bad, pageSize: 10 },
        {
          signal: AbortSignal.timeout(1000),
          http: sourceHttp().client(
            connector,
            { path: bad, pageSize: 10 },
            { integrationId: 'i', signal: AbortSignal.timeout(1000) },
          ),
        },
      ),
    ).resolves.toMatchObject({
      ok: false,
      message: expect.stringContaining('bad.json'),
    });
  });
});
