-- The event spool (issue 8): storefront events are stored here before the API answers 202 and
-- leave only once Retail Rocket answered 2xx (deleted), as a dead letter, or dropped when a
-- parked event's ids never became known (EVENT_PARK_TTL). Written by src/events/.
CREATE TABLE IF NOT EXISTS rr_sync.event_spool (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- acceptance order
  visitor         text        NOT NULL,   -- sessionExternalId: order is kept per visitor
  type            text        NOT NULL,   -- Retail Rocket tracking path (view, order, ...)
  body            jsonb       NOT NULL,   -- the validated body, timestamp as UTC ISO 8601
  status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'parked')),
  attempts        integer     NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_owner     text,
  lease_until     timestamptz,
  last_error      text,                   -- never carries the apiKey
  received_at     timestamptz NOT NULL DEFAULT now(),
  parked_at       timestamptz             -- set while status = parked (an id unknown to the catalog)
);
-- Claiming: due pending rows; and "does this visitor have an earlier pending event in the way".
CREATE INDEX IF NOT EXISTS event_spool_due_idx ON rr_sync.event_spool (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS event_spool_visitor_idx ON rr_sync.event_spool (visitor, id) WHERE status = 'pending';
-- Re-checking parked events after a sync, and their TTL.
CREATE INDEX IF NOT EXISTS event_spool_parked_idx ON rr_sync.event_spool (parked_at, id) WHERE status = 'parked';

-- Events Retail Rocket refused for good (a 4xx other than 408/429), with the reason.
CREATE TABLE IF NOT EXISTS rr_sync.event_dead_letters (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id    bigint      NOT NULL,       -- its id in the spool (the id the API answered)
  visitor     text        NOT NULL,
  type        text        NOT NULL,
  body        jsonb       NOT NULL,
  status      integer,                    -- HTTP status of the last answer, if any
  error_kind  text        NOT NULL,       -- http | invalid | timeout | network | attempts
  reason      text        NOT NULL,       -- never carries the apiKey
  attempts    integer     NOT NULL,
  received_at timestamptz NOT NULL,
  failed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS event_dead_letters_failed_idx ON rr_sync.event_dead_letters (failed_at);

-- Outcome counters for the status page and metrics, upserted in the transaction that caused
-- them: accepted, sent, parked, unparked, dropped (reason park_ttl), dead_letter (reason = kind).
CREATE TABLE IF NOT EXISTS rr_sync.event_counts (
  result     text        NOT NULL,
  reason     text        NOT NULL DEFAULT '',
  count      bigint      NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (result, reason)
);

-- What visitors did with each product, from events Retail Rocket accepted: the recommendations'
-- fallback ("most ordered, then most viewed") when Retail Rocket cannot answer.
CREATE TABLE IF NOT EXISTS rr_sync.product_popularity (
  product_id text COLLATE "C" PRIMARY KEY,
  views      bigint      NOT NULL DEFAULT 0,
  carts      bigint      NOT NULL DEFAULT 0,
  orders     bigint      NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS product_popularity_rank_idx ON rr_sync.product_popularity (orders DESC, views DESC);
