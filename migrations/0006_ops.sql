-- Operator surface (issue 9): who started a run from the status page or /admin, the browser
-- sessions of the status page (shared by every instance), and a bounded history of figures for
-- its charts.

-- Who asked for an admin run ('session 1a2b3c4d', 'bearer', 'loopback'); null for cron and CLI runs.
ALTER TABLE rr_sync.runs ADD COLUMN IF NOT EXISTS actor text;

-- Only the sha256 of the cookie value is kept: a copy of this table does not log anybody in.
CREATE TABLE IF NOT EXISTS rr_sync.admin_sessions (
  id_hash    text PRIMARY KEY,
  who        text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS admin_sessions_expires_idx ON rr_sync.admin_sessions (expires_at);

-- One sample per minute (whichever instance writes it first), kept 7 days: at most ~10,080 rows.
-- Counts per minute (pushes, events, recommendations) are as seen by the instance that wrote it.
CREATE TABLE IF NOT EXISTS rr_sync.ops_samples (
  at                    timestamptz PRIMARY KEY,  -- the minute
  offers                integer,                  -- published feed offers (null: none published)
  outbox_pending        integer,
  outbox_oldest_seconds integer,
  dead_letters          integer,
  pushes                integer,                  -- pushes answered in that minute (null: no pusher here)
  events                integer,                  -- events accepted in that minute (null: not available)
  recommendations       jsonb,                    -- {source: answers in that minute} (null: not available)
  instance              text        NOT NULL
);
