import type { Db, DbClient } from '../db/db.js';
import { quoteIdent } from '../db/db.js';
import { partitionKey } from './row-keys.js';

/** Where a stream (or partition) of an integration stopped: `etl_checkpoints`, written with the page it covers. */
export function checkpointStore(db: Db, schema: string) {
  const table = `${quoteIdent(schema)}.etl_checkpoints`;
  return {
    /** The cursor saved after the last durable page, or null when the stream never ran. */
    async get(integrationId: string, stream: string, partition: string | null): Promise<unknown> {
      const { rows } = await db.query<{ cursor: unknown }>(
        `SELECT cursor FROM ${table} WHERE integration_id = $1 AND stream = $2 AND partition = $3`,
        [integrationId, stream, partitionKey(partition)],
      );
      return rows[0]?.cursor ?? null;
    },
    /** Saves `cursor` (already JSON) in the transaction that stores the page it covers. */
    async save(
      tx: DbClient,
      integrationId: string,
      stream: string,
      partition: string | null,
      cursorJson: string,
    ): Promise<void> {
      await tx.query(
        `INSERT INTO ${table} (integration_id, stream, partition, cursor) VALUES ($1, $2, $3, $4)
         ON CONFLICT (integration_id, stream, partition) DO UPDATE SET cursor = excluded.cursor, updated_at = now()`,
        [integrationId, stream, partitionKey(partition), cursorJson],
      );
    },
  };
}

export type CheckpointStore = ReturnType<typeof checkpointStore>;
