import { seededRandom } from '@etl/core';
import type {
  JiraBoard,
  JiraHistory,
  JiraIssueType,
  JiraProject,
  JiraSprint,
  JiraStatus,
  JiraUser,
} from '../jira-types.js';

/** What the fake's data set is made of; every field has a default. */
export interface FakeJiraDataOptions {
  /** Project keys, or how many projects to make (`P0`, `P1`, …). Default `['ENG']`. */
  projects?: string[] | number;
  /** Issues in total, spread round-robin over the projects. Default 100. */
  issues?: number;
  /** Seed of the deterministic generator. Default 1. */
  seed?: number;
  /** Fraction of issues whose changelog is longer than the inline limit. Default 0.1. */
  longChangelogRatio?: number;
  /** Changelog lengths: normal issues get 1..`normal`, long ones `long[0]`..`long[1]`. */
  changelogLength?: { normal?: number; long?: [number, number] };
  /** Histories search returns inline with `expand=changelog` (Jira Cloud: 40). */
  inlineChangelogLimit?: number;
  /** Fraction of histories made in the same millisecond as the one before. Default 0.15. */
  sameMillisecondRatio?: number;
}

export const fakeStatuses: JiraStatus[] = [
  { id: '1', name: 'To Do', statusCategory: { id: 2, key: 'new', name: 'To Do' } },
  { id: '3', name: 'In Progress', statusCategory: { id: 4, key: 'indeterminate', name: 'In Progress' } },
  { id: '10001', name: 'In Review', statusCategory: { id: 4, key: 'indeterminate', name: 'In Progress' } },
  { id: '10002', name: 'Blocked', statusCategory: { id: 4, key: 'indeterminate', name: 'In Progress' } },
  { id: '10003', name: 'Done', statusCategory: { id: 3, key: 'done', name: 'Done' } },
];

export const fakeIssueTypes: (JiraIssueType & { description: string })[] = [
  { id: '10000', name: 'Epic', subtask: false, hierarchyLevel: 1, description: 'A big user story.' },
  { id: '10001', name: 'Story', subtask: false, hierarchyLevel: 0, description: 'Functionality.' },
  { id: '10002', name: 'Task', subtask: false, hierarchyLevel: 0, description: 'A task.' },
  { id: '10003', name: 'Bug', subtask: false, hierarchyLevel: 0, description: 'A problem.' },
  { id: '10004', name: 'Subtask', subtask: true, hierarchyLevel: -1, description: 'Part of a task.' },
  { id: '10005', name: 'Spike', subtask: false, hierarchyLevel: 0, description: 'Research.' },
];

export const storyPointsField = 'customfield_10016';
export const sprintField = 'customfield_10020';
/** A custom field whose display name is also "status": a connector that matches on names gets it wrong. */
export const decoyStatusField = 'customfield_10100';

const priorities = ['Highest', 'High', 'Medium', 'Low'];

export { seededRandom };

/** Jira's timestamp format: `2024-01-15T10:30:00.123+0000`. */
export const jiraTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');

export interface FakeIssue {
  id: string;
  key: string;
  projectKey: string;
  typeId: string;
  summary: string;
  statusId: string;
  createdMs: number;
  updatedMs: number;
  parentId: string | null;
  assignee: JiraUser | null;
  reporter: JiraUser;
  priority: string;
  storyPoints: number | null;
  sprintId: number | null;
  histories: JiraHistory[];
}

export interface FakeJiraData {
  projects: JiraProject[];
  users: JiraUser[];
  issues: FakeIssue[];
  boards: JiraBoard[];
  sprints: (JiraSprint & { boardId: number })[];
  inlineChangelogLimit: number;
  nextHistoryId(): number;
}

const BASE_MS = Date.UTC(2024, 0, 1);

