import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtlError } from '@etl/core';
import { checkJira, parseJiraConfig } from './connector.js';
import { retryAt } from './jira-http.js';
import { guardedLookup, isPrivateAddress } from './network-guard.js';
import { startFakeJira, type FakeJira } from './testing/index.js';

describe('check() and the network guard', () => {
  let fake: FakeJira;
  beforeAll(async () => {
    fake = await startFakeJira({ issues: 5, seed: 1 });
  });
  afterAll(() => fake.close());
  const config = (extra: Record<string, unknown> = {}) =>
    parseJiraConfig({
      siteUrl: fake.url,
      email: fake.email,
      apiToken: fake.apiToken,
      allowPrivateNetwork: true,
      ...extra,
    });
  const signal = () => AbortSignal.timeout(10_000);

  it('gives one distinct message for success, 401, 403, 404 and an unreachable host', async () => {
    const ok = await checkJira(config(), signal());
    expect(ok).toMatchObject({ ok: true });
    const unauthorized = await checkJira(config({ apiToken: 'not-the-token-1234' }), signal());
    expect(unauthorized.ok).toBe(false);
    expect(unauthorized.message).toContain(`credentials rejected by ${fake.url}`);
    expect(unauthorized.message).not.toContain('not-the-token-1234');

    fake.setFaults({ statusFor: [{ path: '/rest/api/3/myself', status: 403 }] });
    const forbidden = await checkJira(config(), signal());
    fake.setFaults({ statusFor: [{ path: '/rest/api/3/myself', status: 404 }] });
    const missing = await checkJira(config(), signal());
    fake.setFaults({});

    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const unreachable = await checkJira(
      config({ siteUrl: `http://127.0.0.1:${port}`, maxRetries: 0 }),
      signal(),
    );

    const messages = [unauthorized, forbidden, missing, unreachable].map((r) => r.message);
    expect(forbidden.message).toMatch(/403/);
    expect(missing.message).toMatch(/404/);
    expect(unreachable.message).toMatch(/cannot reach/);
    expect(new Set(messages).size).toBe(4);
    for (const r of [forbidden, missing, unreachable]) expect(r.ok).toBe(false);
  });

  it('refuses http, loopback, private and link-local sites without allowPrivateNetwork, naming siteUrl', () => {
    for (const siteUrl of [
      'http://acme.atlassian.net',
      'https://127.0.0.1',
      'https://192.168.1.10',
      'https://169.254.169.254',
      'https://[::1]',
      'https://localhost',
    ]) {
      let error: unknown;
      try {
        parseJiraConfig({ siteUrl, email: 'a@b.c', apiToken: 'tok-12345' });
      } catch (e) {
        error = e;
      }
      expect(isEtlError(error, 'invalid_config'), siteUrl).toBe(true);
      expect((error as Error).message, siteUrl).toMatch(/siteUrl/);
    }
    expect(
      parseJiraConfig({ siteUrl: 'https://acme.atlassian.net', email: 'a@b.c', apiToken: 'tok-12345' })
        .siteUrl,
    ).toBe('https://acme.atlassian.net');
  });

  it('checks the address after DNS resolution', async () => {
    const lookup = (allow: boolean) =>
      new Promise<{ error: Error | null; address: string }>((resolve) =>
        guardedLookup(allow)('localhost', { family: 4 }, (error, address) =>
          resolve({ error, address: String(address) }),
        ),
      );
    const refused = await lookup(false);
    expect(refused.error?.message).toMatch(/siteUrl: localhost resolves to 127\.0\.0\.1/);
    const allowed = await lookup(true);
    expect(allowed.error).toBeNull();
    expect(allowed.address).toBe('127.0.0.1');
    expect(isPrivateAddress('::ffff:10.0.0.1')).toBe(true);
    expect(isPrivateAddress('fe80::1')).toBe(true);
    expect(isPrivateAddress('104.192.136.1')).toBe(false);
  });

  it('reads Retry-After and X-RateLimit-Reset, taking the later', () => {
    const now = Date.UTC(2025, 0, 1);
    expect(retryAt({ 'retry-after': '3' }, now)?.getTime()).toBe(now + 3000);
    expect(retryAt({ 'x-ratelimit-reset': new Date(now + 5000).toISOString() }, now)?.getTime()).toBe(
      now + 5000,
    );
    expect(
      retryAt(
        { 'retry-after': '2', 'x-ratelimit-reset': new Date(now + 1000).toISOString() },
        now,
      )?.getTime(),
    ).toBe(now + 2000);
    expect(retryAt({}, now)).toBeNull();
  });
});
