import { z } from 'zod';

const ts = z.string().datetime({ offset: true }).nullable();
const text = z.string().nullable();
const int = z.number().int().nullable();

/** Canonical work-item types; `custom` keeps the raw type in `rawType`. */
export const canonicalWorkItemTypes = ['bug', 'story', 'task', 'epic', 'subtask', 'custom'] as const;
/** A canonical work-item type (epic, story, task, bug, subtask). */
export type CanonicalWorkItemType = (typeof canonicalWorkItemTypes)[number];
/** The categories every source status maps to. */
export const statusCategories = ['todo', 'in_progress', 'done'] as const;
/** One of `statusCategories`. */
export type StatusCategory = (typeof statusCategories)[number];

/** The canonical model: one zod schema per entity kind. Transformers' output is validated against these. */
export const entitySchemas = {
  project: z.object({ key: z.string(), name: z.string(), url: text.optional().default(null) }),
  person: z.object({
    displayName: text,
    email: text.optional().default(null),
    login: text.optional().default(null),
    isBot: z.boolean().default(false),
  }),
  work_item: z.object({
    key: z.string(),
    title: z.string(),
    type: z.enum(canonicalWorkItemTypes),
    rawType: z.string(),
    status: z.string(),
    statusCategory: z.enum(statusCategories),
    workflowStep: text.optional().default(null),
    projectKey: text.optional().default(null),
    parentKey: text.optional().default(null),
    epicKey: text.optional().default(null),
    hierarchyLevel: int.optional().default(null),
    assigneeId: text.optional().default(null),
    reporterId: text.optional().default(null),
    priority: text.optional().default(null),
    storyPoints: z.number().nullable().optional().default(null),
    sprint: text.optional().default(null),
    createdAt: ts,
    updatedAt: ts,
    resolvedAt: ts.optional().default(null),
  }),
  work_item_transition: z.object({
    workItemId: z.string(),
    seq: z.number().int(),
    fromStatus: text,
    toStatus: z.string(),
    fromCategory: z.enum(statusCategories).nullable().optional().default(null),
    toCategory: z.enum(statusCategories).nullable().optional().default(null),
    transitionedAt: z.string().datetime({ offset: true }),
    actorId: text.optional().default(null),
  }),
  repository: z.object({
    fullName: z.string(),
    defaultBranch: text.optional().default(null),
    isPrivate: z.boolean().default(false),
    url: text.optional().default(null),
  }),
  pull_request: z.object({
    repository: z.string(),
    number: z.number().int(),
    title: z.string(),
    state: z.enum(['open', 'closed', 'merged']),
    draft: z.boolean().default(false),
    authorId: text.optional().default(null),
    createdAt: ts,
    updatedAt: ts,
    mergedAt: ts.optional().default(null),
    closedAt: ts.optional().default(null),
    baseBranch: text.optional().default(null),
    headBranch: text.optional().default(null),
    additions: int.optional().default(null),
    deletions: int.optional().default(null),
    reviewDecision: text.optional().default(null),
    firstReviewAt: ts.optional().default(null),
    workItemKeys: z.array(z.string()).default([]),
  }),
  pull_request_review: z.object({
    pullRequestId: z.string(),
    state: z.string(),
    authorId: text.optional().default(null),
    submittedAt: ts,
  }),
  commit: z.object({
    repository: z.string(),
    sha: z.string(),
    authorId: text.optional().default(null),
    messageHeadline: z.string(),
    authoredAt: ts,
    committedAt: ts,
  }),
} as const;

/** A kind of canonical entity (work item, pull request, …). */
export type EntityKind = keyof typeof entitySchemas;
export const entityKinds = Object.keys(entitySchemas) as EntityKind[];
/** The validated data of an entity of kind `K`. */
export type EntityData<K extends EntityKind> = z.output<(typeof entitySchemas)[K]>;
/** The data a transformer returns for an entity of kind `K`, before validation. */
export type EntityInput<K extends EntityKind> = z.input<(typeof entitySchemas)[K]>;

/**
 * One canonical record produced by a transformer. `sourceId` is the source's stable id;
 * `sourceUpdatedAt` orders versions so that an older one never overwrites a newer one.
 */
export type Entity = {
  [K in EntityKind]: { kind: K; sourceId: string; sourceUpdatedAt: string | null; data: EntityData<K> };
}[EntityKind];

/** What transformers return: entity data before defaults are applied. */
export type EntityDraft = {
  [K in EntityKind]: { kind: K; sourceId: string; sourceUpdatedAt?: string | null; data: EntityInput<K> };
}[EntityKind];

/** Canonical tables: entity kind → table name. */
export const entityTables: Record<EntityKind, string> = {
  project: 'projects',
  person: 'people',
  work_item: 'work_items',
  work_item_transition: 'work_item_transitions',
  repository: 'repositories',
  pull_request: 'pull_requests',
  pull_request_review: 'pull_request_reviews',
  commit: 'commits',
};
