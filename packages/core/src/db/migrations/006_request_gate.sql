-- The request gate of an integration, shared by every process: the window in which the source asked not to be
-- called (etl_rate_limits.paused_until), a period of single-file requests after a throttle, the earliest start of
-- the next request (pacing), and one row per request in flight (its slot), with an expiry so that a process that
-- died holding slots does not block the others for long.
ALTER TABLE :schema.etl_rate_limits ADD COLUMN IF NOT EXISTS serial_until timestamptz NOT NULL DEFAULT 'epoch';
ALTER TABLE :schema.etl_rate_limits ADD COLUMN IF NOT EXISTS next_start timestamptz NOT NULL DEFAULT 'epoch';
CREATE TABLE IF NOT EXISTS :schema.etl_request_slots (
  id uuid PRIMARY KEY,
  integration_id uuid NOT NULL,
  holder text NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS etl_request_slots_integration_idx ON :schema.etl_request_slots (integration_id, expires_at);
