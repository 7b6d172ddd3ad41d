export { testQueueAdapter, type QueueAdapterSuiteOptions } from './queue-suite.js';
