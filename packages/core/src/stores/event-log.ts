import type { Db } from '../db/db.js';
import { quoteIdent } from '../db/db.js';
import type { EngineEvent, EngineEventPayload, EventListener, EventSource } from '../model/events.js';

interface EventRow {
  id: string;
  payload: EngineEventPayload;
  at: string | Date;
}

const toEvent = (row: EventRow): EngineEvent => ({
  ...row.payload,
  id: Number(row.id),
  at: new Date(row.at).toISOString(),
});

/**
 * Events are appended to `etl_events` (so they carry a growing id and survive reconnects) and fanned out
 * to subscribers by polling that table, which also brings events written by workers in other processes.
 */
export function eventLog(db: Db, schema: string, pollMs: number) {
  const table = `${quoteIdent(schema)}.etl_events`;
  const listeners = new Set<{ listener: EventListener; jobId?: string }>();
  let lastId: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  /**
   * Ids skipped over, with when they were first missed. Ids are taken when a row is inserted but become
   * visible when its transaction commits, so a later id can be read before an earlier one commits; the
   * earlier one is looked for again for a while (a rolled-back insert leaves a hole that never fills).
   */
  const missing = new Map<number, number>();
  const missingForMs = 10_000;

  const deliver = (event: EngineEvent) => {
    for (const { listener, jobId } of listeners) {
      if (jobId && 'jobId' in event && event.jobId !== jobId) continue;
      try {
        listener(event);
      } catch {
        // A listener's failure must not stop the others.
      }
    }
  };

  /** Events whose ids were skipped and have committed since. */
  const lateEvents = async (): Promise<EngineEvent[]> => {
    const now = Date.now();
    for (const [id, since] of missing) if (now - since > missingForMs) missing.delete(id);
    if (missing.size === 0) return [];
    const { rows } = await db.query<EventRow>(
      `SELECT id, payload, at FROM ${table} WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [[...missing.keys()]],
    );
    for (const row of rows) missing.delete(Number(row.id));
    return rows.map(toEvent);
  };

  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      if (lastId === undefined) {
        const { rows } = await db.query<{ max: string | null }>(`SELECT max(id) AS max FROM ${table}`);
        lastId = Number(rows[0]?.max ?? 0);
      }
      for (const event of await lateEvents()) deliver(event);
      const { rows } = await db.query<EventRow>(
        `SELECT id, payload, at FROM ${table} WHERE id > $1 ORDER BY id LIMIT 1000`,
        [lastId],
      );
      for (const row of rows) {
        const event = toEvent(row);
        for (let gap = lastId + 1; gap < event.id && missing.size < 10_000; gap++)
          missing.set(gap, Date.now());
        lastId = event.id;
        deliver(event);
      }
    } catch {
      // The database may be briefly away; the next tick retries from the same id.
    } finally {
      polling = false;
    }
  };

  const source: EventSource = {
    subscribe(listener, filter) {
      const entry = { listener, jobId: filter?.jobId };
      listeners.add(entry);
      if (!timer) {
        void poll();
        timer = setInterval(() => void poll(), pollMs);
        timer.unref();
      }
      return () => {
        listeners.delete(entry);
        if (listeners.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
          lastId = undefined;
          missing.clear();
        }
      };
    },
    async since(afterId, filter) {
      const values: unknown[] = [afterId, Math.min(filter?.limit ?? 1000, 10_000)];
      let where = 'id > $1';
      if (filter?.jobId) {
        values.push(filter.jobId);
        where += ` AND job_id = $3`;
      }
      const { rows } = await db.query<EventRow>(
        `SELECT id, payload, at FROM ${table} WHERE ${where} ORDER BY id LIMIT $2`,
        values,
      );
      return rows.map(toEvent);
    },
  };

  return {
    source,
    async append(payload: EngineEventPayload): Promise<void> {
      const jobId = 'jobId' in payload ? payload.jobId : null;
      await db.query(`INSERT INTO ${table} (job_id, type, payload) VALUES ($1, $2, $3)`, [
        jobId,
        payload.type,
        JSON.stringify(payload),
      ]);
    },
    /** Deletes events older than `olderThanMs`, at most `limit` (the oldest first); resolves with how many. */
    async prune(olderThanMs: number, limit = 10_000): Promise<number> {
      const { rowCount } = await db.query(
        `DELETE FROM ${table} WHERE id IN (
           SELECT id FROM ${table} WHERE at < now() - $1 * interval '1 millisecond' ORDER BY id LIMIT $2)`,
        [olderThanMs, limit],
      );
      return rowCount ?? 0;
    },
    /** How many events of a type the log holds (every process's). */
    async count(type: EngineEventPayload['type']): Promise<number> {
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${table} WHERE type = $1`,
        [type],
      );
      return Number(rows[0]?.n ?? 0);
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      listeners.clear();
    },
  };
}

export type EventLog = ReturnType<typeof eventLog>;
