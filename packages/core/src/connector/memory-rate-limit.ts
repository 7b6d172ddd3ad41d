import { sleep } from '../sleep.js';
import type { RateLimitBudget } from './connector.js';

/**
 * A request budget held in this process only, for a connector run without an engine (a connection check,
 * tests, benchmarks): a pause asked for by the source holds every request that waits on this budget until it
 * ends. Under an engine, connectors get the shared budget of their integration instead.
 *
 * @example
 * const rateLimit = memoryRateLimit();
 * for await (const page of connector.extractor.extract({ ...ctx, rateLimit })) { … }
 */
export function memoryRateLimit(): RateLimitBudget & { readonly pausedUntil: number } {
  let until = 0;
  return {
    get pausedUntil() {
      return until;
    },
    async wait(signal?: AbortSignal) {
      for (let left = until - Date.now(); left > 0 && !signal?.aborted; left = until - Date.now()) {
        // Woken at most once a second, so a pause shortened by another caller is seen.
        await sleep(Math.min(left, 1000), signal).catch(() => undefined);
      }
    },
    async pauseUntil(at: Date) {
      until = Math.max(until, at.getTime());
    },
  };
}
