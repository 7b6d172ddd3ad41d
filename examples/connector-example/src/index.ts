export { trackerConnector, type TrackerConfig } from './tracker-connector.js';
