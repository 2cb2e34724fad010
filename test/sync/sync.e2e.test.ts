import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/demo/demo.seed.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createStore, product, type StoreFixture } from '../feed/store.fixture.ts';
import { createPushHarness, type PushHarness } from './push.harness.ts';

/**
 * The sync end to end, as a user runs it: `rr-sync sync` / `resync --full` as child processes
 * against real PostgreSQL and the emulator over HTTP/2, the emulator's Product API catalog compared
 * with the store.
 */
let h: PushHarness;
let feedsDir: string;
let env: Record<string, string>;
const children: ChildProcess[] = [];

beforeAll(async () => {
  h = await createPushHarness();
  feedsDir = await mkdtemp(path.join(tmpdir(), 'rr-sync-e2e-'));
  env = { ...h.env, FEEDS_DIR: feedsDir, FEED_MAX_DROP: '0.5' };
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await h?.close();
  await rm(feedsDir, { recursive: true, force: true });
});

function cli(args: string[], extraEnv: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['src/cli/rr-sync.js', ...args], {
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = once(child, 'exit').then(([code]) => ({
    code: code as number | null,
    stderr,
    json: stdout.trim().startsWith('{') ? JSON.parse(stdout.trim()) : null,
  }));
  return { child, done };
}

const STORE: Required<StoreFixture> = {
  categories: [
    { id: '1', parent_id: null, name: 'Kitchen' },
    { id: '2', parent_id: '1', name: 'Knives' },
    { id: '3', parent_id: '1', name: 'Pots' },
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
    product('5', { group_id: '30' }),
    product('6'),
    product('7'),
    product('8'),
  ],
  stocks: [
    { product_id: '1', warehouse_id: 'north', available: 'true' },
    { product_id: '3', warehouse_id: 'north', available: 'true' },
    { product_id: '3', warehouse_id: 'south', available: 'true', price: '9' },
  ],
};

describe('rr-sync sync against the emulator', () => {
  it('first sync: publishes the feed and pushes nothing (the feed carries the catalog)', async () => {
    await createStore(h.db.pool, STORE);
    const r = await cli(['sync', '--json']).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, baseline: true, enqueued: 0, pushed: 0, pending: 0 });
    expect(r.json.feed).toMatch(/^\d{8}T\d{6}Z-/);
    expect(await h.calls()).toEqual([]);
  });

  it('pushes exactly what changed in the store, and the emulator ends with the store catalog', async () => {
    await h.db.pool.query("update store.products set price = '12.5' where id = '1'"); // price
    await h.db.pool.query(
      "update store.product_stocks set available = 'false' where product_id = '3' and warehouse_id = 'north'",
    ); // a stock's availability
    await h.db.pool.query("update store.products set group_id = null where id = '5'"); // a group member leaves
    await h.db.pool.query("update store.categories set name = 'Pans' where id = '3'"); // a category name
    await h.db.pool.query("delete from store.products where id = '6'"); // a deleted product
    const r = await cli(['sync', '--json']).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, baseline: false, deadLetters: 0, pending: 0 });
    const pushes = await h.pushes();
    expect(Object.keys(pushes).sort()).toEqual([
      'group:30',
      'product:1',
      'product:4',
      'product:6',
      'stock:1:north',
      'stock:3:north',
    ]);
    expect(r.json.pushed).toBe(6);
    expect(r.json.enqueued).toBe(6);
    expect(pushes['product:1']).toMatchObject({ id: 1, price: 12.5, isAvailable: true });
    expect(pushes['stock:1:north']).toMatchObject({ id: 1, price: 12.5, stockId: 'north' });
    expect(pushes['stock:3:north']).toMatchObject({ id: 3, isAvailable: false, stockId: 'north' });
    expect(pushes['product:4']).toMatchObject({ id: 4, categoryPaths: ['Kitchen/Pans'] });
    expect(pushes['product:6']).toMatchObject({ id: 6, isAvailable: false });
    expect(Object.keys((pushes['group:30'] as { products: object }).products)).toEqual(['3', '4']);
    // Product 5 only left the group: its own Product API record (which has no group field) is
    // unchanged, so only the group record, now without it, is pushed.

    // The emulator's catalog now says what the store says, before Retail Rocket pulls the feed.
    const cat = await h.admin(`/__emulator/catalog?partnerId=${env.RR_PARTNER_ID}&ids=1,3,4,6`);
    const byId = Object.fromEntries(cat.list.map((i: { id: string }) => [i.id, i]));
    expect(byId['1']).toMatchObject({ price: 12.5, available: true });
    expect(byId['6']).toMatchObject({ available: false });
    expect(byId['3'].stocks.north).toMatchObject({ available: false });

    const calls = (await h.calls()).length;
    const again = await cli(['sync', '--json']).done;
    expect(again.json).toMatchObject({ ok: true, enqueued: 0, pushed: 0, pending: 0 });
    expect((await h.calls()).length).toBe(calls);
  });

  it('Retail Rocket unreachable: the sync exits 4 and the changes stay in the outbox for the next push', async () => {
    await h.db.pool.query("update store.products set price = '13' where id = '2'");
    const r = await cli(['sync', '--json'], { RR_PRODUCT_API_URL: 'https://127.0.0.1:9/api/1.0/' }).done;
    expect(r.code).toBe(4);
    expect(r.json).toMatchObject({ ok: false, enqueued: 1, pushed: 0, pending: 1, unreachable: true });
    const push = await cli(['push', '--json', '--wait', '120']).done;
    expect(push.code, push.stderr).toBe(0);
    expect(push.json).toMatchObject({ ok: true, pushed: 1, pending: 0 });
    expect((await h.pushes())['product:2']).toMatchObject({ id: 2, price: 13 });
    // Both are in the run history: the sync with its push phase, and the push.
    const { rows } = await h.db.pool.query(
      "select kind, status, exit_code, summary->'push'->>'pending' as sync_pending, summary->>'pushed' as pushed from rr_sync.runs where kind in ('sync', 'push') order by id desc limit 2",
    );
    expect(rows).toEqual([
      { kind: 'push', status: 'pushed', exit_code: 0, sync_pending: null, pushed: '1' },
      { kind: 'sync', status: 'published', exit_code: 0, sync_pending: '1', pushed: null },
    ]);
    // Its own time: the sync retries the unreachable API with jittered backoff before it gives up
    // (7-28 s measured on CI), and the push may wait up to its --wait of 120 s.
  }, 150_000);
});

