import { sleep } from '@etl/core';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  generateRepositories,
  iso,
  makeActors,
  type FakeActor,
  type FakeCommit,
  type FakeRepoSpec,
  type FakeRepository,
} from './fake-data.js';
import { createFakeGraphQL, FaultError } from './fake-graphql.js';

export type { FakeRepoSpec, FakeRepository, FakePullRequest, FakeCommit, FakeActor } from './fake-data.js';

/** Faults the fake injects; all can be changed while it runs through `fake.faults`. */
export interface FakeGitHubFaults {
  /** Answer these request ordinals (1-based, all requests counted) with a secondary rate limit. */
  secondaryRateLimit?: { atRequests: number[]; retryAfterSeconds: number; status?: 403 | 429 };
  /** Answer GraphQL with 502 when any connection asks for more than `whenFirstAbove` items, at most `times` times. */
  graphql502?: { whenFirstAbove: number; times?: number };
  /** Answer GraphQL with 502 at these GraphQL request ordinals (1-based). */
  graphql502At?: number[];
  /** Spend the whole primary limit at these request ordinals: they and what follows are refused until the reset. */
  exhaustPrimaryAt?: number[];
  /** Delay every GraphQL answer by this many milliseconds (for client timeouts). */
  graphqlDelayMs?: number;
}

export interface FakeGitHubOptions {
  /** `owner/name` or an object (`{ fullName, empty: true }` for a repository without commits). Every owner is an organisation. */
  repos?: FakeRepoSpec[];
  /** Pull requests per repository (default 20). */
  pullRequests?: number;
  /** Commits per repository on the default branch (default 10). */
  commits?: number;
  /** Every `manyReviewsEvery`-th pull request gets `manyReviews` reviews (defaults 40 and 45). */
  manyReviewsEvery?: number;
  manyReviews?: number;
  seed?: number;
  /** The personal access token the fake accepts (default `ghp_` + 36 characters). */
  token?: string;
  /** Primary rate limit per resource (`core`, `graphql`): `limit` requests per `windowSeconds` (defaults 5000 / 3600). */
  rateLimit?: { limit?: number; windowSeconds?: number };
  faults?: FakeGitHubFaults;
  /** GitHub App the fake knows: an installation token is issued for `installationId` to any JWT whose issuer is `appId`. */
  app?: { appId: number; installationId: number };
}

export interface FakeRequestLog {
  method: string;
  path: string;
  status: number;
  kind: 'rest' | 'graphql';
  /** When the answer was sent (ms since the epoch). */
  at: number;
}

export interface FakeGitHub {
  /** REST base URL (`http://127.0.0.1:port`); GraphQL answers at `${url}/graphql`. */
  readonly url: string;
  readonly token: string;
  readonly repos: FakeRepository[];
  faults: FakeGitHubFaults;
  /** Counters since start or the last `resetCounts()`. */
  readonly counts: {
    total: number;
    rest: number;
    graphql: number;
    primaryLimited: number;
    secondaryLimited: number;
    faults502: number;
    /** `first` of every pull-request connection asked for, in order. */
    pullRequestPageSizes: number[];
    /** `first` of every review connection asked for, in order. */
    reviewPageSizes: number[];
  };
  readonly log: FakeRequestLog[];
  resetCounts(): void;
  /** Marks pull requests as updated now (they move to the end of the updated order); returns their node ids. */
  updatePullRequests(fullName: string, numbers: number[], patch?: { title?: string }): string[];
  /** Called before every request is answered (after authentication), e.g. to update data mid-crawl. */
  onRequest(listener: ((entry: { kind: 'rest' | 'graphql'; ordinal: number }) => void) | null): void;
  /** Totals the fake holds, to compare a sync against. */
  totals(): { repositories: number; pullRequests: number; reviews: number; commits: number };
  close(): Promise<void>;
}

class HttpAnswer extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

const DEFAULT_TOKEN = 'ghp_fakeFAKEfake0123456789abcdefABCDEF01';

/**
 * Starts a local GitHub on 127.0.0.1 with deterministic data: REST (Link paging, `x-ratelimit-*`, secondary
 * limits with `Retry-After`, 401 / 404 / 409 bodies as GitHub sends them) and the GraphQL the connector sends.
 *
 * @example
 * const fake = await startFakeGitHub({ repos: ['acme/api', 'acme/web'], pullRequests: 50, seed: 7 });
 * const connector = githubConnector();
 * // config: { token: fake.token, baseUrl: fake.url, repositories: ['acme/api'] }
 * await fake.close();
 */
