import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/pool.ts';
import { enqueue, repushPending, type OutboxItem } from './outbox.repository.ts';
import { groupRecordsOfMembers } from './sync.apply.ts';
import type { ItemKind } from './sync.contracts.ts';

/** An open dead letter (not requeued), as `rr-sync dead-letters` lists it. */
export interface DeadLetter {
  id: string;
  key: string;
  kind: ItemKind;
  status: number | null;
  errorKind: string;
  reason: string;
  attempts: number;
  failedAt: Date;
}

export async function countOpenDeadLetters(db: Queryable): Promise<number> {
  const res = await db.query<{ n: number }>(
    `select count(*)::int as n from rr_sync.dead_letters where requeued_at is null`,
  );
  return res.rows[0]?.n ?? 0;
}

/** Open dead letters, oldest first (at most `limit`). */
export async function listOpenDeadLetters(db: Queryable, limit: number): Promise<DeadLetter[]> {
  const res = await db.query<{
    id: string;
    key: string;
    kind: ItemKind;
    status: number | null;
    error_kind: string;
    reason: string;
    attempts: number;
    failed_at: Date;
  }>(
    `select id::text, key, kind, status, error_kind, reason, attempts, failed_at
       from rr_sync.dead_letters where requeued_at is null
      order by failed_at, id limit $1`,
    [limit],
  );
  return res.rows.map((r) => ({
    id: r.id,
    key: r.key,
    kind: r.kind,
    status: r.status,
    errorKind: r.error_kind,
    reason: r.reason,
    attempts: r.attempts,
    failedAt: r.failed_at,
  }));
}

export interface RequeueResult {
  /** Put back into the outbox (change 'requeued'). */
  requeued: number;
  /**
   * Marked requeued but not put back: Retail Rocket confirmed a newer body of that item since, or
   * a newer change is already pending; sending the old body would undo it.
   */
  superseded: number;
}

const REQUEUE_CHUNK = 1000;

/**
 * Moves every open dead letter (or only those of `ids`) back to the outbox with change 'requeued'
 * and marks it requeued, in transactions of at most 1000 letters. Per key only the newest letter
 * is sent again.
 */
export async function requeueDeadLetters(db: pg.Pool, ids?: readonly string[]): Promise<RequeueResult> {
  const total: RequeueResult = { requeued: 0, superseded: 0 };
  for (;;) {
    const done = await withTransaction(db, (client) => requeueChunk(client, ids ?? null));
    total.requeued += done.requeued;
    total.superseded += done.superseded;
    if (done.requeued + done.superseded < REQUEUE_CHUNK) return total;
  }
}

async function requeueChunk(client: pg.PoolClient, ids: readonly string[] | null): Promise<RequeueResult> {
  const res = await client.query<{
    id: string;
    key: string;
    kind: ItemKind;
    item_id: string;
    stock_id: string | null;
    body: unknown;
    hash: string;
    run_id: string | null;
    newest: boolean;
    superseded: boolean;
  }>(
    `select d.id::text, d.key, d.kind, d.item_id, d.stock_id, d.body, d.hash, d.run_id::text,
            d.id = (select max(x.id) from rr_sync.dead_letters x
                     where x.key = d.key and x.requeued_at is null) as newest,
            exists (select 1 from rr_sync.pushed p where p.key = d.key and p.pushed_at > d.failed_at)
              or exists (select 1 from rr_sync.outbox o where o.key = d.key) as superseded
       from (select * from rr_sync.dead_letters
              where requeued_at is null and ($2::bigint[] is null or id = any($2::bigint[]))
              order by id limit $1 for update) d`,
    [REQUEUE_CHUNK, ids],
  );
  const items: OutboxItem[] = res.rows
    .filter((r) => r.newest && !r.superseded)
    .map((r) => ({
      key: r.key,
      kind: r.kind,
      itemId: r.item_id,
      stockId: r.stock_id,
      body: r.body,
      hash: r.hash,
      change: 'requeued',
      runId: r.run_id,
    }));
  await enqueue(client, items);
  // A member's own product record carries no group: its group's current record goes after it
  // (the pusher holds the group while the member's row is in the outbox).
  const groups = await groupRecordsOfMembers(
    client,
    items.filter((i) => i.kind === 'product').map((i) => i.itemId),
  );
  await repushPending(
    client,
    groups.map((g) => g.key),
  );
  await enqueue(
    client,
    groups.map((g) => ({ ...g, change: 'requeued' })),
  );
  await client.query(`update rr_sync.dead_letters set requeued_at = now() where id = any($1::bigint[])`, [
    res.rows.map((r) => r.id),
  ]);
  return { requeued: items.length, superseded: res.rows.length - items.length };
}
