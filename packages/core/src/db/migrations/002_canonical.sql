-- The canonical model. Every table is keyed by integration + source id and keeps the source's updated time,
-- so that a redelivered or older version never overwrites a newer one.
CREATE TABLE IF NOT EXISTS :schema.projects (
  integration_id uuid NOT NULL, source_id text NOT NULL, source_updated_at timestamptz,
  key text NOT NULL, name text NOT NULL, url text,
  loaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (integration_id, source_id)
);

CREATE TABLE IF NOT EXISTS :schema.people (
  integration_id uuid NOT NULL, source_id text NOT NULL, source_updated_at timestamptz,
  display_name text, email text, login text, is_bot boolean NOT NULL DEFAULT false,
  loaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (integration_id, source_id)
);

CREATE TABLE IF NOT EXISTS :schema.work_items (
  integration_id uuid NOT NULL, source_id text NOT NULL, source_updated_at timestamptz,
  key text NOT NULL, title text NOT NULL, type text NOT NULL, raw_type text NOT NULL,
  status text NOT NULL, status_category text NOT NULL, workflow_step text,
  project_key text, parent_key text, epic_key text, hierarchy_level integer,
  assignee_id text, reporter_id text, priority text, story_points double precision, sprint text,
  created_at timestamptz, updated_at timestamptz, resolved_at timestamptz,
  loaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (integration_id, source_id)
);
CREATE INDEX IF NOT EXISTS work_items_key_idx ON :schema.work_items (integration_id, key);

CREATE TABLE IF NOT EXISTS :schema.work_item_transitions (
  integration_id uuid NOT NULL, source_id text NOT NULL, source_updated_at timestamptz,
  work_item_id text NOT NULL, seq integer NOT NULL,
  from_status text, to_status text NOT NULL, from_category text, to_category text,
  transitioned_at timestamptz NOT NULL, actor_id text,
  loaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (integration_id, source_id)
);
CREATE INDEX IF NOT EXISTS work_item_transitions_item_idx ON :schema.work_item_transitions (integration_id, work_item_id, seq);

CREATE TABLE IF NOT EXISTS :schema.repositories (
  integration_id uuid NOT NULL, source_id text NOT NULL, source_updated_at timestamptz,
  full_name text NOT NULL, default_branch text, is_private boolean NOT NULL DEFAULT false, url text,
  loaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (integration_id, source_id)
);

CREATE TABLE IF NOT EXISTS :schema.pull_requests (
  integration_id uuid NOT NULL, source_id text NOT NULL, source_updated_at timestamptz,
  repository text NOT NULL, number integer NOT NULL, title text NOT NULL, state text NOT NULL,
  draft boolean NOT NULL DEFAULT false, author_id text,
  created_at timestamptz, updated_at timestamptz, merged_at timestamptz, closed_at timestamptz,
  base_branch text, head_branch text, additions integer, deletions integer,
  review_decision text, first_review_at timestamptz, work_item_keys text[] NOT NULL DEFAULT '{}',
  loaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (integration_id, source_id)
);

CREATE TABLE IF NOT EXISTS :schema.pull_request_reviews (
  integration_id uuid NOT NULL, source_id text NOT NULL, source_updated_at timestamptz,
  pull_request_id text NOT NULL, state text NOT NULL, author_id text, submitted_at timestamptz,
  loaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (integration_id, source_id)
);

CREATE TABLE IF NOT EXISTS :schema.commits (
  integration_id uuid NOT NULL, source_id text NOT NULL, source_updated_at timestamptz,
  repository text NOT NULL, sha text NOT NULL, author_id text, message_headline text NOT NULL,
  authored_at timestamptz, committed_at timestamptz,
  loaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (integration_id, source_id)
);
