import {
  EtlError,
  memoryRateLimit,
  registerSecret,
  type ConnectorEvent,
  type EtlErrorCode,
  type RateLimitBudget,
} from '@etl/core';
import { App, Octokit } from 'octokit';
import type { GithubConfig, GithubConnectorSettings } from './options.js';

export const PLUGIN = 'github';

/** What a client needs from the run it serves; `check()` passes none of the budget or events. */
export interface GithubClientContext {
  integrationId?: string;
  rateLimit?: RateLimitBudget;
  emit?(event: ConnectorEvent): void;
  signal?: AbortSignal;
}

export interface GithubClient {
  readonly octokit: Octokit;
  readonly baseUrl: string;
  /** Runs one GraphQL query, not retried by octokit: the caller decides (smaller pages) on 502s and timeouts. */
  graphql<T>(query: string, variables: Record<string, unknown>): Promise<T>;
}

/**
 * octokit's throttling plugin sends every GraphQL request through its "write" limiter (one at a time, one
 * second apart), as if each were a mutation. The connector only reads, so its writes limiter lets every
 * request through at once; primary and secondary limits are still honoured through `onRateLimit` /
 * `onSecondaryRateLimit` and the shared budget.
 */
const unpacedWrites = {
  key: () => ({ schedule: <T>(_options: unknown, task: () => Promise<T>) => task() }),
};

const quietLog = { debug() {}, info() {}, warn() {}, error() {} };

/** Marks an error thrown because the client's own per-request timer fired. */
export class RequestTimeout extends Error {
  override name = 'RequestTimeout';
}

function isRetriableStatus(status: number | undefined): boolean {
  return status === 502 || status === 503 || status === 504;
}

/** True for errors that a smaller GraphQL page may avoid: 502/503/504 and timeouts. */
export function isOverloadError(error: unknown): boolean {
  if (
    error instanceof RequestTimeout ||
    (error as { cause?: unknown } | null)?.cause instanceof RequestTimeout
  )
    return true;
  const status = (error as { status?: number } | null)?.status;
  return isRetriableStatus(status);
}

/** Wraps anything octokit throws into an EtlError with a message naming what failed. */
export function toEtlError(error: unknown, what: string, baseUrl: string): EtlError {
  if (error instanceof EtlError) return error;
  if (error instanceof RequestTimeout)
    return new EtlError('timeout', `${what}: ${error.message}`, { plugin: PLUGIN, cause: error });
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

/** Builds an octokit for one run: throttled through the shared budget, retried, with per-request timeouts. */
export async function createGithubClient(
  config: GithubConfig,
  settings: GithubConnectorSettings,
  ctx: GithubClientContext = {},
): Promise<GithubClient> {
  registerSecret(config.token);
  registerSecret(config.app?.privateKey);
  const budget = ctx.rateLimit ?? memoryRateLimit();
  const signal = ctx.signal;

  const limited = async (
    kind: 'primary' | 'secondary',
    retryAfter: number,
    options: { method?: string; url?: string },
    retryCount: number,
  ) => {
    const until = new Date(Date.now() + retryAfter * 1000);
    const reason = `GitHub ${kind} rate limit on ${options.method ?? 'GET'} ${options.url ?? ''}; waiting ${retryAfter}s`;
    ctx.emit?.({
      type: 'throttled',
      until: until.toISOString(),
      reason,
      status: kind === 'primary' ? 403 : undefined,
    });
    await budget.pauseUntil(until, reason);
    return retryCount < settings.maxRateLimitRetries && !signal?.aborted;
  };

  // The timer wraps each HTTP exchange, so time spent waiting out a rate limit never counts against it.
  const timedFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const timeout = AbortSignal.timeout(config.requestTimeoutMs);
    const signals = init?.signal ? [init.signal, timeout] : [timeout];
    try {
      return await fetch(input, { ...init, signal: AbortSignal.any(signals) });
    } catch (error) {
      if (timeout.aborted && !init?.signal?.aborted) {
        throw new RequestTimeout(`request timed out after ${config.requestTimeoutMs} ms`);
      }
      throw error;
    }
  };

  const ThrottledOctokit = Octokit.defaults({
    baseUrl: config.baseUrl,
    request: { fetch: timedFetch },
    userAgent: 'etl-connector-github',
    log: quietLog,
    throttle: {
      id: `etl-github-${ctx.integrationId ?? 'check'}-${Math.random().toString(36).slice(2)}`,
      write: unpacedWrites,
      onRateLimit: (
        retryAfter: number,
        options: { method?: string; url?: string },
        _o: unknown,
        retryCount: number,
      ) => limited('primary', retryAfter, options, retryCount),
      onSecondaryRateLimit: (
        retryAfter: number,
        options: { method?: string; url?: string },
        _o: unknown,
        retryCount: number,
      ) => limited('secondary', retryAfter, options, retryCount),
    },
    // 403 and 429 are the throttling plugin's to wait on; 409 is an empty repository, not a failure to retry.
    retry: { doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451], retries: 3 },
  });

  let octokit: Octokit;
  if (config.app) {
    const app = new App({
      appId: Number(config.app.appId),
      privateKey: config.app.privateKey,
      Octokit: ThrottledOctokit,
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
    octokit = new ThrottledOctokit({ auth: config.token });
  }

  octokit.hook.before('request', async (options) => {
    await budget.wait(signal);
    if (signal?.aborted) throw new EtlError('timeout', 'extraction cancelled', { plugin: PLUGIN });
    if (signal) options.request = { ...options.request, signal };
  });
  octokit.hook.after('request', async (response) => {
    // Spending the last unit of the window: pause every worker until the reset instead of being refused.
    if (response.headers['x-ratelimit-remaining'] === '0' && response.headers['x-ratelimit-reset']) {
      const until = new Date(Number(response.headers['x-ratelimit-reset']) * 1000 + 1000);
      const reason = `GitHub primary rate limit spent (${response.headers['x-ratelimit-resource'] ?? 'core'}); waiting for the reset`;
      ctx.emit?.({ type: 'throttled', until: until.toISOString(), reason });
      await budget.pauseUntil(until, reason);
    }
  });

  return {
    octokit,
    baseUrl: config.baseUrl,
    async graphql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
      try {
        return await octokit.graphql<T>(query, { ...variables, request: { retries: 0 } });
      } catch (error) {
        const cause = (error as { cause?: unknown }).cause;
        if (cause instanceof RequestTimeout) throw cause;
        throw error;
      }
    },
  };
}
