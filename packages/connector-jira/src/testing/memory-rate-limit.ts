import type { RateLimitBudget } from '@etl/core';

/**
 * An in-process request budget for driving the extractor without an engine (tests, benchmarks): a pause
 * asked for by the source holds every request that waits on this budget until it ends.
 */
export function memoryRateLimit(): RateLimitBudget & { readonly pausedUntil: number } {
  let until = 0;
  return {
    get pausedUntil() {
      return until;
    },
    async wait(signal?: AbortSignal) {
      for (let left = until - Date.now(); left > 0 && !signal?.aborted; left = until - Date.now()) {
        await new Promise((resolve) => setTimeout(resolve, left));
      }
    },
    async pauseUntil(at: Date) {
      until = Math.max(until, at.getTime());
    },
  };
}
