import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isEtlError } from '@etl/core';
import { privateAddressCases, startTestEngine, type TestEngine } from '@etl/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackerConnector } from '../src/index.js';
import { startFakeTracker, type FakeTracker } from './fake-tracker.js';

/**
 * The example connector under the rules every connector gets from core: its token follows `baseUrl`'s origin
 * (a changed URL with the token masked or left out is refused, and another host never receives it), and
 * private addresses are the host's decision.
 */
const SENTINEL = 'tracker-sentinel-7c1e9a42d0';

describe('tracker connector: secrets and private addresses', () => {
  let tracker: FakeTracker;
  let harness: TestEngine;
  const seen: string[] = [];
  let listenerUrl: string;
  let closeListener: () => Promise<void>;

  beforeAll(async () => {
    tracker = await startFakeTracker({ teams: ['core'], itemsPerTeam: 3, token: SENTINEL });
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"items":[],"next":null}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    listenerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    closeListener = () => new Promise((resolve) => server.close(() => resolve()));
    harness = await startTestEngine({
      connectors: [trackerConnector()],
      network: { allow: ['127.0.0.0/8'] },
    });
  });
  afterAll(async () => {
    await harness?.close();
    await tracker?.close();
    await closeListener?.();
  });

  it('a changed baseUrl without the token is refused; the other host never receives the stored one', async () => {
    const { engine } = harness;
    const created = await engine.integrations.create({
      connector: 'tracker',
      name: 'probe',
      config: { baseUrl: tracker.url, token: SENTINEL },
    });
    const run = async () =>
      engine.jobs.waitFor((await engine.jobs.start({ integrationId: created.id, mode: 'full' })).id, {
        timeoutMs: 30_000,
      });
    expect((await run()).status).toBe('succeeded');
    for (const config of [{ baseUrl: listenerUrl }, { baseUrl: listenerUrl, token: '••••••' }]) {
      for (const attempt of [
        engine.integrations.update(created.id, { config }),
        engine.integrations.test(created.id, { config }),
      ]) {
        const error = await attempt.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isEtlError(error, 'invalid_config'), String(error)).toBe(true);
        expect((error as Error).message).toContain('re-enter token: the site changed');
      }
    }
    expect((await engine.integrations.test(created.id)).ok).toBe(true);
    expect((await run()).status).toBe('succeeded');
    // Entered again, the token goes to the new site: the listener gets that one, never the stored one.
    await engine.integrations.update(created.id, {
      config: { baseUrl: listenerUrl, token: 'typed-again-0123' },
    });
    await run();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.join('\n')).toContain('Bearer typed-again-0123');
    expect(seen.join('\n')).not.toContain(SENTINEL);
  });

  it('private addresses are refused unless the host allows them; no config switches that off', async () => {
    const strict = await startTestEngine({ connectors: [trackerConnector()] });
    try {
      for (const address of privateAddressCases(Number(new URL(tracker.url).port))) {
        const created = await strict.engine.integrations.create({
          connector: 'tracker',
          name: `private ${address.name}`,
          config: { baseUrl: address.url, token: SENTINEL },
        });
        const job = await strict.engine.jobs.waitFor(
          (await strict.engine.jobs.start({ integrationId: created.id, mode: 'full' })).id,
          { timeoutMs: 30_000 },
        );
        expect(job.status, address.name).toBe('failed');
        expect(job.errors.map((e) => e.message).join('\n'), address.name).toContain('baseUrl');
      }
      const refused = await strict.engine.integrations
        .create({
          connector: 'tracker',
          name: 'switch-off',
          config: { baseUrl: tracker.url, token: SENTINEL, allowPrivateNetwork: true },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isEtlError(refused, 'invalid_config')).toBe(true);
    } finally {
      await strict.close();
    }
  });
});
