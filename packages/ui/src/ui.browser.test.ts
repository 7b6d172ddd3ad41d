import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Integration } from '@etl/core';
import { launchChromium } from '@etl/test-utils';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { startUiTestHost, type UiTestHost } from './testing/ui-test-host.js';

const artifacts = fileURLToPath(new URL('../../../test-artifacts/ui/', import.meta.url));

let host: UiTestHost;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  host = await startUiTestHost({ mountPath: '/etl' });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await host?.close();
});

beforeEach(async () => {
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(20_000);
  pageErrors.length = 0;
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('dialog', (dialog) => void dialog.accept());
});

afterEach(async () => {
  await page?.close();
  expect(pageErrors).toEqual([]);
});

const shot = (name: string) => page.screenshot({ path: `${artifacts}${name}.png`, fullPage: true });
const integration = (name: string, config: Record<string, unknown>): Promise<Integration> =>
  host.engine.integrations.create({ connector: 'synthetic', name, config });
const progressValue = () =>
  page.locator('#job-progress').evaluate((el) => (el as unknown as { value: number }).value);

describe('operations UI in Chromium, mounted at /etl', () => {
  it('starts a job from the Jobs page and follows its progress bar to 100% over SSE', async () => {
    const source = await integration('browser-start', { records: 300, pageSize: 20, pageDelayMs: 60 });
    const streams: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/events')) streams.push(request.headers()['accept'] ?? '');
    });
    await page.goto(`${host.uiUrl}jobs`);
    await page.getByRole('button', { name: 'Start job' }).click();
    const dialog = page.getByRole('dialog', { name: 'Start a job' });
    await dialog.getByLabel('Integration').selectOption(source.id);
    await dialog.getByLabel('Mode').selectOption('full');
    await dialog.getByRole('button', { name: 'Start' }).click();
    await page.waitForURL(/\/etl\/jobs\/[0-9a-f-]{36}$/);
    const jobId = page.url().split('/').pop()!;

    // Sample the bar until the page shows the job finished (the first 100% may come between two pages,
    // while loading has caught up with extraction), then check it ends full.
    const seen: number[] = [];
    await expect
      .poll(
        async () => {
          seen.push(await progressValue());
          return page.locator('h1 .badge').textContent();
        },
        { timeout: 60_000, interval: 100 },
      )
      .toBe('succeeded');
    await expect.poll(progressValue).toBe(100);
    expect(seen.some((v) => v < 100) || seen[0] === 100).toBe(true);
    expect(streams).toContain('text/event-stream');
    await expect.poll(() => page.getByText('items', { exact: false }).count()).toBeGreaterThan(0);
    const job = await host.engine.jobs.get(jobId);
    expect(job.status).toBe('succeeded');
    expect(await page.getByTestId('job-progress-text').textContent()).toBe('100%');
    expect(await page.locator('.counters').textContent()).toContain(`loaded ${job.counters.loaded}`);
    await shot('job-finished');
  });

  it('pauses and resumes a running job', async () => {
    const source = await integration('browser-pause', { records: 400, pageSize: 10, pageDelayMs: 80 });
    const started = await host.engine.jobs.start({ integrationId: source.id, mode: 'full' });
    await page.goto(`${host.uiUrl}jobs/${started.id}`);
    await page.getByRole('button', { name: `Pause job ${started.id}` }).click();
    await expect.poll(() => page.locator('h1 .badge').textContent()).toBe('paused');
    expect((await host.engine.jobs.get(started.id)).status).toBe('paused');
    await shot('job-paused');
    // A page already in flight may still land; after that, nothing moves until the job is resumed.
    await page.waitForTimeout(400);
    const extractedWhilePaused = (await host.engine.jobs.get(started.id)).counters.extracted;
    await page.waitForTimeout(800);
    expect((await host.engine.jobs.get(started.id)).counters.extracted).toBe(extractedWhilePaused);
    expect(extractedWhilePaused).toBeLessThan(403);
    await page.getByRole('button', { name: `Resume job ${started.id}` }).click();
    await expect.poll(() => page.locator('h1 .badge').textContent(), { timeout: 60_000 }).toBe('succeeded');
    await expect.poll(progressValue).toBe(100);
    await shot('job-resumed-finished');
  });

  it('edits a status mapping and replays the raw data with a dry-run preview', async () => {
    const source = await integration('browser-mapping', { records: 20, pageSize: 10, poison: [3] });
    const first = await host.engine.jobs.waitFor(
      (await host.engine.jobs.start({ integrationId: source.id, mode: 'full' })).id,
      {
        timeoutMs: 30_000,
      },
    );
    expect(first.status).toBe('partial');
    expect(
      (await host.engine.raw.list({ integrationId: source.id, status: 'failed' })).total,
    ).toBeGreaterThan(0);

    await page.goto(`${host.uiUrl}mappings?integration=${source.id}`);
    await page.getByRole('button', { name: 'Add status' }).click();
    const rows = page.locator('table[aria-labelledby="statuses-title"] tbody tr');
    const last = rows.last();
    await last.getByLabel(/Source status/).fill('Blocked');
    await last.getByLabel(/Category for/).selectOption('in_progress');
    await last.getByLabel(/Workflow step for/).fill('doing');
    await shot('mappings-edited');
    await page.getByRole('button', { name: 'Save mappings' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/Saved mappings version/);
    const saved = await host.engine.mappings.get(source.id);
    expect(saved.mappings.statuses).toContainEqual({
      rawStatus: 'Blocked',
      category: 'in_progress',
      workflowStep: 'doing',
    });

    await page.getByRole('link', { name: 'Replay raw data…' }).click();
    await page.waitForURL(/\/etl\/raw\?integrationId=/);
    await page.getByLabel('Integration and stream').check();
    await page.getByLabel('Stream (empty = all)').fill('items');
    await page.getByRole('button', { name: 'Preview (dry run)' }).click();
    await expect
      .poll(() => page.getByTestId('replay-preview').textContent())
      .toMatch(/Dry run: 20 records would be replayed/);
    await shot('replay-preview');
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('replay-result').textContent())
      .toMatch(/Replay started for 20 records/);
    await page.getByRole('link', { name: /Follow replay job/ }).click();
    await expect.poll(() => page.locator('h1 .badge').textContent(), { timeout: 30_000 }).toBe('succeeded');
    await expect.poll(progressValue).toBe(100);
    expect((await host.engine.raw.list({ integrationId: source.id, status: 'failed' })).total).toBe(0);
    await shot('replay-finished');
  });

  it('inspects and replays a dead letter from the Queues page', async () => {
    const source = await integration('browser-dead-letter', { records: 10, pageSize: 5, poison: [7] });
    const job = await host.engine.jobs.waitFor(
      (await host.engine.jobs.start({ integrationId: source.id, mode: 'full' })).id,
      {
        timeoutMs: 30_000,
      },
    );
    expect(job.status).toBe('partial');
    const letter = (await host.engine.deadLetters.list()).find(
      (d) => (d.body as { jobId?: string }).jobId === job.id,
    )!;
    expect(letter).toBeDefined();
    await host.engine.mappings.put(source.id, { statuses: [{ rawStatus: 'Blocked', category: 'todo' }] });

    await page.goto(`${host.uiUrl}queues`);
    await expect.poll(() => page.locator('table caption').textContent()).toBe('Per stage');
    await page.getByRole('button', { name: `Inspect dead letter ${letter.id}` }).click();
    const dialog = page.getByRole('dialog', { name: `Dead letter ${letter.id}` });
    await expect.poll(() => dialog.textContent()).toContain('Blocked');
    expect(await dialog.locator('.json-box').textContent()).toContain(job.id);
    await shot('dead-letter-inspect');
    await dialog.getByRole('button', { name: 'Replay this message' }).click();
    await expect
      .poll(() => page.getByRole('status').first().textContent())
      .toContain(`Dead letter ${letter.id} put back`);
    await expect
      .poll(() => page.getByRole('button', { name: `Inspect dead letter ${letter.id}` }).count())
      .toBe(0);
    await expect
      .poll(async () => (await host.engine.raw.list({ jobId: job.id, status: 'failed' })).total, {
        timeout: 20_000,
      })
      .toBe(0);
    await shot('dead-letter-replayed');
  });

  it('tests unsaved settings from the edit form without saving them', async () => {
    const source = await integration('draft-test', { records: 2 });
    await page.goto(`${host.uiUrl}integrations`);
    await page.getByRole('button', { name: 'Edit draft-test' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit integration' });
    await dialog.getByLabel('records').fill('7');
    await dialog.getByRole('button', { name: 'Test these settings' }).click();
    await expect
      .poll(() => dialog.getByRole('status').textContent())
      .toBe('Connection OK — synthetic source ready');
    const stored = await host.engine.integrations.get(source.id);
    expect(stored.config.records).toBe(2);
    expect(stored.updatedAt).toBe(source.updatedAt);
  });

  it('renders script payloads in names as text, works by keyboard and on a narrow screen', async () => {
    const payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
    await integration(payload, { records: 1 });
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${host.uiUrl}integrations`);
    const cell = page.locator('td.integration-name', { hasText: 'onerror' });
    await expect.poll(() => cell.first().textContent()).toBe(payload);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('td.integration-name img').count()).toBe(0);
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBeLessThanOrEqual(1);
    await shot('integrations-narrow');

    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate('document.activeElement?.id')).toBe('main');
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Preferences' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/etl\/preferences$/);
    await page.getByLabel('dark').check();
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    await page.getByLabel('Rows per page').selectOption('10');
    await page.reload();
    expect(await page.evaluate("JSON.parse(localStorage.getItem('etl.prefs') ?? '{}')")).toMatchObject({
      theme: 'dark',
      pageSize: 10,
    });
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    await page.goto(`${host.uiUrl}vector`);
    await expect
      .poll(() => page.getByRole('heading', { name: 'No vector index configured' }).count())
      .toBe(1);
    await page.goto(`${host.uiUrl}`);
    await expect.poll(() => page.getByRole('heading', { name: 'Recent jobs' }).count()).toBe(1);
    await shot('home-narrow-dark');
  });
});

describe('accessibility basics', () => {
  it('labels every control on every page', async () => {
    const source = await integration('browser-labels', { records: 3 });
    const job = await host.engine.jobs.waitFor(
      (await host.engine.jobs.start({ integrationId: source.id })).id,
      {
        timeoutMs: 30_000,
      },
    );
    const unlabelled = `[...document.querySelectorAll('input, select, textarea, button, a[href]')]
      .filter((el) => {
        const name = (el.getAttribute('aria-label') ?? '').trim()
          || [...(el.labels ?? [])].map((l) => l.textContent.trim()).join('')
          || (el.tagName === 'BUTTON' || el.tagName === 'A' ? el.textContent.trim() : '');
        return name === '';
      })
      .map((el) => el.outerHTML.slice(0, 120))`;
    for (const path of [
      '',
      'jobs',
      `jobs/${job.id}`,
      'queues',
      `raw?jobId=${job.id}`,
      'integrations',
      `mappings?integration=${source.id}`,
      'vector',
      'preferences',
    ]) {
      await page.goto(`${host.uiUrl}${path}`);
      await page.waitForLoadState('networkidle');
      await page.waitForSelector('main h1');
      expect(await page.evaluate<string[]>(unlabelled), path).toEqual([]);
      expect(await page.locator('main h1').count(), path).toBe(1);
    }
  });
});

describe('read-only mode in Chromium', () => {
  let readOnlyHost: UiTestHost;
  beforeAll(async () => {
    readOnlyHost = await startUiTestHost({ mountPath: '/ops/etl', ui: { readOnly: true } });
  });
  afterAll(async () => {
    await readOnlyHost?.close();
  });

  it('hides write controls but still shows data and dry runs', async () => {
    const source = await readOnlyHost.engine.integrations.create({
      connector: 'synthetic',
      name: 'ro',
      config: { records: 5 },
    });
    const job = await readOnlyHost.engine.jobs.waitFor(
      (await readOnlyHost.engine.jobs.start({ integrationId: source.id, mode: 'full' })).id,
      { timeoutMs: 30_000 },
    );
    await page.goto(`${readOnlyHost.uiUrl}jobs`);
    await expect.poll(() => page.locator('.top .badge').textContent()).toBe('read-only');
    await expect.poll(() => page.getByRole('link', { name: job.id.slice(0, 8) + '…' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Start job' }).count()).toBe(0);
    await page.getByRole('link', { name: job.id.slice(0, 8) + '…' }).click();
    await page.waitForURL(/\/ops\/etl\/jobs\//);
    await expect.poll(progressValue).toBe(100);
    expect(await page.getByRole('button', { name: /Pause|Resume|Cancel/ }).count()).toBe(0);
    await page.goto(`${readOnlyHost.uiUrl}integrations`);
    await expect.poll(() => page.locator('td.integration-name').first().textContent()).toBe('ro');
    expect(await page.getByRole('button', { name: 'New integration' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Edit|^Delete/ }).count()).toBe(0);
    await page.goto(`${readOnlyHost.uiUrl}raw?jobId=${job.id}`);
    await page.getByRole('button', { name: 'Preview (dry run)' }).click();
    await expect.poll(() => page.getByTestId('replay-preview').textContent()).toMatch(/Dry run: 8 records/);
    expect(await page.getByRole('button', { name: 'Replay', exact: true }).count()).toBe(0);
    await shot('read-only-raw');
  });
});

describe('behind a reverse proxy that adds a path prefix', () => {
  let proxy: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    const { serve } = await import('@hono/node-server');
    const { Hono } = await import('hono');
    const upstream = new URL(host.uiUrl).origin;
    const app = new Hono();
    // Forwards /edge/* to the host with the prefix removed, as a path-rewriting proxy would.
    app.all('/edge/*', async (c) => {
      const url = new URL(c.req.url);
      const target = `${upstream}${url.pathname.slice('/edge'.length)}${url.search}`;
      const headers = new Headers(c.req.raw.headers);
      headers.set('x-forwarded-host', url.host);
      const hasBody = !['GET', 'HEAD'].includes(c.req.method);
      const response = await fetch(target, {
        method: c.req.method,
        headers,
        body: hasBody ? await c.req.arrayBuffer() : undefined,
        redirect: 'manual',
      });
      return new Response(response.body, { status: response.status, headers: response.headers });
    });
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    const { port } = server.address() as import('node:net').AddressInfo;
    proxy = {
      url: `http://127.0.0.1:${port}/edge/etl/`,
      close: () =>
        new Promise<void>((resolve) => {
          (server as unknown as { closeAllConnections(): void }).closeAllConnections();
          server.close(() => resolve());
        }),
    };
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it('loads every page, asset, API call and event stream under the prefix', async () => {
    const source = await integration('browser-proxy', { records: 50, pageSize: 10, pageDelayMs: 20 });
    const requests: string[] = [];
    page.on('request', (request) => requests.push(new URL(request.url()).pathname));
    await page.goto(`${proxy.url}jobs`);
    await page.getByRole('button', { name: 'Start job' }).click();
    const dialog = page.getByRole('dialog', { name: 'Start a job' });
    await dialog.getByLabel('Integration').selectOption(source.id);
    await dialog.getByRole('button', { name: 'Start' }).click();
    await page.waitForURL(/\/edge\/etl\/jobs\/[0-9a-f-]{36}$/);
    await expect.poll(progressValue, { timeout: 30_000 }).toBe(100);
    await page.getByRole('link', { name: 'Queues' }).click();
    await expect.poll(() => page.locator('table caption').textContent()).toBe('Per stage');
    expect(requests.length).toBeGreaterThan(5);
    expect(requests.filter((path) => !path.startsWith('/edge/etl/'))).toEqual([]);
    expect(requests.some((path) => /\/edge\/etl\/api\/jobs\/[0-9a-f-]+\/events$/.test(path))).toBe(true);
  });
});