export function generateFakeJiraData(options: FakeJiraDataOptions = {}): FakeJiraData {
  const random = seededRandom(options.seed ?? 1);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];
  const keys =
    typeof options.projects === 'number'
      ? Array.from({ length: options.projects }, (_, i) => `P${i}`)
      : (options.projects ?? ['ENG']);
  const projects: JiraProject[] = keys.map((key, i) => ({
    id: String(10000 + i),
    key,
    name: `Project ${key}`,
  }));
  const users: JiraUser[] = [
    ...Array.from({ length: 10 }, (_, i) => ({
      accountId: `557058:fake-user-${String(i).padStart(2, '0')}`,
      accountType: 'atlassian',
      displayName: `User ${i}`,
      emailAddress: `user${i}@example.com`,
      active: true,
    })),
    {
      accountId: '557058:fake-automation',
      accountType: 'app',
      displayName: 'Automation for Jira',
      active: true,
    },
  ];
  const humans = users.slice(0, 10);
  const boards: JiraBoard[] = [];
  const sprints: (JiraSprint & { boardId: number })[] = [];
  projects.forEach((p, i) => {
    const boardId = i + 1;
    boards.push({
      id: boardId,
      name: `${p.key} board`,
      type: 'scrum',
      location: { projectKey: p.key, projectId: Number(p.id) },
    });
    for (let s = 0; s < 3; s += 1) {
      const id = boardId * 100 + s;
      sprints.push({
        id,
        boardId,
        originBoardId: boardId,
        name: `${p.key} Sprint ${s + 1}`,
        state: s === 2 ? 'active' : 'closed',
        startDate: jiraTime(BASE_MS + s * 14 * 86_400_000),
        endDate: jiraTime(BASE_MS + (s + 1) * 14 * 86_400_000),
      });
    }
  });
  if (projects.length > 0) {
    boards.push({
      id: 1000,
      name: `${projects[0].key} kanban`,
      type: 'kanban',
      location: { projectKey: projects[0].key, projectId: Number(projects[0].id) },
    });
  }

  const count = options.issues ?? 100;
  const longRatio = options.longChangelogRatio ?? 0.1;
  const inline = options.inlineChangelogLimit ?? 40;
  const normalMax = options.changelogLength?.normal ?? 8;
  const [longMin, longMax] = options.changelogLength?.long ?? [inline + 5, inline * 2 + 10];
  const sameMs = options.sameMillisecondRatio ?? 0.15;
  const longEvery = longRatio > 0 ? Math.max(1, Math.round(1 / longRatio)) : 0;
  let historyId = 10000;
  const perProject = new Map<string, number>();
  const epicsByProject = new Map<string, string[]>();
  const storiesByProject = new Map<string, string[]>();
  const issues: FakeIssue[] = [];

  for (let i = 0; i < count; i += 1) {
    const project = projects[i % projects.length];
    const n = (perProject.get(project.key) ?? 0) + 1;
    perProject.set(project.key, n);
    const id = String(100000 + i);
    const epics = epicsByProject.get(project.key) ?? [];
    const stories = storiesByProject.get(project.key) ?? [];
    let typeId: string;
    if (n % 25 === 1) typeId = '10000';
    else if (n % 7 === 0 && stories.length > 0) typeId = '10004';
    else typeId = pick(['10001', '10001', '10002', '10003', '10005']);
    const parentId =
      typeId === '10004'
        ? pick(stories)
        : typeId !== '10000' && epics.length > 0 && random() < 0.6
          ? pick(epics)
          : null;
    if (typeId === '10000') epicsByProject.set(project.key, [...epics, id]);
    if (typeId === '10001') storiesByProject.set(project.key, [...stories, id]);

    const createdMs = BASE_MS + i * 97_000 + int(0, 50_000);
    const long = longEvery > 0 && Math.floor(i / projects.length) % longEvery === longEvery - 1;
    const length = long ? int(longMin, longMax) : int(0, normalMax);
    let statusId = '1';
    let at = createdMs;
    const histories: JiraHistory[] = [];
    for (let h = 0; h < length; h += 1) {
      at += random() < sameMs && h > 0 ? 0 : int(1, 36_000_000);
      const author = pick(users);
      const items: JiraHistory['items'] = [];
      const roll = random();
      if (roll < 0.75 || h === length - 1) {
        const next = pick(fakeStatuses.filter((s) => s.id !== statusId));
        const from = fakeStatuses.find((s) => s.id === statusId)!;
        items.push({
          field: 'status',
          fieldtype: 'jira',
          fieldId: 'status',
          from: from.id,
          fromString: from.name,
          to: next.id,
          toString: next.name,
        });
        statusId = next.id;
      }
      if (roll >= 0.6) {
        items.push({
          field: 'status',
          fieldtype: 'custom',
          fieldId: decoyStatusField,
          from: null,
          fromString: 'green',
          to: null,
          toString: pick(['red', 'amber', 'green']),
        });
      }
      if (roll >= 0.9) {
        items.push({
          field: 'priority',
          fieldtype: 'jira',
          fieldId: 'priority',
          from: '3',
          fromString: 'Medium',
          to: '2',
          toString: 'High',
        });
      }
      histories.push({
        id: String((historyId += 1)),
        author: {
          accountId: author.accountId,
          displayName: author.displayName,
          accountType: author.accountType,
          active: true,
        },
        created: jiraTime(at),
        items,
      });
    }
    const assignee = random() < 0.8 ? pick(humans) : null;
    issues.push({
      id,
      key: `${project.key}-${n}`,
      projectKey: project.key,
      typeId,
      summary: `${project.key} issue ${n}: ${pick(['fix', 'build', 'refactor', 'document', 'measure'])} ${pick(['login', 'search', 'export', 'billing', 'sync'])}`,
      statusId,
      createdMs,
      updatedMs: at + int(0, 1000),
      parentId,
      assignee,
      reporter: pick(humans),
      priority: pick(priorities),
      storyPoints: typeId === '10001' ? pick([1, 2, 3, 5, 8, 13]) : null,
      sprintId: random() < 0.5 ? 0 : null,
      histories,
    });
  }
  for (const issue of issues) {
    if (issue.sprintId !== null) {
      const projectBoards = sprints.filter(
        (s) => boards.find((b) => b.id === s.boardId)?.location?.projectKey === issue.projectKey,
      );
      issue.sprintId = projectBoards.length
        ? projectBoards[Number(issue.id) % projectBoards.length].id
        : null;
    }
  }
  return {
    projects,
    users,
    issues,
    boards,
    sprints,
    inlineChangelogLimit: inline,
    nextHistoryId: () => (historyId += 1),
  };
}
