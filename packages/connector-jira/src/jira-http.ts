import http from 'node:http';
import https from 'node:https';
import { EtlError, type ConnectorEvent, type RateLimitBudget } from '@etl/core';
import { assertPublicUrl, guardedLookup } from './network-guard.js';

/** What every request of one stream run shares: the integration's request budget, events and cancellation. */
export interface JiraRequestContext {
  rateLimit: RateLimitBudget;
  emit(event: ConnectorEvent): void;
  signal: AbortSignal;
}

export interface JiraHttpSettings {
  siteUrl: string;
  email: string;
  apiToken: string;
  allowPrivateNetwork: boolean;
  maxRetries: number;
  retryBaseDelayMs: number;
  requestTimeoutMs: number;
}

export interface JiraResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Thrown (as the `details` of an EtlError) when a 2xx response is not valid JSON; keeps the text for raw storage. */
export interface UnparseableResponse {
  unparseable: true;
  method: string;
  url: string;
  status: number;
  body: string;
  parseError: string;
}

export function unparseableOf(error: unknown): UnparseableResponse | undefined {
  if (error instanceof EtlError && (error.details as UnparseableResponse | undefined)?.unparseable) {
    return error.details as UnparseableResponse;
  }
  return undefined;
}

const MAX_REDIRECTS = 5;
const MAX_BACKOFF_MS = 30_000;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

/** When a 429 says the client may try again: the later of `Retry-After` and `X-RateLimit-Reset`. */
export function retryAt(headers: http.IncomingHttpHeaders, now = Date.now()): Date | null {
  let until: number | null = null;
  const retryAfter = headers['retry-after'];
  if (typeof retryAfter === 'string') {
    const seconds = Number(retryAfter);
    const at = Number.isFinite(seconds) ? now + seconds * 1000 : Date.parse(retryAfter);
    if (Number.isFinite(at)) until = at;
  }
  const reset = headers['x-ratelimit-reset'];
  if (typeof reset === 'string') {
    const at = /^\d+$/.test(reset) ? Number(reset) * (reset.length > 11 ? 1 : 1000) : Date.parse(reset);
    if (Number.isFinite(at)) until = Math.max(until ?? 0, at);
  }
  return until === null ? null : new Date(until);
}

function errorMessagesOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { errorMessages?: string[]; errors?: Record<string, string> };
    const parts = [...(parsed.errorMessages ?? []), ...Object.values(parsed.errors ?? {})];
    return parts.join('; ').slice(0, 300);
  } catch {
    return body.slice(0, 200);
  }
}

const transientCodes = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNREFUSED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/**
 * The one HTTP path of the connector: budget wait, SSRF-guarded connection, redirects checked hop by hop,
 * 429 pauses for the whole integration, 5xx back-off with full jitter, and errors mapped to `EtlError`s
 * that never carry the token.
 */
export class JiraHttp {
  private readonly base: URL;
  private readonly authorization: string;
  private readonly lookup;

  constructor(
    private readonly settings: JiraHttpSettings,
    private readonly ctx: JiraRequestContext,
  ) {
    this.base = new URL(settings.siteUrl.endsWith('/') ? settings.siteUrl : `${settings.siteUrl}/`);
    assertPublicUrl(this.base, settings.allowPrivateNetwork);
    this.authorization = `Basic ${Buffer.from(`${settings.email}:${settings.apiToken}`).toString('base64')}`;
    this.lookup = guardedLookup(settings.allowPrivateNetwork);
  }

  get site(): string {
    return this.base.origin + this.base.pathname.replace(/\/$/, '');
  }