describe('rr-sync resync --full killed mid-push', () => {
  it('re-run continues from the outbox (nothing confirmed is enqueued again) and completes', async () => {
    await h.reset();
    await h.db.pool.query(
      'truncate rr_sync.catalog_items_base, rr_sync.catalog_items_delta, rr_sync.resyncs',
    );
    await h.db.pool.query('drop schema if exists store cascade');
    await seedDemo(h.db.pool, { schema: 'store', products: 1500 }, silentLogger);
    const first = cli(['resync', '--full']);
    const deadline = Date.now() + 180_000;
    while ((await h.calls()).length < 1500) {
      if (first.child.exitCode !== null)
        throw new Error(`resync ended (exit ${first.child.exitCode}) too early`);
      if (Date.now() > deadline) throw new Error('resync made no progress');
      await new Promise((r) => setTimeout(r, 100));
    }
    first.child.kill('SIGKILL');
    await once(first.child, 'exit').catch(() => undefined);
    const { rows } = await h.db.pool.query<{ pending: number; confirmed: number }>(
      'select (select count(*)::int from rr_sync.outbox) as pending, (select count(*)::int from rr_sync.pushed) as confirmed',
    );
    expect(rows[0].pending).toBeGreaterThan(0);
    expect(rows[0].confirmed).toBeGreaterThan(0);
    const total = rows[0].pending + rows[0].confirmed;

    // Leases of the killed process must expire before its rows are claimed again.
    const again = await cli(['resync', '--full', '--json', '--wait', '120']).done;
    expect(again.code, again.stderr).toBe(0);
    // Confirmed records are not enqueued again; pending ones are already in the outbox.
    expect(again.json.enqueued).toBe(0);
    expect(again.json).toMatchObject({ ok: true, deadLetters: 0, pending: 0 });
    const end = await h.db.pool.query<{ outbox: number; pushed: number; dead: number }>(
      `select (select count(*)::int from rr_sync.outbox) as outbox, (select count(*)::int from rr_sync.pushed) as pushed,
              (select count(*)::int from rr_sync.dead_letters) as dead`,
    );
    expect(end.rows[0]).toEqual({ outbox: 0, pushed: total, dead: 0 });
    expect(Object.keys(await h.pushes()).length).toBe(total);
  }, 300_000);
});

describe('rr-sync sync: bad input', () => {
  it('refuses resync without --full, unknown flags and bad variables with exit 2, naming them', async () => {
    const noFull = await cli(['resync', '--json']).done;
    expect(noFull.code).toBe(2);
    expect(noFull.json.error).toMatchObject({ code: 'usage.invalid' });
    expect(noFull.json.error.message).toContain('--full');
    const flag = await cli(['sync', '--no-pushh', '--json']).done;
    expect(flag.code).toBe(2);
    expect(flag.json.error.message).toContain('--no-pushh');
    const cron = await cli(['sync', '--json'], { SYNC_CRON: 'nonsense' }).done;
    expect(cron.code).toBe(2);
    expect(cron.json.error.message).toContain('SYNC_CRON');
    const rate = await cli(['sync', '--json'], { RR_PUSH_RATE: '0' }).done;
    expect(rate.code).toBe(2);
    expect(rate.json.error.message).toContain('RR_PUSH_RATE');
    const key = await cli(['sync', '--json'], { RR_API_KEY: '' }).done;
    expect(key.code).toBe(2);
    expect(key.json.error.message).toContain('RR_API_KEY');
  });
});
