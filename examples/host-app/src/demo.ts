import type { Engine, Integration, Job } from '@etl/core';
import { startFakeGitHub } from '@etl/connector-github/testing';
import { startFakeJira } from '@etl/connector-jira/testing';
import { loadConfig } from './config.js';
import { startHost } from './host.js';
import { logLine } from './log.js';
import { onShutdown } from './shutdown.js';
import { exitOnStartupError } from './startup-error.js';
import { ensureUiBundle } from './ui-bundle.js';

/**
 * `pnpm demo`: fake Jira and GitHub servers with seeded data on 127.0.0.1, the host app on embedded
 * PostgreSQL (kept in ETL_DATA_DIR, `.demo-data/` by default) with the in-memory queue, two demo
 * integrations, a first sync of each, and the UI address.
 */
async function ensureIntegration(
  engine: Engine,
  input: { connector: string; name: string; config: Record<string, unknown>; scheduleSeconds: number },
): Promise<Integration> {
  const existing = (await engine.integrations.list()).find(
    (i) => i.connector === input.connector && i.name === input.name,
  );
  // The fake servers listen on a new port each run: point the stored integration at them.
  if (existing) return engine.integrations.update(existing.id, { config: input.config });
  return engine.integrations.create(input);
}

try {
  // The demo's fake servers listen on 127.0.0.1: the host allows loopback for its connectors.
  const config = loadConfig({ ETL_ALLOW_PRIVATE_NETWORK: '127.0.0.0/8', ...process.env });
  await ensureUiBundle();
  const jira = await startFakeJira({ issues: 150, projects: ['ENG', 'OPS'], seed: 7 });
  const github = await startFakeGitHub({
    repos: ['acme/api', 'acme/web'],
    pullRequests: 30,
    commits: 20,
    seed: 7,
  });
  const host = await startHost(config);
  onShutdown(async () => {
    await host.stop();
    await Promise.all([jira.close(), github.close()]);
  }, config.ETL_SHUTDOWN_TIMEOUT_SECONDS * 1000);

  const { engine } = host.runtime;
  const integrations = [
    await ensureIntegration(engine, {
      connector: 'jira',
      name: 'Demo Jira',
      config: {
        siteUrl: jira.url,
        email: jira.email,
        apiToken: jira.apiToken,
        customFields: { storyPoints: 'customfield_10016', sprint: 'customfield_10020' },
      },
      scheduleSeconds: 600,
    }),
    await ensureIntegration(engine, {
      connector: 'github',
      name: 'Demo GitHub',
      config: {
        token: github.token,
        baseUrl: github.url,
        organizations: ['acme'],
        workItemProjects: ['ENG'],
      },
      scheduleSeconds: 600,
    }),
  ];
  const jobs: Job[] = [];
  for (const integration of integrations) {
    jobs.push(
      await engine.jobs.start({ integrationId: integration.id, mode: 'incremental', requestedBy: 'demo' }),
    );
  }
  for (const job of jobs) {
    const done = await engine.jobs.waitFor(job.id, { timeoutMs: 120_000 });
    const integration = integrations.find((i) => i.id === done.integrationId)!;
    logLine({
      event: 'demo.sync',
      integration: integration.name,
      jobId: done.id,
      status: done.status,
      extracted: done.counters.extracted,
      loaded: done.counters.loaded,
    });
  }
  process.stdout.write(`\nETL demo is running — open ${host.url}/etl/  (Ctrl+C to stop)\n\n`);
} catch (error) {
  exitOnStartupError(error);
}
