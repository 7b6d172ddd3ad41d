import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { z } from 'zod';
import type { ConnectorEvent } from '../connector/connector.js';
import { EtlError, redact, type EtlErrorCode } from '../errors.js';
import type { NetworkGuard } from './network-guard.js';
import { abortReason, sleep } from '../sleep.js';
import type { RequestGate } from './request-gate.js';
import { retryAt, windowSpent } from './retry-at.js';

/** Timeouts and retries of a connector's HTTP client; every field has a default. */
export const httpPolicySchema = z.strictObject({
  /** Time to open a TCP (and TLS) connection. */
  connectTimeoutMs: z.number().int().min(50).max(120_000).default(10_000),
  /** Time for one attempt, from sending to the last byte of the answer. */
  requestTimeoutMs: z.number().int().min(50).max(600_000).default(45_000),
  /** Attempts of one request (the first included) on 5xx and transient network failures. */
  maxAttempts: z.number().int().min(1).max(20).default(6),
  /** First back-off delay; doubles per attempt, with jitter, up to `maxDelayMs`. */
  baseDelayMs: z.number().int().min(1).max(60_000).default(500),
  maxDelayMs: z.number().int().min(1).max(300_000).default(15_000),
  /**
   * A request whose connection keeps failing (refused, reset, no answer) gives up after this long in all,
   * so an unreachable source fails its job in bounded time instead of retrying for minutes.
   */
  giveUpAfterMs: z.number().int().min(100).max(600_000).default(50_000),
  /** Throttled answers (429) one request may wait out before it fails. */
  maxThrottles: z.number().int().min(0).max(1000).default(50),
  maxRedirects: z.number().int().min(0).max(20).default(5),
});
/** Timeouts, attempts and back-off of the HTTP client (parsed). */
export type HttpPolicy = z.output<typeof httpPolicySchema>;
/** Timeouts, attempts and back-off of the HTTP client, as given. */
export type HttpPolicyInput = z.input<typeof httpPolicySchema>;

/** A query-string value; arrays repeat the key, null and undefined drop it. */
export type QueryValue = string | number | boolean | null | undefined | (string | number)[];

/** One request of {@link HttpClient.request}. */
export interface HttpRequest {
  method?: string;
  /** A path relative to the base URL (`rest/api/3/search`, `/items`) or an absolute URL. */
  path: string;
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  /** Statuses returned to the caller instead of thrown (e.g. `[404]` when a missing record is normal). */
  accept?: number[];
}

/** An answer of the HTTP client. */
export interface HttpResponse<T = string> {
  status: number;
  headers: Headers;
  /** The final URL, after redirects. */
  url: string;
  body: T;
}

/**
 * The HTTP client the engine gives each extraction (`ctx.http`): base URL and auth from the integration, the
 * host's private-network guard on every connection and redirect, the secret sent only to its own origin,
 * connect and total timeouts, retries with back-off and jitter, `Retry-After` and reset headers honoured for
 * every worker of the integration, and a cap on requests in flight.
 *
 * @example
 * const page = await ctx.http.json<{ items: Item[]; next?: string }>({ path: 'items', query: { cursor } });
 */
export interface HttpClient {
  /** The integration's base URL, when the connector declares one. */
  readonly baseUrl: URL | null;
  /** Sends one request (retried as its class allows) and returns the answer's text. */
  request(request: HttpRequest): Promise<HttpResponse<string>>;
  /** Like `request`, parsing the answer as JSON (null for an empty body). */
  json<T>(request: HttpRequest | string): Promise<T>;
  /**
   * The same transport as a `fetch` function, for SDKs that take one (octokit's `request.fetch`, an axios
   * adapter): guard, secret rule, timeouts, retries, cap and windows all apply; non-2xx answers are returned.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /**
   * A `fetch` like {@link HttpClient.fetch} with its own retry rule: `retryServerErrors: false` returns 5xx
   * answers at once, for a caller that answers them itself (a smaller page, a narrower query).
   */
  fetcher(options: { retryServerErrors: boolean }): typeof fetch;
  /** Closes the connections this client holds. */
  close(): Promise<void>;
}

