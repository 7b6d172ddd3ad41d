import { AgileClient, Version3Client } from 'jira.js';
import { EtlError } from '@etl/core';
import { JiraHttp, type JiraHttpSettings, type JiraRequestContext } from './jira-http.js';
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
 * The Jira endpoints the connector reads, through jira.js `Version3Client` / `AgileClient` whose transport is
 * replaced by {@link JiraHttp} (budget, SSRF guard, retries).
 */
export class JiraApi {
  readonly http: JiraHttp;
  private readonly v3: Version3Client;
  private readonly agile: AgileClient;

  constructor(settings: JiraHttpSettings, ctx: JiraRequestContext) {
    this.http = new JiraHttp(settings, ctx);
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
      const data = await this.http.requestJson<unknown>(method, path, body);
      return { data, status: 200, statusText: 'OK', headers: {}, config, request: {} };
    };
    const clientConfig = {
      host: this.http.site,
      // Authorization is added by JiraHttp, only for the site's own origin.
      baseRequestConfig: { adapter },
    };
    this.v3 = new Version3Client(clientConfig);
    this.agile = new AgileClient(clientConfig);
  }

  get site(): string {
    return this.http.site;
  }

  private call<T>(run: () => Promise<unknown>): Promise<T> {
    return run().then((value) => value as T, unwrapClientError);
  }

  myself(): Promise<JiraUser> {
    return this.call(() => this.v3.myself.getCurrentUser());
  }

  projects(startAt: number, maxResults: number, keys: string[]): Promise<JiraOffsetPage<JiraProject>> {
    return this.call(() =>
      this.v3.projects.searchProjects({
        startAt,
        maxResults,
        keys: keys.length ? keys : undefined,
        orderBy: 'key',
      }),
    );
  }

  issueTypes(): Promise<JiraIssueType[]> {
    return this.call(() => this.v3.issueTypes.getIssueAllTypes());
  }

  statuses(): Promise<JiraStatus[]> {
    return this.call(() => this.v3.workflowStatuses.getStatuses());
  }

  search(jql: string, fields: string[], maxResults: number, nextPageToken?: string): Promise<JiraSearchPage> {
    return this.call(() =>
      this.v3.issueSearch.searchForIssuesUsingJqlEnhancedSearch({
        jql,
        fields,
        expand: 'changelog',
        maxResults,
        nextPageToken,
      }),
    );
  }

  bulkChangelogs(issueIdsOrKeys: string[], nextPageToken?: string): Promise<JiraBulkChangelogPage> {
    return this.call(() =>
      this.v3.issues.getBulkChangelogs({ issueIdsOrKeys, maxResults: 1000, nextPageToken }),
    );
  }

  issueChangelog(issueIdOrKey: string, startAt: number): Promise<JiraChangelogPage> {
    return this.call(() => this.v3.issues.getChangeLogs({ issueIdOrKey, startAt, maxResults: 100 }));
  }

  users(startAt: number, maxResults: number): Promise<JiraUser[]> {
    return this.call(() => this.v3.users.getAllUsers({ startAt, maxResults }));
  }

  boards(startAt: number, projectKeyOrId?: string): Promise<JiraOffsetPage<JiraBoard>> {
    return this.call(() => this.agile.board.getAllBoards({ startAt, maxResults: 50, projectKeyOrId }));
  }

  sprints(boardId: number, startAt: number): Promise<JiraOffsetPage<JiraSprint>> {
    return this.call(() => this.agile.board.getAllSprints({ boardId, startAt, maxResults: 50 }));
  }
}
