import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeSourceHooks } from '@etl/core/testing';

/** One history entry of an item: a status change. */
export interface HistoryEntry {
  id: string;
  at: string;
  from: string | null;
  to: string;
}

/** One item as the tracker stores it. */
export interface TrackerItem {
  id: string;
  team: string;
  title: string;
  type: 'bug' | 'feature' | 'chore';
  status: 'open' | 'in progress' | 'closed';
  created_at: string;
  updated_at: string;
  history: HistoryEntry[];
}

export interface FakeTrackerOptions {
  teams?: string[];
  itemsPerTeam?: number;
  /** Items per page at most (the client's `limit` is capped by it). */
  pageSize?: number;
  /** History entries returned inline with an item; the rest through `/items/:id/history`. */
  inlineHistory?: number;
  /** Every how many requests the tracker answers 429 (with `Retry-After: 1`); never by default. */
  throttleEvery?: number | null;
  token?: string;
}

const statuses: TrackerItem['status'][] = ['open', 'in progress', 'closed'];
const HISTORY_PAGE = 5;
const DAY = 86_400_000;

/**
 * A small issue tracker on 127.0.0.1, the example connector's source: teams, items paged by an opaque cursor in
 * the body (ordered by `updated_at`, then id, filtered by `updated_since`), item histories inline up to
 * `inlineHistory` entries and complete through a page-token sub-resource, bearer auth, 429s with
 * `Retry-After`, and a clock of its own that tests can shift. Every request that arrives while a
 * `Retry-After` window it opened is still running is counted in `insideWindow`.
 *
 * @example
 * const tracker = await startFakeTracker({ teams: ['core', 'web'], itemsPerTeam: 30, throttleEvery: 10 });
 * tracker.shiftClock(365 * 86_400_000); // its clock runs a year ahead from now on
 * tracker.update('core-3', 'closed');   // as a user would, now (on its clock)
 */
