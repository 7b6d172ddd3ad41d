import { z } from 'zod';

const customFieldId = z
  .string()
  .regex(/^customfield_\d+$/, 'must look like customfield_10016')
  .optional();

/**
 * Options of `jiraConnector`, also the config an integration stores (the API token is a secret field).
 */
export const jiraConfigSchema = z
  .object({
    /** Site root, e.g. `https://acme.atlassian.net`. */
    siteUrl: z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }),
    email: z.string().min(3, 'must be the Atlassian account email'),
    apiToken: z.string().min(1, 'must not be empty'),
    /** Project keys to extract; empty with `jql` set means every project the JQL reaches. */
    projects: z.array(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be a project key like ENG')).default([]),
    /** Extra JQL ANDed to every issue search. */
    jql: z.string().min(1).optional(),
    /** First incremental run reads issues updated on or after this date. */
    startDate: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
    /** Issues per search page (Jira Cloud caps it at 100 when fields are requested). */
    pageSize: z.number().int().min(1).max(100).default(100),
    /** Re-read this many minutes before the last cursor: covers clock skew and search index lag. */
    lookbackMinutes: z.number().int().min(0).max(1440).default(5),
    customFields: z
      .object({ storyPoints: customFieldId, sprint: customFieldId, epicLink: customFieldId })
      .strict()
      .default({}),
    /** Allows http and private / loopback addresses (self-hosted or test servers). */
    allowPrivateNetwork: z.boolean().default(false),
    /** Requests in flight at once per stream run. */
    concurrency: z.number().int().min(1).max(16).default(4),
    /** Retries of a 5xx, 429 or network failure before the request fails. */
    maxRetries: z.number().int().min(0).max(20).default(8),
    /** First delay of the exponential 5xx back-off (with full jitter). */
    retryBaseDelayMs: z.number().int().min(1).max(60_000).default(500),
    /** Abort one HTTP request after this long. */
    requestTimeoutMs: z.number().int().min(100).max(300_000).default(60_000),
  })
  .strict();

export type JiraConfigInput = z.input<typeof jiraConfigSchema>;
export type JiraConfig = z.output<typeof jiraConfigSchema>;
