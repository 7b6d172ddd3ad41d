import type { RateLimitBudget } from '../connector/connector.js';
import type { Db } from '../db/db.js';
import { quoteIdent } from '../db/db.js';
import { sleep } from '../sleep.js';

/**
 * One budget per integration: a pause asked for by the source is kept in memory for this process and in
 * `etl_rate_limits` for the others, which re-read it at most once a second.
 */
export function rateLimitBudgets(
  db: Db,
  schema: string,
  onPause: (integrationId: string, until: Date, reason: string) => void,
) {
  const table = `${quoteIdent(schema)}.etl_rate_limits`;
  const local = new Map<string, { until: number; checkedAt: number }>();

  const current = async (integrationId: string): Promise<number> => {
    const entry = local.get(integrationId) ?? { until: 0, checkedAt: 0 };
    if (Date.now() - entry.checkedAt >= 1000) {
      const { rows } = await db.query<{ paused_until: string | Date }>(
        `SELECT paused_until FROM ${table} WHERE integration_id = $1`,
        [integrationId],
      );
      const shared = rows[0] ? new Date(rows[0].paused_until).getTime() : 0;
      entry.until = Math.max(entry.until, shared);
      entry.checkedAt = Date.now();
      local.set(integrationId, entry);
    }
    return entry.until;
  };

  return {
    /** Integrations whose source asked to pause until a time still ahead, as every process sees them. */
    async active(): Promise<{ integrationId: string; until: string; reason: string }[]> {
      const { rows } = await db.query<{
        integration_id: string;
        paused_until: string | Date;
        reason: string;
      }>(
        `SELECT integration_id, paused_until, reason FROM ${table} WHERE paused_until > now() ORDER BY integration_id`,
      );
      return rows.map((r) => ({
        integrationId: r.integration_id,
        until: new Date(r.paused_until).toISOString(),
        reason: r.reason,
      }));
    },
    for(integrationId: string): RateLimitBudget {
      return {
        async wait(signal) {
          for (;;) {
            const until = await current(integrationId);
            const ms = until - Date.now();
            if (ms <= 0 || signal?.aborted) return;
            // An abort ends the wait quietly: the connector sees its signal and stops.
            await sleep(Math.min(ms, 1000), signal).catch(() => undefined);
          }
        },
        async pauseUntil(until, reason) {
          const entry = local.get(integrationId) ?? { until: 0, checkedAt: Date.now() };
          entry.until = Math.max(entry.until, until.getTime());
          local.set(integrationId, entry);
          await db.query(
            `INSERT INTO ${table} (integration_id, paused_until, reason) VALUES ($1, $2, $3)
             ON CONFLICT (integration_id) DO UPDATE SET paused_until = GREATEST(${table}.paused_until, excluded.paused_until), reason = excluded.reason`,
            [integrationId, until.toISOString(), reason],
          );
          onPause(integrationId, until, reason);
        },
      };
    },
  };
}

export type RateLimitBudgets = ReturnType<typeof rateLimitBudgets>;
