import type { Connector, ConnectorEvent, ExtractContext } from '../connector/connector.js';
import type { JobMode } from '../model/jobs.js';
import { sourceHttp, type EngineNetworkOptions, type SourceHttpFactory } from '../source/source-http.js';

/** What {@link testExtractContext} builds a context for: the stream, partition, checkpoint, mode and network. */
export interface TestExtractOptions {
  stream: string;
  partition?: string | null;
  checkpoint?: unknown;
  mode?: JobMode;
  window?: { from?: string; to?: string };
  signal?: AbortSignal;
  emit?(event: ConnectorEvent): void;
  /** What the host allows (a fake on 127.0.0.1 needs `{ allow: ['127.0.0.0/8'] }`); nothing private by default. */
  network?: EngineNetworkOptions;
  /** Clients to share (one gate per integration across several contexts); made from `network` otherwise. */
  clients?: SourceHttpFactory;
  integrationId?: string;
}

/**
 * An extraction context as the engine would build it, with a real HTTP client (guard, gate, retries), for
 * driving an extractor by hand in a test or a benchmark.
 *
 * @example
 * const ctx = testExtractContext(connector, config, { stream: 'issues', partition: 'ENG', network: { allow: ['127.0.0.0/8'] } });
 * for await (const page of connector.extractor.extract(ctx)) …
 */
export function testExtractContext<C>(
  connector: Connector<C>,
  config: C,
  options: TestExtractOptions,
): ExtractContext<C> {
  const signal = options.signal ?? AbortSignal.timeout(120_000);
  const integrationId = options.integrationId ?? '00000000-0000-4000-8000-000000000001';
  const emit = options.emit ?? (() => undefined);
  const clients = options.clients ?? sourceHttp({ network: options.network });
  return {
    integrationId,
    jobId: '00000000-0000-4000-8000-000000000002',
    config,
    stream: options.stream,
    partition: options.partition ?? null,
    checkpoint: options.checkpoint ?? null,
    mode: options.mode ?? 'incremental',
    window: options.window,
    signal,
    http: clients.client(connector, config, { integrationId, signal, emit }),
    emit,
  };
}
