-- Retention: old events, finished jobs and superseded raw rows are pruned in batches; these indexes keep the
-- pruning (and the scrapes and lists that read the same tables) from scanning whole tables.
CREATE INDEX IF NOT EXISTS etl_events_at_idx ON :schema.etl_events USING brin (at);
CREATE INDEX IF NOT EXISTS etl_jobs_finished_idx ON :schema.etl_jobs (finished_at)
  WHERE status IN ('succeeded', 'partial', 'failed', 'cancelled');
CREATE INDEX IF NOT EXISTS raw_extraction_data_source_idx
  ON :schema.raw_extraction_data (integration_id, stream, partition, source_id, id);
