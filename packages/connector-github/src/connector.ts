import { parseOptions, type CheckResult, type Connector } from '@etl/core';
import { createGithubClient, githubHttp, toEtlError } from './client.js';
import { githubExtractor, STREAMS } from './extractor.js';
import {
  githubConfigSchema,
  githubConnectorOptionsSchema,
  secretFields,
  type GithubConfig,
  type GithubConnectorOptions,
} from './options.js';
import { githubTransformer } from './transformer.js';

/**
 * The GitHub connector: repositories, pull requests with reviews (GraphQL), commits on the default branch
 * and people, partitioned by repository, throttled through the integration's shared rate-limit budget.
 *
 * @example
 * const engine = createEngine({ db, queue: memoryQueue(), connectors: [githubConnector()] });
 * await engine.integrations.create({
 *   connector: 'github', name: 'acme',
 *   config: { token: process.env.GITHUB_TOKEN, organizations: ['acme'], workItemProjects: ['ABC'] },
 * });
 */
export function githubConnector(options: GithubConnectorOptions = {}): Connector<GithubConfig> {
  const settings = parseOptions('github', 'githubConnector', githubConnectorOptionsSchema, options);
  return {
    name: settings.name,
    configSchema: githubConfigSchema,
    secretFields,
    originField: 'baseUrl',
    http: githubHttp,
    streams: [
      { name: STREAMS.repositories, primaryKey: ['node_id'], partitioned: true },
      { name: STREAMS.pullRequests, primaryKey: ['id'], cursorField: 'updatedAt', partitioned: true },
      { name: STREAMS.reviews, primaryKey: ['id'], cursorField: 'updatedAt', partitioned: true },
      { name: STREAMS.commits, primaryKey: ['sha'], cursorField: 'commit.committer.date', partitioned: true },
      { name: STREAMS.people, primaryKey: ['node_id'], partitioned: true },
    ],
    extractor: githubExtractor(settings),
    transformer: githubTransformer(),
    async check(config, ctx): Promise<CheckResult> {
      try {
        const client = await createGithubClient(config, ctx.http);
        const who = config.app
          ? `GitHub App ${config.app.appId} installation ${config.app.installationId}`
          : (
              await client.octokit.request('GET /user').catch((e: unknown) => {
                throw toEtlError(e, 'validating the credentials', config.baseUrl);
              })
            ).data.login;
        const problems: string[] = [];
        for (const org of config.organizations) {
          await client.octokit.request('GET /orgs/{org}', { org }).catch((e: unknown) => {
            problems.push(`organisation ${org}: ${toEtlError(e, 'not accessible', config.baseUrl).message}`);
          });
        }
        for (const repo of config.repositories) {
          const [owner, name] = repo.split('/');
          await client.octokit
            .request('GET /repos/{owner}/{repo}', { owner, repo: name })
            .catch((e: unknown) => {
              const status = (e as { status?: number }).status;
              problems.push(
                status === 404
                  ? `repository ${repo} does not exist or the credentials cannot see it`
                  : `repository ${repo}: ${toEtlError(e, 'not accessible', config.baseUrl).message}`,
              );
            });
        }
        if (problems.length)
          return { ok: false, message: `signed in as ${who}, but: ${problems.join('; ')}` };
        const total = config.organizations.length + config.repositories.length;
        return {
          ok: true,
          message: `signed in as ${who}; ${total} organisation(s) / repositories accessible`,
        };
      } catch (error) {
        return { ok: false, message: toEtlError(error, 'checking the connection', config.baseUrl).message };
      }
    },
  };
}
