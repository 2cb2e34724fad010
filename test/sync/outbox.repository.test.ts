import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requeueDeadLetters } from '../../src/sync/dead-letters.repository.ts';
import {
  claim,
  complete,
  enqueue,
  findNewPending,
  nextClaimableInMs,
  OUTBOX_CHANNEL,
  outboxStats,
  releaseLeases,
  retryLater,
  toDeadLetter,
} from '../../src/sync/outbox.repository.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { productItem } from './push.harness.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
beforeEach(async () => {
  await db.pool.query(
    'truncate rr_sync.outbox, rr_sync.dead_letters, rr_sync.pushed, rr_sync.catalog_items_base',
  );
});
afterAll(() => db?.drop());

const row = async (key: string) =>
  (
    await db.pool.query(
      `select key, body, hash, change, version::int, attempts, lease_owner, last_error,
              next_attempt_at > now() as later, enqueued_at
         from rr_sync.outbox where key = $1`,
      [key],
    )
  ).rows[0];

describe('enqueue', () => {
  it('keeps one row per key: a newer change replaces the pending body, bumps version and keeps enqueued_at', async () => {
    expect(await enqueue(db.pool, [productItem(1, {}, 'resync'), productItem(2)])).toBe(2);
    const first = await row('product:1');
    await db.pool.query(
      `update rr_sync.outbox set attempts = 3, last_error = 'boom', next_attempt_at = now() + interval '1 hour'`,
    );

    expect(await enqueue(db.pool, [productItem(1, { price: 99 }, 'changed')])).toBe(1);
    const second = await row('product:1');
    expect(second).toMatchObject({
      body: expect.objectContaining({ price: 99 }),
      change: 'changed',
      version: 2,
      attempts: 0,
      last_error: null,
      later: false,
    });
    expect(second.enqueued_at).toEqual(first.enqueued_at);
    expect((await row('product:2')).later).toBe(true); // untouched
  });

  it('a record never given to Retail Rocket stays new through later changes (events wait for it)', async () => {
    await enqueue(db.pool, [productItem(1)]);
    await enqueue(db.pool, [productItem(1, { price: 99 }, 'changed')]);
    expect(await row('product:1')).toMatchObject({ change: 'new', version: 2 });
    expect(await findNewPending(db.pool, ['product:1', 'product:2'])).toEqual(new Set(['product:1']));
    await complete(db.pool, await claim(db.pool, 'a', 10, 60_000));
    expect(await findNewPending(db.pool, ['product:1'])).toEqual(new Set());
  });

  it('ignores a change whose hash equals the pending one', async () => {
    await enqueue(db.pool, [productItem(1)]);
    expect(await enqueue(db.pool, [productItem(1)])).toBe(0);
    expect((await row('product:1')).version).toBe(1);
  });

  it('takes the last change of a key given twice in one call', async () => {
    await enqueue(db.pool, [productItem(1, { price: 11 }), productItem(1, { price: 12 })]);
    expect((await row('product:1')).body.price).toBe(12);
  });

  it('enqueues thousands in chunks and notifies rr_sync_outbox once committed', async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const notified = new Promise<string>((resolve) =>
      listener.once('notification', (n) => resolve(n.channel)),
    );
    await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
    const items = Array.from({ length: 2500 }, (_, i) => productItem(i + 1));
    expect(await enqueue(db.pool, items)).toBe(2500);
    expect(await notified).toBe('rr_sync_outbox');
    await listener.end();
    expect(await outboxStats(db.pool)).toEqual({ pending: 2500, oldestPendingSeconds: 0 });
  });
});

