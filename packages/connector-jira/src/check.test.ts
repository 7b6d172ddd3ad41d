import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceHttp } from '@etl/core';
import { checkJira, jiraConnector, parseJiraConfig } from './connector.js';
import type { JiraConfig } from './options.js';
import { startFakeJira, type FakeJira } from './testing/index.js';

describe('check()', () => {
  let fake: FakeJira;
  beforeAll(async () => {
    fake = await startFakeJira({ issues: 5, seed: 1 });
  });
  afterAll(() => fake.close());
  const clients = sourceHttp({ network: { allow: ['127.0.0.0/8'] }, policy: { maxAttempts: 1 } });
  const config = (extra: Record<string, unknown> = {}) =>
    parseJiraConfig({ siteUrl: fake.url, email: fake.email, apiToken: fake.apiToken, ...extra });
  const check = (c: JiraConfig) =>
    checkJira(
      c,
      clients.client(jiraConnector(), c, { integrationId: 'check', signal: AbortSignal.timeout(10_000) }),
    );

  it('gives one distinct message for success, 401, 403, 404 and an unreachable host', async () => {
    const ok = await check(config());
    expect(ok).toMatchObject({ ok: true });
    const unauthorized = await check(config({ apiToken: 'not-the-token-1234' }));
    expect(unauthorized.ok).toBe(false);
    expect(unauthorized.message).toContain(`credentials rejected by ${fake.url}`);
    expect(unauthorized.message).not.toContain('not-the-token-1234');

    fake.setFaults({ statusFor: [{ path: '/rest/api/3/myself', status: 403 }] });
    const forbidden = await check(config());
    fake.setFaults({ statusFor: [{ path: '/rest/api/3/myself', status: 404 }] });
    const missing = await check(config());
    fake.setFaults({});

    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const unreachable = await check(config({ siteUrl: `http://127.0.0.1:${port}` }));

    const messages = [unauthorized, forbidden, missing, unreachable].map((r) => r.message);
    expect(forbidden.message).toMatch(/403/);
    expect(missing.message).toMatch(/404/);
    expect(unreachable.message).toMatch(
      new RegExp(`cannot reach 127\\.0\\.0\\.1:${port} \\(siteUrl\\): connection refused`),
    );
    expect(new Set(messages).size).toBe(4);
    for (const r of [forbidden, missing, unreachable]) expect(r.ok).toBe(false);
  });

  it('has no config switch for private networks: the host decides', () => {
    expect(() =>
      parseJiraConfig({
        siteUrl: fake.url,
        email: 'a@b.c',
        apiToken: 'tok-12345',
        allowPrivateNetwork: true,
      }),
    ).toThrow(/allowPrivateNetwork/);
  });
});
