export { createEtlUi, type EtlUiOptions, type VectorIndexStatus } from './create-etl-ui.js';
export type { ApiErrorBody } from './http-errors.js';
