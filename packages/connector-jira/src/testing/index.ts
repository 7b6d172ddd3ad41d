export {
  startFakeJira,
  type FakeJira,
  type FakeJiraOptions,
  type FakeJiraFaults,
  type FakeJiraRequest,
} from './fake-jira.js';
export {
  generateFakeJiraData,
  fakeStatuses,
  fakeIssueTypes,
  storyPointsField,
  sprintField,
  decoyStatusField,
  type FakeJiraDataOptions,
} from './fake-data.js';
/** Re-exported from `@etl/core` for callers of this package's test kit. */
export { memoryRateLimit } from '@etl/core';
