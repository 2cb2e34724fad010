-- A claim of the event spool in one round trip (src/events/events.repository.ts, claimEvents).
-- It was a transaction of five statements (BEGIN, the lock and planner settings, the window, the
-- lease UPDATE, COMMIT): five round trips and five wake-ups of the database and the service per
-- claim, which on a busy host with two cores cost CPU that the shop's event INSERTs wait for. A
-- VOLATILE plpgsql function takes a new snapshot for each statement (READ COMMITTED), so the
-- window and the lease UPDATE, which run after the advisory lock is taken, see every lease that
-- the previous claimer committed: the per-visitor rule holds as it did with separate statements.
-- The lock is released when the caller's transaction (the one statement) ends.
--
-- The planner settings are the function's own (SET clauses, undone when it returns): sorting off
-- (the window and the usual claim read the pending-id index in order, also when the table has no
-- statistics), bitmap scans off (the visitor probe is one index lookup), JIT off (compiling took
-- longer than a claim over a big backlog).
CREATE OR REPLACE FUNCTION rr_sync.claim_events(
  p_owner text, p_limit integer, p_lease_ms double precision, p_window integer)
RETURNS TABLE (id text, visitor text, type text, body jsonb, attempts integer, received_at timestamptz)
LANGUAGE plpgsql
SET enable_sort = off
SET enable_bitmapscan = off
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
  v_last bigint;
  v_pending integer;
  v_got integer;
  v_more integer;
BEGIN
  -- Claims are serialised ("rr_e"): two claimers checking the per-visitor rule at once could each
  -- take a different event of one visitor.
  PERFORM pg_advisory_xact_lock(1920098149);

  -- The window: the oldest p_window pending ids (the pending-id index, in order). Its last id
  -- bounds the usual claim, so the claim costs the window's size whatever the backlog.
  SELECT max(w.id), count(*)::integer INTO v_last, v_pending
    FROM (SELECT e.id FROM rr_sync.event_spool e WHERE e.status = 'pending' ORDER BY e.id LIMIT p_window) w;
  IF v_last IS NULL THEN
    RETURN;
  END IF;

  -- The usual claim: the claimable events of the window, in id order. Claimable: pending, due,
  -- not leased, and no earlier pending event of the same visitor leased (in flight somewhere) or
  -- waiting for a retry (a scalar subquery: one probe of the visitor index per candidate, never a
  -- join over every pending row). Parked events hold nothing back.
  RETURN QUERY
    WITH due AS (
      SELECT s.id FROM rr_sync.event_spool s
       WHERE s.id <= v_last
         AND s.status = 'pending' AND s.next_attempt_at <= now()
         AND (s.lease_until IS NULL OR s.lease_until < now())
         AND (SELECT 1 FROM rr_sync.event_spool e
               WHERE e.visitor = s.visitor AND e.status = 'pending' AND e.id < s.id
                 AND (e.next_attempt_at > now() OR e.lease_until >= now()) LIMIT 1) IS NULL
       ORDER BY s.id LIMIT p_limit
       FOR UPDATE SKIP LOCKED)
    UPDATE rr_sync.event_spool s
       SET lease_owner = p_owner, lease_until = now() + make_interval(secs => p_lease_ms / 1000)
      FROM due WHERE s.id = due.id
    RETURNING s.id::text, s.visitor, s.type, s.body, s.attempts, s.received_at;
  GET DIAGNOSTICS v_got = ROW_COUNT;
  IF v_got >= p_limit OR v_pending < p_window THEN
    RETURN;
  END IF;

  -- The window is full of events that must wait (Retail Rocket was down: the oldest wait for
  -- their retry): the rest comes from the oldest p_window due events (the due index, sorted),
  -- the claimable ones among them. They are an id prefix of the due events, so a visitor's
  -- earlier due events are among them with its later ones.
  PERFORM set_config('enable_sort', 'on', true);
  RETURN QUERY
    WITH due AS (
      SELECT s.id FROM rr_sync.event_spool s
       WHERE s.id = ANY(ARRAY(
               SELECT d.id FROM rr_sync.event_spool d
                WHERE d.status = 'pending' AND d.next_attempt_at <= now()
                  AND (d.lease_until IS NULL OR d.lease_until < now())
                ORDER BY d.id LIMIT p_window))
         AND s.status = 'pending' AND s.next_attempt_at <= now()
         AND (s.lease_until IS NULL OR s.lease_until < now())
         AND (SELECT 1 FROM rr_sync.event_spool e
               WHERE e.visitor = s.visitor AND e.status = 'pending' AND e.id < s.id
                 AND (e.next_attempt_at > now() OR e.lease_until >= now()) LIMIT 1) IS NULL
       ORDER BY s.id LIMIT p_limit - v_got
       FOR UPDATE SKIP LOCKED)
    UPDATE rr_sync.event_spool s
       SET lease_owner = p_owner, lease_until = now() + make_interval(secs => p_lease_ms / 1000)
      FROM due WHERE s.id = due.id
    RETURNING s.id::text, s.visitor, s.type, s.body, s.attempts, s.received_at;
  GET DIAGNOSTICS v_more = ROW_COUNT;
  IF v_more > 0 THEN
    RETURN;
  END IF;

  -- And when those are all held back too, the claimable ones of all due events, sorted by id:
  -- its cost is the number of due events, but a claimable event is never left behind.
  RETURN QUERY
    WITH due AS (
      SELECT s.id FROM rr_sync.event_spool s
       WHERE s.status = 'pending' AND s.next_attempt_at <= now()
         AND (s.lease_until IS NULL OR s.lease_until < now())
         AND (SELECT 1 FROM rr_sync.event_spool e
               WHERE e.visitor = s.visitor AND e.status = 'pending' AND e.id < s.id
                 AND (e.next_attempt_at > now() OR e.lease_until >= now()) LIMIT 1) IS NULL
       ORDER BY s.id LIMIT p_limit - v_got
       FOR UPDATE SKIP LOCKED)
    UPDATE rr_sync.event_spool s
       SET lease_owner = p_owner, lease_until = now() + make_interval(secs => p_lease_ms / 1000)
      FROM due WHERE s.id = due.id
    RETURNING s.id::text, s.visitor, s.type, s.body, s.attempts, s.received_at;
END
$$;
