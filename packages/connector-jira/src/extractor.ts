import pLimit from 'p-limit';
import {
  EtlError,
  type ExtractContext,
  type Extractor,
  type Page,
  type PartitionContext,
  type RawRecord,
} from '@etl/core';
import { jiraApi, searchFields, unparseableOf, type JiraApi, type UnparseableResponse } from './jira-api.js';
import type { JiraConfig } from './options.js';
import { jiraStreams } from './streams.js';
import type { JiraHistory, JiraIssue, JiraStatus } from './jira-types.js';
import { orderHistories } from './changelog-order.js';

/**
 * Checkpoint of the issue streams, taken from the issues read: `updatedMs` is the greatest `updated` (epoch ms,
 * on the site's clock) of any issue stored so far. Never this machine's clock: a site whose clock runs ahead
 * or behind ours would otherwise have its changes skipped. An incremental run reads from `updatedMs` minus the
 * lookback; a resumed run (a full job continuing after a crash or pause) reads from `updatedMs` itself.
 */
export interface IssueCheckpoint {
  updatedMs: number;
}

/** Marker put on issue payloads by the connector (the rest of the payload is Jira's, verbatim). */
export interface JiraIssueAnnotations {
  /** Status id → Jira status category key, for the statuses the changelog mentions. */
  statusCategories: Record<string, string>;
  /** True once `changelog.histories` holds every history of the issue. */
  changelogComplete: boolean;
}

export type AnnotatedIssue = JiraIssue & { _etl: JiraIssueAnnotations };

/** Payload of one `issue_changelogs` record. */
export interface IssueChangelogRecord {
  issueId: string;
  issueKey: string;
  updated: string;
  status: { id: string; name: string } | null;
  histories: JiraHistory[];
  _etl: JiraIssueAnnotations;
}

const MALFORMED_ATTEMPTS = 3;
/** Histories one bulk changelog page returns; search pages are buffered until about this many are due. */
const BULK_PAGE_HISTORIES = 1000;
const BULK_MAX_ISSUES = 1000;
const BUFFER_MAX_ISSUES = 1000;

const quote = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * Issue-search JQL for one project, from an epoch-millisecond `updated` bound (no time-zone interpretation) and,
 * for a backfill window only, an upper bound: any other upper bound would be a reading of our clock.
 */
export function issueJql(
  config: JiraConfig,
  project: string | null,
  fromMs: number,
  toMs: number | null = null,
): string {
  const clauses: string[] = [];
  if (project) clauses.push(`project = ${quote(project)}`);
  clauses.push(`updated >= ${Math.max(0, Math.floor(fromMs))}`);
  if (toMs !== null) clauses.push(`updated <= ${Math.floor(toMs)}`);
  if (config.jql) clauses.push(`(${config.jql})`);
  return `${clauses.join(' AND ')} ORDER BY updated ASC, id ASC`;
}

/** Where to start reading, per mode: the saved position (minus the lookback when incremental), start date, window. */
function searchWindow(ctx: ExtractContext<JiraConfig>): { fromMs: number; toMs: number | null } {
  const startMs = ctx.config.startDate ? Date.parse(ctx.config.startDate) : 0;
  const lookbackMs = ctx.config.lookbackMinutes * 60_000;
  if (ctx.mode === 'backfill') {
    return {
      fromMs: ctx.window?.from ? Date.parse(ctx.window.from) : startMs,
      toMs: ctx.window?.to ? Date.parse(ctx.window.to) : null,
    };
  }
  const checkpoint = issueCheckpoint(ctx.checkpoint);
  if (!checkpoint) return { fromMs: startMs, toMs: null };
  // An incremental run steps back by the lookback (index lag, timestamps out of commit order); a full run that
  // resumes continues where its last stored page ended.
  const back = ctx.mode === 'incremental' ? lookbackMs : 0;
  return { fromMs: Math.max(startMs, checkpoint.updatedMs - back), toMs: null };
}

function issueCheckpoint(value: unknown): IssueCheckpoint | null {
  const updatedMs = (value as Partial<IssueCheckpoint> | null)?.updatedMs;
  return typeof updatedMs === 'number' && Number.isFinite(updatedMs) ? { updatedMs } : null;
}

function unparseableRecord(details: UnparseableResponse): RawRecord {
  return {
    sourceId: `unparseable:${Date.now()}:${Math.random().toString(36).slice(2, 8)}`,
    payload: details,
  };
}

/** Reads the Jira streams page by page; issues are partitioned by project and carry their complete changelog. */
export function jiraExtractor(): Extractor<JiraConfig> {
  return { partitions, extract };
}

async function partitions(ctx: PartitionContext<JiraConfig>): Promise<string[]> {
  if (ctx.stream !== jiraStreams.issues && ctx.stream !== jiraStreams.issueChangelogs) return [];
  if (ctx.config.projects.length > 0) return [...ctx.config.projects];
  const api = jiraApi(ctx.http);
  const keys: string[] = [];
  for (let startAt = 0; ;) {
    const page = await api.projects(startAt, 50, []);
    keys.push(...page.values.map((p) => p.key));
    startAt += page.values.length;
    if (page.isLast !== false || page.values.length === 0) break;
  }
  return keys;
}

