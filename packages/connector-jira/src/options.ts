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
    /**
     * Requests of this integration in flight at once, across its streams, partitions and worker processes.
     * Which hosts may be reached (private networks, plain http) is the host's decision (engine option
     * `network.allow`), never an integration's.
     */
    concurrency: z.number().int().min(1).max(16).default(4),
    /** Requests started per second at most, for a site that asks for pacing; unlimited by default. */
    requestsPerSecond: z.number().positive().max(1000).optional(),
  })
  .strict();

export type JiraConfigInput = z.input<typeof jiraConfigSchema>;
export type JiraConfig = z.output<typeof jiraConfigSchema>;
