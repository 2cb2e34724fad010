import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { PATH_SLASH_STANDIN } from '../../src/sync/category.paths.ts';
import { compaction } from '../../src/sync/sync.apply.ts';
import { DIFF_REPORT, runSyncJob, type SyncSummary } from '../../src/sync/sync.job.ts';
import { createFeedHarness, type FeedHarness } from '../feed/feed.harness.ts';
import { createStore, product, type StoreFixture } from '../feed/store.fixture.ts';

let h: FeedHarness;

/** A small store: products 1-6, 3+4 in group 30, stocks north/south on 1 and 3. */
function store(): Required<StoreFixture> {
  return {
    categories: [
      { id: '1', parent_id: null, name: 'Kitchen' },
      { id: '2', parent_id: '1', name: 'Knives' },
      { id: '3', parent_id: '1', name: 'Pots/Lids' },
    ],
    warehouses: [
      { id: 'north', name: 'North' },
      { id: 'south', name: 'South' },
    ],
    products: [
      product('1'),
      product('2'),
      product('3', { group_id: '30' }),
      product('4', { group_id: '30', category_ids: '{3}' }),
      product('5'),
      product('6'),
    ],
    stocks: [
      { product_id: '1', warehouse_id: 'north', available: 'true' },
      { product_id: '1', warehouse_id: 'south', available: 'false', price: '9.5' },
      { product_id: '3', warehouse_id: 'north', available: 'true' },
    ],
  };
}

async function outbox(): Promise<
  { key: string; change: string; version: number; body: Record<string, unknown> }[]
> {
  const { rows } = await h.db.pool.query(
    'select key, change, version::int as version, body from rr_sync.outbox order by key',
  );
  return rows;
}
const keys = async () => (await outbox()).map((r) => `${r.key} ${r.change}`);

const sync = (opts: Parameters<typeof runSyncJob>[1] = {}) => runSyncJob(h.deps, opts);

/** A change of group 30 is synced, and everything pending is pushed and confirmed. */
async function groupPushed(): Promise<void> {
  await h.db.pool.query("update store.products set price = '12' where id = '3'");
  await sync();
  await h.db.pool.query(
    'insert into rr_sync.pushed (key, hash) select key, hash from rr_sync.outbox; truncate rr_sync.outbox',
  );
}

beforeAll(async () => {
  h = await createFeedHarness();
});
afterAll(async () => {
  await h.close();
});

describe('the first sync of an installation', () => {
  let s: SyncSummary;
  beforeAll(async () => {
    await createStore(h.db.pool, store());
    s = await sync();
  });

  it('publishes the feed and records what it carries, pushing nothing (the feed is the bulk channel)', async () => {
    expect(s.status).toBe('published');
    expect(s.changes).toMatchObject({ baseline: true, enqueued: 0, new: 9, changed: 0, unavailable: 0 });
    expect(await outbox()).toEqual([]);
    const { rows } = await h.db.pool.query(
      'select product_id, group_id, stock_ids, gone from rr_sync.catalog_items order by product_id',
    );
    expect(rows).toEqual([
      { product_id: '1', group_id: null, stock_ids: ['north', 'south'], gone: false },
      { product_id: '2', group_id: null, stock_ids: [], gone: false },
      { product_id: '3', group_id: '30', stock_ids: ['north'], gone: false },
      { product_id: '4', group_id: '30', stock_ids: [], gone: false },
      { product_id: '5', group_id: null, stock_ids: [], gone: false },
      { product_id: '6', group_id: null, stock_ids: [], gone: false },
    ]);
  });

  it('keeps each product as the Product API would be given it, with category paths from the tree', async () => {
    const { rows } = await h.db.pool.query(
      "select body from rr_sync.catalog_items where product_id in ('1', '4') order by product_id",
    );
    expect(rows[0].body).toEqual({
      groupId: null,
      product: {
        id: 1,
        name: 'Product 1',
        price: 10.5,
        url: 'https://shop.example/p/1',
        pictureUrl: 'https://shop.example/img/1.jpg',
        isAvailable: true,
        categoryPaths: ['Kitchen/Knives'],
      },
      stocks: { north: { isAvailable: true }, south: { isAvailable: false, price: 9.5 } },
    });
    // A "/" inside a name must not split a level.
    expect(rows[1].body.product.categoryPaths).toEqual([`Kitchen/Pots${PATH_SLASH_STANDIN}Lids`]);
  });
});

