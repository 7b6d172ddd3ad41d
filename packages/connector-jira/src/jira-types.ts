/** The parts of Jira Cloud REST v3 payloads the connector reads (the raw rows keep everything). */

export interface JiraUser {
  accountId: string;
  accountType?: string;
  displayName?: string;
  emailAddress?: string;
  active?: boolean;
}

export interface JiraStatusCategory {
  id: number;
  key: 'new' | 'indeterminate' | 'done' | 'undefined' | string;
  name?: string;
}

export interface JiraStatus {
  id: string;
  name: string;
  statusCategory: JiraStatusCategory;
}

export interface JiraIssueType {
  id: string;
  name: string;
  subtask?: boolean;
  hierarchyLevel?: number;
}

export interface JiraProject {
  id: string;
  key: string;
  name: string;
  self?: string;
}

export interface JiraChangeItem {
  field: string;
  fieldtype?: string;
  fieldId?: string;
  from: string | null;
  fromString: string | null;
  to: string | null;
  toString: string | null;
}

export interface JiraHistory {
  id: string;
  author?: JiraUser;
  created: string;
  items: JiraChangeItem[];
}

export interface JiraIssue {
  id: string;
  key: string;
  self?: string;
  fields: Record<string, unknown> & {
    summary?: string;
    updated?: string;
    created?: string;
    resolutiondate?: string | null;
    status?: JiraStatus;
    issuetype?: JiraIssueType;
    project?: JiraProject;
    parent?: { id: string; key: string };
    assignee?: JiraUser | null;
    reporter?: JiraUser | null;
    priority?: { name: string } | null;
  };
  changelog?: { startAt: number; maxResults: number; total: number; histories: JiraHistory[] };
}

export interface JiraSearchPage {
  issues: JiraIssue[];
  nextPageToken?: string;
  isLast?: boolean;
}

export interface JiraBulkChangelogPage {
  issueChangeLogs?: { issueId: string; changeHistories: JiraHistory[] }[];
  nextPageToken?: string;
}

export interface JiraChangelogPage {
  startAt: number;
  maxResults: number;
  total: number;
  isLast?: boolean;
  values: JiraHistory[];
}

export interface JiraOffsetPage<T> {
  startAt: number;
  maxResults: number;
  total?: number;
  isLast?: boolean;
  values: T[];
}

export interface JiraBoard {
  id: number;
  name: string;
  type: 'scrum' | 'kanban' | 'simple' | string;
  location?: { projectKey?: string; projectId?: number };
}

export interface JiraSprint {
  id: number;
  name: string;
  state: 'future' | 'active' | 'closed' | string;
  originBoardId?: number;
  startDate?: string;
  endDate?: string;
  completeDate?: string;
}
