import { seededRandom } from '@etl/core';
import { createHash } from 'node:crypto';

/** A GitHub account as the fake stores it. Bots keep both spellings GitHub uses for them. */
export interface FakeActor {
  kind: 'User' | 'Bot';
  nodeId: string;
  databaseId: number;
  /** The REST spelling (`dependabot[bot]` for a bot). */
  login: string;
  /** The GraphQL spelling (`dependabot` for a bot). */
  graphqlLogin: string;
  name: string | null;
  email: string | null;
}

export interface FakeTeam {
  kind: 'Team';
  nodeId: string;
  slug: string;
  name: string;
}

export interface FakeReview {
  nodeId: string;
  databaseId: number;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED';
  submittedAt: string;
  /** null: the reviewer's account was deleted. */
  author: FakeActor | null;
  body: string;
}

export interface FakePullRequest {
  nodeId: string;
  databaseId: number;
  number: number;
  title: string;
  state: 'OPEN' | 'CLOSED' | 'MERGED';
  isDraft: boolean;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  mergedAt: string | null;
  mergedBy: FakeActor | null;
  /** null: the author's account was deleted. */
  author: FakeActor | null;
  baseRefName: string;
  headRefName: string;
  additions: number;
  deletions: number;
  labels: string[];
  reviewRequests: (FakeActor | FakeTeam)[];
  reviews: FakeReview[];
}

export interface FakeCommit {
  sha: string;
  nodeId: string;
  message: string;
  authorName: string;
  authorEmail: string;
  authoredAt: string;
  committedAt: string;
  /** The linked GitHub account; null when the commit email belongs to no account. */
  author: FakeActor | null;
}

export interface FakeRepository {
  nodeId: string;
  databaseId: number;
  owner: string;
  name: string;
  fullName: string;
  isPrivate: boolean;
  /** true: no commits at all — no default branch, commits answer 409. */
  empty: boolean;
  defaultBranch: string | null;
  createdAt: string;
  pullRequests: FakePullRequest[];
  commits: FakeCommit[];
}

/** How to build one repository: `owner/name`, or an object for special cases. */
export type FakeRepoSpec =
  string | { fullName: string; empty?: boolean; private?: boolean; pullRequests?: number; commits?: number };

export interface FakeDataOptions {
  repos: FakeRepoSpec[];
  pullRequests: number;
  commits: number;
  seed: number;
  /** Every this many pull requests has `manyReviews` reviews (more than one nested page). */
  manyReviewsEvery: number;
  manyReviews: number;
}

export { seededRandom };

const BASE_TIME = Date.parse('2024-01-01T00:00:00Z');
const MINUTE = 60_000;

export const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const nodeId = (prefix: string, ...parts: (string | number)[]): string =>
  `${prefix}_${Buffer.from(parts.join(':')).toString('base64url')}`;

const USER_NAMES = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'mallory',
  'oscar',
];
const TITLES = [
  'Fix flaky login test',
  'Add pagination to the export endpoint',
  'Refactor the billing service',
  'Bump lodash from 4.17.20 to 4.17.21',
  'Handle UTF-8 file names in uploads',
  'Use SHA-256 for checksums',
  'Patch CVE-2024-3094 in the build image',
  'Improve error messages',
  'Remove dead code',
  'Speed up CI caching',
];
const KEYED_PROJECTS = ['ABC', 'OPS', 'ZZZ'];

export function makeActors(): { users: FakeActor[]; bot: FakeActor; team: FakeTeam } {
  const users = USER_NAMES.map((login, i): FakeActor => ({
    kind: 'User',
    nodeId: nodeId('U', login),
    databaseId: 1000 + i,
    login,
    graphqlLogin: login,
    name: login[0].toUpperCase() + login.slice(1),
    email: `${login}@example.com`,
  }));
  const bot: FakeActor = {
    kind: 'Bot',
    nodeId: nodeId('BOT', 'dependabot'),
    databaseId: 49699333,
    login: 'dependabot[bot]',
    graphqlLogin: 'dependabot',
    name: null,
    email: null,
  };
  const team: FakeTeam = { kind: 'Team', nodeId: nodeId('T', 'core'), slug: 'core', name: 'Core' };
  return { users, bot, team };
}

