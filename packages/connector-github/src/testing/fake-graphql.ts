import { buildSchema, graphql, GraphQLError, type GraphQLSchema } from 'graphql';
import type { FakeActor, FakePullRequest, FakeRepository, FakeReview, FakeTeam } from './fake-data.js';

/** The slice of GitHub's GraphQL schema the connector uses, with GitHub's names and types. */
const SDL = /* GraphQL */ `
  scalar DateTime
  scalar URI
  interface Node {
    id: ID!
  }
  interface Actor {
    login: String!
    url: URI!
  }
  type User implements Node & Actor {
    id: ID!
    login: String!
    url: URI!
    name: String
    email: String
    databaseId: Int
  }
  type Bot implements Node & Actor {
    id: ID!
    login: String!
    url: URI!
    databaseId: Int
  }
  type Team implements Node {
    id: ID!
    slug: String!
    name: String!
  }
  union RequestedReviewer = User | Bot | Team
  type PageInfo {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    endCursor: String
    startCursor: String
  }
  type RateLimit {
    cost: Int!
    limit: Int!
    remaining: Int!
    resetAt: DateTime!
    used: Int!
  }
  enum OrderDirection {
    ASC
    DESC
  }
  enum IssueOrderField {
    CREATED_AT
    UPDATED_AT
    COMMENTS
  }
  input IssueOrder {
    field: IssueOrderField!
    direction: OrderDirection!
  }
  enum PullRequestState {
    OPEN
    CLOSED
    MERGED
  }
  enum PullRequestReviewState {
    PENDING
    COMMENTED
    APPROVED
    CHANGES_REQUESTED
    DISMISSED
  }
  enum PullRequestReviewDecision {
    CHANGES_REQUESTED
    APPROVED
    REVIEW_REQUIRED
  }
  type Ref {
    name: String!
  }
  type Label {
    name: String!
  }
  type LabelConnection {
    totalCount: Int!
    nodes: [Label]
    pageInfo: PageInfo!
  }
  type ReviewRequest {
    requestedReviewer: RequestedReviewer
  }
  type ReviewRequestConnection {
    totalCount: Int!
    nodes: [ReviewRequest]
    pageInfo: PageInfo!
  }
  type PullRequestReview implements Node {
    id: ID!
    databaseId: Int
    state: PullRequestReviewState!
    submittedAt: DateTime
    author: Actor
    body: String!
    url: URI!
  }
  type PullRequestReviewConnection {
    totalCount: Int!
    nodes: [PullRequestReview]
    pageInfo: PageInfo!
  }
  type PullRequest implements Node {
    id: ID!
    databaseId: Int
    number: Int!
    title: String!
    state: PullRequestState!
    isDraft: Boolean!
    url: URI!
    createdAt: DateTime!
    updatedAt: DateTime!
    closedAt: DateTime
    mergedAt: DateTime
    merged: Boolean!
    mergedBy: Actor
    author: Actor
    baseRefName: String!
    headRefName: String!
    additions: Int!
    deletions: Int!
    reviewDecision: PullRequestReviewDecision
    repository: Repository!
    labels(first: Int, after: String): LabelConnection
    reviewRequests(first: Int, after: String): ReviewRequestConnection
    reviews(first: Int, after: String): PullRequestReviewConnection
  }
  type PullRequestConnection {
    totalCount: Int!
    nodes: [PullRequest]
    pageInfo: PageInfo!
  }
  type Repository implements Node {
    id: ID!
    name: String!
    nameWithOwner: String!
    isPrivate: Boolean!
    url: URI!
    defaultBranchRef: Ref
    pullRequests(
      first: Int
      last: Int
      after: String
      orderBy: IssueOrder
      states: [PullRequestState!]
    ): PullRequestConnection!
  }
  type Query {
    viewer: User!
    repository(owner: String!, name: String!): Repository
    node(id: ID!): Node
    nodes(ids: [ID!]!): [Node]!
    rateLimit: RateLimit
  }
`;

/** A GraphQL error carrying GitHub's `type` (`NOT_FOUND`, …). */
class TypedGraphQLError extends Error {
  constructor(
    message: string,
    readonly type: string,
  ) {
    super(message);
  }
}

export interface GraphQLState {
  repos: FakeRepository[];
  viewer: FakeActor;
  baseUrl: string;
  /** Called with every connection's `first` argument; may throw to fail the request (a 502 fault). */
  onConnection(kind: 'pullRequests' | 'reviews' | 'labels' | 'reviewRequests', first: number): void;
  rateLimit(): { limit: number; remaining: number; resetAt: string; used: number };
}

