import {
  EtlError,
  sleep,
  type ExtractContext,
  type Extractor,
  type Page,
  type PartitionContext,
  type RawRecord,
} from '@etl/core';
import { createGithubClient, isOverloadError, PLUGIN, toEtlError, type GithubClient } from './client.js';
import type { GithubConfig, GithubConnectorSettings } from './options.js';
import {
  PULL_REQUEST_PAGE,
  REVIEW_PAGE,
  reviewFollowUpQuery,
  type GqlPullRequestNode,
  type GqlPullRequestPage,
  type GqlReviewConnection,
} from './queries.js';

export const STREAMS = {
  repositories: 'repositories',
  pullRequests: 'pull_requests',
  reviews: 'pull_request_reviews',
  commits: 'commits',
  people: 'people',
} as const;

/**
 * Where an updated-time walk stands. `since` is inclusive: pull requests updated exactly then are read again
 * unless their id is in `seenAtSince`, so many pull requests sharing one `updatedAt` are neither lost nor
 * duplicated. `run` is a walk in progress (resumed from its cursor after a crash).
 */
export interface UpdatedCheckpoint {
  since: string | null;
  seenAtSince: string[];
  run?: { cursor: string | null; high: string | null; highIds: string[] };
}

/** Commits: like `UpdatedCheckpoint`, on committed time, walking newest first; `run.until` resumes a walk. */
export interface CommitCheckpoint {
  since: string | null;
  seenAtSince: string[];
  run?: { until: string | null; newest: string | null; newestShas: string[] };
}

/** A page size that halves when GitHub times out or answers 502, and grows back after successes. */
export class AdaptivePageSize {
  current: number;
  private streak = 0;

  constructor(readonly max: number) {
    this.current = max;
  }

  shrink(): void {
    this.current = Math.max(1, Math.floor(this.current / 2));
    this.streak = 0;
  }

  succeeded(): void {
    this.streak++;
    if (this.streak >= 2 && this.current < this.max) {
      this.current = Math.min(this.max, this.current * 2);
      this.streak = 0;
    }
  }
}

const [ownerOf, nameOf] = [(repo: string) => repo.split('/')[0], (repo: string) => repo.split('/')[1]];

/** Runs `request` with the current page sizes, halving them all on each 502 / timeout. */
async function withShrinkingPages<T>(
  ctx: ExtractContext<GithubConfig>,
  settings: GithubConnectorSettings,
  sizes: AdaptivePageSize[],
  what: string,
  request: () => Promise<T>,
): Promise<T> {
  for (let failures = 0; ; failures++) {
    try {
      const result = await request();
      for (const s of sizes) s.succeeded();
      return result;
    } catch (error) {
      if (!isOverloadError(error) || ctx.signal.aborted) throw error;
      if (failures >= settings.maxServerErrorRetries) {
        throw new EtlError(
          'source_error',
          `${what}: GitHub kept failing (502 / timeout) even with pages of ${sizes[0].current}`,
          {
            plugin: PLUGIN,
            cause: error,
          },
        );
      }
      for (const s of sizes) s.shrink();
      ctx.emit({
        type: 'warning',
        message: `${what}: GitHub answered ${(error as { status?: number }).status ?? 'timeout'}; retrying with pages of ${sizes.map((s) => s.current).join(' / ')}`,
      });
      await sleep(Math.min(2000, 100 * 2 ** failures));
    }
  }
}

/** Partition keys: configured repositories plus every repository of configured organisations. */
async function listRepositories(client: GithubClient, config: GithubConfig): Promise<string[]> {
  const repos = new Map(config.repositories.map((r) => [r.toLowerCase(), r]));
  for (const org of config.organizations) {
    try {
      for await (const response of client.octokit.paginate.iterator('GET /orgs/{org}/repos', {
        org,
        per_page: 100,
        type: 'all',
      })) {
        for (const repo of response.data) repos.set(repo.full_name.toLowerCase(), repo.full_name);
      }
    } catch (error) {
      throw toEtlError(error, `listing repositories of organisation ${org}`, config.baseUrl);
    }
  }
  return [...repos.values()].sort();
}

function owners(config: GithubConfig): string[] {
  const all = new Map(
    [...config.organizations, ...config.repositories.map(ownerOf)].map((o) => [o.toLowerCase(), o]),
  );
  return [...all.values()].sort();
}

