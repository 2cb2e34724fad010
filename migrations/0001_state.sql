-- rr_sync state: run history with reports, and the published feed versions.
CREATE TABLE IF NOT EXISTS rr_sync.runs (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind        text        NOT NULL,            -- feed | validate | sync | resync
  status      text        NOT NULL,            -- running | published | unchanged | refused | failed | validated | dry_run
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  exit_code   integer,
  summary     jsonb,                           -- one-line summary figures
  report      jsonb,                           -- counts per reason code and the first issues (full list in the report file)
  error       text
);
CREATE INDEX IF NOT EXISTS runs_kind_started_idx ON rr_sync.runs (kind, started_at DESC);

CREATE TABLE IF NOT EXISTS rr_sync.feed_versions (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id         bigint      REFERENCES rr_sync.runs (id),
  version        text        NOT NULL UNIQUE,  -- directory name under FEEDS_DIR/versions
  sha256         text        NOT NULL,         -- of catalog.xml as served
  content_sha256 text        NOT NULL,         -- of catalog.xml without its date line: equal means same catalog
  gz_sha256      text        NOT NULL,
  offers         integer     NOT NULL,
  bytes          bigint      NOT NULL,
  gz_bytes       bigint      NOT NULL,
  published_at   timestamptz NOT NULL DEFAULT now()
);
