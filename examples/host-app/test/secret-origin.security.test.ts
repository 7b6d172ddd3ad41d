import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeGitHub } from '@etl/connector-github/testing';
import { startFakeJira } from '@etl/connector-jira/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMountedUi, type MountedUi } from './mounted-ui.js';

/**
 * A hostile API user changes an integration's URL to a host of their own, keeps the secret masked or leaves it
 * out, tests the connection and starts a job: the host must never receive the stored secret.
 */
const SENTINEL = 'sentinel-SECRET-4f2a9c71e0b3d8';

/** Every spelling of the sentinel a request could carry: clear, and base64 at each of the three alignments. */
function spellings(secret: string): string[] {
  const out = [secret];
  for (const prefix of ['', 'x', 'xy']) {
    const b64 = Buffer.from(prefix + secret).toString('base64');
    // Drop the characters that depend on what surrounds the secret.
    out.push(b64.slice(prefix ? 4 : 0, -4));
  }
  return out;
}

interface Listener {
  url: string;
  /** Method, URL, headers and body of every request received. */
  requests: string[];
  close(): Promise<void>;
}

async function startListener(): Promise<Listener> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}\n${JSON.stringify(req.headers)}\n${body}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Case {
  connector: string;
  secretField: string;
  urlField: string;
  /** The integration config against the connector's own fake, holding the sentinel. */
  home(): Promise<{ config: Record<string, unknown>; close(): Promise<void> }>;
  /** Config fields that point the integration at another host (and try everything else that might help). */
  pointAt(url: string): Record<string, unknown>;
}

const cases: Case[] = [
  {
    connector: 'jira',
    secretField: 'apiToken',
    urlField: 'siteUrl',
    async home() {
      const jira = await startFakeJira({ issues: 4, projects: ['ENG'], apiToken: SENTINEL });
      return {
        config: { siteUrl: jira.url, email: jira.email, apiToken: SENTINEL },
        close: () => jira.close(),
      };
    },
    pointAt: (url) => ({ siteUrl: url }),
  },
  {
    connector: 'github',
    secretField: 'token',
    urlField: 'baseUrl',
    async home() {
      const github = await startFakeGitHub({
        repos: ['acme/api'],
        pullRequests: 2,
        commits: 2,
        token: SENTINEL,
      });
      return {
        config: { token: SENTINEL, baseUrl: github.url, repositories: ['acme/api'] },
        close: () => github.close(),
      };
    },
    pointAt: (url) => ({ baseUrl: url }),
  },
];

describe('a stored secret never follows a changed URL (through the mounted UI)', () => {
  let ui: MountedUi;
  let listener: Listener;

  const api: MountedUi['api'] = (...args) => ui.api(...args);

  const runJob = async (integrationId: string) => {
    const started = await api('POST', '/jobs', { integrationId, mode: 'full' });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const id = started.body.job.id as string;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { body } = await api('GET', `/jobs/${id}`);
      if (['succeeded', 'partial', 'failed', 'cancelled'].includes(body.job.status)) return body.job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${body.job.status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    ui = await startMountedUi({
      schemaPrefix: 'origin',
      // The fakes and the listener are on 127.0.0.1: the host allows loopback (no integration config can).
      network: { allow: ['127.0.0.0/8'] },
    });
    listener = await startListener();
  });
  afterAll(async () => {
    await ui.close();
    await listener.close();
  });

  it.each(cases)(
    '$connector: change $urlField to a local listener, mask or omit $secretField, test, start a job',
    async (c) => {
      const home = await c.home();
      try {
        const created = await api('POST', '/integrations', {
          connector: c.connector,
          name: `probe ${c.connector}`,
          config: home.config,
        });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        const id = created.body.integration.id as string;
        expect(created.body.integration.config[c.secretField]).toBe('••••••');
        expect((await runJob(id)).status).toBe('succeeded');

        const elsewhere = c.pointAt(listener.url);
        for (const config of [elsewhere, { ...elsewhere, [c.secretField]: '••••••' }]) {
          const patched = await api('PATCH', `/integrations/${id}`, { config });
          expect(patched.status).toBe(400);
          expect(patched.body.error.issues).toContainEqual({
            path: c.secretField,
            message: expect.stringContaining(`re-enter ${c.secretField}: the site changed`),
          });
          const tested = await api('POST', `/integrations/${id}/test`, { config });
          expect(tested.status).toBe(400);
          expect(tested.body.error.message).toContain(`re-enter ${c.secretField}`);
        }
        // The stored config is unchanged: its test and a job still go to the home site only.
        const stored = await api('GET', `/integrations/${id}`);
        expect(stored.body.integration.config[c.urlField]).toBe(home.config[c.urlField]);
        expect((await api('POST', `/integrations/${id}/test`)).body.result.ok).toBe(true);
        expect((await runJob(id)).status).toBe('succeeded');

        // With the secret entered again, the new site gets that one and nothing else.
        const retyped = await api('POST', `/integrations/${id}/test`, {
          config: { ...elsewhere, [c.secretField]: 'typed-in-for-the-new-site-1' },
        });
        expect(retyped.status).toBe(200);
        expect(listener.requests.length).toBeGreaterThan(0);
        expect(listener.requests.join('\n')).toContain(
          c.connector === 'jira'
            ? Buffer.from(`${String(home.config.email)}:typed-in-for-the-new-site-1`).toString('base64')
            : 'typed-in-for-the-new-site-1',
        );

        const everything = listener.requests.join('\n');
        for (const spelling of spellings(SENTINEL)) expect(everything).not.toContain(spelling);
        expect(spellings(SENTINEL).some((s) => JSON.stringify(created.body).includes(s))).toBe(false);
      } finally {
        listener.requests.length = 0;
        await home.close();
      }
    },
  );
});