const notFoundRepository = (repo: string, cause: unknown) =>
  new EtlError('not_found', `repository ${repo} does not exist or the credentials cannot see it`, {
    plugin: PLUGIN,
    status: 404,
    cause,
  });

/** Fetches the remaining reviews of pull requests whose nested page was not enough, many per request. */
async function completeReviews(
  client: GithubClient,
  ctx: ExtractContext<GithubConfig>,
  settings: GithubConnectorSettings,
  repo: string,
  nodes: { id: string; reviews: GqlReviewConnection }[],
): Promise<void> {
  let pending = nodes.filter((n) => n.reviews.pageInfo.hasNextPage);
  const size = new AdaptivePageSize(100);
  const batch = new AdaptivePageSize(settings.followUpBatchSize);
  while (pending.length) {
    let chunk = pending.slice(0, batch.current);
    const data = await withShrinkingPages(ctx, settings, [size, batch], `${repo} review follow-up`, () => {
      chunk = pending.slice(0, batch.current);
      const variables: Record<string, unknown> = { first: size.current };
      chunk.forEach((n, i) => {
        variables[`id${i}`] = n.id;
        variables[`after${i}`] = n.reviews.pageInfo.endCursor;
      });
      return client.graphql<Record<string, { id: string; reviews: GqlReviewConnection } | null>>(
        reviewFollowUpQuery(chunk.length),
        variables,
      );
    });
    chunk.forEach((n, i) => {
      const more = data[`pr${i}`];
      if (!more) {
        // Deleted between the page and the follow-up: keep what was read.
        n.reviews.pageInfo = { hasNextPage: false, endCursor: n.reviews.pageInfo.endCursor };
        return;
      }
      const known = new Set(n.reviews.nodes.map((r) => r.id));
      n.reviews.nodes.push(...more.reviews.nodes.filter((r) => !known.has(r.id)));
      n.reviews.pageInfo = more.reviews.pageInfo;
    });
    pending = pending.filter((n) => n.reviews.pageInfo.hasNextPage);
  }
}

/**
 * Walks a repository's pull requests most recently updated first, down to the checkpoint's `since`.
 * A pull request updated while the walk runs moves ahead of it and is read by the next run, whose
 * `since` is the newest time this run saw; ids read twice in one walk (offset cursors) are dropped.
 */
