/** GraphQL documents the connector sends. Kept together so the fake GitHub can be checked against them. */

/** Labels and review requests nested per pull request; they are short lists. */
export const NESTED_LIST_SIZE = 25;

const ACTOR = `__typename login ... on Node { id }`;

const REVIEW_FIELDS = `id state submittedAt author { ${ACTOR} }`;

const PULL_REQUEST_FIELDS = `
  id number title state isDraft url createdAt updatedAt closedAt mergedAt merged
  mergedBy { ${ACTOR} }
  author { ${ACTOR} }
  baseRefName headRefName additions deletions reviewDecision
  labels(first: ${NESTED_LIST_SIZE}) { totalCount nodes { name } }
  reviewRequests(first: ${NESTED_LIST_SIZE}) {
    totalCount
    nodes { requestedReviewer { __typename ... on User { id login } ... on Bot { id login } ... on Team { id slug } } }
  }
  reviews(first: $reviews) { totalCount pageInfo { hasNextPage endCursor } nodes { ${REVIEW_FIELDS} } }`;

/** One page of a repository's pull requests, most recently updated first, with reviews nested. */
export const PULL_REQUEST_PAGE = `
query PullRequestPage($owner: String!, $name: String!, $first: Int!, $after: String, $reviews: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequests(first: $first, after: $after, orderBy: { field: UPDATED_AT, direction: DESC }) {
      pageInfo { hasNextPage endCursor }
      nodes { ${PULL_REQUEST_FIELDS} }
    }
  }
}`;

/** The same walk as `PULL_REQUEST_PAGE`, selecting only what the reviews stream needs. */
export const REVIEW_PAGE = `
query ReviewPage($owner: String!, $name: String!, $first: Int!, $after: String, $reviews: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequests(first: $first, after: $after, orderBy: { field: UPDATED_AT, direction: DESC }) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id number updatedAt
        reviews(first: $reviews) { totalCount pageInfo { hasNextPage endCursor } nodes { ${REVIEW_FIELDS} } }
      }
    }
  }
}`;

/**
 * The next page of reviews of many pull requests in one request: one aliased `node(id:)` per pull request,
 * each with its own cursor.
 */
export function reviewFollowUpQuery(count: number): string {
  const params = Array.from({ length: count }, (_, i) => `$id${i}: ID!, $after${i}: String`).join(', ');
  const fields = Array.from(
    { length: count },
    (_, i) =>
      `pr${i}: node(id: $id${i}) { ... on PullRequest { id reviews(first: $first, after: $after${i}) { pageInfo { hasNextPage endCursor } nodes { ${REVIEW_FIELDS} } } } }`,
  ).join('\n  ');
  return `query ReviewFollowUp($first: Int!, ${params}) {\n  ${fields}\n}`;
}

export interface GqlActor {
  __typename: string;
  login: string;
  id?: string;
}

export interface GqlReview {
  id: string;
  state: string;
  submittedAt: string | null;
  author: GqlActor | null;
}

export interface GqlReviewConnection {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  nodes: GqlReview[];
}

export interface GqlPullRequest {
  id: string;
  number: number;
  title: string;
  state: 'OPEN' | 'CLOSED' | 'MERGED';
  isDraft: boolean;
  url: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  mergedAt: string | null;
  merged: boolean;
  mergedBy: GqlActor | null;
  author: GqlActor | null;
  baseRefName: string;
  headRefName: string;
  additions: number;
  deletions: number;
  reviewDecision: string | null;
  labels: { totalCount: number; nodes: { name: string }[] };
  reviewRequests: {
    totalCount: number;
    nodes: { requestedReviewer: { __typename: string; id?: string; login?: string; slug?: string } | null }[];
  };
  reviews: GqlReviewConnection;
}

/** What the walk needs from any pull-request node it pages through. */
export interface GqlPullRequestNode {
  id: string;
  number: number;
  updatedAt: string;
  reviews: GqlReviewConnection;
}

export interface GqlPullRequestPage<N> {
  repository: {
    pullRequests: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: N[] };
  } | null;
}
