import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticConnector } from '@etl/core/testing';
import { launchChromium } from '@etl/test-utils';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startHost, type RunningHost } from '../src/host.js';
import { hostConnectors } from '../src/runtime.js';
import { ensureUiBundle } from '../src/ui-bundle.js';

/**
 * The operations UI in Chromium, served by the example host app itself (its Hono service, engine, in-process
 * workers and `/etl` mount), with the synthetic connector added to the host's connectors.
 */
const artifacts = fileURLToPath(new URL('../../../test-artifacts/host-app/', import.meta.url));

let host: RunningHost;
let dataDir: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  await ensureUiBundle();
  dataDir = await mkdtemp(join(tmpdir(), 'etl-host-ui-'));
  const config = loadConfig({ PORT: '0', ETL_DATA_DIR: dataDir, ETL_SCHEDULER: 'off' });
  host = await startHost(config, { connectors: [...hostConnectors(), syntheticConnector()] });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(20_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const engine = () => host.runtime.engine;
const progress = () =>
  page.locator('#job-progress').evaluate((el) => (el as unknown as { value: number }).value);

describe('the example host app in Chromium', () => {
  it('starts a job from the Jobs page and its progress bar reaches 100% through SSE', async () => {
    const source = await engine().integrations.create({
      connector: 'synthetic',
      name: 'host-browser',
      config: { records: 300, pageSize: 20, pageDelayMs: 40 },
    });
    await page.goto(`${host.url}/etl/jobs`);
    await page.getByRole('button', { name: 'Start job' }).click();
    const dialog = page.getByRole('dialog', { name: 'Start a job' });
    await dialog.getByLabel('Integration').selectOption(source.id);
    await dialog.getByLabel('Mode').selectOption('full');
    await dialog.getByRole('button', { name: 'Start' }).click();
    await page.waitForURL(/\/etl\/jobs\/[0-9a-f-]{36}$/);
    await expect.poll(progress, { timeout: 60_000, interval: 100 }).toBe(100);
    await expect.poll(() => page.locator('h1 .badge').textContent()).toBe('succeeded');
    const jobId = page.url().split('/').pop()!;
    expect((await engine().jobs.get(jobId)).counters.loaded).toBe(303);
    await page.screenshot({ path: `${artifacts}job-finished.png`, fullPage: true });
  });

  it('inspects a dead letter on the Queues page and replays it after a mapping fix', async () => {
    const source = await engine().integrations.create({
      connector: 'synthetic',
      name: 'host-dead-letter',
      config: { records: 10, pageSize: 5, poison: [7] },
    });
    const job = await engine().jobs.waitFor((await engine().jobs.start({ integrationId: source.id })).id, {
      timeoutMs: 60_000,
    });
    expect(job.status).toBe('partial');
    const letter = (await engine().deadLetters.list()).find(
      (d) => (d.body as { jobId?: string }).jobId === job.id,
    )!;
    await engine().mappings.put(source.id, { statuses: [{ rawStatus: 'Blocked', category: 'todo' }] });
    await page.goto(`${host.url}/etl/queues`);
    await page.getByRole('button', { name: `Inspect dead letter ${letter.id}` }).click();
    const dialog = page.getByRole('dialog', { name: `Dead letter ${letter.id}` });
    await expect.poll(() => dialog.textContent()).toContain('Blocked');
    await dialog.getByRole('button', { name: 'Replay this message' }).click();
    await expect
      .poll(async () => (await engine().jobs.get(job.id)).status, { timeout: 30_000 })
      .toBe('succeeded');
    expect((await engine().raw.list({ jobId: job.id, status: 'failed' })).total).toBe(0);
    await page.screenshot({ path: `${artifacts}dead-letter-replayed.png`, fullPage: true });
  });
});
