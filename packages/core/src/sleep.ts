import { EtlError } from './errors.js';

/** Why `signal` aborted, as an Error: its reason when that is one, else a `timeout` EtlError. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new EtlError('timeout', 'the run was cancelled');
}

/**
 * Resolves after `ms`; rejects with the abort reason as soon as `signal` aborts. The one sleep of @etl: retry
 * back-offs, polling loops and budget waits all use it (a loop that ends quietly on abort catches).
 *
 * @example
 * await sleep(backoff(attempt), ctx.signal);
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
