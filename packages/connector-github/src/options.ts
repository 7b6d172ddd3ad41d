import { z } from 'zod';

const id = z.union([z.number().int().positive(), z.string().regex(/^\d+$/, 'must be a number')]);

/**
 * One GitHub integration's config: credentials, where GitHub is, and what to read.
 * `token` and `app.privateKey` are secrets (see `secretFields`).
 */
export const githubConfigSchema = z
  .strictObject({
    /** A personal access token (classic or fine-grained) or an installation token. */
    token: z.string().min(1, 'must not be empty').optional(),
    /** GitHub App credentials, instead of a token: the connector mints installation tokens itself. */
    app: z
      .strictObject({
        appId: id,
        privateKey: z.string().min(1, 'must not be empty'),
        installationId: id,
      })
      .optional(),
    /** REST base URL: `https://api.github.com`, or `https://HOST/api/v3` for GitHub Enterprise Server. */
    baseUrl: z
      .string()
      .url('must be a URL like https://api.github.com')
      .default('https://api.github.com')
      .transform((u) => u.replace(/\/+$/, '')),
    /** Organisations whose every repository is synced. */
    organizations: z
      .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'must be an organisation login'))
      .default([]),
    /** Repositories as `owner/name`. */
    repositories: z
      .array(z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be owner/name'))
      .default([]),
    /** Ignore pull requests updated and commits committed before this date (ISO 8601). */
    startDate: z
      .string()
      .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 date')
      .transform((s) => new Date(s).toISOString())
      .optional(),
    /** Pull requests per GraphQL page (halved on 502s and timeouts, grown back after). */
    pageSize: z.number().int().min(1).max(100).default(50),
    /** Reviews per pull request nested in a page; pull requests with more get batched follow-up queries. */
    reviewsPageSize: z.number().int().min(1).max(100).default(20),
    /** Project keys the workspace knows (`ABC`): `ABC-123` in a title or branch links the pull request. */
    workItemProjects: z
      .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be a project key like ABC'))
      .default([]),
    /**
     * Requests of this integration in flight at once, across its streams, repositories and worker processes.
     * Which hosts may be reached (GitHub Enterprise on a private network, plain http) is the host's decision
     * (engine option `network.allow`), never an integration's.
     */
    concurrency: z.number().int().min(1).max(32).default(4),
    /** Requests started per second at most; unlimited by default (GitHub's own windows are always honoured). */
    requestsPerSecond: z.number().positive().max(1000).optional(),
  })
  .refine((c) => Boolean(c.token) !== Boolean(c.app), {
    message:
      'give either a personal access token (token) or GitHub App credentials (app), not both or neither',
    path: ['app'],
  })
  .refine((c) => c.organizations.length + c.repositories.length > 0, {
    message: 'name at least one organisation or repository',
    path: ['repositories'],
  });

export type GithubConfig = z.output<typeof githubConfigSchema>;
export type GithubConfigInput = z.input<typeof githubConfigSchema>;

/** Options of `githubConnector()` itself (the per-integration settings are its config). */
export const githubConnectorOptionsSchema = z.object({
  /** Connector name integrations refer to (default `github`). */
  name: z.string().min(1).default('github'),
  /** Consecutive 502s / timeouts on one GraphQL page before the stream fails. */
  maxServerErrorRetries: z.number().int().min(0).max(50).default(8),
  /** Pull requests whose extra reviews are fetched in one follow-up query. */
  followUpBatchSize: z.number().int().min(1).max(50).default(10),
});

export type GithubConnectorOptions = z.input<typeof githubConnectorOptionsSchema>;
export type GithubConnectorSettings = z.output<typeof githubConnectorOptionsSchema>;

export const secretFields = ['token', 'app.privateKey'];
