-- One owner per stream: an extractor holds a lease on (job, stream, partition) with a fencing token. Taking the
-- lease bumps the token; every page commit checks it, so a stale or duplicate extractor's page is refused.
ALTER TABLE :schema.etl_job_streams ADD COLUMN IF NOT EXISTS lease_token bigint NOT NULL DEFAULT 0;
ALTER TABLE :schema.etl_job_streams ADD COLUMN IF NOT EXISTS lease_owner text;
ALTER TABLE :schema.etl_job_streams ADD COLUMN IF NOT EXISTS lease_expires_at timestamptz;
-- How many times the reaper re-dispatched the stream after its lease expired (bounded).
ALTER TABLE :schema.etl_job_streams ADD COLUMN IF NOT EXISTS reaped integer NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS etl_job_streams_lease_idx ON :schema.etl_job_streams (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
