import { AgileClient, Version3Client } from 'jira.js';
import { EtlError, type HttpClient } from '@etl/core';
import type {
  JiraBoard,
  JiraBulkChangelogPage,
  JiraChangelogPage,
  JiraIssueType,
  JiraOffsetPage,
  JiraProject,
  JiraSearchPage,
  JiraSprint,
  JiraStatus,
  JiraUser,
} from './jira-types.js';

/** The parts of an axios request config that jira.js fills in; the adapter below is all the transport it gets. */
interface AdapterConfig {
  baseURL?: string;
  url?: string;
  method?: string;
  params?: Record<string, unknown>;
  paramsSerializer?:
    ((params: Record<string, unknown>) => string) | { serialize?: (p: Record<string, unknown>) => string };
  data?: unknown;
}

function serializeParams(config: AdapterConfig): string {
  const params = config.params;
  if (!params) return '';
  const serializer = config.paramsSerializer;
  const serialize = typeof serializer === 'function' ? serializer : serializer?.serialize;
  if (serialize) return serialize(params);
  return new URLSearchParams(
    Object.entries(params)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
}

/** Unwraps the EtlError that jira.js wraps into its own HttpException. */
function unwrapClientError(error: unknown): never {
  if (error instanceof EtlError) throw error;
  const inner = (error as { response?: unknown; cause?: unknown } | null)?.response;
  if (inner instanceof EtlError) throw inner;
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof EtlError) throw cause;
  throw EtlError.wrap(error, 'source_error', 'jira', 'Jira client error');
}

/** What the HTTP client keeps of a 2xx answer that is not valid JSON (the `details` of its error). */
export interface UnparseableResponse {
  unparseable: true;
  url: string;
  status: number;
  body: string;
}

export function unparseableOf(error: unknown): UnparseableResponse | undefined {
  if (error instanceof EtlError && (error.details as UnparseableResponse | undefined)?.unparseable) {
    return error.details as UnparseableResponse;
  }
  return undefined;
}

export const searchFields = (extra: string[]) =>
  [
    'summary',
    'issuetype',
    'status',
    'project',
    'parent',
    'assignee',
    'reporter',
    'priority',
    'created',
    'updated',
    'resolutiondate',
    ...extra,
  ].filter((f, i, all) => all.indexOf(f) === i);

/**
 * The Jira endpoints the connector reads, through jira.js `Version3Client` / `AgileClient` whose transport is the
 * engine's HTTP client for the run (`ctx.http`): the host's network guard, the token sent only to the site,
 * timeouts, retries, `Retry-After` and the integration's concurrency cap.
 */
export function jiraApi(http: HttpClient) {
  const adapter = async (config: AdapterConfig) => {
    const query = serializeParams(config);
    const path = `${config.url ?? ''}${query ? `?${query}` : ''}`;
    const method = (config.method ?? 'get').toUpperCase();
    const body =
      config.data === undefined || config.data === null
        ? undefined
        : typeof config.data === 'string'
          ? config.data
          : JSON.stringify(config.data);
    const data = await http.json<unknown>({ method, path, body });
    return { data, status: 200, statusText: 'OK', headers: {}, config, request: {} };
  };
  const site = (http.baseUrl?.toString() ?? '').replace(/\/$/, '');
  // Authorization is added by the HTTP client, only for the site's own origin.
  const clientConfig = { host: site, baseRequestConfig: { adapter } };
  const v3 = new Version3Client(clientConfig);
  const agile = new AgileClient(clientConfig);
  const call = <T>(run: () => Promise<unknown>): Promise<T> =>
    run().then((value) => value as T, unwrapClientError);

  return {
    site,
    myself: (): Promise<JiraUser> => call(() => v3.myself.getCurrentUser()),
    projects: (startAt: number, maxResults: number, keys: string[]): Promise<JiraOffsetPage<JiraProject>> =>
      call(() =>
        v3.projects.searchProjects({
          startAt,
          maxResults,
          keys: keys.length ? keys : undefined,
          orderBy: 'key',
        }),
      ),
    issueTypes: (): Promise<JiraIssueType[]> => call(() => v3.issueTypes.getIssueAllTypes()),
    statuses: (): Promise<JiraStatus[]> => call(() => v3.workflowStatuses.getStatuses()),
    search: (
      jql: string,
      fields: string[],
      maxResults: number,
      nextPageToken?: string,
    ): Promise<JiraSearchPage> =>
      call(() =>
        v3.issueSearch.searchForIssuesUsingJqlEnhancedSearch({
          jql,
          fields,
          expand: 'changelog',
          maxResults,
          nextPageToken,
        }),
      ),
    bulkChangelogs: (issueIdsOrKeys: string[], nextPageToken?: string): Promise<JiraBulkChangelogPage> =>
      call(() => v3.issues.getBulkChangelogs({ issueIdsOrKeys, maxResults: 1000, nextPageToken })),
    issueChangelog: (issueIdOrKey: string, startAt: number): Promise<JiraChangelogPage> =>
      call(() => v3.issues.getChangeLogs({ issueIdOrKey, startAt, maxResults: 100 })),
    users: (startAt: number, maxResults: number): Promise<JiraUser[]> =>
      call(() => v3.users.getAllUsers({ startAt, maxResults })),
    boards: (startAt: number, projectKeyOrId?: string): Promise<JiraOffsetPage<JiraBoard>> =>
      call(() => agile.board.getAllBoards({ startAt, maxResults: 50, projectKeyOrId })),
    sprints: (boardId: number, startAt: number): Promise<JiraOffsetPage<JiraSprint>> =>
      call(() => agile.board.getAllSprints({ boardId, startAt, maxResults: 50 })),
  };
}

export type JiraApi = ReturnType<typeof jiraApi>;
