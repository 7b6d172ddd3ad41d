import type { Engine } from '@etl/core';

export interface Readiness {
  ok: boolean;
  checks: { database: Check; queue: Check };
}
type Check = { ok: true; ms: number } | { ok: false; ms: number; error: string };

async function check(run: () => Promise<unknown>, timeoutMs: number): Promise<Check> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      run(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, ms: Date.now() - started };
  } catch (error) {
    return {
      ok: false,
      ms: Date.now() - started,
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether this process can do its work now: the database answers a query and the queue adapter answers
 * for its stats (RabbitMQ: the broker is connected and the queues exist), each within `timeoutMs`.
 */
export async function readiness(engine: Engine, timeoutMs = 2_000): Promise<Readiness> {
  const [database, queue] = await Promise.all([
    check(() => engine.db.query('SELECT 1'), timeoutMs),
    check(() => (engine.queue.stats ? engine.queue.stats() : Promise.resolve()), timeoutMs),
  ]);
  return { ok: database.ok && queue.ok, checks: { database, queue } };
}
