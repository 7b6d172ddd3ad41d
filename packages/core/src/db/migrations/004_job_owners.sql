-- Jobs have owners: with a queue that does not redeliver across processes (the in-memory queue), a job's work
-- lives in the process that runs it. That process holds a lease on the job and renews it; another process
-- takes the job over only once the lease expired (its owner died), and says so in the job's events.
ALTER TABLE :schema.etl_jobs ADD COLUMN IF NOT EXISTS owner text;
ALTER TABLE :schema.etl_jobs ADD COLUMN IF NOT EXISTS owner_expires_at timestamptz;
CREATE INDEX IF NOT EXISTS etl_jobs_active_owner_idx ON :schema.etl_jobs (owner_expires_at)
  WHERE status IN ('queued', 'running', 'paused');