export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const token = options.token ?? DEFAULT_TOKEN;
  const actors = makeActors();
  const repos = generateRepositories(
    {
      repos: options.repos ?? ['acme/api'],
      pullRequests: options.pullRequests ?? 20,
      commits: options.commits ?? 10,
      seed: options.seed ?? 1,
      manyReviewsEvery: options.manyReviewsEvery ?? 40,
      manyReviews: options.manyReviews ?? 45,
    },
    actors,
  );
  const viewer = actors.users[0];
  const limit = options.rateLimit?.limit ?? 5000;
  const windowMs = (options.rateLimit?.windowSeconds ?? 3600) * 1000;
  const buckets = new Map<string, { used: number; resetAt: number }>();
  const installationTokens = new Set<string>();
  const counts: FakeGitHub['counts'] = {
    total: 0,
    rest: 0,
    graphql: 0,
    primaryLimited: 0,
    secondaryLimited: 0,
    faults502: 0,
    pullRequestPageSizes: [],
    reviewPageSizes: [],
  };
  const log: FakeRequestLog[] = [];
  let listener: ((entry: { kind: 'rest' | 'graphql'; ordinal: number }) => void) | null = null;
  let clock = Math.max(
    ...repos.flatMap((r) => r.pullRequests.map((pr) => Date.parse(pr.updatedAt))),
    Date.parse('2024-06-01T00:00:00Z'),
  );
  let url = '';
  let graphql502Fired = 0;

  const fake: FakeGitHub = {
    get url() {
      return url;
    },
    token,
    repos,
    faults: { ...options.faults },
    counts,
    log,
    resetCounts() {
      Object.assign(counts, {
        total: 0,
        rest: 0,
        graphql: 0,
        primaryLimited: 0,
        secondaryLimited: 0,
        faults502: 0,
      });
      counts.pullRequestPageSizes = [];
      counts.reviewPageSizes = [];
      log.length = 0;
    },
    updatePullRequests(fullName, numbers, patch = {}) {
      const repo = findRepo(fullName);
      if (!repo) throw new Error(`fake GitHub has no repository ${fullName}`);
      return numbers.map((n) => {
        const pr = repo.pullRequests.find((p) => p.number === n);
        if (!pr) throw new Error(`fake GitHub has no pull request ${fullName}#${n}`);
        clock += 60_000;
        pr.updatedAt = iso(clock);
        if (patch.title !== undefined) pr.title = patch.title;
        return pr.nodeId;
      });
    },
    onRequest(fn) {
      listener = fn;
    },
    totals() {
      return {
        repositories: repos.length,
        pullRequests: repos.reduce((n, r) => n + r.pullRequests.length, 0),
        reviews: repos.reduce((n, r) => n + r.pullRequests.reduce((m, pr) => m + pr.reviews.length, 0), 0),
        commits: repos.reduce((n, r) => n + r.commits.length, 0),
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  const findRepo = (fullName: string) =>
    repos.find((r) => r.fullName.toLowerCase() === fullName.toLowerCase());

  const executeGraphQL = createFakeGraphQL({
    repos,
    viewer,
    get baseUrl() {
      return url;
    },
    onConnection(kind, first) {
      if (kind === 'pullRequests') counts.pullRequestPageSizes.push(first);
      if (kind === 'reviews') counts.reviewPageSizes.push(first);
      const f = fake.faults.graphql502;
      if (f && first > f.whenFirstAbove && (f.times === undefined || graphql502Fired < f.times)) {
        graphql502Fired++;
        throw new FaultError(502);
      }
    },
    rateLimit() {
      const b = buckets.get('graphql') ?? { used: 0, resetAt: Date.now() + windowMs };
      return {
        limit,
        remaining: Math.max(0, limit - b.used),
        resetAt: new Date(b.resetAt).toISOString(),
        used: b.used,
      };
    },
  });

  const restUser = (a: FakeActor) => ({
    login: a.login,
    id: a.databaseId,
    node_id: a.nodeId,
    type: a.kind,
    site_admin: false,
    html_url: `${url}/${a.login}`,
  });
  const restRepo = (r: FakeRepository) => ({
    id: r.databaseId,
    node_id: r.nodeId,
    name: r.name,
    full_name: r.fullName,
    private: r.isPrivate,
    owner: { login: r.owner, id: 1, node_id: `O_${r.owner}`, type: 'Organization' },
    html_url: `${url}/${r.fullName}`,
    default_branch: r.defaultBranch,
    created_at: r.createdAt,
    updated_at: r.createdAt,
    size: r.empty ? 0 : 1024,
  });
  const restCommit = (r: FakeRepository, c: FakeCommit) => ({
    sha: c.sha,
    node_id: c.nodeId,
    html_url: `${url}/${r.fullName}/commit/${c.sha}`,
    commit: {
      author: { name: c.authorName, email: c.authorEmail, date: c.authoredAt },
      committer: { name: c.authorName, email: c.authorEmail, date: c.committedAt },
      message: c.message,
    },
    author: c.author && restUser(c.author),
    committer: c.author && restUser(c.author),
    parents: [],
  });

  function page<T>(
    req: URL,
    items: T[],
    defaultPerPage = 30,
  ): { body: T[]; headers: Record<string, string> } {
    const perPage = Math.min(
      100,
      Number(req.searchParams.get('per_page') ?? defaultPerPage) || defaultPerPage,
    );
    const pageNo = Math.max(1, Number(req.searchParams.get('page') ?? 1) || 1);
    const lastPage = Math.max(1, Math.ceil(items.length / perPage));
    const link = (n: number, rel: string) => {
      const u = new URL(req.toString());
      u.searchParams.set('page', String(n));
      u.searchParams.set('per_page', String(perPage));
      return `<${url}${u.pathname}${u.search}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (pageNo < lastPage) links.push(link(pageNo + 1, 'next'), link(lastPage, 'last'));
    if (pageNo > 1) links.push(link(1, 'first'), link(pageNo - 1, 'prev'));
    return {
      body: items.slice((pageNo - 1) * perPage, pageNo * perPage),
      headers: links.length ? { link: links.join(', ') } : {},
    };
  }

  const notFound = () =>
    new HttpAnswer(404, {
      message: 'Not Found',
      documentation_url: 'https://docs.github.com/rest',
      status: '404',
    });

  function routeRest(
    method: string,
    u: URL,
  ): { status: number; body: unknown; headers?: Record<string, string> } {
    const parts = u.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (method === 'GET' && u.pathname === '/user') return { status: 200, body: restUser(viewer) };
    if (method === 'GET' && u.pathname === '/rate_limit') {
      const resources = Object.fromEntries(
        ['core', 'graphql'].map((k) => {
          const b = buckets.get(k) ?? { used: 0, resetAt: Date.now() + windowMs };
          return [
            k,
            {
              limit,
              used: b.used,
              remaining: Math.max(0, limit - b.used),
              reset: Math.ceil(b.resetAt / 1000),
            },
          ];
        }),
      );
      return { status: 200, body: { resources, rate: resources.core } };
    }
    if (method === 'GET' && parts[0] === 'orgs' && parts.length >= 2) {
      const org = parts[1];
      const owned = repos.filter((r) => r.owner.toLowerCase() === org.toLowerCase());
      if (!owned.length) throw notFound();
      if (parts.length === 2)
        return { status: 200, body: { login: org, id: 1, node_id: `O_${org}`, type: 'Organization' } };
      if (parts[2] === 'repos' && parts.length === 3) {
        const { body, headers } = page(u, owned.map(restRepo));
        return { status: 200, body, headers };
      }
      if (parts[2] === 'members' && parts.length === 3) {
        const { body, headers } = page(u, actors.users.map(restUser));
        return { status: 200, body, headers };
      }
    }
    if (method === 'GET' && parts[0] === 'users' && parts.length === 2) {
      const user = [...actors.users, actors.bot].find((a) => a.login === parts[1]);
      if (!user) throw notFound();
      return { status: 200, body: restUser(user) };
    }
    if (method === 'GET' && parts[0] === 'repos' && parts.length >= 3) {
      const repo = findRepo(`${parts[1]}/${parts[2]}`);
      if (!repo) throw notFound();
      if (parts.length === 3) return { status: 200, body: restRepo(repo) };
      if (parts[3] === 'commits' && parts.length === 4) {
        if (repo.empty)
          throw new HttpAnswer(409, {
            message: 'Git Repository is empty.',
            documentation_url: 'https://docs.github.com/rest/commits/commits#list-commits',
            status: '409',
          });
        const since = u.searchParams.get('since');
        const until = u.searchParams.get('until');
        const list = repo.commits.filter(
          (c) => (!since || c.committedAt >= since) && (!until || c.committedAt <= until),
        );
        const { body, headers } = page(
          u,
          list.map((c) => restCommit(repo, c)),
        );
        return { status: 200, body, headers };
      }
    }
    throw notFound();
  }

  function authenticate(req: IncomingMessage, u: URL): void {
    const header = req.headers.authorization ?? '';
    const [scheme, credential] = header.split(/\s+/, 2);
    const match = u.pathname.match(/^\/app\/installations\/(\d+)\/access_tokens$/);
    if (match && req.method === 'POST') {
      const payload = (() => {
        try {
          return JSON.parse(Buffer.from((credential ?? '').split('.')[1] ?? '', 'base64url').toString()) as {
            iss?: unknown;
          };
        } catch {
          return {};
        }
      })();
      if (
        !options.app ||
        scheme?.toLowerCase() !== 'bearer' ||
        String(payload.iss) !== String(options.app.appId)
      ) {
        throw new HttpAnswer(401, {
          message: 'A JSON web token could not be decoded',
          documentation_url: 'https://docs.github.com/rest',
          status: '401',
        });
      }
      if (Number(match[1]) !== options.app.installationId) throw notFound();
      const issued = `ghs_${randomBytes(18).toString('hex')}`;
      installationTokens.add(issued);
      throw new HttpAnswer(201, {
        token: issued,
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        permissions: {},
      });
    }
    const ok =
      credential !== undefined &&
      /^(token|bearer)$/i.test(scheme ?? '') &&
      (credential === token || installationTokens.has(credential));
    if (!ok)
      throw new HttpAnswer(401, {
        message: 'Bad credentials',
        documentation_url: 'https://docs.github.com/rest',
        status: '401',
      });
  }

  function primaryLimit(resource: 'core' | 'graphql', exhaust: boolean): Record<string, string> {
    const now = Date.now();
    let b = buckets.get(resource);
    if (!b || now >= b.resetAt) {
      b = { used: 0, resetAt: now + windowMs };
      buckets.set(resource, b);
    }
    if (exhaust) b.used = limit;
    const headers = (used: number) => ({
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(Math.max(0, limit - used)),
      'x-ratelimit-reset': String(Math.ceil(b.resetAt / 1000)),
      'x-ratelimit-used': String(used),
      'x-ratelimit-resource': resource,
    });
    if (b.used >= limit) {
      counts.primaryLimited++;
      const message = `API rate limit exceeded for user ID ${viewer.databaseId}.`;
      if (resource === 'graphql')
        throw new HttpAnswer(200, { errors: [{ type: 'RATE_LIMITED', message }] }, headers(b.used));
      throw new HttpAnswer(
        403,
        { message, documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api' },
        headers(b.used),
      );
    }
    b.used++;
    return headers(b.used);
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://fake.invalid');
    const method = req.method ?? 'GET';
    const kind: 'rest' | 'graphql' =
      u.pathname === '/graphql' || u.pathname === '/api/graphql' ? 'graphql' : 'rest';
    counts.total++;
    counts[kind]++;
    const ordinal = counts.total;
    const body = await readBody(req);
    let status = 200;
    let payload: unknown;
    let headers: Record<string, string> = {};
    try {
      authenticate(req, u);
      const secondary = fake.faults.secondaryRateLimit;
      if (secondary?.atRequests.includes(ordinal)) {
        counts.secondaryLimited++;
        throw new HttpAnswer(
          secondary.status ?? 403,
          {
            message:
              'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
            documentation_url:
              'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
          },
          { 'retry-after': String(secondary.retryAfterSeconds) },
        );
      }
      headers = primaryLimit(
        kind === 'graphql' ? 'graphql' : 'core',
        fake.faults.exhaustPrimaryAt?.includes(ordinal) ?? false,
      );
      listener?.({ kind, ordinal });
      if (kind === 'graphql') {
        if (method !== 'POST') throw notFound();
        if (fake.faults.graphql502At?.includes(counts.graphql)) throw new FaultError(502);
        if (fake.faults.graphqlDelayMs) await sleep(fake.faults.graphqlDelayMs);
        payload = await executeGraphQL(
          JSON.parse(body || '{}') as { query?: string; variables?: Record<string, unknown> },
        );
      } else {
        const answer = routeRest(method, u);
        status = answer.status;
        payload = answer.body;
        headers = { ...headers, ...answer.headers };
      }
    } catch (error) {
      if (error instanceof HttpAnswer) {
        status = error.status;
        payload = error.body;
        headers = { ...headers, ...error.headers };
      } else if (error instanceof FaultError) {
        counts.faults502++;
        status = error.status;
        payload = { message: 'Server Error' };
      } else {
        status = 500;
        payload = { message: error instanceof Error ? error.message : String(error) };
      }
    }
    log.push({ method, path: u.pathname, status, kind, at: Date.now() });
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(payload));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: String(error) }));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const originalClose = fake.close;
  fake.close = () => {
    server.closeAllConnections();
    return originalClose();
  };
  return fake;
}