async function* extract(ctx: ExtractContext<JiraConfig>): AsyncIterable<Page> {
  const api = jiraApi(ctx.http);
  switch (ctx.stream) {
    case jiraStreams.projects:
      yield* offsetPages(
        ctx,
        (startAt) => api.projects(startAt, 50, ctx.config.projects),
        (p) => p.id,
      );
      return;
    case jiraStreams.issueTypes: {
      const types = await api.issueTypes();
      yield { records: types.map((t) => ({ sourceId: t.id, payload: t })), checkpoint: null };
      return;
    }
    case jiraStreams.statuses: {
      const statuses = await api.statuses();
      yield { records: statuses.map((s) => ({ sourceId: s.id, payload: s })), checkpoint: null };
      return;
    }
    case jiraStreams.users:
      for (let startAt = 0; ;) {
        const users = await api.users(startAt, 100);
        if (users.length === 0) return;
        yield { records: users.map((u) => ({ sourceId: u.accountId, payload: u })), checkpoint: null };
        startAt += users.length;
      }
    case jiraStreams.boards:
      for (const project of boardProjects(ctx)) {
        yield* offsetPages(
          ctx,
          (startAt) => api.boards(startAt, project),
          (b) => String(b.id),
        );
      }
      return;
    case jiraStreams.sprints:
      for (const project of boardProjects(ctx)) {
        for (let startAt = 0; ;) {
          const boards = await api.boards(startAt, project);
          for (const board of boards.values.filter((b) => b.type === 'scrum')) {
            yield* offsetPages(
              ctx,
              (at) => api.sprints(board.id, at),
              (s) => String(s.id),
            );
          }
          startAt += boards.values.length;
          if (boards.isLast !== false || boards.values.length === 0) break;
        }
      }
      return;
    case jiraStreams.issues:
    case jiraStreams.issueChangelogs:
      yield* issuePages(ctx, api);
      return;
    default:
      throw new EtlError('invalid_input', `unknown stream "${ctx.stream}"`, { plugin: 'jira' });
  }
}

/** Boards are listed per configured project, or site-wide when no project is configured. */
function boardProjects(ctx: ExtractContext<JiraConfig>): (string | undefined)[] {
  return ctx.config.projects.length > 0 ? ctx.config.projects : [undefined];
}

async function* offsetPages<T>(
  ctx: ExtractContext<JiraConfig>,
  fetchPage: (startAt: number) => Promise<{ values: T[]; isLast?: boolean }>,
  idOf: (item: T) => string,
): AsyncIterable<Page> {
  for (let startAt = 0; ;) {
    const page = await fetchPage(startAt);
    if (page.values.length > 0) {
      yield { records: page.values.map((v) => ({ sourceId: idOf(v), payload: v })), checkpoint: null };
    }
    startAt += page.values.length;
    if (page.isLast !== false || page.values.length === 0 || ctx.signal.aborted) return;
  }
}

/**
 * Issue search pages, buffered until enough long changelogs are due to fill a bulk changelog request, so a
 * tenth of issues with long histories costs a handful of requests instead of one per issue.
 */
async function* issuePages(ctx: ExtractContext<JiraConfig>, api: JiraApi): AsyncIterable<Page> {
  const { fromMs, toMs } = searchWindow(ctx);
  const jql = issueJql(ctx.config, ctx.partition, fromMs, toMs);
  const changelogOnly = ctx.stream === jiraStreams.issueChangelogs;
  const custom = Object.values(ctx.config.customFields).filter((f): f is string => typeof f === 'string');
  const fields = changelogOnly ? ['updated', 'status'] : searchFields(custom);
  const statusCategories = await loadStatuses(api);

  let token: string | undefined;
  let highWater = issueCheckpoint(ctx.checkpoint)?.updatedMs ?? fromMs;
  let buffer: JiraIssue[][] = [];
  let dueHistories = 0;
  let bufferedIssues = 0;

  const flush = async function* (): AsyncIterable<Page> {
    const pages = buffer;
    buffer = [];
    dueHistories = 0;
    bufferedIssues = 0;
    const complete = await completeChangelogs(ctx, api, pages.flat());
    for (let i = 0; i < pages.length; i += 1) {
      const issues = pages[i];
      for (const issue of issues) {
        const updated = Date.parse(issue.fields.updated ?? '');
        if (Number.isFinite(updated)) highWater = Math.max(highWater, updated);
      }
      const records = issues.map((issue) =>
        issueRecord(issue, complete.get(issue.id), statusCategories, changelogOnly),
      );
      const checkpoint: IssueCheckpoint = { updatedMs: highWater };
      yield { records, checkpoint };
    }
  };

  for (;;) {
    let page;
    for (let attempt = 1; ; attempt += 1) {
      try {
        page = await api.search(jql, fields, ctx.config.pageSize, token);
        break;
      } catch (error) {
        const details = unparseableOf(error);
        if (!details) throw error;
        ctx.emit({ type: 'warning', message: (error as Error).message });
        yield { records: [unparseableRecord(details)], checkpoint: { updatedMs: highWater } };
        if (attempt >= MALFORMED_ATTEMPTS) throw error;
      }
    }
    const issues = page.issues ?? [];
    buffer.push(issues);
    bufferedIssues += issues.length;
    for (const issue of issues) {
      const cl = issue.changelog;
      if (cl && cl.total > cl.histories.length) dueHistories += cl.total;
    }
    token = page.nextPageToken ?? undefined;
    const last = !token || page.isLast === true || issues.length === 0;
    if (last) {
      yield* flush();
      return;
    }
    if (dueHistories >= BULK_PAGE_HISTORIES * 5 || bufferedIssues >= BUFFER_MAX_ISSUES) {
      yield* flush();
    }
    if (ctx.signal.aborted) return;
  }
}