describe('claim, complete, retryLater, toDeadLetter', () => {
  it('leases due rows to one owner; a second claimer gets the others, never the same row', async () => {
    await enqueue(
      db.pool,
      Array.from({ length: 10 }, (_, i) => productItem(i + 1)),
    );
    const a = await claim(db.pool, 'a', 6, 60_000);
    const b = await claim(db.pool, 'b', 6, 60_000);
    expect(a).toHaveLength(6);
    expect(b).toHaveLength(4);
    expect(new Set([...a, ...b].map((r) => r.key)).size).toBe(10);
    expect(await claim(db.pool, 'c', 6, 60_000)).toEqual([]);
    expect(await nextClaimableInMs(db.pool)).toBeGreaterThan(50_000);
  });

  it('nextClaimableInMs is null for an empty outbox and 0 for a due row', async () => {
    expect(await nextClaimableInMs(db.pool)).toBeNull();
    await enqueue(db.pool, [productItem(1)]);
    expect(await nextClaimableInMs(db.pool)).toBe(0);
  });

  it('gives a row back once its lease expired (its pusher died)', async () => {
    await enqueue(db.pool, [productItem(1)]);
    expect(await claim(db.pool, 'dead', 10, 1)).toHaveLength(1);
    await db.pool.query(`select pg_sleep(0.01)`);
    const again = await claim(db.pool, 'alive', 10, 60_000);
    expect(again.map((r) => [r.key, r.leaseOwner])).toEqual([['product:1', 'alive']]);
  });

  it('complete deletes the row and records the pushed hash', async () => {
    const item = productItem(1);
    await enqueue(db.pool, [item]);
    const [claimed] = await claim(db.pool, 'a', 10, 60_000);
    await complete(db.pool, [claimed!]);
    expect(await row('product:1')).toBeUndefined();
    const pushed = await db.pool.query('select key, hash from rr_sync.pushed');
    expect(pushed.rows).toEqual([{ key: 'product:1', hash: item.hash }]);
  });

  it('a push of the older version does not delete the newer one; its lease is released', async () => {
    const older = productItem(1);
    await enqueue(db.pool, [older]);
    const [claimed] = await claim(db.pool, 'a', 10, 60_000);
    const newer = productItem(1, { price: 55 }, 'changed');
    await enqueue(db.pool, [newer]);
    await complete(db.pool, [claimed!]);
    expect(await row('product:1')).toMatchObject({ version: 2, hash: newer.hash, lease_owner: null });
    // Retail Rocket holds the older body: that is what pushed records.
    expect((await db.pool.query('select hash from rr_sync.pushed')).rows).toEqual([{ hash: older.hash }]);
    expect((await claim(db.pool, 'b', 10, 60_000)).map((r) => r.hash)).toEqual([newer.hash]);
  });

  it('retryLater counts the attempt and schedules the row; a newer version keeps its fresh schedule', async () => {
    await enqueue(db.pool, [productItem(1), productItem(2)]);
    const claimed = await claim(db.pool, 'a', 10, 60_000);
    await enqueue(db.pool, [productItem(2, { price: 77 })]);
    await retryLater(
      db.pool,
      claimed.map((r) => ({ row: r, delayMs: 60_000, error: 'Retail Rocket answered 503' })),
    );
    expect(await row('product:1')).toMatchObject({
      attempts: 1,
      later: true,
      lease_owner: null,
      last_error: 'Retail Rocket answered 503',
    });
    expect(await row('product:2')).toMatchObject({
      attempts: 0,
      later: false,
      lease_owner: null,
      version: 2,
    });
  });

  it('retryLater leaves a row alone whose lease another pusher took over', async () => {
    await enqueue(db.pool, [productItem(1)]);
    const [mine] = await claim(db.pool, 'slow', 10, 1);
    await db.pool.query(`select pg_sleep(0.01)`);
    await claim(db.pool, 'other', 10, 60_000);
    await retryLater(db.pool, [{ row: mine!, delayMs: 60_000, error: 'x' }]);
    expect(await row('product:1')).toMatchObject({ attempts: 0, lease_owner: 'other', later: false });
  });

  it('toDeadLetter keeps status, kind, reason and attempts, and removes the row', async () => {
    await enqueue(db.pool, [productItem(1)]);
    const [claimed] = await claim(db.pool, 'a', 10, 60_000);
    await toDeadLetter(db.pool, claimed!, {
      status: 400,
      errorKind: 'http',
      reason: 'Retail Rocket answered 400: price',
      attempts: 1,
    });
    expect(await row('product:1')).toBeUndefined();
    const dead = await db.pool.query(
      'select key, status, error_kind, reason, attempts, body, change from rr_sync.dead_letters',
    );
    expect(dead.rows).toEqual([
      {
        key: 'product:1',
        status: 400,
        error_kind: 'http',
        reason: 'Retail Rocket answered 400: price',
        attempts: 1,
        body: productItem(1).body,
        change: 'new',
      },
    ]);
  });

  it('releaseLeases frees only the given owner', async () => {
    await enqueue(db.pool, [productItem(1), productItem(2)]);
    await claim(db.pool, 'a', 1, 60_000);
    await claim(db.pool, 'b', 1, 60_000);
    expect(await releaseLeases(db.pool, 'a')).toBe(1);
    expect((await claim(db.pool, 'c', 10, 60_000)).length).toBe(1);
  });
});

