import { randomUUID } from 'node:crypto';
import type { Db } from '../db/db.js';
import { quoteIdent } from '../db/db.js';
import { abortReason } from '../sleep.js';
import {
  Wakeup,
  type GateLimits,
  type RequestGate,
  type RequestGates,
  type RequestSlot,
} from '../source/request-gate.js';

export interface ActivePause {
  integrationId: string;
  until: string;
  reason: string;
}

/** How long a slot outlives its holder when the process that took it dies without releasing it. */
const SLOT_TTL_MS = 120_000;
/** How often a waiting request looks at the shared state again when nothing in this process woke it. */
const POLL_MS = 25;

/**
 * The request gates of every integration, in `etl_rate_limits` (windows, single-file period, pacing) and
 * `etl_request_slots` (requests in flight), so the cap, the pacing and the windows hold across processes.
 * Taking a slot locks the integration's row: the window check and the slot are one transaction, and a
 * window is written before the slot that saw the throttle is released, so no request of any process starts
 * inside a window once one has been seen.
 */
export function requestGates(
  db: Db,
  schema: string,
  holder: string,
  onPause: (integrationId: string, until: Date, reason: string) => void,
): RequestGates & { active(): Promise<ActivePause[]> } {
  const limitsTable = `${quoteIdent(schema)}.etl_rate_limits`;
  const slotsTable = `${quoteIdent(schema)}.etl_request_slots`;
  const wakeups = new Map<string, Wakeup>();
  const wakeupFor = (integrationId: string) => {
    let w = wakeups.get(integrationId);
    if (!w) wakeups.set(integrationId, (w = new Wakeup()));
    return w;
  };

  /** Takes a slot, or says how long to wait before trying again. */
  async function tryAcquire(
    integrationId: string,
    limits: GateLimits,
  ): Promise<{ slot: string } | { waitMs: number }> {
    return db.transaction(async (tx) => {
      const now = Date.now();
      await tx.query(
        `INSERT INTO ${limitsTable} (integration_id, paused_until, reason) VALUES ($1, 'epoch', '')
         ON CONFLICT (integration_id) DO NOTHING`,
        [integrationId],
      );
      const { rows } = await tx.query<{
        paused_until: string | Date;
        serial_until: string | Date;
        next_start: string | Date;
      }>(
        `SELECT paused_until, serial_until, next_start FROM ${limitsTable} WHERE integration_id = $1 FOR UPDATE`,
        [integrationId],
      );
      const row = rows[0]!;
      const pausedUntil = new Date(row.paused_until).getTime();
      if (pausedUntil > now) return { waitMs: pausedUntil - now };
      const nextStart = new Date(row.next_start).getTime();
      if (nextStart > now) return { waitMs: nextStart - now };
      const cap = new Date(row.serial_until).getTime() > now ? 1 : limits.concurrency;
      const { rows: held } = await tx.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${slotsTable} WHERE integration_id = $1 AND expires_at > $2`,
        [integrationId, new Date(now).toISOString()],
      );
      if (Number(held[0]!.n) >= cap) return { waitMs: POLL_MS };
      const slot = randomUUID();
      await tx.query(
        `INSERT INTO ${slotsTable} (id, integration_id, holder, expires_at) VALUES ($1, $2, $3, $4)`,
        [slot, integrationId, holder, new Date(now + SLOT_TTL_MS).toISOString()],
      );
      if (limits.requestsPerSecond) {
        await tx.query(`UPDATE ${limitsTable} SET next_start = $2 WHERE integration_id = $1`, [
          integrationId,
          new Date(now + 1000 / limits.requestsPerSecond).toISOString(),
        ]);
      }
      return { slot };
    });
  }

  return {
    /** Integrations whose source asked to pause until a time still ahead, as every process sees them. */
    async active(): Promise<ActivePause[]> {
      const { rows } = await db.query<{
        integration_id: string;
        paused_until: string | Date;
        reason: string;
      }>(
        `SELECT integration_id, paused_until, reason FROM ${limitsTable} WHERE paused_until > now() ORDER BY integration_id`,
      );
      return rows.map((r) => ({
        integrationId: r.integration_id,
        until: new Date(r.paused_until).toISOString(),
        reason: r.reason,
      }));
    },
    /**
     * The gate of one integration with the given limits (the connector's defaults, or the integration's own).
     *
     * @example
     * const gate = gates.gate(integrationId, { concurrency: 4 });
     */
    gate(integrationId: string, limits: GateLimits): RequestGate {
      const wakeup = wakeupFor(integrationId);
      const serialMs = limits.serialAfterThrottleMs ?? 60_000;
      return {
        async acquire(signal): Promise<RequestSlot> {
          for (;;) {
            if (signal.aborted) throw abortReason(signal);
            const result = await tryAcquire(integrationId, limits);
            if ('slot' in result) {
              let released = false;
              return {
                async release() {
                  if (released) return;
                  released = true;
                  await db.query(`DELETE FROM ${slotsTable} WHERE id = $1`, [result.slot]);
                  wakeup.notify();
                },
              };
            }
            await wakeup.wait(Math.min(result.waitMs, 1000), signal);
          }
        },
        async pauseUntil(until, reason) {
          await db.query(
            `INSERT INTO ${limitsTable} (integration_id, paused_until, reason, serial_until) VALUES ($1, $2, $3, $4)
             ON CONFLICT (integration_id) DO UPDATE SET
               paused_until = GREATEST(${limitsTable}.paused_until, excluded.paused_until),
               serial_until = GREATEST(${limitsTable}.serial_until, excluded.serial_until),
               reason = excluded.reason`,
            [integrationId, until.toISOString(), reason, new Date(until.getTime() + serialMs).toISOString()],
          );
          onPause(integrationId, until, reason);
          wakeup.notify();
        },
      };
    },
  };
}

export type RequestGateStore = ReturnType<typeof requestGates>;