const encodeCursor = (key: unknown): string =>
  Buffer.from(`cursor:v2:${JSON.stringify(key)}`).toString('base64');
function decodeCursor(cursor: string): unknown {
  const text = Buffer.from(cursor, 'base64').toString();
  if (!text.startsWith('cursor:v2:'))
    throw new TypedGraphQLError(
      `\`${cursor}\` does not appear to be a valid cursor.`,
      'INVALID_CURSOR_ARGUMENTS',
    );
  return JSON.parse(text.slice('cursor:v2:'.length));
}

function checkFirst(first: number | undefined | null): number {
  if (first == null)
    throw new TypedGraphQLError(
      'You must provide a `first` or `last` value to properly paginate.',
      'MISSING_PAGINATION_BOUNDARIES',
    );
  if (first < 0 || first > 100)
    throw new TypedGraphQLError(
      `Requesting ${first} records exceeds the \`first\` limit of 100 records.`,
      'EXCESSIVE_PAGINATION',
    );
  return first;
}

/** Offset-paged connection for lists that never reorder (reviews, labels). */
function offsetConnection<T, R>(items: T[], args: { first?: number; after?: string }, map: (item: T) => R) {
  const first = checkFirst(args.first);
  const start = args.after ? (decodeCursor(args.after) as number) + 1 : 0;
  const slice = items.slice(start, start + first);
  const end = start + slice.length - 1;
  return {
    totalCount: items.length,
    nodes: slice.map(map),
    pageInfo: {
      hasNextPage: start + first < items.length,
      hasPreviousPage: start > 0,
      startCursor: slice.length ? encodeCursor(start) : null,
      endCursor: slice.length ? encodeCursor(end) : (args.after ?? null),
    },
  };
}

