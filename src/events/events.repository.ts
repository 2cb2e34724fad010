import type { Queryable } from '../db/pool.ts';
import type { EventType } from '../rr/index.ts';
import type { SpoolInput, SpoolRow } from './events.contracts.ts';

/**
 * SQL of the event spool (migrations/0004_events.sql). Every time is the database's clock, so
 * senders on several hosts agree on what is due and whose lease ran out. Outcome counters
 * (rr_sync.event_counts) are written by the same statement as the change they count.
 */

/**
 * Upsert of counters from a CTE named `c(result, reason, n)`; keys sorted so writers lock in one
 * order. `shard`: the spool's INSERT slot (two INSERTs in flight count on rows of their own,
 * migrations/0008); every other writer uses 0. Readers sum the shards.
 */
const countUpsert = (shard = 0) => `insert into rr_sync.event_counts as k (result, reason, shard, count)
  select result, reason, ${Number(shard)}::smallint, n from c where n > 0 order by result, reason
  on conflict (result, reason, shard) do update set count = k.count + excluded.count, updated_at = now()`;
const COUNT_UPSERT = countUpsert();

/**
 * One INSERT for a whole group commit (unnest arrays), counted as accepted in the same statement.
 * Identity values are drawn in the order the rows come out of the ordered select, so the ids,
 * sorted, are in input order. Returns them in input order.
 */