async function* walkPullRequests<N extends GqlPullRequestNode>(
  client: GithubClient,
  ctx: ExtractContext<GithubConfig>,
  settings: GithubConnectorSettings,
  query: string,
  maxPageSize: number,
  toRecords: (node: N, repo: string) => RawRecord[],
): AsyncIterable<Page> {
  const repo = ctx.partition as string;
  const backfill = ctx.mode === 'backfill';
  const saved = (ctx.mode === 'full' ? null : (ctx.checkpoint as UpdatedCheckpoint | null)) ?? null;
  const base: UpdatedCheckpoint = backfill
    ? { since: ctx.window?.from ?? ctx.config.startDate ?? null, seenAtSince: [] }
    : { since: saved?.since ?? ctx.config.startDate ?? null, seenAtSince: saved?.seenAtSince ?? [] };
  const until = backfill ? (ctx.window?.to ?? null) : null;
  const seenAtSince = new Set(base.seenAtSince);
  const run = (backfill ? undefined : saved?.run) ?? { cursor: null, high: null, highIds: [] };
  const seenInRun = new Set<string>();
  const pages = new AdaptivePageSize(maxPageSize);
  const reviews = new AdaptivePageSize(ctx.config.reviewsPageSize);
  const finalCheckpoint = (): UpdatedCheckpoint => {
    if (backfill) return (ctx.checkpoint as UpdatedCheckpoint | null) ?? { since: null, seenAtSince: [] };
    if (!run.high) return { since: base.since, seenAtSince: base.seenAtSince };
    if (run.high === base.since)
      return { since: base.since, seenAtSince: [...new Set([...base.seenAtSince, ...run.highIds])] };
    return { since: run.high, seenAtSince: run.highIds };
  };

  const snapshot = (): UpdatedCheckpoint =>
    backfill
      ? finalCheckpoint()
      : { since: base.since, seenAtSince: base.seenAtSince, run: { ...run, highIds: [...run.highIds] } };
  // Pull requests with more reviews than one nested page wait here until enough of them (across pages) fill
  // one follow-up query; until then the checkpoint stays where they can be read again.
  let pending: N[] = [];
  let held: UpdatedCheckpoint | null = null;

  for (;;) {
    const resumeHere = snapshot();
    const data = await withShrinkingPages(ctx, settings, [pages, reviews], `${repo} pull requests`, () =>
      client.graphql<GqlPullRequestPage<N>>(query, {
        owner: ownerOf(repo),
        name: nameOf(repo),
        first: pages.current,
        after: run.cursor,
        reviews: reviews.current,
      }),
    ).catch((error: unknown) => {
      const e = toEtlError(error, `reading pull requests of ${repo}`, client.baseUrl);
      throw e.code === 'not_found' ? notFoundRepository(repo, error) : e;
    });
    if (!data.repository) throw notFoundRepository(repo, null);
    const connection = data.repository.pullRequests;
    const ready: N[] = [];
    let reachedSince = false;
    for (const node of connection.nodes) {
      if (base.since && node.updatedAt < base.since) {
        reachedSince = true;
        break;
      }
      if (node.updatedAt === base.since && seenAtSince.has(node.id)) continue;
      if (until && node.updatedAt > until) continue;
      if (seenInRun.has(node.id)) continue;
      seenInRun.add(node.id);
      if (node.reviews.pageInfo.hasNextPage) {
        held ??= resumeHere;
        pending.push(node);
      } else {
        ready.push(node);
      }
      if (!run.high || node.updatedAt > run.high) {
        run.high = node.updatedAt;
        run.highIds = [node.id];
      } else if (node.updatedAt === run.high) {
        run.highIds.push(node.id);
      }
    }
    const done = reachedSince || !connection.pageInfo.hasNextPage;
    if (pending.length && (done || pending.length >= settings.followUpBatchSize)) {
      await completeReviews(client, ctx, settings, repo, pending).catch((error: unknown) => {
        throw toEtlError(error, `reading reviews of ${repo}`, client.baseUrl);
      });
      ready.push(...pending);
      pending = [];
      held = null;
    }
    const records = ready.flatMap((node) => toRecords(node, repo));
    if (done) {
      yield { records, checkpoint: finalCheckpoint() };
      return;
    }
    run.cursor = connection.pageInfo.endCursor;
    yield { records, checkpoint: held ?? snapshot() };
  }
}

async function* extractRepository(
  client: GithubClient,
  ctx: ExtractContext<GithubConfig>,
): AsyncIterable<Page> {
  const repo = ctx.partition as string;
  try {
    const { data } = await client.octokit.request('GET /repos/{owner}/{repo}', {
      owner: ownerOf(repo),
      repo: nameOf(repo),
    });
    yield { records: [{ sourceId: data.node_id, payload: data }], checkpoint: null };
  } catch (error) {
    if ((error as { status?: number }).status === 404) throw notFoundRepository(repo, error);
    throw toEtlError(error, `reading repository ${repo}`, client.baseUrl);
  }
}

interface RestCommit {
  sha: string;
  commit: { committer: { date?: string } | null; author: { date?: string } | null };
}

