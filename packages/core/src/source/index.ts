export {
  createHttpClient,
  httpPolicySchema,
  isPermanentSourceError,
  hostPort,
  safeUrl,
  type HttpClient,
  type HttpClientOptions,
  type HttpPolicy,
  type HttpPolicyInput,
  type HttpRequest,
  type HttpResponse,
  type QueryValue,
} from './http-client.js';
export {
  networkGuard,
  networkOptionsSchema,
  isPrivateAddress,
  privateAddressKind,
  type NetworkGuard,
  type NetworkOptions,
  type AddressVerdict,
} from './network-guard.js';
export { memoryGate, type RequestGate, type RequestSlot, type GateLimits } from './request-gate.js';
export { retryAt, windowSpent, type HeaderSource } from './retry-at.js';
