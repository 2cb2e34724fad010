import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/pool.ts';
import type { ItemKind } from './sync.contracts.ts';

/**
 * The push outbox (rr_sync.outbox, migrations/0002_sync.sql): one pending row per item key,
 * coalesced. Every time here is the database's clock (now()), so that pushers on several hosts
 * agree on what is due and whose lease has expired.
 */

/** The channel `enqueue` notifies: a running pusher wakes at once instead of at its next poll. */
export const OUTBOX_CHANNEL = 'rr_sync_outbox';

/** What a producer (sync, resync, requeue) puts into the outbox. */
export interface OutboxItem {
  key: string;
  kind: ItemKind;
  /** Product id, or the group id for kind group. */
  itemId: string;
  stockId?: string | null;
  /** Product API body (ProductInput / ProductGroupInput) without stockId. */
  body: unknown;
  hash: string;
  /** new | changed | unavailable | resync | requeued */
  change: string;
  runId?: number | string | null;
}

/**
 * Pending rows of these keys are pushed again although their body did not change: a new version
 * (a push in flight can no longer complete them), due now, attempts reset. Keys with no pending row
 * are left to `enqueue`. Returns the rows bumped.
 */
export async function repushPending(client: Queryable, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0;
  const res = await client.query(
    `update rr_sync.outbox set version = version + 1, attempts = 0, next_attempt_at = now(),
            last_error = null, updated_at = now()
      where key = any($1::text[])`,
    [keys],
  );
  return res.rowCount ?? 0;
}

/**
 * Which of these keys are records Retail Rocket was never given: pending with change 'new' (a
 * product, stock or group a sync added, not pushed yet). One primary-key look per key.
 */
export async function findNewPending(db: Queryable, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const { rows } = await db.query<{ key: string }>(
    `select key from rr_sync.outbox where key = any($1::text[]) and change = 'new'`,
    [keys],
  );
  return new Set(rows.map((r) => r.key));
}

/** A claimed row, as the pusher sends it. `version` identifies the body it carries. */
export interface OutboxRow {
  key: string;
  kind: ItemKind;
  itemId: string;
  stockId: string | null;
  body: unknown;
  hash: string;
  change: string;
  /** bigint, kept as text: only ever compared in SQL. */
  version: string;
  /** Failed attempts before this claim. */
  attempts: number;
  leaseOwner: string;
  runId: string | null;
  enqueuedAt: Date;
}

/** Rows per INSERT: keeps each statement's parameter arrays and lock set small. */
const ENQUEUE_CHUNK = 1000;

/**
 * Coalescing upsert: one row per key. A newer change replaces body, hash and change in place,
 * bumps version (so a push of the older body can no longer delete it) and makes the row due now
 * with a fresh attempt count; enqueued_at is kept, so the age of the oldest pending change stays
 * honest. A change whose hash equals the pending one is a no-op. Notifies running pushers (on
 * commit, when the caller's client is inside a transaction). Returns the rows inserted or changed.
 */
export async function enqueue(client: Queryable, items: readonly OutboxItem[]): Promise<number> {
  // Within one statement a key may appear only once (ON CONFLICT cannot touch a row twice): the
  // last change of a key wins, as it would have if enqueued one by one.
  const byKey = new Map<string, OutboxItem>();
  for (const item of items) {
    byKey.delete(item.key);
    byKey.set(item.key, item);
  }
  const unique = [...byKey.values()];
  let changed = 0;
  for (let i = 0; i < unique.length; i += ENQUEUE_CHUNK) {
    const chunk = unique.slice(i, i + ENQUEUE_CHUNK);
    // One JSON document per chunk, unpacked by the server: pg would otherwise escape every body
    // twice (JSON.stringify, then its array literal), measured ~1 s of a 1M-product sync's CPU.
    const rows = chunk.map((c) => ({
      key: c.key,
      kind: c.kind,
      item_id: c.itemId,
      stock_id: c.stockId ?? null,
      body: c.body,
      hash: c.hash,
      change: c.change,
      run_id: c.runId ?? null,
    }));
    const res = await client.query(
      `insert into rr_sync.outbox as o (key, kind, item_id, stock_id, body, hash, change, run_id)
       select key, kind, item_id, stock_id, body, hash, change, run_id
         from jsonb_to_recordset($1::jsonb) as x(key text, kind text, item_id text, stock_id text,
                                                 body jsonb, hash text, change text, run_id bigint)
       on conflict (key) do update set
         kind = excluded.kind, item_id = excluded.item_id, stock_id = excluded.stock_id,
         body = excluded.body, hash = excluded.hash, run_id = excluded.run_id,
         -- Still never given to Retail Rocket: a later change of it stays 'new' (events wait for it).
         change = case when o.change = 'new' then 'new' else excluded.change end,
         version = o.version + 1, attempts = 0, next_attempt_at = now(), last_error = null,
         updated_at = now()
       where o.hash <> excluded.hash`,
      [JSON.stringify(rows)],
    );
    changed += res.rowCount ?? 0;
  }
  if (changed > 0) await client.query(`select pg_notify($1, '')`, [OUTBOX_CHANNEL]);
  return changed;
}

