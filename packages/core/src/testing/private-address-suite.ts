import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector } from '../connector/connector.js';
import { startTestEngine, type TestEngine } from './test-engine.js';
import {
  fakeDns,
  loopbackName,
  privateAddressCases,
  publicName,
  redirectingServer,
} from './private-addresses.js';

/** The connector, a config pointing at a URL, the field naming that URL, and configs that try to switch the guard off. */
export interface PrivateAddressSuiteOptions<C> {
  connector: () => Connector<C>;
  /** A valid config whose source URL (the connector's `originField`) is `url`. */
  config: (url: string) => Record<string, unknown>;
  /** The config field holding the URL, which every refusal must name. */
  field: string;
  /** Config keys an API user might try to switch the guard off with; each must be refused or ignored. */
  switchOffAttempts?: Record<string, unknown>[];
}

/**
 * The private-address matrix through the engine, for one connector: every form of loopback, private,
 * link-local and carrier-grade NAT address, a name resolving to 127.0.0.1 and a public host redirecting to a
 * private address are refused — by the connection check and by a job — with an error naming the field, and no
 * request reaches the listener behind them; the same addresses are reached once the host allows them.
 *
 * @example
 * testPrivateAddresses({ connector: () => jiraConnector(), field: 'siteUrl', config: (url) => ({ siteUrl: url, … }) });
 */
export function testPrivateAddresses<C>(options: PrivateAddressSuiteOptions<C>): void {
  describe(`private addresses (${options.field})`, () => {
    let server: Server;
    let port: number;
    let requests = 0;
    let guarded: TestEngine;
    let open: TestEngine;
    const lookup = fakeDns();

    beforeAll(async () => {
      server = createServer((_req, res) => {
        requests += 1;
        res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
      const connectors = [options.connector()];
      const policy = { maxAttempts: 1, connectTimeoutMs: 500, requestTimeoutMs: 2000, giveUpAfterMs: 2000 };
      guarded = await startTestEngine({ connectors, network: { allow: [publicName], lookup }, http: policy });
      open = await startTestEngine({
        connectors,
        network: { allow: ['127.0.0.0/8', '::1/128', 'localhost', loopbackName], lookup },
        http: policy,
      });
    });
    afterAll(async () => {
      await guarded?.close();
      await open?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    const hasCheck = !!options.connector().check;
    /** What the connection check (or, without one, a job) said about the integration's source. */
    const probe = async (engine: TestEngine, integrationId: string): Promise<string> => {
      if (hasCheck) return (await engine.engine.integrations.test(integrationId)).message;
      const job = await engine.engine.jobs.start({ integrationId, mode: 'full' });
      const done = await engine.engine.jobs.waitFor(job.id, { timeoutMs: 30_000 });
      return done.errors.map((e) => e.message).join('\n');
    };
    const refusal = new RegExp(`${options.field}: .*(address|must use https)`);
    const create = (engine: TestEngine, url: string, extra: Record<string, unknown> = {}) =>
      engine.engine.integrations.create({
        connector: options.connector().name,
        name: `guard ${Math.random().toString(36).slice(2)}`,
        config: { ...options.config(url), ...extra },
      });

    it(
      'refuses every private form in the connection check and in a job, naming the field',
      { timeout: 120_000 },
      async () => {
        for (const { name, url } of privateAddressCases(port)) {
          const before = requests;
          const integration = await create(guarded, url);
          if (hasCheck) {
            const check = await guarded.engine.integrations.test(integration.id);
            expect(check.ok, name).toBe(false);
            expect(check.message, name).toMatch(refusal);
          }
          const job = await guarded.engine.jobs
            .start({ integrationId: integration.id, mode: 'full' })
            .then((j) => guarded.engine.jobs.waitFor(j.id, { timeoutMs: 30_000 }));
          expect(job.status, name).toBe('failed');
          expect(job.errors.map((e) => e.message).join('\n'), name).toMatch(refusal);
          expect(requests - before, `${name}: requests that reached the listener`).toBe(0);
        }
      },
    );

    it('refuses a public host that redirects to a private address', { timeout: 60_000 }, async () => {
      const redirect = await redirectingServer(`http://127.0.0.1:${port}/`);
      try {
        const before = requests;
        const integration = await create(guarded, redirect.url);
        expect(await probe(guarded, integration.id)).toMatch(
          new RegExp(`${options.field}: 127\\.0\\.0\\.1 is a loopback address`),
        );
        expect(redirect.requests).toBeGreaterThan(0);
        expect(requests - before).toBe(0);
      } finally {
        await redirect.close();
      }
    });

    it('has no integration config that switches the guard off', { timeout: 60_000 }, async () => {
      const attempts = options.switchOffAttempts ?? [
        { allowPrivateNetwork: true },
        { network: { allow: ['0.0.0.0/0'] } },
      ];
      for (const extra of attempts) {
        const created = await create(guarded, `http://127.0.0.1:${port}`, extra).catch(
          (error: unknown) => error,
        );
        if (created instanceof Error) {
          expect(created.message).toMatch(/unknown key|Unrecognized key/i);
          continue;
        }
        const before = requests;
        expect(await probe(guarded, (created as { id: string }).id)).toMatch(refusal);
        expect(requests - before).toBe(0);
      }
    });

    it('reaches the same addresses once the host allows them', { timeout: 60_000 }, async () => {
      const allowed = [
        `http://127.0.0.1:${port}`,
        `http://localhost:${port}`,
        `http://${loopbackName}:${port}`,
        `http://2130706433:${port}`,
      ];
      for (const url of allowed) {
        const before = requests;
        const integration = await create(open, url);
        await probe(open, integration.id);
        expect(requests - before, url).toBeGreaterThan(0);
      }
    });
  });
}
