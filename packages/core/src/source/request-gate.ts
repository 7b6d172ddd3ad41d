import { abortReason } from '../sleep.js';

/** One request's place among the integration's requests in flight; released once its answer is read. */
export interface RequestSlot {
  release(): Promise<void>;
}

/**
 * Where every request of one integration queues: a cap on requests in flight, optional pacing, and the windows
 * in which the source asked not to be called. The engine's gate lives in the database, so the cap and the
 * windows hold across processes; {@link memoryGate} holds them in one process.
 */
export interface RequestGate {
  /**
   * Resolves with a slot once fewer than the cap are in flight, no window is open and pacing allows; the
   * window check and the slot are taken together, so no request starts inside a window another worker saw.
   */
  acquire(signal: AbortSignal): Promise<RequestSlot>;
  /** Opens a window: no request of the integration is sent before `until`. Call it before releasing the slot. */
  pauseUntil(until: Date, reason: string): Promise<void>;
}

/** A request gate's limits: requests in flight and per second. */
export interface GateLimits {
  /** Requests in flight at once. */
  concurrency: number;
  /** Requests started per second at most; unlimited when absent. */
  requestsPerSecond?: number;
  /**
   * After the source throttles, requests go one at a time for this long: requests already on the wire when a
   * window opens would otherwise land inside it.
   */
  serialAfterThrottleMs?: number;
}

/** Wakes the waiters of one process when a slot frees or a window changes, instead of polling only. */
export class Wakeup {
  private waiters = new Set<() => void>();
  /** Resolves on the next `notify()` or after `ms`, whichever is first. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
  notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/**
 * A gate for one process (tests, connection checks, a connector run outside the engine).
 *
 * @example
 * const gate = memoryGate({ concurrency: 2 });
 */
export function memoryGate(limits: GateLimits): RequestGate {
  let inFlight = 0;
  let pausedUntil = 0;
  let serialUntil = 0;
  let nextStart = 0;
  const wakeup = new Wakeup();
  const interval = limits.requestsPerSecond ? 1000 / limits.requestsPerSecond : 0;
  return {
    async acquire(signal) {
      for (;;) {
        if (signal.aborted) throw abortReason(signal);
        const now = Date.now();
        const cap = serialUntil > now ? 1 : limits.concurrency;
        if (pausedUntil > now) await wakeup.wait(pausedUntil - now, signal);
        else if (inFlight >= cap) await wakeup.wait(1000, signal);
        else if (nextStart > now) await wakeup.wait(nextStart - now, signal);
        else {
          inFlight += 1;
          nextStart = Math.max(nextStart, now) + interval;
          let released = false;
          return {
            async release() {
              if (released) return;
              released = true;
              inFlight -= 1;
              wakeup.notify();
            },
          };
        }
      }
    },
    async pauseUntil(until) {
      pausedUntil = Math.max(pausedUntil, until.getTime());
      serialUntil = Math.max(serialUntil, until.getTime() + (limits.serialAfterThrottleMs ?? 60_000));
      wakeup.notify();
    },
  };
}

/** Where the gates of every integration come from: the engine's live in the database ({@link memoryGates} for one process). */
export interface RequestGates {
  gate(integrationId: string, limits: GateLimits): RequestGate;
}

/**
 * One {@link memoryGate} per integration, kept for the life of the object: the gates of a test or a
 * connector run outside the engine.
 */
export function memoryGates(): RequestGates {
  const gates = new Map<string, RequestGate>();
  return {
    gate(integrationId, limits) {
      let gate = gates.get(integrationId);
      if (!gate) gates.set(integrationId, (gate = memoryGate(limits)));
      return gate;
    },
  };
}