interface RawRow {
  key: string;
  kind: ItemKind;
  item_id: string;
  stock_id: string | null;
  body: unknown;
  hash: string;
  change: string;
  version: string;
  attempts: number;
  lease_owner: string;
  run_id: string | null;
  enqueued_at: Date;
}

const toRow = (r: RawRow): OutboxRow => ({
  key: r.key,
  kind: r.kind,
  itemId: r.item_id,
  stockId: r.stock_id,
  body: r.body,
  hash: r.hash,
  change: r.change,
  version: r.version,
  attempts: r.attempts,
  leaseOwner: r.lease_owner,
  runId: r.run_id,
  enqueuedAt: r.enqueued_at,
});

/**
 * Leases up to `limit` due rows to `owner` for `leaseMs`. One statement (its own short
 * transaction): `FOR UPDATE SKIP LOCKED` lets several pushers claim side by side without
 * waiting on each other; a row whose lease expired (its pusher died) is due again.
 *
 * A group's record goes after its members' own product records: a products/{id} record carries no
 * group, and Retail Rocket may take the last one it got as the product's standing (the emulator
 * does). So a due group row is not leased while a member's product row is still in the outbox
 * (pending, in flight, or pushed but not yet recorded); it is put back by 250 ms, or to just
 * after that member's own next attempt. No attempt is counted.
 */
export async function claim(
  db: Queryable,
  owner: string,
  limit: number,
  leaseMs: number,
): Promise<OutboxRow[]> {
  const res = await db.query<RawRow>(
    `with due as (
       select key from rr_sync.outbox
        where next_attempt_at <= now() and (lease_until is null or lease_until < now())
        order by next_attempt_at
        limit $2
        for update skip locked),
     held as (
       select g.key, greatest(now() + interval '250 milliseconds',
                              max(m.next_attempt_at) + interval '100 milliseconds') as until
         from due join rr_sync.outbox g on g.key = due.key and g.kind = 'group'
         cross join lateral jsonb_object_keys(g.body->'products') as member(id)
         join rr_sync.outbox m on m.key = 'product:' || member.id
        group by g.key),
     put_back as (
       update rr_sync.outbox o set next_attempt_at = held.until from held where o.key = held.key)
     update rr_sync.outbox o
        set lease_owner = $1, lease_until = now() + make_interval(secs => $3::double precision / 1000)
       from due where o.key = due.key and not exists (select 1 from held where held.key = due.key)
     returning o.key, o.kind, o.item_id, o.stock_id, o.body, o.hash, o.change, o.version::text,
               o.attempts, o.lease_owner, o.run_id::text, o.enqueued_at`,
    [owner, limit, leaseMs],
  );
  return res.rows.map(toRow);
}

/** Rows whose body was the one still pending are gone; the others get their lease back. */
async function removeSent(client: pg.PoolClient, rows: readonly OutboxRow[]): Promise<number> {
  const deleted = await client.query(
    `delete from rr_sync.outbox o using unnest($1::text[], $2::bigint[]) as d(key, version)
      where o.key = d.key and o.version = d.version`,
    [rows.map((r) => r.key), rows.map((r) => r.version)],
  );
  // A newer version arrived while the older one was in flight: it stays, due now, free to claim.
  // A separate statement, so that it sees the newer row versions committed meanwhile.
  await client.query(
    `update rr_sync.outbox o set lease_owner = null, lease_until = null
       from unnest($1::text[], $2::text[]) as d(key, owner)
      where o.key = d.key and o.lease_owner = d.owner`,
    [rows.map((r) => r.key), rows.map((r) => r.leaseOwner)],
  );
  return deleted.rowCount ?? 0;
}

/**
 * Retail Rocket answered 2xx for these rows. In one transaction: delete each row whose version is
 * still the one sent, release the lease of any row that got a newer version meanwhile, and record
 * the hash Retail Rocket now holds in rr_sync.pushed. Taking several rows at once keeps the commit
 * rate far below the push rate; it is still one transaction, so a crash loses none of it (the
 * rows are simply pushed again: an upsert is idempotent).
 */
export async function complete(db: pg.Pool, rows: readonly OutboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  await withTransaction(db, async (client) => {
    await removeSent(client, rows);
    await client.query(
      `insert into rr_sync.pushed as p (key, hash)
       select * from unnest($1::text[], $2::text[])
       on conflict (key) do update set hash = excluded.hash, pushed_at = now()`,
      [rows.map((r) => r.key), rows.map((r) => r.hash)],
    );
  });
}

