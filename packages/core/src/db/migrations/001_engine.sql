-- Engine tables: integrations, mappings, jobs, per-stream progress, checkpoints, raw payloads, events.
CREATE TABLE IF NOT EXISTS :schema.etl_integrations (
  id uuid PRIMARY KEY,
  connector text NOT NULL,
  name text NOT NULL,
  config jsonb NOT NULL,
  schedule_seconds integer,
  enabled boolean NOT NULL DEFAULT true,
  last_scheduled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS :schema.etl_mappings (
  integration_id uuid NOT NULL REFERENCES :schema.etl_integrations(id) ON DELETE CASCADE,
  version integer NOT NULL,
  mappings jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (integration_id, version)
);

CREATE TABLE IF NOT EXISTS :schema.etl_jobs (
  id uuid PRIMARY KEY,
  integration_id uuid NOT NULL,
  connector text NOT NULL,
  streams text[] NOT NULL,
  mode text NOT NULL CHECK (mode IN ('incremental', 'full', 'backfill', 'replay')),
  time_window jsonb,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'paused', 'succeeded', 'partial', 'failed', 'cancelled')),
  extracted bigint NOT NULL DEFAULT 0,
  transformed bigint NOT NULL DEFAULT 0,
  loaded bigint NOT NULL DEFAULT 0,
  failed bigint NOT NULL DEFAULT 0,
  inserted bigint NOT NULL DEFAULT 0,
  updated bigint NOT NULL DEFAULT 0,
  unchanged bigint NOT NULL DEFAULT 0,
  streams_pending integer NOT NULL DEFAULT 0,
  errors jsonb NOT NULL DEFAULT '[]',
  requested_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS etl_jobs_status_idx ON :schema.etl_jobs (status, created_at DESC);
CREATE INDEX IF NOT EXISTS etl_jobs_integration_idx ON :schema.etl_jobs (integration_id, created_at DESC);

CREATE TABLE IF NOT EXISTS :schema.etl_job_streams (
  job_id uuid NOT NULL REFERENCES :schema.etl_jobs(id) ON DELETE CASCADE,
  stream text NOT NULL,
  partition text NOT NULL DEFAULT '',
  status text NOT NULL,
  extracted bigint NOT NULL DEFAULT 0,
  loaded bigint NOT NULL DEFAULT 0,
  failed bigint NOT NULL DEFAULT 0,
  pages integer NOT NULL DEFAULT 0,
  children_pending integer NOT NULL DEFAULT 0,
  cursor jsonb,
  error text,
  started_at timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (job_id, stream, partition)
);

CREATE TABLE IF NOT EXISTS :schema.etl_checkpoints (
  integration_id uuid NOT NULL,
  stream text NOT NULL,
  partition text NOT NULL DEFAULT '',
  cursor jsonb,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (integration_id, stream, partition)
);

CREATE TABLE IF NOT EXISTS :schema.raw_extraction_data (
  id bigserial PRIMARY KEY,
  job_id uuid NOT NULL,
  processing_job_id uuid NOT NULL,
  integration_id uuid NOT NULL,
  stream text NOT NULL,
  partition text NOT NULL DEFAULT '',
  source_id text NOT NULL,
  payload jsonb NOT NULL,
  extracted_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'loaded', 'failed')),
  error text
) WITH (fillfactor = 60);
-- Every row is updated once (pending → loaded). Free space in each page and no index on status keep that
-- update HOT: the row is rewritten in place and no index is touched.
CREATE INDEX IF NOT EXISTS raw_extraction_data_job_idx ON :schema.raw_extraction_data (job_id, id);
CREATE INDEX IF NOT EXISTS raw_extraction_data_stream_idx ON :schema.raw_extraction_data (integration_id, stream, id);
CREATE INDEX IF NOT EXISTS raw_extraction_data_time_idx ON :schema.raw_extraction_data USING brin (extracted_at);

CREATE TABLE IF NOT EXISTS :schema.etl_events (
  id bigserial PRIMARY KEY,
  job_id uuid,
  type text NOT NULL,
  payload jsonb NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS etl_events_job_idx ON :schema.etl_events (job_id, id);

CREATE TABLE IF NOT EXISTS :schema.etl_rate_limits (
  integration_id uuid PRIMARY KEY,
  paused_until timestamptz NOT NULL,
  reason text NOT NULL
);
