export {
  jiraConnector,
  checkJira,
  parseJiraConfig,
  jiraIntegrationConfigSchema,
  jiraHttp,
  type JiraConnectorOptions,
} from './connector.js';
export { jiraConfigSchema, type JiraConfig, type JiraConfigInput } from './options.js';
export { jiraStreams, jiraStreamDefinitions, type JiraStreamName } from './streams.js';
export {
  jiraExtractor,
  issueJql,
  type IssueCheckpoint,
  type AnnotatedIssue,
  type IssueChangelogRecord,
} from './extractor.js';
export {
  jiraTransformer,
  jiraDefaultMappings,
  categoryOfJiraKey,
  typeOfJiraIssueType,
} from './transformer.js';
export { orderHistories } from './changelog-order.js';
export type * from './jira-types.js';
