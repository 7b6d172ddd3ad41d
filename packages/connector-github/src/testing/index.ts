export {
  startFakeGitHub,
  type FakeGitHub,
  type FakeGitHubOptions,
  type FakeGitHubFaults,
  type FakeRequestLog,
  type FakeRepoSpec,
  type FakeRepository,
  type FakePullRequest,
  type FakeCommit,
  type FakeActor,
} from './fake-github.js';