export async function insertEvents(db: Queryable, rows: readonly SpoolInput[], shard = 0): Promise<string[]> {
  if (rows.length === 0) return [];
  // Named: prepared once per connection, so each group commit skips parsing and planning.
  const res = await db.query<{ id: string }>({
    name: `rr_sync.insert_events_${Number(shard)}`,
    text: `with ins as (
       insert into rr_sync.event_spool (visitor, type, body)
       select v, t, b from unnest($1::text[], $2::text[], $3::jsonb[]) with ordinality as u(v, t, b, o)
        order by o
       returning id),
     c as (select 'accepted'::text as result, ''::text as reason, (select count(*) from ins) as n),
     k as (${countUpsert(shard)})
     select id::text from ins`,
    values: [rows.map((r) => r.visitor), rows.map((r) => r.type), rows.map((r) => JSON.stringify(r.body))],
  });
  const ids = res.rows.map((r) => BigInt(r.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return ids.map(String);
}

interface RawRow {
  id: string;
  visitor: string;
  type: EventType;
  body: Record<string, unknown>;
  attempts: number;
  received_at: Date;
}
const toRow = (r: RawRow): SpoolRow => ({
  id: r.id,
  visitor: r.visitor,
  type: r.type,
  body: r.body,
  attempts: r.attempts,
  receivedAt: r.received_at,
});
const ROW_COLUMNS = 's.id::text, s.visitor, s.type, s.body, s.attempts, s.received_at';

/**
 * Leases up to `limit` due pending events to `owner`, in id order. A visitor's event is claimable
 * only when none of that visitor's earlier pending events is leased (in flight somewhere) or
 * waiting for a retry: so a visitor's events go in acceptance order, across instances too.
 * Parked events do not hold back later ones.
 *
 * One statement, one round trip: `rr_sync.claim_events` (migrations/0010, where each step is
 * explained) takes an advisory lock that serialises claims (two claimers checking the rule at
 * once could each take a different event of one visitor), then, each step with a snapshot taken
 * after the lock, leases the claimable events among the oldest `window` pending ones (default 8 x
 * limit: more than the events leased and in flight), so a claim costs a window's size whatever
 * the backlog (after an outage the spool holds 100,000s of due events: a claim that evaluated
 * them all took 80-100 ms of the database's CPU, 5 ms this way). When the window is full of
 * events that must wait, the rest comes from the oldest due events, and as a last resort from
 * all of them: a claimable event is never left behind. FOR UPDATE SKIP LOCKED skips rows another
 * transaction is changing right now (a sender recording an outcome).
 */
export async function claimEvents(
  pool: Queryable,
  owner: string,
  limit: number,
  leaseMs: number,
  window = 8 * limit,
): Promise<SpoolRow[]> {
  const res = await pool.query<RawRow>({
    name: 'rr_sync.claim_events',
    text: 'select id, visitor, type, body, attempts, received_at from rr_sync.claim_events($1, $2, $3, $4)',
    values: [owner, limit, leaseMs, window],
  });
  return res.rows.map(toRow).sort((a, b) => compareIds(a.id, b.id));
}

export const compareIds = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

/**
 * Retail Rocket answered 2xx for these events: delete them, count them as sent, and add the
 * views, carts and orders to product popularity, all in one statement (one transaction). Only
 * rows still leased to `owner` count: a row whose lease ran out may be another sender's now.
 */
export async function finishSent(db: Queryable, owner: string, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const res = await db.query<{ n: number }>(
    `with gone as (
       delete from rr_sync.event_spool where id = any($1::bigint[]) and lease_owner = $2
       returning type, body),
     pop as (
       select body->>'productId' as pid,
              count(*) filter (where type = 'view') as v,
              count(*) filter (where type = 'addToBasket') as a,
              count(*) filter (where type = 'order') as o
         from gone where type in ('view', 'addToBasket', 'order') group by 1),
     p as (
       insert into rr_sync.product_popularity as p (product_id, views, carts, orders)
       select pid, v, a, o from pop order by pid
       on conflict (product_id) do update set views = p.views + excluded.views,
         carts = p.carts + excluded.carts, orders = p.orders + excluded.orders, updated_at = now()),
     c as (select 'sent'::text as result, ''::text as reason, (select count(*) from gone) as n),
     k as (${COUNT_UPSERT})
     select count(*)::int as n from gone`,
    [ids, owner],
  );
  return res.rows[0]?.n ?? 0;
}

/** Events naming an id the catalog does not know (yet): parked until a sync makes it known. */
export async function parkEvents(db: Queryable, owner: string, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const res = await db.query<{ n: number }>(
    `with p as (
       update rr_sync.event_spool set status = 'parked', parked_at = now(), lease_owner = null,
              lease_until = null, next_attempt_at = now()
        where id = any($1::bigint[]) and lease_owner = $2 returning id),
     c as (select 'parked'::text as result, ''::text as reason, (select count(*) from p) as n),
     k as (${COUNT_UPSERT})
     select count(*)::int as n from p`,
    [ids, owner],
  );
  return res.rows[0]?.n ?? 0;
}

export interface EventRetry {
  id: string;
  delayMs: number;
  /** Redacted message of the failure. */
  error: string;
  /** False when no request carried this event (held back, or refused by our own limiter). */
  countAttempt: boolean;
}

/** Give events back for a later attempt (their lease is released). */
export async function retryEvents(db: Queryable, owner: string, items: readonly EventRetry[]): Promise<void> {
  if (items.length === 0) return;
  await db.query(
    `update rr_sync.event_spool s set
        attempts = s.attempts + d.inc,
        next_attempt_at = now() + make_interval(secs => d.delay_ms / 1000),
        last_error = d.error, lease_owner = null, lease_until = null
       from unnest($1::bigint[], $2::double precision[], $3::text[], $4::int[]) as d(id, delay_ms, error, inc)
      where s.id = d.id and s.lease_owner = $5`,
    [
      items.map((i) => i.id),
      items.map((i) => Math.max(0, i.delayMs)),
      items.map((i) => i.error),
      items.map((i) => (i.countAttempt ? 1 : 0)),
      owner,
    ],
  );
}

export interface EventDeadLetter {
  id: string;
  status?: number;
  errorKind: string;
  /** Redacted: never carries the apiKey. */
  reason: string;
  attempts: number;
}

/** Refused for good: moved to rr_sync.event_dead_letters with the reason, counted, in one statement. */
export async function deadLetterEvents(
  db: Queryable,
  owner: string,
  items: readonly EventDeadLetter[],
): Promise<number> {
  if (items.length === 0) return 0;
  const res = await db.query<{ n: number }>(
    `with d as (
       select * from unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::int[])
         as d(id, status, kind, reason, attempts)),
     gone as (
       delete from rr_sync.event_spool s using d where s.id = d.id and s.lease_owner = $6
       returning s.id, s.visitor, s.type, s.body, s.received_at),
     ins as (
       insert into rr_sync.event_dead_letters
         (event_id, visitor, type, body, status, error_kind, reason, attempts, received_at)
       select g.id, g.visitor, g.type, g.body, d.status, d.kind, d.reason, d.attempts, g.received_at
         from gone g join d on d.id = g.id order by g.id
       returning error_kind),
     c as (select 'dead_letter'::text as result, error_kind as reason, count(*) as n from ins group by 2),
     k as (${COUNT_UPSERT})
     select count(*)::int as n from ins`,
    [
      items.map((i) => i.id),
      items.map((i) => i.status ?? null),
      items.map((i) => i.errorKind),
      items.map((i) => i.reason),
      items.map((i) => i.attempts),
      owner,
    ],
  );
  return res.rows[0]?.n ?? 0;
}

/** Leases of events this owner claimed but will not send now (stop, pause) go back at once. */
export async function releaseEventLeases(
  db: Queryable,
  owner: string,
  ids?: readonly string[],
): Promise<number> {
  const res =
    ids === undefined
      ? await db.query(
          'update rr_sync.event_spool set lease_owner = null, lease_until = null where lease_owner = $1',
          [owner],
        )
      : await db.query(
          `update rr_sync.event_spool set lease_owner = null, lease_until = null
            where lease_owner = $1 and id = any($2::bigint[])`,
          [owner, ids],
        );
  return res.rowCount ?? 0;
}

/** Milliseconds until a pending event may be claimable (0 = now), or null when none is pending. */
export async function nextDueInMs(db: Queryable): Promise<number | null> {
  const res = await db.query<{ ms: number | null }>(
    `select (extract(epoch from min(greatest(next_attempt_at, coalesce(lease_until, next_attempt_at))) - now())
              * 1000)::double precision as ms
       from rr_sync.event_spool where status = 'pending'`,
  );
  const ms = res.rows[0]?.ms;
  return ms === null || ms === undefined ? null : Math.max(0, Math.ceil(ms));
}

export interface ParkedRow extends SpoolRow {
  /** Parked longer than the TTL (by the database clock). */
  expired: boolean;
}

/** Parked events after `afterId` in id order, a page at a time. */
export async function listParked(
  db: Queryable,
  afterId: string,
  limit: number,
  ttlSeconds: number,
): Promise<ParkedRow[]> {
  const res = await db.query<RawRow & { expired: boolean }>(
    `select ${ROW_COLUMNS}, s.parked_at < now() - make_interval(secs => $3) as expired
       from rr_sync.event_spool s where s.status = 'parked' and s.id > $1::bigint
      order by s.id limit $2`,
    [afterId, limit, ttlSeconds],
  );
  return res.rows.map((r) => ({ ...toRow(r), expired: r.expired }));
}

/** Parked events whose ids are known now: pending again, due now (their body keeps its timestamp). */
export async function unparkEvents(db: Queryable, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const res = await db.query<{ n: number }>(
    `with u as (
       update rr_sync.event_spool set status = 'pending', parked_at = null, next_attempt_at = now()
        where id = any($1::bigint[]) and status = 'parked' returning id),
     c as (select 'unparked'::text as result, ''::text as reason, (select count(*) from u) as n),
     k as (${COUNT_UPSERT})
     select count(*)::int as n from u`,
    [ids],
  );
  return res.rows[0]?.n ?? 0;
}

/** Parked events dropped (their ids never became known within the TTL), counted with `reason`. */
export async function dropParked(db: Queryable, ids: readonly string[], reason: string): Promise<number> {
  if (ids.length === 0) return 0;
  const res = await db.query<{ n: number }>(
    `with d as (delete from rr_sync.event_spool where id = any($1::bigint[]) and status = 'parked' returning id),
     c as (select 'dropped'::text as result, $2::text as reason, (select count(*) from d) as n),
     k as (${COUNT_UPSERT})
     select count(*)::int as n from d`,
    [ids, reason],
  );
  return res.rows[0]?.n ?? 0;
}

/**
 * Reclaims the spool's dead rows (every event leaves one or two: its leased version unless the
 * update stayed on its page, and its deletion). Between autovacuum's visits (a minute apart at
 * best; never where autovacuum is off) a busy spool piles up tens of thousands, and the claim's
 * index scans walk over all of them: at 2,000 events/s a claim took 25 ms after a minute instead
 * of under 1 ms. SKIP_LOCKED: another sender's (or autovacuum's) run is enough. VACUUM takes no
 * lock that blocks the INSERTs, claims or deletes: the spool does not give its empty tail pages
 * back (vacuum_truncate off, migrations/0009), which needs an ACCESS EXCLUSIVE lock.
 */
export async function vacuumSpool(db: Queryable): Promise<void> {
  await db.query('vacuum (skip_locked) rr_sync.event_spool');
}

export interface EventCount {
  result: string;
  reason: string;
  count: number;
}

/** The outcome counters (accepted, sent, parked, unparked, dropped by reason, dead_letter by kind). */
export async function eventCounts(db: Queryable): Promise<EventCount[]> {
  const res = await db.query<EventCount>(
    `select result, reason, sum(count)::float8 as count from rr_sync.event_counts
      group by result, reason order by result, reason`,
  );
  return res.rows;
}

export interface SpoolStats {
  pending: number;
  parked: number;
  /** Age of the oldest pending event (0 when none). */
  oldestPendingSeconds: number;
}

export async function spoolStats(db: Queryable): Promise<SpoolStats> {
  const res = await db.query<{ pending: number; parked: number; oldest: number | null }>(
    `select count(*) filter (where status = 'pending')::int as pending,
            count(*) filter (where status = 'parked')::int as parked,
            extract(epoch from now() - min(received_at) filter (where status = 'pending'))::float8 as oldest
       from rr_sync.event_spool`,
  );
  const r = res.rows[0]!;
  return {
    pending: r.pending,
    parked: r.parked,
    oldestPendingSeconds: Math.max(0, Math.floor(r.oldest ?? 0)),
  };
}

/**
 * The most popular products by events Retail Rocket accepted: most ordered, then most viewed,
 * then most added to a basket (the recommendations' fallback). `exclude`: e.g. the input products.
 */
export async function popularProducts(
  db: Queryable,
  limit: number,
  exclude: readonly string[] = [],
): Promise<string[]> {
  const res = await db.query<{ product_id: string }>(
    `select product_id from rr_sync.product_popularity
      where not (product_id = any($2::text[]))
      order by orders desc, views desc, carts desc, product_id
      limit $1`,
    [limit, exclude],
  );
  return res.rows.map((r) => r.product_id);
}
