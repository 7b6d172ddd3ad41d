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
