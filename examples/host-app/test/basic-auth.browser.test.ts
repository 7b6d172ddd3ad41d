import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '@etl/test-utils';
import { loadConfig } from '../src/config.js';
import { startHost, type RunningHost } from '../src/host.js';
import { ensureUiBundle } from '../src/ui-bundle.js';

/**
 * Basic auth as the README documents it (ETL_UI_USER / ETL_UI_PASSWORD: `basicAuth()` as the UI's `auth`), in
 * Chromium: the 401 carries its `WWW-Authenticate` challenge, so a browser prompts, and Chromium's credentials
 * flow (which answers only a challenge) gets the operator in.
 */
const user = 'ops';
const password = 'correct-horse-battery';

let host: RunningHost;
let dataDir: string;
let browser: Browser;

beforeAll(async () => {
  await ensureUiBundle();
  dataDir = await mkdtemp(join(tmpdir(), 'etl-basic-auth-'));
  host = await startHost(
    loadConfig({
      PORT: '0',
      ETL_DATA_DIR: dataDir,
      ETL_SCHEDULER: 'off',
      ETL_UI_USER: user,
      ETL_UI_PASSWORD: password,
    }),
  );
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('basic auth in front of the mounted UI, in Chromium', () => {
  it('without credentials: 401 with a Basic challenge; Chromium asks for credentials (none given: it gives up)', async () => {
    for (const path of ['/etl/', '/etl/jobs', '/etl/api/jobs', '/etl/assets/app.js']) {
      const answer = await fetch(`${host.url}${path}`);
      expect(answer.status, path).toBe(401);
      expect(answer.headers.get('www-authenticate'), path).toMatch(/^Basic realm=/);
    }
    // A 401 without a challenge would simply be shown; with one, Chromium wants credentials, and a headless
    // browser with none to give ends the navigation with this error.
    const context = await browser.newContext();
    const page = await context.newPage();
    await expect(page.goto(`${host.url}/etl/`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    await context.close();
  });

  it("Chromium's credentials flow answers the challenge: the UI loads and its API calls succeed", async () => {
    const context = await browser.newContext({ httpCredentials: { username: user, password } });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const statuses: number[] = [];
    const apiCalls: { url: string; status: number }[] = [];
    page.on('response', (r) => {
      statuses.push(r.status());
      if (r.url().includes('/etl/api/')) apiCalls.push({ url: r.url(), status: r.status() });
    });
    const response = await page.goto(`${host.url}/etl/jobs`);
    // The first request went without credentials, got the challenge, and Chromium repeated it with them.
    expect(response?.status()).toBe(200);
    await page.getByRole('button', { name: 'Start job' }).waitFor();
    await expect.poll(() => apiCalls.length).toBeGreaterThan(0);
    expect(apiCalls.filter((c) => c.status === 401)).toEqual([]);
    expect(statuses).not.toContain(500);
    await context.close();
  });

  it('wrong credentials: refused with the challenge again', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: user, password: 'wrong-password' },
    });
    const page = await context.newPage();
    // Chromium sent the wrong credentials in answer to the challenge, was refused again and shows the 401.
    const response = await page.goto(`${host.url}/etl/`);
    expect(response?.status()).toBe(401);
    expect(response?.headers()['www-authenticate']).toMatch(/^Basic realm=/);
    await context.close();
  });
});
