import type {
  CanonicalWorkItemType,
  EntityDraft,
  MappingsInput,
  RawRow,
  StatusCategory,
  TransformContext,
  Transformer,
} from '@etl/core';
import { orderHistories } from './changelog-order.js';
import type { AnnotatedIssue, IssueChangelogRecord, JiraIssueAnnotations } from './extractor.js';
import type { JiraConfig } from './options.js';
import { jiraStreams } from './streams.js';
import type { JiraHistory, JiraIssueType, JiraProject, JiraStatus, JiraUser } from './jira-types.js';

/** Jira's own status categories, as canonical categories. */
export function categoryOfJiraKey(key: string | undefined): StatusCategory | null {
  if (key === 'new') return 'todo';
  if (key === 'indeterminate') return 'in_progress';
  if (key === 'done') return 'done';
  return null;
}

/** Canonical type from Jira's issue-type hierarchy level and name, when no mapping says otherwise. */
export function typeOfJiraIssueType(type: Pick<JiraIssueType, 'name' | 'subtask' | 'hierarchyLevel'>): {
  type: CanonicalWorkItemType;
  level: number;
} {
  const level = type.hierarchyLevel ?? (type.subtask ? -1 : 0);
  if (type.subtask || level < 0) return { type: 'subtask', level };
  if (level >= 1) return { type: 'epic', level };
  const name = type.name.toLowerCase();
  if (name === 'bug') return { type: 'bug', level };
  if (name === 'story' || name === 'user story') return { type: 'story', level };
  if (name === 'task') return { type: 'task', level };
  return { type: 'custom', level };
}

/** Jira Cloud's out-of-the-box types and statuses; an integration's own mappings override them. */
export const jiraDefaultMappings: MappingsInput = {
  workItemTypes: [
    { rawType: 'Epic', type: 'epic', level: 1 },
    { rawType: 'Story', type: 'story', level: 0 },
    { rawType: 'Task', type: 'task', level: 0 },
    { rawType: 'Bug', type: 'bug', level: 0 },
    { rawType: 'Subtask', type: 'subtask', level: -1 },
    { rawType: 'Sub-task', type: 'subtask', level: -1 },
  ],
  statuses: [
    { rawStatus: 'To Do', category: 'todo' },
    { rawStatus: 'Backlog', category: 'todo' },
    { rawStatus: 'Selected for Development', category: 'todo' },
    { rawStatus: 'In Progress', category: 'in_progress' },
    { rawStatus: 'In Review', category: 'in_progress' },
    { rawStatus: 'Done', category: 'done' },
  ],
  workflows: [],
};

const iso = (value: unknown): string | null => {
  if (typeof value !== 'string' || value === '') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
};

/** A status change item: matched on the field id, never on the (localisable) display name. */
const isStatusChange = (item: { fieldId?: string; field: string; fieldtype?: string }) =>
  item.fieldId === 'status' ||
  (item.fieldId === undefined && item.fieldtype === 'jira' && item.field === 'status');

function sprintName(value: unknown): string | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  const sprints = value as { name?: string; state?: string }[];
  const active = sprints.find((s) => s.state === 'active');
  return (active ?? sprints[sprints.length - 1]).name ?? null;
}

function person(user: JiraUser | null | undefined): EntityDraft | null {
  if (!user?.accountId) return null;
  return {
    kind: 'person',
    sourceId: user.accountId,
    data: {
      displayName: user.displayName ?? null,
      email: user.emailAddress ?? null,
      login: null,
      isBot: user.accountType === 'app',
    },
  };
}

interface TransitionSource {
  issueId: string;
  updated: string | null;
  histories: JiraHistory[];
  annotations: JiraIssueAnnotations | undefined;
}

function transformRows(rows: RawRow[], ctx: TransformContext<JiraConfig>): EntityDraft[] {
  const out: EntityDraft[] = [];
  // People come from the users stream and from issues' assignee / reporter (full user objects); changelog
  // authors are left out: Jira trims them, and a trimmed copy would flip a person's row back and forth.
  const people = new Map<string, EntityDraft>();
  const addPerson = (user: JiraUser | null | undefined) => {
    const draft = person(user);
    if (draft) people.set(draft.sourceId, draft);
  };
  for (const row of rows) {
    const payload = row.payload as Record<string, unknown> | null;
    if (!payload || payload.unparseable === true) continue;
    switch (row.stream) {
      case jiraStreams.projects: {
        const p = payload as unknown as JiraProject;
        out.push({
          kind: 'project',
          sourceId: p.id,
          data: { key: p.key, name: p.name, url: p.self ?? null },
        });
        break;
      }
      case jiraStreams.users:
        addPerson(payload as unknown as JiraUser);
        break;
      case jiraStreams.issues: {
        const issue = payload as unknown as AnnotatedIssue;
        out.push(workItem(issue, ctx));
        addPerson(issue.fields.assignee);
        addPerson(issue.fields.reporter);
        const histories = issue.changelog?.histories ?? [];
        out.push(
          ...transitions(
            { issueId: issue.id, updated: iso(issue.fields.updated), histories, annotations: issue._etl },
            ctx,
          ),
        );
        break;
      }
      case jiraStreams.issueChangelogs: {
        const record = payload as unknown as IssueChangelogRecord;
        out.push(
          ...transitions(
            {
              issueId: record.issueId,
              updated: iso(record.updated),
              histories: record.histories,
              annotations: record._etl,
            },
            ctx,
          ),
        );
        break;
      }
      default:
        // issue types, statuses, boards and sprints feed mappings and raw storage, not canonical tables.
        break;
    }
  }
  return [...out, ...people.values()];
}

