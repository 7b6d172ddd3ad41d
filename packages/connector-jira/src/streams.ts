import type { StreamDefinition } from '@etl/core';

/** Stream names of the Jira connector. */
export const jiraStreams = {
  projects: 'projects',
  issueTypes: 'issue_types',
  statuses: 'statuses',
  users: 'users',
  boards: 'boards',
  sprints: 'sprints',
  issues: 'issues',
  issueChangelogs: 'issue_changelogs',
} as const;

export type JiraStreamName = (typeof jiraStreams)[keyof typeof jiraStreams];

export const jiraStreamDefinitions: StreamDefinition[] = [
  { name: jiraStreams.projects, primaryKey: ['id'] },
  { name: jiraStreams.issueTypes, primaryKey: ['id'] },
  { name: jiraStreams.statuses, primaryKey: ['id'] },
  { name: jiraStreams.users, primaryKey: ['accountId'] },
  { name: jiraStreams.boards, primaryKey: ['id'], dependsOn: [jiraStreams.projects] },
  { name: jiraStreams.sprints, primaryKey: ['id'], dependsOn: [jiraStreams.boards] },
  {
    name: jiraStreams.issues,
    primaryKey: ['id'],
    cursorField: 'fields.updated',
    dependsOn: [jiraStreams.projects, jiraStreams.issueTypes, jiraStreams.statuses],
    partitioned: true,
  },
  {
    name: jiraStreams.issueChangelogs,
    primaryKey: ['issueId'],
    cursorField: 'updated',
    dependsOn: [jiraStreams.issues],
    partitioned: true,
  },
];