describe('requeueDeadLetters', () => {
  async function deadLetter(id: number, over: Record<string, unknown> = {}) {
    await enqueue(db.pool, [productItem(id, over)]);
    const claimed = (await claim(db.pool, 'a', 10, 60_000)).find((r) => r.key === `product:${id}`);
    await toDeadLetter(db.pool, claimed!, { status: 400, errorKind: 'http', reason: 'bad', attempts: 1 });
    await releaseLeases(db.pool, 'a');
  }

  it('moves open dead letters back with change requeued, once', async () => {
    await deadLetter(1);
    await deadLetter(2);
    expect(await requeueDeadLetters(db.pool)).toEqual({ requeued: 2, superseded: 0 });
    const rows = await db.pool.query('select key, change, attempts from rr_sync.outbox order by key');
    expect(rows.rows).toEqual([
      { key: 'product:1', change: 'requeued', attempts: 0 },
      { key: 'product:2', change: 'requeued', attempts: 0 },
    ]);
    expect(await requeueDeadLetters(db.pool)).toEqual({ requeued: 0, superseded: 0 });
  });

  it("a requeued member's product record takes its group's current record along, pushed after it", async () => {
    // The index: 1 and 2 in group 50 (2 gone), 3 on its own.
    for (const [id, group, gone] of [
      ['1', '50', false],
      ['2', '50', true],
      ['3', null, false],
    ] as const) {
      await db.pool.query(
        `insert into rr_sync.catalog_items_base (product_id, group_id, digest, available, gone, body, source)
         values ($1, $2, 'd', true, $3, $4, 'feed')`,
        [id, group, gone, { product: productItem(Number(id)).body, groupId: group, stocks: {} }],
      );
    }
    await deadLetter(1);
    await deadLetter(3);
    expect(await requeueDeadLetters(db.pool)).toEqual({ requeued: 2, superseded: 0 });
    const rows = await db.pool.query<{ key: string; change: string; body: { products?: object } }>(
      'select key, change, body from rr_sync.outbox order by key',
    );
    expect(rows.rows.map((r) => `${r.key} ${r.change}`)).toEqual([
      'group:50 requeued',
      'product:1 requeued',
      'product:3 requeued',
    ]);
    expect(Object.keys(rows.rows[0]!.body.products!)).toEqual(['1']);
    // The pusher holds the group while product:1 is in the outbox.
    expect((await claim(db.pool, 'p', 10, 60_000)).map((r) => r.key).sort()).toEqual([
      'product:1',
      'product:3',
    ]);
  });

  it('never sends an old body over a newer one that is pending or was confirmed since', async () => {
    await deadLetter(1);
    await enqueue(db.pool, [productItem(1, { price: 42 })]); // newer change pending
    await deadLetter(2);
    await db.pool.query(
      `insert into rr_sync.pushed (key, hash, pushed_at) values ('product:2', 'newer', now() + interval '1 second')`,
    );
    await deadLetter(3, { price: 30 });
    await deadLetter(3, { price: 31 }); // two letters of one key: only the newest goes back
    expect(await requeueDeadLetters(db.pool)).toEqual({ requeued: 1, superseded: 3 });
    const rows = await db.pool.query(
      `select key, body->>'price' as price, change from rr_sync.outbox order by key`,
    );
    expect(rows.rows).toEqual([
      { key: 'product:1', price: '42', change: 'new' },
      { key: 'product:3', price: '31', change: 'requeued' },
    ]);
    const open = await db.pool.query(
      'select count(*)::int as n from rr_sync.dead_letters where requeued_at is null',
    );
    expect(open.rows[0].n).toBe(0);
  });
});
