import type { EntityDraft, RawRow, Transformer } from '@etl/core';
import { STREAMS } from './extractor.js';
import type { GithubConfig } from './options.js';
import type { GqlActor, GqlPullRequest, GqlReview } from './queries.js';
import { findWorkItemKeys } from './work-item-keys.js';

interface RestUser {
  login: string;
  node_id: string;
  type?: string;
  name?: string | null;
  email?: string | null;
}

/**
 * GitHub spells a bot `dependabot[bot]` in REST and `dependabot` (a `Bot`) in GraphQL; people are keyed by
 * node id and carry the REST spelling, so both answers land on one person.
 */
export function normaliseLogin(login: string, isBot: boolean): string {
  return isBot && !login.endsWith('[bot]') ? `${login}[bot]` : login;
}

function personFromGraphQL(actor: GqlActor | null | undefined): EntityDraft | null {
  // A deleted account comes back as a null author (or one without an id): no person to record.
  if (!actor?.id) return null;
  const isBot = actor.__typename === 'Bot' || actor.login.endsWith('[bot]');
  const login = normaliseLogin(actor.login, isBot);
  return { kind: 'person', sourceId: actor.id, data: { displayName: login, login, isBot } };
}

function personFromRest(user: RestUser | null | undefined): EntityDraft | null {
  if (!user?.node_id) return null;
  const isBot = user.type === 'Bot' || user.login.endsWith('[bot]');
  const login = normaliseLogin(user.login, isBot);
  return {
    kind: 'person',
    sourceId: user.node_id,
    data: { displayName: user.name ?? login, login, isBot, email: user.email ?? null },
  };
}

function reviewEntity(review: GqlReview, pullRequestId: string): EntityDraft {
  return {
    kind: 'pull_request_review',
    sourceId: review.id,
    sourceUpdatedAt: review.submittedAt,
    data: {
      pullRequestId,
      state: review.state,
      authorId: review.author?.id ?? null,
      submittedAt: review.submittedAt,
    },
  };
}

function pullRequestEntities(
  pr: GqlPullRequest & { repository: string },
  projects: ReadonlySet<string>,
): EntityDraft[] {
  const submitted = pr.reviews.nodes
    .filter((r) => r.state !== 'PENDING' && r.submittedAt)
    .map((r) => r.submittedAt as string)
    .sort();
  const state = pr.merged || pr.state === 'MERGED' ? 'merged' : pr.state === 'CLOSED' ? 'closed' : 'open';
  const out: (EntityDraft | null)[] = [
    {
      kind: 'pull_request',
      sourceId: pr.id,
      sourceUpdatedAt: pr.updatedAt,
      data: {
        repository: pr.repository,
        number: pr.number,
        title: pr.title,
        state,
        draft: pr.isDraft,
        authorId: pr.author?.id ?? null,
        createdAt: pr.createdAt,
        updatedAt: pr.updatedAt,
        mergedAt: pr.mergedAt,
        closedAt: pr.closedAt,
        baseBranch: pr.baseRefName,
        headBranch: pr.headRefName,
        additions: pr.additions,
        deletions: pr.deletions,
        reviewDecision: pr.reviewDecision,
        firstReviewAt: submitted[0] ?? null,
        workItemKeys: findWorkItemKeys([pr.title, pr.headRefName], projects),
      },
    },
    personFromGraphQL(pr.author),
    personFromGraphQL(pr.mergedBy),
  ];
  for (const review of pr.reviews.nodes)
    out.push(reviewEntity(review, pr.id), personFromGraphQL(review.author));
  return out.filter((e): e is EntityDraft => e !== null);
}

interface RestCommitPayload {
  sha: string;
  repository: string;
  commit: {
    message: string;
    author: { date?: string } | null;
    committer: { date?: string } | null;
  };
  author: RestUser | null;
}

function commitEntities(c: RestCommitPayload, sourceId: string): EntityDraft[] {
  const person = personFromRest(c.author);
  const committedAt = c.commit.committer?.date ?? c.commit.author?.date ?? null;
  const commit: EntityDraft = {
    kind: 'commit',
    sourceId,
    sourceUpdatedAt: committedAt,
    data: {
      repository: c.repository,
      sha: c.sha,
      authorId: person?.sourceId ?? null,
      messageHeadline: c.commit.message.split('\n', 1)[0],
      authoredAt: c.commit.author?.date ?? null,
      committedAt,
    },
  };
  return person ? [commit, person] : [commit];
}

interface RestRepository {
  node_id: string;
  full_name: string;
  default_branch?: string | null;
  private?: boolean;
  html_url?: string;
  updated_at?: string | null;
}

/**
 * Turns GitHub's raw records into canonical entities. Work-item keys are linked when their project is
 * one the workspace knows: loaded by another integration (Jira) or listed in `workItemProjects`.
 */
export function githubTransformer(): Transformer<GithubConfig> {
  return {
    transform(rows: RawRow[], ctx) {
      const projects = new Set([
        ...(ctx.config?.workItemProjects ?? []).map((p) => p.toUpperCase()),
        ...(ctx.knownProjectKeys ?? []),
      ]);
      const out: EntityDraft[] = [];
      for (const row of rows) {
        const payload = row.payload as Record<string, unknown>;
        switch (row.stream) {
          case STREAMS.repositories: {
            const r = payload as unknown as RestRepository;
            out.push({
              kind: 'repository',
              sourceId: r.node_id,
              sourceUpdatedAt: r.updated_at ?? null,
              data: {
                fullName: r.full_name,
                defaultBranch: r.default_branch ?? null,
                isPrivate: r.private ?? false,
                url: r.html_url ?? null,
              },
            });
            break;
          }
          case STREAMS.pullRequests:
            out.push(
              ...pullRequestEntities(payload as unknown as GqlPullRequest & { repository: string }, projects),
            );
            break;
          case STREAMS.reviews: {
            const review = payload as unknown as GqlReview & { pullRequestId: string };
            out.push(reviewEntity(review, review.pullRequestId));
            const person = personFromGraphQL(review.author);
            if (person) out.push(person);
            break;
          }
          case STREAMS.commits:
            out.push(...commitEntities(payload as unknown as RestCommitPayload, row.sourceId));
            break;
          case STREAMS.people: {
            const person = personFromRest(payload as unknown as RestUser);
            if (person) out.push(person);
            break;
          }
        }
      }
      return dedupe(out);
    },
  };
}

/** One entity per kind and id per batch (people recur across rows). */
function dedupe(entities: EntityDraft[]): EntityDraft[] {
  const byKey = new Map<string, EntityDraft>();
  for (const e of entities) byKey.set(`${e.kind}:${e.sourceId}`, e);
  return [...byKey.values()];
}