export interface RetryLater {
  row: OutboxRow;
  delayMs: number;
  /** Redacted message of the failure (kept in last_error). */
  error: string;
  /** False when no request was sent (the client's own limiter refused): not an attempt. */
  countAttempt?: boolean;
}

/**
 * Give rows back for a later attempt. A row that received a newer version meanwhile keeps its own
 * (fresh) schedule and attempt count; it only gets its lease released. A row whose lease was taken
 * over by another pusher (ours expired) is left to that pusher.
 */
export async function retryLater(db: Queryable, items: readonly RetryLater[]): Promise<void> {
  if (items.length === 0) return;
  await db.query(
    `update rr_sync.outbox o set
        attempts = case when o.version = d.version then o.attempts + d.inc else o.attempts end,
        next_attempt_at = case when o.version = d.version
                               then now() + make_interval(secs => d.delay_ms / 1000)
                               else o.next_attempt_at end,
        last_error = case when o.version = d.version then d.error else o.last_error end,
        lease_owner = null, lease_until = null, updated_at = now()
       from unnest($1::text[], $2::bigint[], $3::text[], $4::double precision[], $5::text[], $6::int[])
            as d(key, version, owner, delay_ms, error, inc)
      where o.key = d.key and o.lease_owner = d.owner`,
    [
      items.map((i) => i.row.key),
      items.map((i) => i.row.version),
      items.map((i) => i.row.leaseOwner),
      items.map((i) => Math.max(0, i.delayMs)),
      items.map((i) => i.error),
      items.map((i) => (i.countAttempt === false ? 0 : 1)),
    ],
  );
}

export interface DeadLetterFailure {
  /** HTTP status of the last answer, if there was one. */
  status?: number;
  /** http | invalid | timeout | network | rate_limited | attempts */
  errorKind: string;
  /** Redacted: never carries the apiKey. */
  reason: string;
  /** Attempts made, this one included. */
  attempts: number;
}

/**
 * A permanent failure (another 4xx, an invalid body) or the last allowed attempt: in one
 * transaction, keep the row as a dead letter with its reason and remove it from the outbox, unless
 * a newer version arrived meanwhile (that one stays pending, with its lease released).
 */
export async function toDeadLetter(db: pg.Pool, row: OutboxRow, failure: DeadLetterFailure): Promise<void> {
  await withTransaction(db, async (client) => {
    await client.query(
      `insert into rr_sync.dead_letters
         (key, kind, item_id, stock_id, body, hash, change, status, error_kind, reason, attempts, run_id, enqueued_at)
       values ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        row.key,
        row.kind,
        row.itemId,
        row.stockId,
        JSON.stringify(row.body),
        row.hash,
        row.change,
        failure.status ?? null,
        failure.errorKind,
        failure.reason,
        failure.attempts,
        row.runId,
        row.enqueuedAt,
      ],
    );
    await removeSent(client, [row]);
  });
}

/** Gives back the leases of rows this owner claimed but will not send (shutdown, stop claiming). */
export async function releaseLeases(db: Queryable, owner: string, keys?: readonly string[]): Promise<number> {
  const res =
    keys === undefined
      ? await db.query(
          `update rr_sync.outbox set lease_owner = null, lease_until = null where lease_owner = $1`,
          [owner],
        )
      : await db.query(
          `update rr_sync.outbox set lease_owner = null, lease_until = null
            where lease_owner = $1 and key = any($2::text[])`,
          [owner, keys],
        );
  return res.rowCount ?? 0;
}

export interface OutboxStats {
  pending: number;
  /** Age of the oldest pending change (0 when the outbox is empty). */
  oldestPendingSeconds: number;
}

export async function outboxStats(db: Queryable): Promise<OutboxStats> {
  const res = await db.query<{ pending: number; oldest: number | null }>(
    `select count(*)::int as pending,
            extract(epoch from now() - min(enqueued_at))::double precision as oldest
       from rr_sync.outbox`,
  );
  const r = res.rows[0]!;
  return { pending: r.pending, oldestPendingSeconds: Math.max(0, Math.floor(r.oldest ?? 0)) };
}

/**
 * Milliseconds until the next row can be claimed (due and not leased), or null when the outbox
 * is empty. 0 means something is claimable now.
 */
export async function nextClaimableInMs(db: Queryable): Promise<number | null> {
  const res = await db.query<{ ms: number | null }>(
    `select (extract(epoch from min(greatest(next_attempt_at, coalesce(lease_until, next_attempt_at))) - now())
              * 1000)::double precision as ms
       from rr_sync.outbox`,
  );
  const ms = res.rows[0]?.ms;
  return ms === null || ms === undefined ? null : Math.max(0, Math.ceil(ms));
}