async function* extractCommits(client: GithubClient, ctx: ExtractContext<GithubConfig>): AsyncIterable<Page> {
  const repo = ctx.partition as string;
  const saved = (ctx.mode === 'full' ? null : (ctx.checkpoint as CommitCheckpoint | null)) ?? null;
  const backfill = ctx.mode === 'backfill';
  const since = backfill ? (ctx.window?.from ?? null) : (saved?.since ?? ctx.config.startDate ?? null);
  const seenAtSince = new Set(backfill ? [] : (saved?.seenAtSince ?? []));
  const run = (backfill ? undefined : saved?.run) ?? {
    until: backfill ? (ctx.window?.to ?? null) : null,
    newest: null,
    newestShas: [],
  };
  const unchanged = (ctx.checkpoint as CommitCheckpoint | null) ?? { since: null, seenAtSince: [] };
  const iterator = client.octokit.paginate.iterator('GET /repos/{owner}/{repo}/commits', {
    owner: ownerOf(repo),
    repo: nameOf(repo),
    per_page: 100,
    ...(since ? { since } : {}),
    ...(run.until ? { until: run.until } : {}),
  });
  const seenInRun = new Set<string>();
  try {
    for await (const response of iterator) {
      const records: RawRecord[] = [];
      for (const commit of response.data as unknown as RestCommit[]) {
        const date = commit.commit.committer?.date ?? commit.commit.author?.date ?? null;
        if (date && date === since && seenAtSince.has(commit.sha)) continue;
        if (seenInRun.has(commit.sha)) continue;
        seenInRun.add(commit.sha);
        records.push({ sourceId: `${repo}@${commit.sha}`, payload: { ...commit, repository: repo } });
        if (date && (!run.newest || date > run.newest)) {
          run.newest = date;
          run.newestShas = [commit.sha];
        } else if (date && date === run.newest) {
          run.newestShas.push(commit.sha);
        }
        if (date && (!run.until || date < run.until)) run.until = date;
      }
      yield {
        records,
        checkpoint: backfill
          ? unchanged
          : ({ since, seenAtSince: [...seenAtSince], run: { ...run } } satisfies CommitCheckpoint),
      };
    }
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 409) {
      // An empty repository has no commits to list, and no default branch.
      ctx.emit({ type: 'warning', message: `repository ${repo} is empty; no commits to read` });
      yield { records: [], checkpoint: unchanged };
      return;
    }
    if (status === 404) throw notFoundRepository(repo, error);
    throw toEtlError(error, `reading commits of ${repo}`, client.baseUrl);
  }
  if (backfill) return;
  const final: CommitCheckpoint = !run.newest
    ? { since, seenAtSince: [...seenAtSince] }
    : run.newest === since
      ? { since, seenAtSince: [...new Set([...seenAtSince, ...run.newestShas])] }
      : { since: run.newest, seenAtSince: run.newestShas };
  yield { records: [], checkpoint: final };
}

async function* extractPeople(client: GithubClient, ctx: ExtractContext<GithubConfig>): AsyncIterable<Page> {
  const owner = ctx.partition as string;
  try {
    for await (const response of client.octokit.paginate.iterator('GET /orgs/{org}/members', {
      org: owner,
      per_page: 100,
    })) {
      yield { records: response.data.map((u) => ({ sourceId: u.node_id, payload: u })), checkpoint: null };
    }
  } catch (error) {
    if ((error as { status?: number }).status !== 404)
      throw toEtlError(error, `listing members of ${owner}`, client.baseUrl);
    // Not an organisation: the owner is a user account.
    try {
      const { data } = await client.octokit.request('GET /users/{username}', { username: owner });
      yield { records: [{ sourceId: data.node_id, payload: data }], checkpoint: null };
    } catch (inner) {
      throw toEtlError(inner, `reading account ${owner}`, client.baseUrl);
    }
  }
}

/** The GitHub extractor: every stream partitioned by repository (people by owner). */
export function githubExtractor(settings: GithubConnectorSettings): Extractor<GithubConfig> {
  const client = (ctx: PartitionContext<GithubConfig>) => createGithubClient(ctx.config, ctx.http);
  return {
    async partitions(ctx) {
      if (ctx.stream === STREAMS.people) return owners(ctx.config);
      return listRepositories(await client(ctx), ctx.config);
    },
    async *extract(ctx) {
      const c = await client(ctx);
      switch (ctx.stream) {
        case STREAMS.repositories:
          yield* extractRepository(c, ctx);
          return;
        case STREAMS.pullRequests:
          yield* walkPullRequests<GqlPullRequestNode>(
            c,
            ctx,
            settings,
            PULL_REQUEST_PAGE,
            ctx.config.pageSize,
            (node, repo) => [{ sourceId: node.id, payload: { ...node, repository: repo } }],
          );
          return;
        case STREAMS.reviews:
          yield* walkPullRequests<GqlPullRequestNode>(c, ctx, settings, REVIEW_PAGE, 100, (node, repo) =>
            node.reviews.nodes.map((review) => ({
              sourceId: review.id,
              payload: {
                ...review,
                pullRequestId: node.id,
                pullRequestNumber: node.number,
                repository: repo,
              },
            })),
          );
          return;
        case STREAMS.commits:
          yield* extractCommits(c, ctx);
          return;
        case STREAMS.people:
          yield* extractPeople(c, ctx);
          return;
        default:
          throw new EtlError('invalid_input', `unknown stream ${ctx.stream}`, { plugin: PLUGIN });
      }
    },
  };
}
