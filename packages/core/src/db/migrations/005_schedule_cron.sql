-- Cron schedules next to intervals: an integration runs every `schedule_seconds`, or at the times a
-- five-field cron expression (`*/15 * * * *`, UTC) names; one of the two, or neither for manual runs only.
ALTER TABLE :schema.etl_integrations ADD COLUMN IF NOT EXISTS schedule_cron text;