function category(
  name: string,
  statusId: string | null | undefined,
  annotations: JiraIssueAnnotations | undefined,
  ctx: TransformContext<JiraConfig>,
  jiraKey?: string,
): StatusCategory | null {
  const mapped = ctx.mappings.status(name);
  if (mapped) return mapped.category;
  return categoryOfJiraKey(jiraKey ?? (statusId ? annotations?.statusCategories[statusId] : undefined));
}

function workItem(issue: AnnotatedIssue, ctx: TransformContext<JiraConfig>): EntityDraft {
  const f = issue.fields;
  const custom = ctx.config.customFields ?? {};
  const rawType = f.issuetype?.name ?? 'Unknown';
  const mappedType = ctx.mappings.workItemType(rawType);
  const jiraType = f.issuetype ? typeOfJiraIssueType(f.issuetype) : { type: 'custom' as const, level: 0 };
  const status = f.status as JiraStatus | undefined;
  const statusName = status?.name ?? 'Unknown';
  const mappedStatus = ctx.mappings.status(statusName);
  const parent = f.parent as { key: string; fields?: { issuetype?: JiraIssueType } } | undefined;
  const parentIsEpic = (parent?.fields?.issuetype?.hierarchyLevel ?? 0) >= 1;
  const epicLink = custom.epicLink ? f[custom.epicLink] : undefined;
  const points = custom.storyPoints ? f[custom.storyPoints] : undefined;
  return {
    kind: 'work_item',
    sourceId: issue.id,
    sourceUpdatedAt: iso(f.updated),
    data: {
      key: issue.key,
      title: f.summary ?? '',
      type: mappedType?.type ?? jiraType.type,
      rawType,
      status: statusName,
      statusCategory:
        mappedStatus?.category ??
        categoryOfJiraKey(status?.statusCategory?.key) ??
        ('todo' as StatusCategory),
      workflowStep: mappedStatus?.workflowStep ?? null,
      projectKey: f.project?.key ?? null,
      parentKey: parent?.key ?? null,
      epicKey: parentIsEpic ? (parent?.key ?? null) : typeof epicLink === 'string' ? epicLink : null,
      hierarchyLevel: mappedType?.level ?? jiraType.level,
      assigneeId: f.assignee?.accountId ?? null,
      reporterId: f.reporter?.accountId ?? null,
      priority: f.priority?.name ?? null,
      storyPoints: typeof points === 'number' ? points : null,
      sprint: custom.sprint ? sprintName(f[custom.sprint]) : null,
      createdAt: iso(f.created),
      updatedAt: iso(f.updated),
      resolvedAt: iso(f.resolutiondate),
    },
  };
}

/** One transition per status change, in changelog order (time, then history id), numbered from 1. */
function transitions(source: TransitionSource, ctx: TransformContext<JiraConfig>): EntityDraft[] {
  const drafts: EntityDraft[] = [];
  let seq = 0;
  for (const history of orderHistories(source.histories)) {
    history.items.forEach((item, index) => {
      if (!isStatusChange(item)) return;
      seq += 1;
      const toStatus = item.toString ?? item.to ?? 'Unknown';
      drafts.push({
        kind: 'work_item_transition',
        sourceId: `${source.issueId}:${history.id}:${index}`,
        sourceUpdatedAt: source.updated,
        data: {
          workItemId: source.issueId,
          seq,
          fromStatus: item.fromString ?? null,
          toStatus,
          fromCategory: item.fromString
            ? category(item.fromString, item.from, source.annotations, ctx)
            : null,
          toCategory: category(toStatus, item.to, source.annotations, ctx),
          transitionedAt: iso(history.created) ?? new Date(0).toISOString(),
          actorId: history.author?.accountId ?? null,
        },
      });
    });
  }
  return drafts;
}

/** Transforms raw Jira rows into canonical projects, people, work items and work-item transitions. */
export function jiraTransformer(): Transformer<JiraConfig> {
  return { transform: transformRows };
}
