/**
 * How the stores key rows. A stream without partitions is stored under the partition `''` (the primary keys of
 * `etl_job_streams`, `etl_checkpoints` and `raw_extraction_data` cannot hold null); callers only ever see `null`.
 */
export const partitionKey = (partition: string | null): string => partition ?? '';

/** The partition a stored key stands for: `''` is the unpartitioned stream. */
export const partitionOf = (key: string): string | null => (key === '' ? null : key);

/** Ids of jobs and integrations are UUIDs; anything else cannot exist, so it is answered without a query. */
export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
