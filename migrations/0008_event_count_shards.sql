-- The event spool's group commit runs two INSERTs at once (src/events/events.spool.ts), and each
-- counts its events as accepted in the same statement. On one counter row the second INSERT waited
-- for the first one's commit (a row lock: seen as Lock:transactionid under 2,000 events/s), which
-- undid the point of the second. Each INSERT slot now has a row of its own; readers sum the shards.
ALTER TABLE rr_sync.event_counts ADD COLUMN IF NOT EXISTS shard smallint NOT NULL DEFAULT 0;
ALTER TABLE rr_sync.event_counts DROP CONSTRAINT IF EXISTS event_counts_pkey;
ALTER TABLE rr_sync.event_counts ADD CONSTRAINT event_counts_pkey PRIMARY KEY (result, reason, shard);
