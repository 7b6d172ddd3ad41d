import { z } from 'zod';
import { EtlError, parseOptions, registerSecret, type CheckResult, type Connector } from '@etl/core';
import { JiraExtractor } from './extractor.js';
import { JiraApi } from './jira-api.js';
import { assertPublicUrl } from './network-guard.js';
import { jiraConfigSchema, type JiraConfig } from './options.js';
import { jiraStreamDefinitions } from './streams.js';
import { JiraTransformer, jiraDefaultMappings } from './transformer.js';

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

/** The integration config schema, with the checks that need no network (scheme, literal private addresses). */
export const jiraIntegrationConfigSchema = jiraConfigSchema.superRefine((config, ctx) => {
  registerSecret(config.apiToken);
  try {
    assertPublicUrl(new URL(config.siteUrl), config.allowPrivateNetwork);
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      path: ['siteUrl'],
      message: (error as Error).message.replace(/^siteUrl: /, ''),
    });
  }
}) as unknown as z.ZodType<JiraConfig>;

/**
 * Validates the site and credentials against `/rest/api/3/myself`, with one message per failure kind.
 */
export async function checkJira(config: JiraConfig, signal: AbortSignal): Promise<CheckResult> {
  registerSecret(config.apiToken);
  const api = new JiraApi(
    { ...config, maxRetries: Math.min(config.maxRetries, 2) },
    {
      rateLimit: { wait: async () => undefined, pauseUntil: async () => undefined },
      emit: () => undefined,
      signal,
    },
  );
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
        return { ok: false, message: `cannot reach ${site}: check the site URL and the network` };
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
    streams: jiraStreamDefinitions,
    extractor: new JiraExtractor(),
    transformer: new JiraTransformer(),
    defaultMappings: jiraDefaultMappings,
    check: (config, ctx) => checkJira(config, ctx.signal),
  };
}

/** Parses a Jira config as the engine would, throwing an `invalid_config` error that names the field. */
export function parseJiraConfig(input: unknown): JiraConfig {
  return parseOptions('jira', 'Jira integration config', jiraIntegrationConfigSchema, input);
}