  /** Sends one request, retrying what may be retried, and returns the parsed JSON body. */
  async requestJson<T>(method: string, pathAndQuery: string, body?: string): Promise<T> {
    const response = await this.request(method, pathAndQuery, body);
    try {
      return (response.body === '' ? null : JSON.parse(response.body)) as T;
    } catch (error) {
      const url = new URL(pathAndQuery.replace(/^\//, ''), this.base).toString();
      const details: UnparseableResponse = {
        unparseable: true,
        method,
        url,
        status: response.status,
        body: response.body.slice(0, 1_000_000),
        parseError: (error as Error).message,
      };
      throw new EtlError(
        'source_error',
        `malformed JSON from ${method} ${url}: ${(error as Error).message}`,
        {
          plugin: 'jira',
          status: response.status,
          details,
        },
      );
    }
  }

  async request(method: string, pathAndQuery: string, body?: string): Promise<JiraResponse> {
    const { signal } = this.ctx;
    let failures = 0;
    let throttles = 0;
    for (;;) {
      await this.ctx.rateLimit.wait(signal);
      let response: JiraResponse;
      try {
        response = await this.follow(method, new URL(pathAndQuery.replace(/^\//, ''), this.base), body);
      } catch (error) {
        if (error instanceof EtlError) throw error;
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (signal.aborted) throw error;
        if (!transientCodes.has(code) || failures >= this.settings.maxRetries) {
          throw new EtlError('unreachable', `cannot reach ${this.site}: ${(error as Error).message}`, {
            plugin: 'jira',
            cause: error,
          });
        }
        failures += 1;
        await sleep(this.backoff(failures), signal);
        continue;
      }
      const { status } = response;
      if (status >= 200 && status < 300) return response;
      if (status === 429) {
        throttles += 1;
        const until = retryAt(response.headers) ?? new Date(Date.now() + this.backoff(throttles));
        const reason = `429 from ${this.site}`;
        this.ctx.emit({ type: 'throttled', until: until.toISOString(), reason, status });
        await this.ctx.rateLimit.pauseUntil(until, reason);
        if (throttles > this.settings.maxRetries * 4) {
          throw new EtlError('rate_limited', `${this.site} kept refusing requests with 429`, {
            plugin: 'jira',
            status,
          });
        }
        const left = until.getTime() - Date.now();
        if (left > 0) await sleep(left, signal);
        continue;
      }
      if (status >= 500) {
        if (failures >= this.settings.maxRetries) {
          throw new EtlError(
            'source_error',
            `${this.site} answered ${status} to ${method} ${pathAndQuery.split('?')[0]} ${failures + 1} times: ${errorMessagesOf(response.body)}`,
            { plugin: 'jira', status },
          );
        }
        failures += 1;
        await sleep(this.backoff(failures), signal);
        continue;
      }
      throw this.clientError(method, pathAndQuery, response);
    }
  }

  /** Exponential back-off with full jitter. */
  private backoff(attempt: number): number {
    const cap = Math.min(MAX_BACKOFF_MS, this.settings.retryBaseDelayMs * 2 ** (attempt - 1));
    return Math.round(cap / 2 + Math.random() * (cap / 2));
  }

  private clientError(method: string, pathAndQuery: string, response: JiraResponse): EtlError {
    const { status } = response;
    const what = `${method} ${pathAndQuery.split('?')[0]}`;
    const detail = errorMessagesOf(response.body);
    const options = { plugin: 'jira', status };
    if (status === 401) {
      return new EtlError(
        'auth_failed',
        `credentials rejected by ${this.site} (401): check the account email and API token`,
        options,
      );
    }
    if (status === 403) {
      return new EtlError(
        'forbidden',
        `${this.site} refused ${what} (403): the account lacks permission${detail ? ` — ${detail}` : ''}`,
        options,
      );
    }
    if (status === 404) {
      return new EtlError(
        'not_found',
        `${this.site} has no ${what} (404): is this a Jira Cloud site?${detail ? ` — ${detail}` : ''}`,
        options,
      );
    }
    return new EtlError(
      'source_error',
      `${this.site} rejected ${what} (${status})${detail ? `: ${detail}` : ''}`,
      options,
    );
  }

  private async follow(method: string, url: URL, body: string | undefined): Promise<JiraResponse> {
    let current = url;
    for (let hop = 0; ; hop += 1) {
      assertPublicUrl(current, this.settings.allowPrivateNetwork);
      const sameOrigin = current.origin === this.base.origin;
      const response = await this.send(method, current, body, sameOrigin);
      const location = response.headers.location;
      if (response.status >= 300 && response.status < 400 && location) {
        if (hop >= MAX_REDIRECTS) {
          throw new EtlError('source_error', `${this.site} redirected more than ${MAX_REDIRECTS} times`, {
            plugin: 'jira',
          });
        }
        current = new URL(location, current);
        if (response.status === 303) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      return response;
    }
  }

  private send(method: string, url: URL, body: string | undefined, withAuth: boolean): Promise<JiraResponse> {
    const transport = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (withAuth) headers.Authorization = this.authorization;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    return new Promise<JiraResponse>((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method,
          headers,
          lookup: this.lookup,
          signal: this.ctx.signal,
          timeout: this.settings.requestTimeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })),
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}
