import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, memoryQueue, openDb, type Engine } from '@etl/core';
import { syntheticConnector } from '@etl/core/testing';
import { isDue, startScheduler } from '../src/scheduler.js';

const at = (iso: string) => new Date(iso);

describe('schedules: intervals and cron expressions', () => {
  let engine: Engine;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const opened = await openDb();
    close = opened.close;
    engine = await createEngine({
      db: opened.db,
      queue: memoryQueue(),
      connectors: [syntheticConnector()],
      secretKey: 'scheduler-test-secret-key-0123456789',
    });
  });
  afterAll(async () => {
    await engine?.stop();
    await close?.();
  });

  it("runs a '*/15 * * * *' integration at each quarter hour after its last job", () => {
    const integration = {
      scheduleSeconds: null,
      scheduleCron: '*/15 * * * *',
      createdAt: '2026-01-01T09:00:00Z',
    };
    const last = { createdAt: '2026-01-01T10:01:00Z' };
    expect(isDue(integration, last, at('2026-01-01T10:14:59Z'))).toBe(false);
    expect(isDue(integration, last, at('2026-01-01T10:15:00Z'))).toBe(true);
    // No job yet: the first slot after the integration was created.
    expect(isDue(integration, undefined, at('2026-01-01T09:14:00Z'))).toBe(false);
    expect(isDue(integration, undefined, at('2026-01-01T09:15:01Z'))).toBe(true);
  });

  it('runs an interval integration scheduleSeconds after its last job', () => {
    const integration = { scheduleSeconds: 900, scheduleCron: null, createdAt: '2026-01-01T09:00:00Z' };
    expect(isDue(integration, { createdAt: '2026-01-01T10:00:00Z' }, at('2026-01-01T10:14:00Z'))).toBe(false);
    expect(isDue(integration, { createdAt: '2026-01-01T10:00:00Z' }, at('2026-01-01T10:15:00Z'))).toBe(true);
    expect(isDue(integration, undefined, at('2026-01-01T09:00:01Z'))).toBe(true);
    expect(isDue({ ...integration, scheduleSeconds: null }, undefined, at('2030-01-01T00:00:00Z'))).toBe(
      false,
    );
  });

  it("core's integration input takes a cron expression, refuses a bad one and refuses two schedules", async () => {
    const cron = await engine.integrations.create({
      connector: 'synthetic',
      name: 'quarter hours',
      config: { records: 1 },
      scheduleCron: '*/15 * * * *',
    });
    expect(cron).toMatchObject({ scheduleCron: '*/15 * * * *', scheduleSeconds: null });
    await expect(
      engine.integrations.create({ connector: 'synthetic', name: 'bad', scheduleCron: '*/15 * *' }),
    ).rejects.toThrow(/scheduleCron: must be a five-field cron expression/);
    await expect(
      engine.integrations.create({
        connector: 'synthetic',
        name: 'both',
        scheduleCron: '0 * * * *',
        scheduleSeconds: 900,
      }),
    ).rejects.toThrow(/set scheduleSeconds or scheduleCron, not both/);
    // Switching kinds replaces the schedule.
    const interval = await engine.integrations.update(cron.id, { scheduleSeconds: 600 });
    expect(interval).toMatchObject({ scheduleSeconds: 600, scheduleCron: null });
  });

  it('the scheduler starts a job for a cron integration that is due, and none twice', async () => {
    // Created now, with a cron slot every minute: the first slot is at most a minute away, so make it due
    // by its creation time having passed a slot — an hourly slot already passed since 00:00 of 2000.
    const integration = await engine.integrations.create({
      connector: 'synthetic',
      name: 'due',
      config: { records: 1 },
      scheduleCron: '* * * * *',
    });
    const scheduler = startScheduler(engine, { tickMs: 3_600_000 });
    try {
      const first = await scheduler.tick();
      const due = isDue(integration, undefined, new Date());
      expect(first.filter((j) => j.integrationId === integration.id)).toHaveLength(due ? 1 : 0);
      // With a job queued and unfinished, a second tick starts none for it.
      const second = await scheduler.tick();
      if (due) expect(second.filter((j) => j.integrationId === integration.id)).toHaveLength(0);
    } finally {
      await scheduler.stop();
    }
  });
});