export async function startFakeTracker(options: FakeTrackerOptions = {}) {
  const token = options.token ?? 'tracker-token-0123456789';
  const pageSize = options.pageSize ?? 10;
  const inline = options.inlineHistory ?? 3;
  let throttleEvery = options.throttleEvery ?? null;
  let offset = 0;
  const now = () => Date.now() + offset;
  const teams = options.teams ?? ['core', 'web'];
  const items = new Map<string, TrackerItem>();
  const seededAt = now() - 30 * DAY;
  const windows: { from: number; to: number }[] = [];
  const state = { requests: 0, insideWindow: [] as string[], throttled: 0 };
  let onRequest: ((n: number, path: string) => void) | null = null;

  teams.forEach((team, t) => {
    for (let n = 1; n <= (options.itemsPerTeam ?? 20); n++) {
      const created = seededAt + (t * 1000 + n) * 60_000;
      const history: HistoryEntry[] = [];
      // Every fourth item has a long history, longer than the inline part.
      const changes = n % 4 === 0 ? 12 : 1 + (n % 3);
      for (let h = 0; h < changes; h++) {
        history.push({
          id: `${team}-${n}-h${h + 1}`,
          at: new Date(created + (h + 1) * 60_000).toISOString(),
          from: h === 0 ? null : statuses[(h - 1) % 3]!,
          to: statuses[h % 3]!,
        });
      }
      items.set(`${team}-${n}`, {
        id: `${team}-${n}`,
        team,
        title: `${team} item ${n}`,
        type: (['bug', 'feature', 'chore'] as const)[n % 3]!,
        status: history.at(-1)!.to as TrackerItem['status'],
        created_at: new Date(created).toISOString(),
        updated_at: history.at(-1)!.at,
        history,
      });
    }
  });

  const ordered = () =>
    [...items.values()].sort(
      (a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at) || (a.id < b.id ? -1 : 1),
    );
  const view = (item: TrackerItem) => ({
    ...item,
    history: item.history.slice(-inline),
    history_total: item.history.length,
  });
  const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const decode = <T>(v: string) => JSON.parse(Buffer.from(v, 'base64url').toString()) as T;

  function itemsPage(team: string, query: URLSearchParams) {
    const since = query.get('updated_since');
    const after = query.get('cursor') ? decode<{ u: number; id: string }>(query.get('cursor')!) : null;
    const limit = Math.min(Number(query.get('limit') ?? pageSize), pageSize);
    const matching = ordered().filter(
      (i) =>
        i.team === team &&
        (!since || Date.parse(i.updated_at) >= Date.parse(since)) &&
        (!after ||
          Date.parse(i.updated_at) > after.u ||
          (Date.parse(i.updated_at) === after.u && i.id > after.id)),
    );
    const page = matching.slice(0, limit);
    const last = page.at(-1);
    const more = matching.length > limit && last;
    return {
      items: page.map(view),
      next_cursor: more ? encode({ u: Date.parse(last.updated_at), id: last.id }) : null,
    };
  }

  function historyPage(id: string, query: URLSearchParams) {
    const item = items.get(id);
    if (!item) return null;
    const at = Number(query.get('pageToken') ?? 0);
    const entries = item.history.slice(at, at + HISTORY_PAGE);
    const next = at + HISTORY_PAGE < item.history.length ? String(at + HISTORY_PAGE) : null;
    return { entries, nextPageToken: next };
  }

  function answer(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://tracker.invalid');
    state.requests += 1;
    const arrived = Date.now();
    if (windows.some((w) => arrived >= w.from && arrived < w.to)) state.insideWindow.push(url.pathname);
    onRequest?.(state.requests, url.pathname);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res
        .writeHead(status, {
          'content-type': 'application/json',
          date: new Date(now()).toUTCString(),
          ...headers,
        })
        .end(JSON.stringify(body));
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'bad token' });
    if (throttleEvery && state.requests % throttleEvery === 0) {
      state.throttled += 1;
      windows.push({ from: arrived, to: arrived + 1000 });
      return send(429, { error: 'slow down' }, { 'retry-after': '1' });
    }
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts.length === 1 && parts[0] === 'teams')
      return send(200, { teams: teams.map((id) => ({ id, name: `Team ${id}` })) });
    if (parts.length === 3 && parts[0] === 'teams' && parts[2] === 'items' && teams.includes(parts[1]!))
      return send(200, itemsPage(parts[1]!, url.searchParams));
    if (parts.length === 3 && parts[0] === 'items' && parts[2] === 'history') {
      const page = historyPage(parts[1]!, url.searchParams);
      return page ? send(200, page) : send(404, { error: 'no such item' });
    }
    return send(404, { error: 'not found' });
  }

  function update(id: string, status?: TrackerItem['status']): TrackerItem {
    const item = items.get(id)!;
    const to = status ?? statuses[(statuses.indexOf(item.status) + 1) % 3]!;
    const at = new Date(Math.max(now(), Date.parse(item.updated_at) + 1)).toISOString();
    item.history.push({ id: `${id}-h${item.history.length + 1}`, at, from: item.status, to });
    item.status = to;
    item.updated_at = at;
    return structuredClone(item);
  }

  const server: Server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    token,
    teams,
    get requests() {
      return state.requests;
    },
    /** Paths of requests that arrived inside a `Retry-After` window the tracker had opened. */
    get insideWindow(): readonly string[] {
      return state.insideWindow;
    },
    get throttled() {
      return state.throttled;
    },
    items: (): TrackerItem[] => ordered().map((i) => structuredClone(i)),
    /** Changes an item's status now (on the tracker's clock), adding a history entry. */
    update,
    /**
     * Moves the tracker's clock by `ms`, as if it had always run that far from ours: what it stamps changes
     * with, what it sends as `Date`, and every timestamp it already holds.
     */
    shiftClock(ms: number) {
      offset += ms;
      const shift = (at: string) => new Date(Date.parse(at) + ms).toISOString();
      for (const item of items.values()) {
        item.created_at = shift(item.created_at);
        item.updated_at = shift(item.updated_at);
        for (const entry of item.history) entry.at = shift(entry.at);
      }
    },
    /** Changes `count` items (the oldest-changed first) now; returns their ids. */
    changeSome(count: number): string[] {
      return ordered()
        .slice(0, count)
        .map((item) => update(item.id).id);
    },
    throttle(every: number | null) {
      throttleEvery = every;
    },
    /** Runs `hook` on every request (with its ordinal), e.g. to change items in the middle of a crawl. */
    onRequest(hook: ((n: number, path: string) => void) | null) {
      onRequest = hook;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type FakeTracker = Awaited<ReturnType<typeof startFakeTracker>>;

/** The strict checks' hooks into the fake tracker. */
export function trackerHooks(tracker: () => FakeTracker): FakeSourceHooks {
  return {
    stream: 'items',
    change: (count) => tracker().changeSome(count),
    shiftClock: (ms) => tracker().shiftClock(ms),
    throttle: (every) => tracker().throttle(every),
    onRequest: (hook) => tracker().onRequest(hook && ((n) => hook(n))),
    requestsInsideWindows: () => tracker().insideWindow.length,
  };
}
