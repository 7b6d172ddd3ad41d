import { sleep } from '@etl/core';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JiraHistory, JiraIssue } from '../jira-types.js';
import {
  decoyStatusField,
  fakeIssueTypes,
  fakeStatuses,
  generateFakeJiraData,
  jiraTime,
  seededRandom,
  sprintField,
  storyPointsField,
  type FakeIssue,
  type FakeJiraDataOptions,
} from './fake-data.js';

/** Faults the fake injects, counted over authenticated API requests (1-based). */
export interface FakeJiraFaults {
  /** Every `every`-th request is refused with 429, `count` times in all. */
  rateLimit429?: {
    every: number;
    count?: number;
    retryAfterSeconds?: number;
    /** Which headers say when to come back. Default both. */
    headers?: 'retry-after' | 'reset' | 'both';
  };
  /** Every `every`-th request starts a burst of `burst` consecutive 5xx answers, `count` bursts in all. */
  serverErrors?: { every: number; burst?: number; count?: number; status?: number };
  /** Answers 200 with truncated JSON to the `every`-th request matching `path` (a prefix), `count` times. */
  malformedJson?: { every?: number; count?: number; path?: string };
  /** Fixed status for a path prefix, e.g. `{ path: '/rest/api/3/myself', status: 403 }`. */
  statusFor?: { path: string; status: number }[];
}

export interface FakeJiraOptions extends FakeJiraDataOptions {
  email?: string;
  apiToken?: string;
  faults?: FakeJiraFaults;
  /** Delay before each answer, to make concurrency visible. Default 0. */
  latencyMs?: number;
}

export interface FakeJiraRequest {
  method: string;
  path: string;
  query: string;
  status: number;
  /** Epoch ms when the request arrived. */
  at: number;
  /** For a 429: epoch ms before which the client was told not to come back. */
  retryAfterUntil?: number;
}

export interface FakeJira {
  /** Site URL to give the connector (plain http on 127.0.0.1: the host allows it with the engine option `network: { allow: ['127.0.0.0/8'] }`). */
  readonly url: string;
  readonly email: string;
  readonly apiToken: string;
  /** Every request received, in arrival order. */
  readonly requests: FakeJiraRequest[];
  /** Counts requests, optionally only those whose path starts with `pathPrefix`. */
  requestCount(pathPrefix?: string): number;
  /** Requests that arrived while a 429 told the client to wait (after `graceMs` for answers already in flight). */
  earlyRequests(graceMs?: number): FakeJiraRequest[];
  clearLog(): void;
  /** Called for each request before it is answered (mutate data mid-crawl from here). */
  onRequest(listener: (request: FakeJiraRequest) => void): void;
  /** Issues as the connector should see them: key, id, status name, updated. */
  issues(): {
    id: string;
    key: string;
    status: string;
    updated: string;
    histories: number;
    projectKey: string;
  }[];
  /** The changelog status transitions of one issue, in true order. */
  statusTransitions(key: string): { historyId: string; from: string; to: string; at: string }[];
  /** Moves an issue to another status now, adding a history, as a user would in Jira. */
  transitionIssue(key: string, statusName: string): void;
  /** Replaces the fault configuration (counters restart). */
  setFaults(faults: FakeJiraFaults): void;
  close(): Promise<void>;
}

const statusById = new Map(fakeStatuses.map((s) => [s.id, s]));
const typeById = new Map(fakeIssueTypes.map((t) => [t.id, t]));

interface SearchToken {
  u: number;
  id: number;
}

const encodeToken = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const decodeToken = <T>(token: string | null): T | null => {
  if (!token) return null;
  try {
    return JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as T;
  } catch {
    return null;
  }
};

