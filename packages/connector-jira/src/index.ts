export {
  jiraConnector,
  checkJira,
  parseJiraConfig,
  jiraIntegrationConfigSchema,
  type JiraConnectorOptions,
} from './connector.js';
export { jiraConfigSchema, type JiraConfig, type JiraConfigInput } from './options.js';
export { jiraStreams, jiraStreamDefinitions, type JiraStreamName } from './streams.js';
export {
  JiraExtractor,
  issueJql,
  type IssueCheckpoint,
  type AnnotatedIssue,
  type IssueChangelogRecord,
} from './extractor.js';
export {
  JiraTransformer,
  jiraDefaultMappings,
  categoryOfJiraKey,
  typeOfJiraIssueType,
} from './transformer.js';
export { orderHistories } from './changelog-order.js';
export { isPrivateAddress } from './network-guard.js';
export { retryAt } from './jira-http.js';
export type * from './jira-types.js';
