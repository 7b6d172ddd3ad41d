import { z } from 'zod';
import {
  EtlError,
  parseOptions,
  registerSecret,
  type CheckResult,
  type Connector,
  type HttpClient,
  type SourceHttp,
} from '@etl/core';
import { jiraExtractor } from './extractor.js';
import { jiraApi } from './jira-api.js';
import { jiraConfigSchema, type JiraConfig } from './options.js';
import { jiraStreamDefinitions } from './streams.js';
import { jiraTransformer, jiraDefaultMappings } from './transformer.js';

const factoryOptionsSchema = z
  .object({
    /** Connector name as registered with the engine. */
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes')
      .default('jira'),
  })
  .strict();

export type JiraConnectorOptions = z.input<typeof factoryOptionsSchema>;

/** The integration config schema; the token is registered for redaction as soon as it is parsed. */
export const jiraIntegrationConfigSchema = jiraConfigSchema.superRefine((config) => {
  registerSecret(config.apiToken);
}) as unknown as z.ZodType<JiraConfig>;

/** How the engine's HTTP client reaches a Jira site: the site URL, basic auth with the API token. */
export const jiraHttp: SourceHttp<JiraConfig> = {
  baseUrl: (config) => config.siteUrl,
  auth: (config) => ({
    authorization: `Basic ${Buffer.from(`${config.email}:${config.apiToken}`).toString('base64')}`,
  }),
  concurrency: 4,
  limits: (config) => ({ concurrency: config.concurrency, requestsPerSecond: config.requestsPerSecond }),
  policy: { maxAttempts: 6 },
};

/**
 * Validates the site and credentials against `/rest/api/3/myself`, with one message per failure kind.
 */
export async function checkJira(config: JiraConfig, http: HttpClient): Promise<CheckResult> {
  registerSecret(config.apiToken);
  const api = jiraApi(http);
  try {
    const me = await api.myself();
    return { ok: true, message: `connected to ${api.site} as ${me.displayName ?? me.accountId}` };
  } catch (error) {
    if (!(error instanceof EtlError)) throw error;
    const site = api.site;
    switch (error.code) {
      case 'auth_failed':
        return {
          ok: false,
          message: `credentials rejected by ${site}: check the account email and API token`,
        };
      case 'forbidden':
        return {
          ok: false,
          message: `${site} accepted the credentials but refused access (403): the account may lack Jira access`,
        };
      case 'not_found':
        return { ok: false, message: `${site} has no Jira REST API v3 (404): check the site URL` };
      case 'unreachable':
        return { ok: false, message: error.message };
      default:
        return { ok: false, message: error.message };
    }
  }
}

/**
 * Jira Cloud connector: projects, issue types, statuses, users, boards, sprints, and issues with their complete
 * changelogs, transformed to canonical work items and transitions.
 *
 * @example
 * const engine = createEngine({ db, queue: memoryQueue(), connectors: [jiraConnector()] });
 * await engine.integrations.create({
 *   connector: 'jira', name: 'Acme',
 *   config: { siteUrl: 'https://acme.atlassian.net', email: 'me@acme.com', apiToken: token, projects: ['ENG'] },
 * });
 */
export function jiraConnector(options: JiraConnectorOptions = {}): Connector<JiraConfig> {
  const { name } = parseOptions('jira', 'jiraConnector', factoryOptionsSchema, options);
  return {
    name,
    configSchema: jiraIntegrationConfigSchema,
    secretFields: ['apiToken'],
    originField: 'siteUrl',
    http: jiraHttp,
    streams: jiraStreamDefinitions,
    extractor: jiraExtractor(),
    transformer: jiraTransformer(),
    defaultMappings: jiraDefaultMappings,
    check: (config, ctx) => checkJira(config, ctx.http),
  };
}

/** Parses a Jira config as the engine would, throwing an `invalid_config` error that names the field. */
export function parseJiraConfig(input: unknown): JiraConfig {
  return parseOptions('jira', 'Jira integration config', jiraIntegrationConfigSchema, input);
}
