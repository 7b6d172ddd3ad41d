import { sleep } from '../sleep.js';

/**
 * Polls `condition` every 20 ms until it holds, or throws after `timeoutMs` naming what was awaited.
 *
 * @example
 * await waitUntil(() => seen.length >= 500, 10_000, '500 deliveries');
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
