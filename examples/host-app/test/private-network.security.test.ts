import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createEngine, memoryQueue, openDb } from '@etl/core';
import {
  fakeDns,
  loopbackName,
  privateAddressCases,
  publicName,
  redirectingServer,
  uniqueSchema,
} from '@etl/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMountedUi, type MountedUi } from './mounted-ui.js';
import { hostConnectors } from '../src/runtime.js';

/**
 * The private-address matrix through the HTTP API of the mounted UI: for every connector, an integration
 * pointed at each private address (every spelling of loopback, metadata, private ranges, a name resolving to
 * loopback, a public host redirecting to loopback) is refused — on save, on test or when its job runs — with an
 * error naming the URL field, and a server listening there gets no connection. Configs that try to switch
 * the guard off are refused as unknown keys. Only the host's `network.allow` opens the way.
 */

/** Counts TCP connections: whatever a guard lets through reaches it, whatever the scheme. */
async function connectionCounter(): Promise<{ port: number; connections: number; close(): Promise<void> }> {
  const state = { connections: 0 };
  const server: Server = createServer((socket) => {
    state.connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface ConnectorCase {
  connector: string;
  urlField: string;
  config(url: string): Record<string, unknown>;
}

const connectorCases: ConnectorCase[] = [
  {
    connector: 'jira',
    urlField: 'siteUrl',
    config: (url) => ({ siteUrl: url, email: 'ops@acme.test', apiToken: 'matrix-token-0123456789' }),
  },
  {
    connector: 'github',
    urlField: 'baseUrl',
    config: (url) => ({ baseUrl: url, token: 'matrix-token-0123456789', repositories: ['acme/api'] }),
  },
];

/** What an API user might put in a config to switch the guard off. */
const switchOffAttempts: Record<string, unknown>[] = [
  { allowPrivateNetwork: true },
  { network: { allow: ['0.0.0.0/0', '::/0'] } },
  { allowPrivate: true },
  { insecure: true },
  { guard: false },
];

describe('private addresses are the host’s decision (through the mounted UI)', () => {
  let ui: MountedUi;
  let target: Awaited<ReturnType<typeof connectionCounter>>;
  let redirect: Awaited<ReturnType<typeof redirectingServer>>;

  const api: MountedUi['api'] = (...args) => ui.api(...args);
  const engine = () => ui.engine;

  beforeAll(async () => {
    target = await connectionCounter();
    redirect = await redirectingServer(`https://127.0.0.1:${target.port}`);
    ui = await startMountedUi({
      schemaPrefix: 'netguard',
      // The host allows one public-looking name (the redirecting server) and nothing private.
      network: { allow: [publicName], lookup: fakeDns() },
      http: { maxAttempts: 1, giveUpAfterMs: 2_000, connectTimeoutMs: 1_000 },
    });
  });
  afterAll(async () => {
    await ui.close();
    await Promise.all([target.close(), redirect.close()]);
  });

  const addresses = () => [
    ...privateAddressCases(target.port),
    { name: 'a public host that redirects to 127.0.0.1', url: redirect.url },
  ];

  it.each(connectorCases)('$connector: every private address is refused, naming $urlField', async (c) => {
    const refusals: string[] = [];
    for (const address of addresses()) {
      const what = `${c.connector} ${address.name} (${address.url})`;
      const created = await api('POST', '/integrations', {
        connector: c.connector,
        name: `matrix ${address.name}`,
        config: c.config(address.url),
      });
      if (created.status === 400) {
        // Refused on save (a literal private address): the issue names the field.
        expect(JSON.stringify(created.body.error.issues), what).toContain(c.urlField);
        refusals.push(`${address.name}: save`);
        continue;
      }
      expect(created.status, `${what}: ${JSON.stringify(created.body)}`).toBe(201);
      const id = created.body.integration.id as string;
      const tested = await api('POST', `/integrations/${id}/test`);
      expect(tested.status, what).toBe(200);
      expect(tested.body.result.ok, `${what}: ${tested.body.result.message}`).toBe(false);
      const started = await api('POST', '/jobs', { integrationId: id, mode: 'full' });
      expect(started.status, what).toBe(201);
      const job = await engine().jobs.waitFor(started.body.job.id, { timeoutMs: 30_000 });
      expect(job.status, what).toBe('failed');
      const errors = job.errors.map((e) => e.message).join('\n');
      expect(errors, what).toContain(c.urlField);
      expect(errors, what).toContain('unless the host allows it');
      refusals.push(`${address.name}: test and job`);
    }
    expect(refusals).toHaveLength(addresses().length);
    expect(target.connections, 'connections that reached the private listener').toBe(0);
  });

  it.each(connectorCases)('$connector: no config switches the guard off', async (c) => {
    for (const attempt of switchOffAttempts) {
      const created = await api('POST', '/integrations', {
        connector: c.connector,
        name: `switch-off ${Object.keys(attempt)[0]}`,
        config: { ...c.config(`https://127.0.0.1:${target.port}`), ...attempt },
      });
      expect(created.status, JSON.stringify(attempt)).toBe(400);
      const key = Object.keys(attempt)[0]!;
      expect(created.body.error.issues, JSON.stringify(created.body)).toContainEqual(
        expect.objectContaining({ path: expect.stringContaining(key) }),
      );
    }
    expect(target.connections).toBe(0);
  });

  it('the host allows what it names: the same integration then reaches the address', async () => {
    const opened = await openDb();
    const allowing = await createEngine({
      db: opened.db,
      schema: uniqueSchema('netallow'),
      queue: memoryQueue({ maxAttempts: 1 }),
      connectors: hostConnectors(),
      secretKey: 'private-network-matrix-key-0123456789',
      network: { allow: ['127.0.0.0/8', loopbackName], lookup: fakeDns() },
      http: { maxAttempts: 1, giveUpAfterMs: 2_000, connectTimeoutMs: 1_000 },
    });
    try {
      const before = target.connections;
      const created = await allowing.integrations.create({
        connector: 'github',
        name: 'allowed',
        config: connectorCases[1]!.config(`https://${loopbackName}:${target.port}`),
      });
      await allowing.integrations.test(created.id);
      expect(target.connections).toBeGreaterThan(before);
    } finally {
      await allowing.stop();
      await opened.close();
    }
  });
});