// Every scenario also with the delta folded into the base after each sync (the state reads the same).
describe.each([false, true])('incremental syncs (compacting after each: %s)', (compactEach) => {
  const saved = { ...compaction };
  beforeAll(() => {
    if (compactEach) Object.assign(compaction, { ratio: 0, minRows: 0 });
  });
  afterAll(() => {
    Object.assign(compaction, saved);
  });
  beforeEach(async () => {
    await h.resetFeeds();
    await h.db.pool.query(
      'truncate rr_sync.catalog_items_base, rr_sync.catalog_items_delta, rr_sync.outbox, rr_sync.pushed, rr_sync.resyncs',
    );
    await createStore(h.db.pool, store());
    await sync();
  });

  it('with nothing changed: the feed is unchanged and nothing is enqueued', async () => {
    const s = await sync();
    expect(s.status).toBe('unchanged');
    expect(s.changes).toMatchObject({
      baseline: false,
      enqueued: 0,
      new: 0,
      changed: 0,
      unavailable: 0,
      unchanged: 9,
    });
    expect(await outbox()).toEqual([]);
  });

  it('a price change enqueues the product, its stocks that inherit the price, and its group', async () => {
    await h.db.pool.query("update store.products set price = '12' where id in ('1', '3')");
    const s = await sync();
    expect(s.status).toBe('published');
    expect(await keys()).toEqual([
      'group:30 new',
      'product:1 changed',
      'product:3 changed',
      'stock:1:north changed',
      'stock:3:north changed',
    ]);
    const rows = await outbox();
    expect(rows.find((r) => r.key === 'stock:1:north')?.body).toMatchObject({
      id: 1,
      price: 12,
      isAvailable: true,
    });
    expect(rows.find((r) => r.key === 'group:30')?.body).toMatchObject({
      groupId: 30,
      price: 10.5,
      isAvailable: true,
      products: { '3': { price: 12 }, '4': { price: 10.5 } },
    });
    expect(s.changes).toMatchObject({ changed: 4, new: 1, enqueued: 5 });
    // The state now says what Retail Rocket is given: a second sync finds nothing.
    const again = await sync();
    expect(again.changes).toMatchObject({ enqueued: 0, changed: 0 });
  });

  it("a stock's availability enqueues exactly that stock record", async () => {
    await h.db.pool.query(
      "update store.product_stocks set available = 'true' where product_id = '1' and warehouse_id = 'south'",
    );
    await sync();
    expect(await keys()).toEqual(['stock:1:south changed']);
    expect((await outbox())[0].body).toMatchObject({ id: 1, isAvailable: true, price: 9.5 });
  });

  it('a renamed category enqueues every product in it (categoryPaths changed), not the others', async () => {
    await h.db.pool.query("update store.categories set name = 'Blades' where id = '2'");
    await sync();
    expect(await keys()).toEqual([
      'group:30 new',
      'product:1 changed',
      'product:2 changed',
      'product:3 changed',
      'product:5 changed',
      'product:6 changed',
      'stock:1:north changed',
      'stock:1:south changed',
      'stock:3:north changed',
    ]);
    expect((await outbox()).find((r) => r.key === 'product:2')?.body.categoryPaths).toEqual([
      'Kitchen/Blades',
    ]);
  });

  it('a deleted product and a product made invalid are pushed unavailable, with their stocks and group', async () => {
    await h.db.pool.query("delete from store.products where id = '1'");
    await h.db.pool.query("update store.products set price = '0' where id = '4'");
    // 2 of 6 is above the default FEED_MAX_DROP (the gate has its own test).
    const lenient = { ...h.deps, config: loadConfig({ ...h.env, FEED_MAX_DROP: '0.5' }) };
    const s = await runSyncJob(lenient);
    // The group was never pushed before (the first sync pushes nothing): new to the Product API.
    expect(await keys()).toEqual([
      'group:30 new',
      'product:1 unavailable',
      'product:4 unavailable',
      'stock:1:north unavailable',
      'stock:1:south unavailable',
    ]);
    const rows = await outbox();
    for (const r of rows.filter((x) => x.change === 'unavailable')) expect(r.body.isAvailable).toBe(false);
    // The group is now its one live member.
    expect(Object.keys(rows[0].body.products as object)).toEqual(['3']);
    expect(s.changes).toMatchObject({ unavailable: 4, invalid: 1 });
    const { rows: state } = await h.db.pool.query(
      "select product_id, gone, available from rr_sync.catalog_items where product_id in ('1', '4') order by 1",
    );
    expect(state).toEqual([
      { product_id: '1', gone: true, available: false },
      { product_id: '4', gone: true, available: false },
    ]);
    // Told once: the next sync does not push them again; coming back is a change.
    expect((await runSyncJob(lenient)).changes?.enqueued).toBe(0);
    await h.db.pool.query("update store.products set price = '11' where id = '4'");
    await h.db.pool.query('truncate rr_sync.outbox');
    await sync();
    expect(await keys()).toEqual(['group:30 new', 'product:4 changed']);
  });

  it('a new product and a product moved to another group are enqueued with both groups', async () => {
    await h.db.pool
      .query(`insert into store.products (id, group_id, name, url, picture_url, price, available, category_ids)
      values ('7', '30', 'Seven', 'https://shop.example/p/7', 'https://shop.example/img/7.jpg', '5', 'true', '{2}')`);
    await h.db.pool.query("update store.products set group_id = '40' where id = '4'");
    await sync();
    expect(await keys()).toEqual(['group:30 new', 'group:40 new', 'product:7 new']);
    const g30 = (await outbox()).find((r) => r.key === 'group:30')!;
    expect(Object.keys(g30.body.products as object)).toEqual(['3', '7']);
  });

  it("a member's own record changing where its group's record does not: the group is pushed again after it", async () => {
    await groupPushed();
    // A vendor is in product 4's own record only: the group's record (members and lead 3) is the same.
    await h.db.pool.query("update store.products set vendor = 'Acme' where id = '4'");
    const s = await sync();
    expect(await keys()).toEqual(['group:30 resync', 'product:4 changed']);
    expect(s.changes).toMatchObject({ changed: 1, enqueued: 2 });
    // Still pending (or in flight): a newer member record makes the pending group row a new version,
    // so that a push of it that began before cannot complete it.
    await h.db.pool.query("update store.products set vendor = 'Acme Ltd' where id = '4'");
    await sync();
    expect((await outbox()).map((r) => [r.key, r.version])).toEqual([
      ['group:30', 2],
      ['product:4', 2],
    ]);
    // A change of a product outside any group does not touch the group.
    await h.db.pool.query('truncate rr_sync.outbox');
    await h.db.pool.query("update store.products set vendor = 'Acme' where id = '2'");
    await sync();
    expect(await keys()).toEqual(['product:2 changed']);
  });

  it('a product moved to another group and back before the push: its group is pushed as it is again', async () => {
    await groupPushed();
    await h.db.pool.query("update store.products set group_id = '40' where id = '4'");
    await sync();
    expect(await keys()).toEqual(['group:30 changed', 'group:40 new']);
    await h.db.pool.query("update store.products set group_id = '30' where id = '4'");
    await sync();
    // Group 30's record is the one Retail Rocket was given before, but a different one was pending:
    // it is replaced. Group 40 has no product any more: its pending record would move 4 back into it.
    expect(await keys()).toEqual(['group:30 changed']);
    expect(Object.keys((await outbox())[0]!.body.products as object)).toEqual(['3', '4']);
  });

  it('coalesces: a second change before the push replaces the pending body (one row, newer version)', async () => {
    await h.db.pool.query("update store.products set price = '12' where id = '2'");
    await sync();
    await h.db.pool.query("update store.products set price = '13' where id = '2'");
    await sync();
    const rows = await outbox();
    expect(rows.map((r) => [r.key, r.version, r.body.price])).toEqual([['product:2', 2, 13]]);
  });

  it('a product already told gone counts no more: neither for the push gate nor as a change', async () => {
    // 1 of 6 gone (17 %), then 1 more of the 5 left (20 %): each within the default FEED_MAX_DROP.
    await h.db.pool.query("delete from store.products where id = '2'");
    const first = await sync();
    expect(first.status).toBe('published');
    await h.db.pool.query("delete from store.products where id = '5'");
    const second = await sync();
    expect(second.status).toBe('published');
    expect(second.changes).toMatchObject({ unavailable: 1 });
    const third = await sync();
    expect(third.changes).toMatchObject({ unavailable: 0, enqueued: 0, changed: 0 });
  });

  it('the push gate refuses a sync that would make more than FEED_MAX_DROP of the known products unavailable', async () => {
    // 3 of 6 products turn invalid: the feed loses 50 % and so would Retail Rocket.
    await h.db.pool.query("update store.products set url = 'nope' where id in ('1', '2', '5')");
    const refused = await sync();
    expect(refused.status).toBe('refused');
    expect(refused.exitCode).toBe(3);
    expect(refused.changes).toBeNull();
    expect(await outbox()).toEqual([]);
    const { rows } = await h.db.pool.query('select count(*)::int as n from rr_sync.catalog_items where gone');
    expect(rows[0].n).toBe(0);
    const forced = await sync({ force: true });
    expect(forced.status).toBe('published');
    expect(forced.changes?.unavailable).toBe(5);
  });

  it('a diff report that cannot be written fails the run and rolls the changes back (no crash)', async () => {
    await h.db.pool.query("update store.products set price = '12' where id = '2'");
    // A directory where the report's temporary file goes: opening it fails (EISDIR).
    await mkdir(path.join(h.feedsDir, `${DIFF_REPORT}.tmp`));
    await expect(sync()).rejects.toMatchObject({
      code: 'EISDIR',
      path: expect.stringContaining(DIFF_REPORT),
    });
    expect(await outbox()).toEqual([]);
    const { rows } = await h.db.pool.query(
      "select body->'product'->>'price' as price from rr_sync.catalog_items where product_id = '2'",
    );
    expect(rows[0].price).toBe('10.5');
    await rm(path.join(h.feedsDir, `${DIFF_REPORT}.tmp`), { recursive: true });
    await sync();
    expect(await keys()).toEqual(['product:2 changed']);
  });

  it('a feed that fails its self-check applies nothing, though the apply step ran meanwhile', async () => {
    await h.db.pool.query("update store.products set price = '13' where id = '2'");
    await rm(path.join(h.feedsDir, DIFF_REPORT), { force: true });
    let corrupted = false;
    await expect(
      sync({
        hooks: {
          corruptXml: (chunk) => {
            if (corrupted || !chunk.includes('</offers>')) return;
            chunk.fill(0x20, chunk.lastIndexOf('</offers>'));
            corrupted = true;
          },
        },
      }),
    ).rejects.toMatchObject({ code: 'feed.self_check_failed' });
    expect(corrupted).toBe(true);
    expect(await outbox()).toEqual([]);
    const { rows } = await h.db.pool.query(
      "select body->'product'->>'price' as price from rr_sync.catalog_items where product_id = '2'",
    );
    expect(rows[0].price).not.toBe('13');
    expect(existsSync(path.join(h.feedsDir, DIFF_REPORT))).toBe(false);
    await sync();
    expect(await keys()).toEqual(['product:2 changed']);
    expect(existsSync(path.join(h.feedsDir, DIFF_REPORT))).toBe(true);
  });

  it('a dry run changes nothing and writes the diff report of what it would enqueue', async () => {
    await h.db.pool.query("update store.products set name = 'Renamed' where id = '5'");
    const before = await h.db.pool.query('select product_id, digest from rr_sync.catalog_items order by 1');
    const s = await sync({ dryRun: true });
    expect(s.status).toBe('dry_run');
    expect(s.runId).toBeNull();
    expect(s.changes).toMatchObject({ changed: 1, enqueued: 1 });
    expect(await outbox()).toEqual([]);
    expect(
      (await h.db.pool.query('select product_id, digest from rr_sync.catalog_items order by 1')).rows,
    ).toEqual(before.rows);
    const lines = (await readFile(path.join(h.feedsDir, DIFF_REPORT), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([{ key: 'product:5', kind: 'changed', fields: ['name'] }]);
  });

  it('resync --full enqueues every item, and a re-run skips what was confirmed since it began', async () => {
    const first = await sync({ full: true });
    expect(first.status).toBe('unchanged');
    // 6 products, 3 stock records, 1 group.
    expect(first.changes?.enqueued).toBe(10);
    // Retail Rocket confirmed four of them (as the pusher records a 2xx), then the run was interrupted.
    await h.db.pool.query(`insert into rr_sync.pushed (key, hash)
      select key, hash from rr_sync.outbox where key in ('product:1', 'product:2', 'stock:1:north', 'group:30')`);
    await h.db.pool.query(
      "delete from rr_sync.outbox where key in ('product:1', 'product:2', 'stock:1:north', 'group:30')",
    );
    const again = await sync({ full: true });
    expect(again.changes?.enqueued).toBe(0);
    expect((await outbox()).length).toBe(6);
    const { rows } = await h.db.pool.query('select count(*)::int as n from rr_sync.resyncs');
    expect(rows[0].n).toBe(1);

    // The rest is pushed: that resync is over, and the next one pushes everything again.
    await h.db.pool.query(`insert into rr_sync.pushed (key, hash) select key, hash from rr_sync.outbox
      on conflict (key) do update set hash = excluded.hash, pushed_at = now()`);
    await h.db.pool.query('delete from rr_sync.outbox');
    const next = await sync({ full: true });
    expect(next.changes?.enqueued).toBe(10);
    const resyncs = await h.db.pool.query(
      'select finished_at is not null as finished from rr_sync.resyncs order by id',
    );
    expect(resyncs.rows).toEqual([{ finished: true }, { finished: false }]);
  });
});