/** `createHttpClient`'s options: base URL, secrets, guard, gate, policy. */
export interface HttpClientOptions {
  /** Names the connector in error messages (`[etl] [jira] …`). */
  plugin: string;
  baseUrl?: string | null;
  /** The config field the base URL came from: errors about where requests go name it. */
  field?: string;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** Secret headers (Authorization, …), sent only to `secretOrigin`. */
  auth?: Record<string, string>;
  /** The origin (scheme + host + port) the secret was saved for; the base URL's origin by default. */
  secretOrigin?: string | null;
  guard: NetworkGuard;
  gate: RequestGate;
  policy?: HttpPolicyInput;
  signal?: AbortSignal;
  emit?(event: ConnectorEvent): void;
  /**
   * Hosts (`host:port`) found unreachable, shared by the clients of one job: once one request gave up on a
   * host, the others fail at once with the same error instead of each waiting out its own timeouts.
   */
  unreachable?: Map<string, EtlError>;
}

const transientCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

const causeWords: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EAI_AGAIN: 'DNS lookup failed (temporary)',
  ENOTFOUND: 'unknown host',
  UND_ERR_SOCKET: 'connection closed by the other side',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer',
  UND_ERR_BODY_TIMEOUT: 'answer stalled',
};

/** The innermost error of a `fetch failed` chain: the one that says what happened. */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let i = 0; i < 5; i += 1) {
    if (current instanceof EtlError) return current;
    const cause = (current as { cause?: unknown } | null)?.cause;
    if (cause === undefined || cause === null) return current;
    current = cause;
  }
  return current;
}

const codeOf = (error: unknown) => String((error as { code?: unknown } | null)?.code ?? '');

function isTlsError(error: unknown): boolean {
  const code = codeOf(error);
  return (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/.test(code)
  );
}

function errorMessageOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as {
      message?: string;
      error?: string;
      errorMessages?: string[];
      errors?: unknown;
    };
    const parts = [
      parsed.message,
      parsed.error,
      ...(parsed.errorMessages ?? []),
      ...(parsed.errors && typeof parsed.errors === 'object' && !Array.isArray(parsed.errors)
        ? Object.values(parsed.errors as Record<string, string>)
        : []),
    ].filter((p): p is string => typeof p === 'string' && p.length > 0);
    return parts.join('; ').slice(0, 300);
  } catch {
    return body.replace(/\s+/g, ' ').trim().slice(0, 200);
  }
}

function withQuery(url: URL, query: Record<string, QueryValue> | undefined): URL {
  if (!query) return url;
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) url.searchParams.append(key, String(v));
    else url.searchParams.set(key, String(value));
  }
  return url;
}

