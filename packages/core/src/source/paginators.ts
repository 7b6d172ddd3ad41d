import type { QueryValue } from './http-client.js';

/** One answer, as a paginator sees it. */
export interface PageAnswer {
  body: unknown;
  headers: Headers;
  /** The records the page held (after the stream's `records` path). */
  records: unknown[];
}

/**
 * How a source splits a list into pages. `state` is where the walk stands — null before the first page, then
 * what `next` returned — and is JSON, because it is saved in the stream's checkpoint: a resumed run asks for
 * exactly the page after the last one stored.
 */
export interface Paginator {
  /** The request of the page at `state`: extra query parameters, or (for `Link` paging) a whole URL. */
  request(state: PageState | null): { query?: Record<string, QueryValue>; url?: string };
  /** Where the next page is, or null when this was the last one. */
  next(answer: PageAnswer, state: PageState | null): PageState | null;
}

/** A paginator's position: a cursor or token, a URL, an offset or a page number. */
export type PageState = string | number;

/** Reads a dotted path (`meta.next_cursor`) out of a JSON body. */
export function pathValue(body: unknown, path: string): unknown {
  let current = body;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

const present = (value: unknown): value is string | number =>
  (typeof value === 'string' && value !== '') || typeof value === 'number';

/**
 * The next page's cursor is in the body (`{ items, next_cursor }` by default) and goes back as a query
 * parameter (`cursor`).
 *
 * @example
 * cursorPaginator({ cursorPath: 'meta.next', param: 'after' })
 */
export function cursorPaginator(options: { cursorPath?: string; param?: string } = {}): Paginator {
  const param = options.param ?? 'cursor';
  const cursorPath = options.cursorPath ?? 'next_cursor';
  return {
    request: (state) => (state === null ? {} : { query: { [param]: state } }),
    next: (answer) => {
      const value = pathValue(answer.body, cursorPath);
      return present(value) ? value : null;
    },
  };
}

/**
 * A page token in the body (`nextPageToken`), sent back as `pageToken`: Google-style APIs, Jira's newer search.
 *
 * @example
 * pageTokenPaginator({ tokenPath: 'next_page_token', param: 'page_token' })
 */
export function pageTokenPaginator(options: { tokenPath?: string; param?: string } = {}): Paginator {
  return cursorPaginator({
    cursorPath: options.tokenPath ?? 'nextPageToken',
    param: options.param ?? 'pageToken',
  });
}

/** The `rel="next"` target of an RFC 8288 `Link` header, or null. */
export function nextLink(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /<([^>]*)>\s*;(.*)/.exec(part.trim());
    if (match && /rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?/i.test(match[2]!)) return match[1]!;
  }
  return null;
}

/**
 * The next page is the `Link: <…>; rel="next"` of the answer (GitHub, GitLab): the saved state is that URL.
 *
 * @example
 * linkPaginator()
 */
export function linkPaginator(): Paginator {
  return {
    request: (state) => (state === null ? {} : { url: String(state) }),
    next: (answer) => nextLink(answer.headers.get('link')),
  };
}

/**
 * `?offset=N&limit=M`: the next offset is this one plus the records read; a short (or empty) page is the last.
 *
 * @example
 * offsetPaginator({ limit: 100 })  // offset, limit
 */
export function offsetPaginator(options: {
  limit: number;
  offsetParam?: string;
  limitParam?: string;
  totalPath?: string;
}): Paginator {
  const offsetParam = options.offsetParam ?? 'offset';
  const limitParam = options.limitParam ?? 'limit';
  return {
    request: (state) => ({ query: { [offsetParam]: Number(state ?? 0), [limitParam]: options.limit } }),
    next: (answer, state) => {
      const offset = Number(state ?? 0) + answer.records.length;
      const total = options.totalPath ? Number(pathValue(answer.body, options.totalPath)) : NaN;
      if (Number.isFinite(total)) return offset < total && answer.records.length > 0 ? offset : null;
      return answer.records.length >= options.limit ? offset : null;
    },
  };
}

/**
 * `?page=N&per_page=M`, from `first` (1): an empty (or, with `size`, short) page is the last.
 *
 * @example
 * pagePaginator({ size: 50, sizeParam: 'per_page' })
 */
export function pagePaginator(
  options: { param?: string; first?: number; size?: number; sizeParam?: string } = {},
): Paginator {
  const param = options.param ?? 'page';
  const first = options.first ?? 1;
  return {
    request: (state) => ({
      query: {
        [param]: Number(state ?? first),
        ...(options.size && options.sizeParam ? { [options.sizeParam]: options.size } : {}),
      },
    }),
    next: (answer, state) => {
      if (answer.records.length === 0) return null;
      if (options.size && answer.records.length < options.size) return null;
      return Number(state ?? first) + 1;
    },
  };
}