/** The subset of JQL the connector writes: project =/in, updated >=/<=/>/< epoch ms, ORDER BY updated. */
function parseJql(jql: string): (issue: FakeIssue) => boolean {
  const tests: ((issue: FakeIssue) => boolean)[] = [];
  const where = jql.split(/\border\s+by\b/i)[0];
  const projectEq = /\bproject\s*=\s*"?([A-Z][A-Z0-9_]*)"?/i.exec(where);
  if (projectEq) tests.push((i) => i.projectKey === projectEq[1].toUpperCase());
  const projectIn = /\bproject\s+in\s*\(([^)]*)\)/i.exec(where);
  if (projectIn) {
    const keys = new Set(projectIn[1].split(',').map((k) => k.trim().replace(/"/g, '').toUpperCase()));
    tests.push((i) => keys.has(i.projectKey));
  }
  for (const m of where.matchAll(/\bupdated\s*(>=|<=|>|<)\s*(\d+)/gi)) {
    const v = Number(m[2]);
    const op = m[1];
    tests.push((i) =>
      op === '>='
        ? i.updatedMs >= v
        : op === '<='
          ? i.updatedMs <= v
          : op === '>'
            ? i.updatedMs > v
            : i.updatedMs < v,
    );
  }
  return (issue) => tests.every((t) => t(issue));
}

function jsonBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {});
      } catch {
        resolve(null);
      }
    });
  });
}

/**
 * Starts a fake Jira Cloud on 127.0.0.1 speaking REST v3 / Agile 1.0 for the endpoints the connector uses,
 * with deterministic data from `seed`, basic auth, `nextPageToken` paging, truncated inline changelogs,
 * 429s with `Retry-After` / `X-RateLimit-Reset`, 5xx bursts and malformed JSON on demand.
 *
 * @example
 * const fake = await startFakeJira({ issues: 2000, longChangelogRatio: 0.1, seed: 7 });
 * const config = { site: fake.url, email: fake.email, apiToken: fake.apiToken }; // engine option network.allow: ['127.0.0.0/8']
 */