async function loadStatuses(api: JiraApi): Promise<Map<string, JiraStatus>> {
  const statuses = await api.statuses();
  return new Map(statuses.map((s) => [s.id, s]));
}

function issueRecord(
  issue: JiraIssue,
  histories: JiraHistory[] | undefined,
  statuses: Map<string, JiraStatus>,
  changelogOnly: boolean,
): RawRecord {
  const inline = issue.changelog?.histories ?? [];
  const all = orderHistories(histories ?? inline);
  const categories: Record<string, string> = {};
  const note = (id: string | null | undefined) => {
    const status = id ? statuses.get(id) : undefined;
    if (id && status) categories[id] = status.statusCategory.key;
  };
  note(issue.fields.status?.id);
  for (const h of all)
    for (const item of h.items) if (item.fieldId === 'status') (note(item.from), note(item.to));
  const annotations: JiraIssueAnnotations = {
    statusCategories: categories,
    changelogComplete: all.length >= (issue.changelog?.total ?? 0),
  };
  if (changelogOnly) {
    const record: IssueChangelogRecord = {
      issueId: issue.id,
      issueKey: issue.key,
      updated: issue.fields.updated ?? '',
      status: issue.fields.status ? { id: issue.fields.status.id, name: issue.fields.status.name } : null,
      histories: all,
      _etl: annotations,
    };
    return { sourceId: issue.id, payload: record };
  }
  const payload: AnnotatedIssue = {
    ...issue,
    changelog: { startAt: 0, maxResults: all.length, total: all.length, histories: all },
    _etl: annotations,
  };
  return { sourceId: issue.id, payload };
}

/**
 * Full histories for the issues whose inline changelog was truncated: bulk changelog requests (many issues
 * each, paged), then the per-issue endpoint only for issues the bulk answer left incomplete.
 */
async function completeChangelogs(
  ctx: ExtractContext<JiraConfig>,
  api: JiraApi,
  issues: JiraIssue[],
): Promise<Map<string, JiraHistory[]>> {
  const long = issues.filter((i) => i.changelog && i.changelog.total > i.changelog.histories.length);
  const found = new Map<string, JiraHistory[]>();
  if (long.length === 0) return found;
  for (let i = 0; i < long.length; i += BULK_MAX_ISSUES) {
    const ids = long.slice(i, i + BULK_MAX_ISSUES).map((issue) => issue.id);
    let token: string | undefined;
    try {
      do {
        const page = await api.bulkChangelogs(ids, token);
        for (const entry of page.issueChangeLogs ?? []) {
          const list = found.get(entry.issueId) ?? [];
          list.push(...(entry.changeHistories ?? []));
          found.set(entry.issueId, list);
        }
        token = page.nextPageToken ?? undefined;
      } while (token && !ctx.signal.aborted);
    } catch (error) {
      if (!(error instanceof EtlError) || (error.code !== 'not_found' && !unparseableOf(error))) throw error;
      ctx.emit({
        type: 'warning',
        message: `bulk changelog unavailable, reading per issue: ${error.message}`,
      });
    }
  }
  const limit = pLimit(ctx.config.concurrency);
  const incomplete = long.filter((issue) => {
    const got = new Set((found.get(issue.id) ?? []).map((h) => h.id));
    return got.size < (issue.changelog?.total ?? 0);
  });
  await Promise.all(
    incomplete.map((issue) =>
      limit(async () => {
        const histories: JiraHistory[] = [...(found.get(issue.id) ?? [])];
        for (let startAt = 0; ;) {
          const page = await api.issueChangelog(issue.id, startAt);
          histories.push(...page.values);
          startAt += page.values.length;
          if (page.isLast === true || page.values.length === 0 || startAt >= page.total) break;
        }
        found.set(issue.id, histories);
      }),
    ),
  );
  for (const [id, list] of found) found.set(id, orderHistories(list));
  return found;
}