/** `host:port` of a URL, with the scheme's default port spelled out. */
export function hostPort(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.hostname}:${port}`;
}

/** A URL as it may appear in events and errors: no credentials, no query values. */
export function safeUrl(url: URL): string {
  const copy = new URL(url.toString());
  copy.username = '';
  copy.password = '';
  for (const key of [...copy.searchParams.keys()]) copy.searchParams.set(key, '…');
  return redact(copy.toString().replace(/%E2%80%A6/g, '…'));
}

/**
 * The connection pool of one client: every address a name resolves to, and every literal address, is checked
 * by the guard at connect time, so the address checked is the address connected to.
 */
function guardedAgent(guard: NetworkGuard, policy: HttpPolicy, field: string): Agent {
  const connect = buildConnector({ timeout: policy.connectTimeoutMs, lookup: guard.lookup(field) });
  return new Agent({
    connect(connectOptions, callback) {
      const hostname = connectOptions.hostname.replace(/^\[|\]$/g, '');
      try {
        // A literal address is never looked up, so the lookup hook would not see it: check it here.
        guard.checkAddress(hostname, hostname, field);
      } catch (error) {
        callback(error as Error, null);
        return;
      }
      connect(connectOptions, callback);
    },
    headersTimeout: policy.requestTimeoutMs,
    bodyTimeout: policy.requestTimeoutMs,
  });
}

/**
 * Builds the HTTP client of one run. The engine calls this for every extraction (`ctx.http`); connectors and
 * tests may call it themselves with a {@link memoryGate}.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const policy = httpPolicySchema.parse(options.policy ?? {});
  const field = options.field ?? 'baseUrl';
  const plugin = options.plugin;
  const guard = options.guard;
  const runSignal = options.signal ?? new AbortController().signal;
  const emit = options.emit ?? (() => undefined);

  let baseUrl: URL | null = null;
  if (options.baseUrl) {
    try {
      baseUrl = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    } catch {
      throw new EtlError('invalid_config', `${field}: ${options.baseUrl} is not a URL`, { plugin });
    }
    guard.checkUrl(baseUrl, field);
  }
  const secretOrigin = options.secretOrigin ?? baseUrl?.origin ?? null;
  const secretHeaders = Object.fromEntries(
    Object.entries(options.auth ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const hasSecret = Object.keys(secretHeaders).length > 0;
  if (hasSecret && baseUrl && secretOrigin !== baseUrl.origin) {
    throw new EtlError(
      'invalid_config',
      `${field}: the stored secret was saved for ${secretOrigin}, not ${baseUrl.origin}; enter the secret again for the new URL`,
      { plugin, details: { field, secretOrigin } },
    );
  }

  const agent = guardedAgent(guard, policy, field);

  const resolveUrl = (path: string): URL => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(path)) return new URL(path);
    if (!baseUrl) {
      throw new EtlError('invalid_input', `${path} is relative but the connector declares no base URL`, {
        plugin,
      });
    }
    return new URL(path.replace(/^\//, ''), baseUrl);
  };

  const backoff = (attempt: number) => {
    const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(cap / 2 + Math.random() * (cap / 2));
  };

  const unreachable = (url: URL, cause: unknown, attempts: number) => {
    const code = codeOf(cause);
    const words =
      causeWords[code] ?? (cause instanceof Error ? cause.message : String(cause)) ?? 'no connection';
    return new EtlError(
      'unreachable',
      `cannot reach ${hostPort(url)} (${field}): ${words}${code && !causeWords[code] ? ` (${code})` : ''}, after ${attempts} attempt${attempts === 1 ? '' : 's'}`,
      { plugin, cause, details: { host: url.hostname, port: url.port, code } },
    );
  };

  const statusError = (method: string, url: URL, status: number, body: string): EtlError => {
    const detail = errorMessageOf(body);
    const what = `${method} ${safeUrl(url).split('?')[0]}`;
    const codes: Record<number, EtlErrorCode> = {
      400: 'invalid_input',
      401: 'auth_failed',
      403: 'forbidden',
      404: 'not_found',
      405: 'invalid_input',
      409: 'conflict',
      410: 'not_found',
      422: 'invalid_input',
    };
    const code: EtlErrorCode = codes[status] ?? (status === 429 ? 'rate_limited' : 'source_error');
    const hint =
      status === 401 ? ': the source rejected the credentials' : status === 403 ? ': permission denied' : '';
    return new EtlError(code, `${what} answered ${status}${hint}${detail ? ` — ${detail}` : ''}`, {
      plugin,
      status,
      details: { status, permanent: code !== 'source_error' && code !== 'rate_limited' },
    });
  };

  interface Sent {
    status: number;
    headers: Headers;
    url: URL;
    body: string;
  }

  /** One exchange (redirects followed hop by hop, each hop checked), inside one slot of the gate. */
  async function exchange(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: string | undefined,
    deadline: number,
    signal: AbortSignal,
  ): Promise<Sent> {
    const slot = await options.gate.acquire(signal);
    try {
      let current = url;
      let currentMethod = method;
      let currentBody = body;
      for (let hop = 0; ; hop += 1) {
        guard.checkUrl(current, field);
        const sendHeaders: Record<string, string> = { ...(options.headers ?? {}), ...headers };
        for (const name of Object.keys(sendHeaders)) {
          if (name.toLowerCase() === 'authorization' && current.origin !== secretOrigin)
            delete sendHeaders[name];
        }
        if (hasSecret && current.origin === secretOrigin) Object.assign(sendHeaders, secretHeaders);
        const timeout = AbortSignal.timeout(
          Math.max(1, Math.min(policy.requestTimeoutMs, deadline - Date.now())),
        );
        const response = await undiciFetch(current, {
          method: currentMethod,
          headers: sendHeaders,
          body: currentBody,
          redirect: 'manual',
          dispatcher: agent,
          signal: AbortSignal.any([signal, timeout]),
        }).catch((error: unknown) => {
          if (timeout.aborted && !signal.aborted) {
            throw Object.assign(new Error('no answer'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
          }
          throw error;
        });
        const location = response.headers.get('location');
        if (response.status >= 300 && response.status < 400 && location) {
          await response.body?.cancel().catch(() => undefined);
          if (hop >= policy.maxRedirects) {
            throw new EtlError(
              'source_error',
              `${safeUrl(url)} redirected more than ${policy.maxRedirects} times`,
              {
                plugin,
              },
            );
          }
          const next = new URL(location, current);
          if (
            response.status === 303 ||
            ((response.status === 301 || response.status === 302) && currentMethod === 'POST')
          ) {
            currentMethod = 'GET';
            currentBody = undefined;
          }
          current = next;
          continue;
        }
        const text = await response.text().catch((error: unknown) => {
          if (timeout.aborted && !signal.aborted) {
            throw Object.assign(new Error('answer stalled'), { code: 'UND_ERR_BODY_TIMEOUT' });
          }
          throw error;
        });
        const sent: Sent = {
          status: response.status,
          headers: response.headers as unknown as Headers,
          url: current,
          body: text,
        };
        await noteLimits(method, sent);
        return sent;
      }
    } finally {
      await slot.release();
    }
  }

  const throttledStatus = (sent: Sent) =>
    sent.status === 429 ||
    ((sent.status === 403 || sent.status === 503) &&
      (sent.headers.get('retry-after') !== null || windowSpent(sent.headers)));

  /** Opens the integration's window before the slot is released, so no other request starts inside it. */
  async function noteLimits(method: string, sent: Sent) {
    const throttled = throttledStatus(sent);
    if (!throttled && !windowSpent(sent.headers)) return;
    const until = retryAt(sent.headers) ?? (throttled ? new Date(Date.now() + 1000) : null);
    if (!until || until.getTime() <= Date.now()) return;
    const reason = throttled
      ? `${sent.status} from ${sent.url.host} to ${method} ${safeUrl(sent.url).split('?')[0]}`
      : `${sent.url.host} says its window is spent (X-RateLimit-Remaining: 0)`;
    emit({ type: 'throttled', until: until.toISOString(), reason, status: sent.status });
    await options.gate.pauseUntil(until, reason);
  }

  /** A connection failure no retry can fix (an unknown host, a TLS failure, a refusal of ours) is thrown at once. */
  function throwIfPermanent(url: URL, cause: unknown): void {
    if (cause instanceof EtlError) throw cause;
    if (codeOf(cause) === 'ENOTFOUND') {
      throw new EtlError('unreachable', `cannot reach ${hostPort(url)} (${field}): unknown host`, {
        plugin,
        cause,
        details: { host: url.hostname, permanent: true },
      });
    }
    if (isTlsError(cause)) {
      throw new EtlError(
        'unreachable',
        `cannot reach ${hostPort(url)} (${field}): TLS failed — ${(cause as Error).message}`,
        { plugin, cause, details: { host: url.hostname, permanent: true } },
      );
    }
  }

  /**
   * How long to wait before trying a failed connection again; throws when no retry may fix it or the attempts
   * or the time are spent, remembering the host as unreachable for the job's other requests.
   */
  function retryDelayAfter(url: URL, cause: unknown, attempts: number, deadline: number): number {
    try {
      throwIfPermanent(url, cause);
    } catch (failure) {
      if (!(cause instanceof EtlError)) options.unreachable?.set(hostPort(url), failure as EtlError);
      throw failure;
    }
    const transient = transientCodes.has(codeOf(cause));
    const wait = backoff(attempts);
    if (!transient || attempts >= policy.maxAttempts || Date.now() + wait >= deadline) {
      const failure = unreachable(url, cause, attempts);
      options.unreachable?.set(hostPort(url), failure);
      throw failure;
    }
    return wait;
  }

  async function send(request: HttpRequest, signal: AbortSignal = runSignal): Promise<Sent> {
    const method = (request.method ?? 'GET').toUpperCase();
    const url = withQuery(resolveUrl(request.path), request.query);
    guard.checkUrl(url, field);
    const headers: Record<string, string> = { accept: 'application/json', ...(request.headers ?? {}) };
    let body: string | undefined;
    if (request.body !== undefined && request.body !== null) {
      body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
        headers['content-type'] = 'application/json';
    }
    const known = options.unreachable?.get(hostPort(url));
    if (known) throw known;
    const started = Date.now();
    const deadline = started + policy.giveUpAfterMs;
    let attempts = 0;
    let throttles = 0;
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      attempts += 1;
      let sent: Sent;
      try {
        sent = await exchange(
          method,
          url,
          headers,
          body,
          throttles > 0 ? Date.now() + policy.giveUpAfterMs : deadline,
          signal,
        );
      } catch (error) {
        if (signal.aborted) throw abortReason(signal);
        const cause = rootCause(error);
        const wait = retryDelayAfter(url, cause, attempts, deadline);
        emit({
          type: 'warning',
          message: `${method} ${safeUrl(url)}: ${causeWords[codeOf(cause)] ?? codeOf(cause)}; retrying in ${wait} ms`,
        });
        await sleep(wait, signal);
        continue;
      }
      emit({ type: 'request', method, url: safeUrl(sent.url), status: sent.status });
      if (sent.status >= 200 && sent.status < 300) return sent;
      // A throttle is waited out even where the caller takes the status itself (an SDK's 403 / 429).
      if (!throttledStatus(sent) && request.accept?.includes(sent.status)) return sent;
      if (throttledStatus(sent)) {
        throttles += 1;
        if (throttles > policy.maxThrottles) {
          throw new EtlError(
            'rate_limited',
            `${sent.url.host} kept throttling ${method} ${safeUrl(url)} (${throttles} times)`,
            {
              plugin,
              status: sent.status,
            },
          );
        }
        // The gate holds every request of the integration until the window ends; this one waits its turn there.
        continue;
      }
      if (sent.status >= 500) {
        const wait = backoff(attempts);
        if (attempts >= policy.maxAttempts) throw statusError(method, url, sent.status, sent.body);
        emit({
          type: 'warning',
          message: `${method} ${safeUrl(url)} answered ${sent.status}; retrying in ${wait} ms`,
        });
        await sleep(wait, signal);
        continue;
      }
      throw statusError(method, url, sent.status, sent.body);
    }
  }

  const client: HttpClient = {
    baseUrl,
    async request(request) {
      const sent = await send(request);
      return { status: sent.status, headers: sent.headers, url: sent.url.toString(), body: sent.body };
    },
    async json<T>(request: HttpRequest | string): Promise<T> {
      const req = typeof request === 'string' ? { path: request } : request;
      const response = await client.request(req);
      if (response.body.trim() === '') return null as T;
      try {
        return JSON.parse(response.body) as T;
      } catch (error) {
        throw new EtlError(
          'source_error',
          `${req.method ?? 'GET'} ${safeUrl(new URL(response.url))} answered malformed JSON: ${(error as Error).message}`,
          {
            plugin,
            status: response.status,
            details: {
              unparseable: true,
              status: response.status,
              body: response.body.slice(0, 1_000_000),
              url: safeUrl(new URL(response.url)),
            },
          },
        );
      }
    },
    fetch: (input, init) => fetchVia(input, init, allStatuses),
    fetcher: (fetchOptions) => (input, init) =>
      fetchVia(input, init, fetchOptions.retryServerErrors ? allStatuses : allStatusesAndServerErrors),
    close: () => agent.close(),
  };

  async function fetchVia(
    input: string | URL | Request,
    init: RequestInit | undefined,
    accept: number[],
  ): Promise<Response> {
    const request = input instanceof Request ? input : undefined;
    const url = request ? request.url : input.toString();
    const headers: Record<string, string> = {};
    new Headers(init?.headers ?? request?.headers).forEach((value, key) => {
      headers[key] = value;
    });
    let body: string | undefined;
    const rawBody = init?.body ?? (request ? await request.text() : undefined);
    if (typeof rawBody === 'string') body = rawBody;
    else if (rawBody !== undefined && rawBody !== null) body = await new Response(rawBody).text();
    const signals = [runSignal, ...(init?.signal ? [init.signal] : [])];
    const sent = await send(
      {
        method: init?.method ?? request?.method ?? 'GET',
        path: url,
        headers,
        body: body === '' ? undefined : body,
        accept,
      },
      AbortSignal.any(signals),
    );
    const nullBody = sent.status === 204 || sent.status === 304;
    const response = new Response(nullBody ? null : sent.body, {
      status: sent.status,
      headers: sent.headers,
    });
    Object.defineProperty(response, 'url', { value: sent.url.toString() });
    return response;
  }
  return client;
}

/** Non-2xx statuses an SDK handles itself (through `fetch`); 5xx and throttles are still retried first. */
const allStatuses = [
  ...Array.from({ length: 100 }, (_, i) => 300 + i),
  ...Array.from({ length: 100 }, (_, i) => 400 + i).filter((s) => s !== 429),
];
const allStatusesAndServerErrors = [...allStatuses, ...Array.from({ length: 100 }, (_, i) => 500 + i)];

/** True for an error no retry can fix (bad request, auth, missing, refused address, unknown host, TLS). */
export function isPermanentSourceError(error: unknown): boolean {
  if (!(error instanceof EtlError)) return false;
  const details = error.details as { permanent?: boolean; refused?: boolean } | undefined;
  if (details?.permanent || details?.refused) return true;
  return ['auth_failed', 'forbidden', 'invalid_config', 'not_found', 'invalid_input', 'unreachable'].includes(
    error.code,
  );
}
