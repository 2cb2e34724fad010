-- Incremental sync state (design §2, §5 "State"): what Retail Rocket knows, the push outbox,
-- dead letters, confirmed pushes, full resyncs, and scheduler ticks.

-- The published-catalog index: one row per product that Retail Rocket was given (by a published
-- feed or a confirmed push), with the Product API body of its base record and its stock records
-- (body.stocks: stockId -> that stock's record). Queryable by product, group and stock id. One row
-- per product (not per product x stock) so that a sync compares one digest per product; the
-- per-item bodies are compared only for products whose digest changed.
CREATE TABLE IF NOT EXISTS rr_sync.catalog_items (
  product_id   text COLLATE "C" PRIMARY KEY,
  group_id     text,
  digest       text        NOT NULL,   -- hash of the offer's feed text as last given; 'gone' once told unavailable
  available    boolean     NOT NULL,
  gone         boolean     NOT NULL DEFAULT false,  -- left the catalog (or became invalid): told unavailable
  category_ids text[]      NOT NULL DEFAULT '{}',
  stock_ids    text[]      NOT NULL DEFAULT '{}',
  body         jsonb       NOT NULL,
  source       text        NOT NULL,   -- feed | resync
  run_id       bigint,
  updated_at   timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70, toast_tuple_target = 128);
-- fillfactor: room for HOT updates (a changed product rewrites no index entry). toast_tuple_target:
-- the bodies (~1 KB) go compressed to TOAST, so the heap a sync streams (id, digest) stays small:
-- measured at 1M products, the inline bodies made every sync read a 1.6 GB heap.
CREATE INDEX IF NOT EXISTS catalog_items_group_idx ON rr_sync.catalog_items (group_id) WHERE group_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS catalog_items_stock_idx ON rr_sync.catalog_items USING gin (stock_ids);

-- The category paths (root/.../leaf names) the index's bodies were built with: a renamed category
-- changes the Product API body of its products without changing their feed text.
CREATE TABLE IF NOT EXISTS rr_sync.category_paths (
  id   text COLLATE "C" PRIMARY KEY,
  path text NOT NULL
);

-- The push outbox: one pending row per item key, coalesced (a newer change replaces the body in
-- place and bumps version, so a push of the older body never deletes the newer one).
CREATE TABLE IF NOT EXISTS rr_sync.outbox (
  key             text COLLATE "C" PRIMARY KEY,  -- product:<id> | stock:<id>:<stockId> | group:<groupId>
  kind            text        NOT NULL CHECK (kind IN ('product', 'stock', 'group')),
  item_id         text        NOT NULL,          -- product id, or group id for kind group
  stock_id        text,
  body            jsonb       NOT NULL,          -- Product API body (ProductInput / ProductGroupInput), without stockId
  hash            text        NOT NULL,
  change          text        NOT NULL,          -- new | changed | unavailable | resync | requeued
  version         bigint      NOT NULL DEFAULT 1,
  attempts        integer     NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_owner     text,
  lease_until     timestamptz,
  last_error      text,
  run_id          bigint,
  enqueued_at     timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE rr_sync.outbox SET (toast_tuple_target = 128); -- bodies compressed: less WAL per change
CREATE INDEX IF NOT EXISTS outbox_due_idx ON rr_sync.outbox (next_attempt_at);

CREATE TABLE IF NOT EXISTS rr_sync.dead_letters (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key         text        NOT NULL,
  kind        text        NOT NULL,
  item_id     text        NOT NULL,
  stock_id    text,
  body        jsonb       NOT NULL,
  hash        text        NOT NULL,
  change      text        NOT NULL,
  status      integer,                 -- HTTP status of the last answer, if any
  error_kind  text        NOT NULL,    -- http | invalid | timeout | network | rate_limited | attempts
  reason      text        NOT NULL,    -- never carries the apiKey
  attempts    integer     NOT NULL,
  run_id      bigint,
  enqueued_at timestamptz NOT NULL,
  failed_at   timestamptz NOT NULL DEFAULT now(),
  requeued_at timestamptz
);
CREATE INDEX IF NOT EXISTS dead_letters_open_idx ON rr_sync.dead_letters (failed_at) WHERE requeued_at IS NULL;

-- Confirmed pushes: the hash Retail Rocket answered 2xx for, per item key.
CREATE TABLE IF NOT EXISTS rr_sync.pushed (
  key       text COLLATE "C" PRIMARY KEY,
  hash      text        NOT NULL,
  pushed_at timestamptz NOT NULL DEFAULT now()
);

-- Full resyncs: an unfinished one is continued by the next `resync --full`, not restarted.
CREATE TABLE IF NOT EXISTS rr_sync.resyncs (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  run_id      bigint,
  enqueued    bigint      NOT NULL DEFAULT 0
);

-- Scheduler: each cron tick of each job is claimed once across all instances.
CREATE TABLE IF NOT EXISTS rr_sync.job_ticks (
  job        text        NOT NULL,
  tick       timestamptz NOT NULL,
  instance   text        NOT NULL,
  run_id     bigint,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job, tick)
);

ALTER TABLE rr_sync.runs ADD COLUMN IF NOT EXISTS trigger text NOT NULL DEFAULT 'manual'; -- manual | schedule | startup | admin
