import { EtlError, registerSecret, type EtlErrorCode, type HttpClient, type SourceHttp } from '@etl/core';
import { App, Octokit } from 'octokit';
import type { GithubConfig } from './options.js';

export const PLUGIN = 'github';

export interface GithubClient {
  readonly octokit: Octokit;
  readonly baseUrl: string;
  /** Runs one GraphQL query; 502s that outlast the client's retries reach the caller, which shrinks its pages. */
  graphql<T>(query: string, variables: Record<string, unknown>): Promise<T>;
}

const quietLog = { debug() {}, info() {}, warn() {}, error() {} };

/** True for errors that a smaller GraphQL page may avoid: 502/503/504 (after the client's own retries). */
export function isOverloadError(error: unknown): boolean {
  const status = (error as { status?: number } | null)?.status;
  return status === 502 || status === 503 || status === 504;
}

/** Wraps anything octokit throws into an EtlError with a message naming what failed. */
export function toEtlError(error: unknown, what: string, baseUrl: string): EtlError {
  if (error instanceof EtlError) return error;
  // octokit wraps what its fetch threw (here: the HTTP client's own error) into a RequestError "500".
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof EtlError) return cause;
  const e = error as {
    status?: number;
    message?: string;
    name?: string;
    errors?: { type?: string; message?: string }[];
  };
  const upstream = (e.message ?? String(error))
    .split('\n')[0]
    .replace(/ - https:\/\/docs\.github\.com\S*/, '');
  if (e.name === 'GraphqlResponseError' && Array.isArray(e.errors)) {
    const first = e.errors[0] ?? {};
    const code: EtlErrorCode =
      first.type === 'NOT_FOUND'
        ? 'not_found'
        : first.type === 'RATE_LIMITED'
          ? 'rate_limited'
          : first.type === 'FORBIDDEN'
            ? 'forbidden'
            : 'source_error';
    return new EtlError(code, `${what}: ${first.message ?? upstream}`, {
      plugin: PLUGIN,
      cause: error,
      details: e.errors,
    });
  }
  const status = e.status;
  const codes: Record<number, EtlErrorCode> = {
    401: 'auth_failed',
    403: 'forbidden',
    404: 'not_found',
    409: 'conflict',
    429: 'rate_limited',
  };
  if (status === 401) {
    return new EtlError(
      'auth_failed',
      `${what}: GitHub at ${baseUrl} rejected the credentials (401 ${upstream}); check the token or app credentials`,
      {
        plugin: PLUGIN,
        status,
        cause: error,
      },
    );
  }
  if (status && codes[status])
    return new EtlError(codes[status], `${what}: ${status} ${upstream}`, {
      plugin: PLUGIN,
      status,
      cause: error,
    });
  if (status && status >= 500)
    return new EtlError('source_error', `${what}: GitHub answered ${status} ${upstream}`, {
      plugin: PLUGIN,
      status,
      cause: error,
    });
  if (e.name === 'AbortError')
    return new EtlError('timeout', `${what}: aborted`, { plugin: PLUGIN, cause: error });
  return new EtlError('unreachable', `${what}: ${upstream}`, { plugin: PLUGIN, status, cause: error });
}

/** How the engine's HTTP client reaches GitHub: the REST base URL and, for a token, its Authorization header. */
export const githubHttp: SourceHttp<GithubConfig> = {
  baseUrl: (config) => config.baseUrl,
  // An App's installation tokens are minted by octokit at run time; the client still sends them only to baseUrl.
  auth: (config) => (config.token ? { authorization: `token ${config.token}` } : undefined),
  headers: { 'user-agent': 'etl-connector-github' },
  concurrency: 4,
  limits: (config) => ({ concurrency: config.concurrency, requestsPerSecond: config.requestsPerSecond }),
};

/**
 * Builds an octokit for one run on the engine's HTTP client (`request.fetch`): the guard, the secret rule,
 * timeouts, retries, rate-limit windows and the integration's concurrency cap are the client's, so octokit's
 * own retry and throttling plugins are off.
 */
export async function createGithubClient(config: GithubConfig, http: HttpClient): Promise<GithubClient> {
  registerSecret(config.token);
  registerSecret(config.app?.privateKey);
  const RunOctokit = Octokit.defaults({
    baseUrl: config.baseUrl,
    request: { fetch: http.fetch },
    userAgent: 'etl-connector-github',
    log: quietLog,
    throttle: { enabled: false },
    retry: { enabled: false },
  });

  let octokit: Octokit;
  if (config.app) {
    const app = new App({
      appId: Number(config.app.appId),
      privateKey: config.app.privateKey,
      Octokit: RunOctokit,
    });
    try {
      octokit = (await app.getInstallationOctokit(Number(config.app.installationId))) as Octokit;
    } catch (error) {
      throw toEtlError(
        error,
        `GitHub App ${config.app.appId} installation ${config.app.installationId}`,
        config.baseUrl,
      );
    }
  } else {
    octokit = new RunOctokit();
  }

  // GraphQL 502s come back at once: the extractor answers them with smaller pages, not the same query again.
  const graphqlFetch = http.fetcher({ retryServerErrors: false });
  return {
    octokit,
    baseUrl: config.baseUrl,
    async graphql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await octokit.graphql<T>(query, { ...variables, request: { fetch: graphqlFetch } });
        } catch (error) {
          // GraphQL reports a spent primary limit as a 200 with RATE_LIMITED; the client has already paused
          // the integration until the reset its headers named, so asking again waits that out.
          const errors = (error as { errors?: { type?: string }[] }).errors;
          if (attempt < 5 && errors?.some((e) => e.type === 'RATE_LIMITED')) continue;
          throw error;
        }
      }
    },
  };
}