export function createFakeGraphQL(state: GraphQLState) {
  const schema: GraphQLSchema = buildSchema(SDL);
  const web = state.baseUrl.replace(/\/api\/v3$/, '');

  const actor = (a: FakeActor | null) =>
    a && {
      __typename: a.kind,
      id: a.nodeId,
      login: a.graphqlLogin,
      url: `${web}/${a.graphqlLogin}`,
      name: a.name,
      email: a.email,
      databaseId: a.databaseId,
    };
  const teamOrActor = (r: FakeActor | FakeTeam) =>
    r.kind === 'Team' ? { __typename: 'Team', id: r.nodeId, slug: r.slug, name: r.name } : actor(r);

  const review = (r: FakeReview, pr: FakePullRequest, repo: FakeRepository) => ({
    __typename: 'PullRequestReview',
    id: r.nodeId,
    databaseId: r.databaseId,
    state: r.state,
    submittedAt: r.submittedAt,
    author: actor(r.author),
    body: r.body,
    url: `${web}/${repo.fullName}/pull/${pr.number}#pullrequestreview-${r.databaseId}`,
  });

  const pullRequest = (pr: FakePullRequest, repo: FakeRepository) => ({
    __typename: 'PullRequest',
    id: pr.nodeId,
    databaseId: pr.databaseId,
    number: pr.number,
    title: pr.title,
    state: pr.state,
    isDraft: pr.isDraft,
    url: `${web}/${repo.fullName}/pull/${pr.number}`,
    createdAt: pr.createdAt,
    updatedAt: pr.updatedAt,
    closedAt: pr.closedAt,
    mergedAt: pr.mergedAt,
    merged: pr.state === 'MERGED',
    mergedBy: actor(pr.mergedBy),
    author: actor(pr.author),
    baseRefName: pr.baseRefName,
    headRefName: pr.headRefName,
    additions: pr.additions,
    deletions: pr.deletions,
    reviewDecision: pr.reviews.some((r) => r.state === 'CHANGES_REQUESTED')
      ? 'CHANGES_REQUESTED'
      : pr.reviews.some((r) => r.state === 'APPROVED')
        ? 'APPROVED'
        : pr.state === 'OPEN'
          ? 'REVIEW_REQUIRED'
          : null,
    repository: () => repository(repo),
    labels: (args: { first?: number; after?: string }) => {
      state.onConnection('labels', checkFirst(args.first));
      return offsetConnection(pr.labels, args, (name) => ({ name }));
    },
    reviewRequests: (args: { first?: number; after?: string }) => {
      state.onConnection('reviewRequests', checkFirst(args.first));
      return offsetConnection(pr.reviewRequests, args, (r) => ({ requestedReviewer: teamOrActor(r) }));
    },
    reviews: (args: { first?: number; after?: string }) => {
      state.onConnection('reviews', checkFirst(args.first));
      return offsetConnection(pr.reviews, args, (r) => review(r, pr, repo));
    },
  });

  const repository = (repo: FakeRepository) => ({
    __typename: 'Repository',
    id: repo.nodeId,
    name: repo.name,
    nameWithOwner: repo.fullName,
    isPrivate: repo.isPrivate,
    url: `${web}/${repo.fullName}`,
    defaultBranchRef: repo.defaultBranch ? { name: repo.defaultBranch } : null,
    pullRequests: (args: {
      first?: number;
      after?: string;
      orderBy?: { field: string; direction: 'ASC' | 'DESC' };
      states?: string[];
    }) => {
      const first = checkFirst(args.first);
      state.onConnection('pullRequests', first);
      const field = args.orderBy?.field === 'UPDATED_AT' ? 'updatedAt' : 'createdAt';
      const sign = args.orderBy?.direction === 'DESC' ? -1 : 1;
      const key = (pr: FakePullRequest): [string, number] => [pr[field], pr.databaseId];
      const compare = (a: [string, number], b: [string, number]) =>
        sign * (a[0].localeCompare(b[0]) || a[1] - b[1]);
      let items = repo.pullRequests.filter((pr) => !args.states || args.states.includes(pr.state));
      items = items.sort((a, b) => compare(key(a), key(b)));
      // Keyset cursors, like GitHub's: a pull request that moves in the order never shifts the others.
      if (args.after) {
        const after = decodeCursor(args.after) as [string, number];
        items = items.filter((pr) => compare(key(pr), after) > 0);
      }
      const slice = items.slice(0, first);
      return {
        totalCount: repo.pullRequests.length,
        nodes: slice.map((pr) => pullRequest(pr, repo)),
        pageInfo: {
          hasNextPage: items.length > first,
          hasPreviousPage: Boolean(args.after),
          startCursor: slice.length ? encodeCursor(key(slice[0])) : null,
          endCursor: slice.length ? encodeCursor(key(slice[slice.length - 1])) : (args.after ?? null),
        },
      };
    },
  });

  const findNode = (id: string) => {
    for (const repo of state.repos) {
      if (repo.nodeId === id) return repository(repo);
      for (const pr of repo.pullRequests) if (pr.nodeId === id) return pullRequest(pr, repo);
    }
    return null;
  };

  const root = {
    viewer: () => actor(state.viewer),
    repository: ({ owner, name }: { owner: string; name: string }) => {
      const repo = state.repos.find((r) => r.fullName.toLowerCase() === `${owner}/${name}`.toLowerCase());
      if (!repo)
        throw new TypedGraphQLError(
          `Could not resolve to a Repository with the name '${owner}/${name}'.`,
          'NOT_FOUND',
        );
      return repository(repo);
    },
    node: ({ id }: { id: string }) => {
      const hit = findNode(id);
      if (!hit)
        throw new TypedGraphQLError(`Could not resolve to a node with the global id of '${id}'`, 'NOT_FOUND');
      return hit;
    },
    nodes: ({ ids }: { ids: string[] }) => ids.map(findNode),
    rateLimit: () => ({ cost: 1, ...state.rateLimit() }),
  };

  /** Executes one GraphQL request body; the `status` is 200 unless a fault fires. */
  return async function execute(body: { query?: string; variables?: Record<string, unknown> }) {
    const result = await graphql({
      schema,
      source: body.query ?? '',
      rootValue: root,
      variableValues: body.variables ?? {},
    });
    const fault = result.errors?.find((e) => e.originalError instanceof FaultError)?.originalError as
      FaultError | undefined;
    if (fault) throw fault;
    const errors = result.errors?.map((e: GraphQLError) => ({
      type: e.originalError instanceof TypedGraphQLError ? e.originalError.type : undefined,
      path: e.path,
      locations: e.locations,
      message: e.message,
    }));
    return errors ? { data: result.data ?? null, errors } : { data: result.data };
  };
}

/** Thrown from `onConnection` to answer the whole request with an HTTP error, as a gateway timeout does. */
export class FaultError extends Error {
  constructor(readonly status: number) {
    super(`fault ${status}`);
  }
}
