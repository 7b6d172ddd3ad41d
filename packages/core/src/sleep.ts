/**
 * Resolves after `ms`, or as soon as `signal` aborts (it never rejects: the caller checks the signal). The one
 * sleep of @etl: retry back-offs, polling loops and budget waits all use it.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
