import type { lookup as dnsLookup } from 'node:dns';
import { z } from 'zod';
import type { Connector, ConnectorEvent } from '../connector/connector.js';
import type { EtlError } from '../errors.js';
import { createHttpClient, httpPolicySchema, type HttpClient } from './http-client.js';
import { networkGuard, networkOptionsSchema, type NetworkGuard } from './network-guard.js';
import { memoryGates, type RequestGates } from './request-gate.js';

/** The engine's `network` option: what every connector may reach beyond the public internet. */
export const engineNetworkSchema = networkOptionsSchema.extend({
  /** Replaces the system's DNS lookup for every connector (a custom resolver; tests' fake names). */
  lookup: z
    .custom<typeof dnsLookup>((v) => typeof v === 'function', 'must be a dns.lookup function')
    .optional(),
});
/** The engine's `network` option as given: `allow` (CIDRs, addresses, host names) and an optional `lookup`. */
export type EngineNetworkOptions = z.input<typeof engineNetworkSchema>;

/** The engine's `http` option: default timeouts and retries of every connector's client. */
export const engineHttpSchema = httpPolicySchema.partial();

const DEFAULT_CONCURRENCY = 4;

/** The config's `originField` value, when the connector declares no `http.baseUrl`. */
function originOf<C>(connector: Connector<C>, config: C): string | null {
  if (!connector.originField) return null;
  let value: unknown = config;
  for (const key of connector.originField.split('.'))
    value = (value as Record<string, unknown> | null)?.[key];
  return typeof value === 'string' ? value : null;
}

/** The run a client serves: its integration (whose gate it uses), job, signal, events and secret origin. */
export interface SourceRun {
  integrationId: string;
  /** The job the client serves; its requests share what it learns about unreachable hosts. */
  jobId?: string;
  signal: AbortSignal;
  emit?(event: ConnectorEvent): void;
  /** The origin the integration's secrets were saved for; the base URL's origin when not given. */
  secretOrigin?: string | null;
}

/**
 * Builds the HTTP client of every connector run: one guard from the host's `network` option, the
 * connector's base URL and auth from the integration's config, and the integration's shared request gate.
 * The engine makes one; tests and tools that run an extractor by hand make their own.
 *
 * @example
 * const http = sourceHttp({ network: { allow: ['127.0.0.0/8'] } }).client(connector, config, { integrationId, signal });
 */
export function sourceHttp(
  options: {
    network?: EngineNetworkOptions;
    policy?: z.input<typeof engineHttpSchema>;
    /** The integrations' request gates: the engine's are in the database; one process's by default. */
    gates?: RequestGates;
  } = {},
) {
  const network = engineNetworkSchema.parse(options.network ?? {});
  const policy = engineHttpSchema.parse(options.policy ?? {});
  const gates = options.gates ?? memoryGates();
  const guard: NetworkGuard = networkGuard(
    { allow: network.allow },
    network.lookup ? { lookup: network.lookup } : {},
  );
  /** Per job: hosts found unreachable, so its other streams fail at once instead of each waiting it out. */
  const unreachableByJob = new Map<string, Map<string, EtlError>>();

  const gateFor = <C>(connector: Connector<C>, config: C, integrationId: string) => {
    const declared = connector.http ?? {};
    const own = declared.limits?.(config) ?? {};
    return gates.gate(integrationId, {
      concurrency: own.concurrency ?? declared.concurrency ?? DEFAULT_CONCURRENCY,
      requestsPerSecond: own.requestsPerSecond ?? declared.requestsPerSecond,
    });
  };

  return {
    guard,
    client<C>(connector: Connector<C>, config: C, run: SourceRun): HttpClient {
      const declared = connector.http ?? {};
      let unreachable: Map<string, EtlError> | undefined;
      if (run.jobId) {
        unreachable = unreachableByJob.get(run.jobId);
        if (!unreachable) {
          if (unreachableByJob.size > 1000) unreachableByJob.clear();
          unreachableByJob.set(run.jobId, (unreachable = new Map()));
        }
      }
      return createHttpClient({
        plugin: connector.name,
        baseUrl: declared.baseUrl
          ? (declared.baseUrl(config) ?? null)
          : connector.http
            ? originOf(connector, config)
            : null,
        field: connector.originField ?? 'baseUrl',
        secretOrigin: run.secretOrigin,
        headers: declared.headers,
        auth: declared.auth?.(config),
        guard,
        gate: gateFor(connector, config, run.integrationId),
        policy: { ...(declared.policy ?? {}), ...policy },
        signal: run.signal,
        emit: run.emit,
        unreachable,
      });
    },
  };
}

/** What {@link sourceHttp} returns: the host's guard, and `client()` for each run. */
export type SourceHttpFactory = ReturnType<typeof sourceHttp>;