/** Builds every repository, pull request, review and commit from the seed. */
export function generateRepositories(
  options: FakeDataOptions,
  actors: ReturnType<typeof makeActors>,
): FakeRepository[] {
  const random = seededRandom(options.seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const someone = (): FakeActor | null => {
    const r = random();
    if (r < 0.05) return null;
    if (r < 0.13) return actors.bot;
    return pick(actors.users);
  };

  return options.repos.map((spec, repoIndex) => {
    const s = typeof spec === 'string' ? { fullName: spec } : spec;
    const [owner, name] = s.fullName.split('/');
    const empty = s.empty ?? false;
    const repo: FakeRepository = {
      nodeId: nodeId('R', s.fullName),
      databaseId: 5000 + repoIndex,
      owner,
      name,
      fullName: s.fullName,
      isPrivate: s.private ?? false,
      empty,
      defaultBranch: empty ? null : 'main',
      createdAt: iso(BASE_TIME - 30 * 24 * 60 * MINUTE),
      pullRequests: [],
      commits: [],
    };
    const prCount = empty ? 0 : (s.pullRequests ?? options.pullRequests);
    for (let number = 1; number <= prCount; number++) {
      const createdMs = BASE_TIME + (number * 53 + repoIndex * 7) * MINUTE;
      // Groups of seven pull requests share one updated time, as after a bulk relabel.
      const updatedMs = BASE_TIME + (Math.floor(number / 7) * 7 * 53 + 24 * 60 + repoIndex * 7) * MINUTE;
      const r = random();
      const state: FakePullRequest['state'] = r < 0.6 ? 'MERGED' : r < 0.75 ? 'CLOSED' : 'OPEN';
      const author = someone();
      const keyed = random() < 0.35;
      const key = `${pick(KEYED_PROJECTS)}-${between(1, 400)}`;
      const base = pick(TITLES);
      const title = author === actors.bot ? base : keyed && random() < 0.5 ? `${key}: ${base}` : base;
      const headRefName = keyed ? `feature/${key.toLowerCase()}-${number}` : `topic/change-${number}`;
      const reviewCount =
        options.manyReviewsEvery > 0 && number % options.manyReviewsEvery === 0
          ? options.manyReviews
          : between(0, 3);
      const reviews: FakeReview[] = [];
      for (let k = 0; k < reviewCount; k++) {
        const rr = random();
        reviews.push({
          nodeId: nodeId('PRR', s.fullName, number, k),
          databaseId: 900000 + repoIndex * 100000 + number * 100 + k,
          state: rr < 0.5 ? 'APPROVED' : rr < 0.7 ? 'CHANGES_REQUESTED' : 'COMMENTED',
          submittedAt: iso(createdMs + (k + 1) * 11 * MINUTE),
          author: someone(),
          body: k % 3 === 0 ? 'Looks good' : '',
        });
      }
      const endMs = Math.max(updatedMs, createdMs + 10 * MINUTE);
      repo.pullRequests.push({
        nodeId: nodeId('PR', s.fullName, number),
        databaseId: 700000 + repoIndex * 100000 + number,
        number,
        title,
        state,
        isDraft: state === 'OPEN' && random() < 0.2,
        createdAt: iso(createdMs),
        updatedAt: iso(endMs),
        closedAt: state === 'OPEN' ? null : iso(endMs),
        mergedAt: state === 'MERGED' ? iso(endMs) : null,
        mergedBy: state === 'MERGED' ? pick(actors.users) : null,
        author,
        baseRefName: 'main',
        headRefName,
        additions: between(1, 800),
        deletions: between(0, 300),
        labels: random() < 0.4 ? [pick(['bug', 'feature', 'chore', 'dependencies'])] : [],
        reviewRequests:
          state === 'OPEN' && random() < 0.5 ? [random() < 0.7 ? pick(actors.users) : actors.team] : [],
        reviews,
      });
    }
    const commitCount = empty ? 0 : (s.commits ?? options.commits);
    for (let k = 0; k < commitCount; k++) {
      const linked = random() < 0.9 ? pick(actors.users) : null;
      const committedMs = BASE_TIME + (k * 97 + repoIndex * 5) * MINUTE;
      const sha = createHash('sha1').update(`${s.fullName}:${k}:${options.seed}`).digest('hex');
      repo.commits.push({
        sha,
        nodeId: nodeId('C', sha),
        message: `${pick(TITLES)}\n\nDetails of change ${k}.`,
        authorName: linked?.name ?? 'Unlinked Person',
        authorEmail: linked?.email ?? 'someone@elsewhere.example',
        authoredAt: iso(committedMs - 5 * MINUTE),
        committedAt: iso(committedMs),
        author: linked,
      });
    }
    // Newest first, as GitHub lists commits.
    repo.commits.sort((a, b) => b.committedAt.localeCompare(a.committedAt) || b.sha.localeCompare(a.sha));
    return repo;
  });
}
