-- The event spool is a queue: rows are inserted, leased once, and deleted within a second or so.
-- Claims read the oldest pending events in id order (src/events/events.repository.ts): this index
-- gives them in that order without reading the parked ones or sorting the backlog.
CREATE INDEX IF NOT EXISTS event_spool_pending_idx ON rr_sync.event_spool (id) WHERE status = 'pending';
-- fillfactor: room on each page for the lease UPDATE to stay on its page (a HOT update, no new
-- index entries for the next claims to walk over). vacuum_truncate off: the sender vacuums the
-- spool every few thousand events, and giving its empty tail pages back to the OS takes an ACCESS
-- EXCLUSIVE lock that held up the INSERTs answering the shop (seen as Timeout:VacuumTruncate under
-- 2,000 events/s); the INSERTs then extended the file again.
ALTER TABLE rr_sync.event_spool SET (fillfactor = 70, vacuum_truncate = false);