export async function startFakeJira(options: FakeJiraOptions = {}): Promise<FakeJira> {
  const data = generateFakeJiraData(options);
  const email = options.email ?? 'robot@example.com';
  const apiToken = options.apiToken ?? 'fake-jira-api-token-0001';
  const expectedAuth = `Basic ${Buffer.from(`${email}:${apiToken}`).toString('base64')}`;
  const jitter = seededRandom((options.seed ?? 1) + 99);
  const requests: FakeJiraRequest[] = [];
  const listeners: ((r: FakeJiraRequest) => void)[] = [];
  const byId = new Map(data.issues.map((i) => [i.id, i]));
  const byKey = new Map(data.issues.map((i) => [i.key, i]));
  let faults: FakeJiraFaults = options.faults ?? {};
  let counters = { requests: 0, throttled: 0, bursts: 0, burstLeft: 0, malformedSeen: 0, malformed: 0 };
  let origin = '';

  const userRef = (
    u: { accountId: string; displayName?: string; emailAddress?: string; accountType?: string } | null,
  ) =>
    u && {
      self: `${origin}/rest/api/3/user?accountId=${encodeURIComponent(u.accountId)}`,
      accountId: u.accountId,
      displayName: u.displayName,
      emailAddress: u.emailAddress,
      accountType: u.accountType ?? 'atlassian',
      active: true,
      timeZone: 'Etc/UTC',
    };
  const statusRef = (id: string) => {
    const s = statusById.get(id)!;
    return {
      self: `${origin}/rest/api/3/status/${s.id}`,
      id: s.id,
      name: s.name,
      statusCategory: {
        ...s.statusCategory,
        self: `${origin}/rest/api/3/statuscategory/${s.statusCategory.id}`,
      },
    };
  };
  const typeRef = (id: string) => {
    const t = typeById.get(id)!;
    return {
      self: `${origin}/rest/api/3/issuetype/${t.id}`,
      id: t.id,
      name: t.name,
      subtask: t.subtask,
      hierarchyLevel: t.hierarchyLevel,
      description: t.description,
    };
  };

  function issueJson(issue: FakeIssue, fields: string[], withChangelog: boolean): JiraIssue {
    const all = fields.length === 0 || fields.includes('*all') || fields.includes('*navigable');
    const want = (f: string) => all || fields.includes(f);
    const project = data.projects.find((p) => p.key === issue.projectKey)!;
    const parent = issue.parentId ? byId.get(issue.parentId) : undefined;
    const sprint = issue.sprintId !== null ? data.sprints.find((s) => s.id === issue.sprintId) : undefined;
    const out: Record<string, unknown> = {};
    const set = (f: string, value: unknown) => want(f) && (out[f] = value);
    set('summary', issue.summary);
    set('issuetype', typeRef(issue.typeId));
    set('status', statusRef(issue.statusId));
    set('project', {
      self: `${origin}/rest/api/3/project/${project.id}`,
      id: project.id,
      key: project.key,
      name: project.name,
      projectTypeKey: 'software',
    });
    if (parent) {
      set('parent', {
        id: parent.id,
        key: parent.key,
        self: `${origin}/rest/api/3/issue/${parent.id}`,
        fields: {
          summary: parent.summary,
          status: statusRef(parent.statusId),
          issuetype: typeRef(parent.typeId),
        },
      });
    }
    set('assignee', userRef(issue.assignee));
    set('reporter', userRef(issue.reporter));
    set('priority', { self: `${origin}/rest/api/3/priority/3`, id: '3', name: issue.priority });
    set('created', jiraTime(issue.createdMs));
    set('updated', jiraTime(issue.updatedMs));
    set('resolutiondate', issue.statusId === '10003' ? jiraTime(issue.updatedMs) : null);
    set(storyPointsField, issue.storyPoints);
    set(
      sprintField,
      sprint ? [{ id: sprint.id, name: sprint.name, state: sprint.state, boardId: sprint.boardId }] : null,
    );
    set(decoyStatusField, { value: 'green' });
    const json: JiraIssue = {
      id: issue.id,
      key: issue.key,
      self: `${origin}/rest/api/3/issue/${issue.id}`,
      fields: out,
    } as JiraIssue;
    if (withChangelog) {
      const total = issue.histories.length;
      const limit = data.inlineChangelogLimit;
      // Like Jira Cloud, search returns a capped slice (the most recent) and the real total.
      const histories = total > limit ? issue.histories.slice(total - limit) : issue.histories;
      json.changelog = { startAt: 0, maxResults: histories.length, total, histories };
    }
    return json;
  }

  const sorted = () =>
    [...data.issues].sort((a, b) => a.updatedMs - b.updatedMs || Number(a.id) - Number(b.id));

  function search(params: URLSearchParams | Record<string, unknown>) {
    const get = (k: string) =>
      params instanceof URLSearchParams ? params.get(k) : ((params[k] as string | undefined) ?? null);
    const jql = String(get('jql') ?? '');
    const fieldsParam = get('fields') as unknown;
    const fields = Array.isArray(fieldsParam)
      ? (fieldsParam as string[])
      : String(fieldsParam ?? '')
          .split(',')
          .filter(Boolean);
    const expand = String(get('expand') ?? '');
    const maxResults = Math.min(100, Math.max(1, Number(get('maxResults') ?? 50)));
    const after = decodeToken<SearchToken>(get('nextPageToken') as string | null);
    const match = parseJql(jql);
    const list = sorted()
      .filter(match)
      .filter((i) => !after || i.updatedMs > after.u || (i.updatedMs === after.u && Number(i.id) > after.id));
    const page = list.slice(0, maxResults);
    const more = list.length > page.length;
    const last = page[page.length - 1];
    return {
      issues: page.map((i) =>
        issueJson(i, fields.length ? fields : ['*navigable'], expand.split(',').includes('changelog')),
      ),
      ...(more && last ? { nextPageToken: encodeToken({ u: last.updatedMs, id: Number(last.id) }) } : {}),
      isLast: !more,
    };
  }

  function bulkChangelog(body: {
    issueIdsOrKeys?: string[];
    maxResults?: number;
    nextPageToken?: string;
    fieldIds?: string[];
  }) {
    const issues = (body.issueIdsOrKeys ?? [])
      .slice(0, 1000)
      .map((k) => byId.get(k) ?? byKey.get(k))
      .filter((i): i is FakeIssue => !!i);
    const maxResults = Math.min(1000, Math.max(1, body.maxResults ?? 1000));
    const offset = decodeToken<{ o: number }>(body.nextPageToken ?? null)?.o ?? 0;
    const flat: { issue: FakeIssue; h: JiraHistory }[] = [];
    for (const issue of issues) {
      for (const h of issue.histories) {
        if (body.fieldIds?.length && !h.items.some((it) => body.fieldIds!.includes(it.fieldId ?? '')))
          continue;
        flat.push({ issue, h });
      }
    }
    // Sorted by changelog date and issue id only: same-millisecond histories come back in no particular order.
    const shuffled = flat
      .map((x, i) => ({ x, k: (i * 7919) % 13 }))
      .sort((a, b) => a.k - b.k)
      .map((e) => e.x);
    shuffled.sort(
      (a, b) => Date.parse(a.h.created) - Date.parse(b.h.created) || Number(a.issue.id) - Number(b.issue.id),
    );
    const page = shuffled.slice(offset, offset + maxResults);
    const grouped = new Map<string, JiraHistory[]>();
    for (const { issue, h } of page) grouped.set(issue.id, [...(grouped.get(issue.id) ?? []), h]);
    const next =
      offset + page.length < shuffled.length ? encodeToken({ o: offset + page.length }) : undefined;
    return {
      issueChangeLogs: [...grouped].map(([issueId, changeHistories]) => ({ issueId, changeHistories })),
      ...(next ? { nextPageToken: next } : {}),
    };
  }

  function offsetPage<T>(values: T[], url: URL, cap: number) {
    const startAt = Math.max(0, Number(url.searchParams.get('startAt') ?? 0));
    const maxResults = Math.min(cap, Math.max(1, Number(url.searchParams.get('maxResults') ?? cap)));
    const slice = values.slice(startAt, startAt + maxResults);
    return {
      self: `${origin}${url.pathname}`,
      maxResults,
      startAt,
      total: values.length,
      isLast: startAt + slice.length >= values.length,
      values: slice,
    };
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', ...headers });
    res.end(text);
  }

  const errorBody = (message: string) => ({ errorMessages: [message], errors: {} });

  async function route(req: IncomingMessage, url: URL): Promise<{ status: number; body: unknown }> {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/rest/api/3/myself') {
      return {
        status: 200,
        body: {
          ...userRef({ accountId: '557058:fake-robot', displayName: 'ETL robot', emailAddress: email }),
          locale: 'en_US',
          groups: { size: 1, items: [] },
        },
      };
    }
    if (method === 'GET' && path === '/rest/api/3/project/search') {
      const keysParam = url.searchParams
        .getAll('keys')
        .flatMap((k) => k.split(','))
        .filter(Boolean);
      const projects = keysParam.length
        ? data.projects.filter((p) => keysParam.includes(p.key))
        : data.projects;
      const page = offsetPage(projects, url, 50);
      return {
        status: 200,
        body: {
          ...page,
          values: page.values.map((p) => ({
            ...p,
            self: `${origin}/rest/api/3/project/${p.id}`,
            projectTypeKey: 'software',
            style: 'next-gen',
          })),
        },
      };
    }
    if (method === 'GET' && path === '/rest/api/3/issuetype')
      return { status: 200, body: fakeIssueTypes.map((t) => typeRef(t.id)) };
    if (method === 'GET' && path === '/rest/api/3/status')
      return { status: 200, body: fakeStatuses.map((s) => statusRef(s.id)) };
    if (method === 'GET' && path === '/rest/api/3/users/search') {
      const page = offsetPage(data.users, url, 1000);
      return { status: 200, body: page.values.map((u) => userRef(u)) };
    }
    if (path === '/rest/api/3/search/jql') {
      if (method === 'GET') return { status: 200, body: search(url.searchParams) };
      if (method === 'POST') {
        const body = (await jsonBody(req)) as Record<string, unknown> | null;
        if (!body) return { status: 400, body: errorBody('Invalid request payload.') };
        return { status: 200, body: search(body) };
      }
    }
    if (method === 'GET' && path === '/rest/api/3/search') {
      return {
        status: 410,
        body: errorBody(
          'The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.',
        ),
      };
    }
    if (method === 'POST' && path === '/rest/api/3/changelog/bulkfetch') {
      const body = (await jsonBody(req)) as Parameters<typeof bulkChangelog>[0] | null;
      if (!body || !Array.isArray(body.issueIdsOrKeys))
        return { status: 400, body: errorBody('issueIdsOrKeys is required.') };
      return { status: 200, body: bulkChangelog(body) };
    }
    const changelog = /^\/rest\/api\/3\/issue\/([^/]+)\/changelog$/.exec(path);
    if (method === 'GET' && changelog) {
      const issue = byId.get(decodeURIComponent(changelog[1])) ?? byKey.get(decodeURIComponent(changelog[1]));
      if (!issue)
        return {
          status: 404,
          body: errorBody('Issue does not exist or you do not have permission to see it.'),
        };
      const page = offsetPage(issue.histories, url, 100);
      return {
        status: 200,
        body: {
          ...page,
          nextPage: page.isLast
            ? undefined
            : `${origin}${path}?startAt=${page.startAt + page.values.length}&maxResults=${page.maxResults}`,
        },
      };
    }
    if (method === 'GET' && path === '/rest/agile/1.0/board') {
      const project = url.searchParams.get('projectKeyOrId');
      const boards = project
        ? data.boards.filter(
            (b) => b.location?.projectKey === project || String(b.location?.projectId) === project,
          )
        : data.boards;
      const page = offsetPage(boards, url, 50);
      return {
        status: 200,
        body: {
          ...page,
          values: page.values.map((b) => ({ ...b, self: `${origin}/rest/agile/1.0/board/${b.id}` })),
        },
      };
    }
    const sprints = /^\/rest\/agile\/1\.0\/board\/(\d+)\/sprint$/.exec(path);
    if (method === 'GET' && sprints) {
      const board = data.boards.find((b) => b.id === Number(sprints[1]));
      if (!board)
        return {
          status: 404,
          body: errorBody(
            'The requested board cannot be viewed because it either does not exist or you do not have permission to view it.',
          ),
        };
      if (board.type !== 'scrum')
        return { status: 400, body: errorBody('The board does not support sprints') };
      const page = offsetPage(
        data.sprints.filter((s) => s.boardId === board.id),
        url,
        50,
      );
      return {
        status: 200,
        body: {
          ...page,
          values: page.values.map(({ boardId: _b, ...s }) => ({
            ...s,
            self: `${origin}/rest/agile/1.0/sprint/${s.id}`,
          })),
        },
      };
    }
    return { status: 404, body: errorBody(`No resource found for ${method} ${path}.`) };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', origin);
    const entry: FakeJiraRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      status: 0,
      at: Date.now(),
    };
    requests.push(entry);
    for (const listener of listeners) listener(entry);
    if (options.latencyMs) await sleep(options.latencyMs);
    const reply = (status: number, body: unknown, headers?: Record<string, string>) => {
      entry.status = status;
      send(res, status, body, headers);
    };
    if (req.headers.authorization !== expectedAuth) {
      return reply(401, errorBody('Client must be authenticated to access this resource.'), {
        'WWW-Authenticate': 'OAuth realm="https%3A%2F%2Ffake.atlassian.net"',
      });
    }
    const fixed = faults.statusFor?.find((f) => url.pathname.startsWith(f.path));
    if (fixed) return reply(fixed.status, errorBody(`Injected ${fixed.status}.`));
    counters.requests += 1;
    const n = counters.requests;
    const rl = faults.rateLimit429;
    if (rl && n % rl.every === 0 && counters.throttled < (rl.count ?? Infinity)) {
      counters.throttled += 1;
      const seconds = rl.retryAfterSeconds ?? 1;
      const until = Date.now() + seconds * 1000;
      entry.retryAfterUntil = until;
      const which = rl.headers ?? 'both';
      const headers: Record<string, string> = {};
      if (which !== 'reset') headers['Retry-After'] = String(seconds);
      if (which !== 'retry-after') headers['X-RateLimit-Reset'] = new Date(until).toISOString();
      return reply(429, errorBody('Rate limit exceeded.'), headers);
    }
    const se = faults.serverErrors;
    if (se && counters.burstLeft === 0 && n % se.every === 0 && counters.bursts < (se.count ?? Infinity)) {
      counters.bursts += 1;
      counters.burstLeft = se.burst ?? 3;
    }
    if (counters.burstLeft > 0) {
      counters.burstLeft -= 1;
      const status = se?.status ?? (jitter() < 0.5 ? 503 : 500);
      return reply(
        status,
        status === 503
          ? '<html><body>Service Unavailable</body></html>'
          : errorBody('Internal server error.'),
      );
    }
    const result = await route(req, url);
    const mj = faults.malformedJson;
    if (mj && result.status === 200 && url.pathname.startsWith(mj.path ?? '/rest/api/3/search/jql')) {
      counters.malformedSeen += 1;
      if (counters.malformedSeen % (mj.every ?? 1) === 0 && counters.malformed < (mj.count ?? 1)) {
        counters.malformed += 1;
        const text = JSON.stringify(result.body);
        return reply(200, text.slice(0, Math.max(10, Math.floor(text.length / 2))));
      }
    }
    return reply(result.status, result.body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, errorBody(String(error)));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: origin,
    email,
    apiToken,
    requests,
    requestCount: (prefix) =>
      prefix ? requests.filter((r) => r.path.startsWith(prefix)).length : requests.length,
    earlyRequests(graceMs = 50) {
      const windows = requests.filter((r) => r.retryAfterUntil !== undefined);
      return requests.filter((r) =>
        windows.some((w) => r !== w && r.at > w.at + graceMs && r.at < w.retryAfterUntil!),
      );
    },
    clearLog: () => void requests.splice(0),
    onRequest: (listener) => void listeners.push(listener),
    issues: () =>
      data.issues.map((i) => ({
        id: i.id,
        key: i.key,
        status: statusById.get(i.statusId)!.name,
        updated: jiraTime(i.updatedMs),
        histories: i.histories.length,
        projectKey: i.projectKey,
      })),
    statusTransitions(key) {
      const issue = byKey.get(key);
      if (!issue) throw new Error(`no issue ${key}`);
      return issue.histories.flatMap((h) =>
        h.items
          .filter((it) => it.fieldId === 'status')
          .map((it) => ({
            historyId: h.id,
            from: it.fromString ?? '',
            to: it.toString ?? '',
            at: h.created,
          })),
      );
    },
    transitionIssue(key, statusName) {
      const issue = byKey.get(key);
      const status = fakeStatuses.find((s) => s.name === statusName);
      if (!issue || !status) throw new Error(`no issue ${key} or status ${statusName}`);
      const from = statusById.get(issue.statusId)!;
      const now = Math.max(Date.now(), issue.updatedMs + 1);
      issue.histories.push({
        id: String(data.nextHistoryId()),
        author: { accountId: data.users[0].accountId, displayName: data.users[0].displayName, active: true },
        created: jiraTime(now),
        items: [
          {
            field: 'status',
            fieldtype: 'jira',
            fieldId: 'status',
            from: from.id,
            fromString: from.name,
            to: status.id,
            toString: status.name,
          },
        ],
      });
      issue.statusId = status.id;
      issue.updatedMs = now;
    },
    setFaults(next) {
      faults = next;
      counters = { requests: 0, throttled: 0, bursts: 0, burstLeft: 0, malformedSeen: 0, malformed: 0 };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
