import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedIndex, directIndex } from '../../src/catalog-index/catalog-index.cache.ts';
import { isAvailableIn, type IndexedItem } from '../../src/catalog-index/catalog-index.repository.ts';
import { clientLike, watchIndex, type IndexWatch } from '../../src/catalog-index/catalog-index.watch.ts';
import { APP_NAMES, type Queryable } from '../../src/db/pool.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { runSyncJob } from '../../src/sync/sync.job.ts';
import { until } from '../helpers/until.ts';
import { createFeedHarness, type FeedHarness } from '../feed/feed.harness.ts';
import { createStore, product } from '../feed/store.fixture.ts';

let h: FeedHarness;
let watch: IndexWatch;

/** The pool, counting the queries made through it. */
function counting(db: Queryable): Queryable & { count: number } {
  const c = {
    count: 0,
    query: ((...args: Parameters<Queryable['query']>) => {
      c.count += 1;
      return (db.query as (...a: unknown[]) => unknown)(...args);
    }) as Queryable['query'],
  };
  return c;
}

/** Notifications and reconnects take milliseconds: poll often, give up soon. */
const SOON = { timeoutMs: 5_000, everyMs: 10 };

const price = (item: IndexedItem | undefined) => item?.product.price;

beforeAll(async () => {
  h = await createFeedHarness();
  await createStore(h.db.pool, {
    categories: [
      { id: '1', parent_id: null, name: 'Kitchen' },
      { id: '2', parent_id: '1', name: 'Knives' },
    ],
    warehouses: [{ id: 'north', name: 'North' }],
    products: [
      product('1', { price: '10', category_ids: '{2}' }),
      ...Array.from({ length: 30 }, (_, i) =>
        product(String(i + 2), { category_ids: '{2}', available: i % 4 === 0 ? 'false' : 'true' }),
      ),
    ],
    stocks: [{ product_id: '1', warehouse_id: 'north', available: 'true' }],
  });
  await runSyncJob(h.deps);
  watch = watchIndex(clientLike(h.db.pool), silentLogger, { retryMs: 20, maxRetryMs: 50, heartbeatMs: 200 });
  await watch.ready();
});
afterAll(async () => {
  await watch.close();
  await h.close();
});

describe('the cached index reads', () => {
  it('answers hot reads without a query, and the next read after a sync commits sees the change', async () => {
    const db = counting(h.db.pool);
    const index = cachedIndex(db, watch);
    expect(price((await index.findKnownProducts(['1', '999'])).get('1'))).toBe(10);
    expect((await index.findCategoryTrees(['1'], [])).withDescendants.sort()).toEqual(['1', '2']);
    expect(await index.isKnownStock('north')).toBe(true);
    const queries = db.count;
    const again = await index.findKnownProducts(['1', '999']);
    expect([...again.keys()]).toEqual(['1']); // the unknown id is remembered as unknown
    await index.findCategoryTrees(['1'], []);
    await index.isKnownStock('north');
    expect(db.count).toBe(queries);

    const g = watch.generation();
    await h.db.pool.query(`update store.products set price = 12 where id = '1'`);
    await runSyncJob(h.deps);
    await until(() => watch.generation() > g, {
      what: 'the change notification',
      timeoutMs: 5_000,
      everyMs: 10,
    });
    expect(price((await index.findKnownProducts(['1'])).get('1'))).toBe(12);
    expect(db.count).toBeGreaterThan(queries);
  });

  it('is told of any committed write to the index tables, and of none rolled back', async () => {
    const g = watch.generation();
    const c = await h.db.pool.connect();
    try {
      await c.query('begin');
      await c.query(`update rr_sync.catalog_items_base set available = available where product_id = '2'`);
      await c.query('rollback');
      await new Promise((r) => setTimeout(r, 200));
      expect(watch.generation()).toBe(g);
      await c.query(`update rr_sync.category_paths set path = path where id = '1'`);
      await until(() => watch.generation() > g, {
        what: 'a notification for category_paths',
        timeoutMs: 5_000,
        everyMs: 10,
      });
    } finally {
      c.release();
    }
  });

  it('a change of products alone keeps the category lookups; a change of the category tree drops them', async () => {
    const db = counting(h.db.pool);
    const index = cachedIndex(db, watch);
    const tree = async () => (await index.findCategoryTrees(['1'], [])).withDescendants.sort();
    expect(await tree()).toEqual(['1', '2']);
    await index.findKnownProducts(['1']);
    expect(db.count).toBe(2);

    const g = watch.generation();
    const cg = watch.categoryGeneration();
    await h.db.pool.query(
      `update rr_sync.catalog_items_base set available = available where product_id = '2'`,
    );
    await until(() => watch.generation() > g, { what: 'the products notification', ...SOON });
    expect(watch.categoryGeneration()).toBe(cg);
    expect(await tree()).toEqual(['1', '2']);
    expect(db.count).toBe(2); // the tree came from memory
    await index.findKnownProducts(['1']);
    expect(db.count).toBe(3); // the products did not

    await h.db.pool.query(`update rr_sync.category_paths set path = path where id = '1'`);
    await until(() => watch.categoryGeneration() > cg, { what: 'the categories notification', ...SOON });
    expect(await tree()).toEqual(['1', '2']);
    expect(db.count).toBe(4);
  });

  it('the product reads of requests handled together go out as one query (a cold cache after a sync)', async () => {
    const db = counting(h.db.pool);
    const index = cachedIndex(db, watch);
    const [a, b, c] = await Promise.all([
      index.findKnownProducts(['1', '2']),
      index.findKnownProducts(['3', '999']),
      index.findKnownProducts(['2', '4']),
    ]);
    expect(db.count).toBe(1);
    expect([[...a.keys()].sort(), [...b.keys()], [...c.keys()].sort()]).toEqual([
      ['1', '2'],
      ['3'],
      ['2', '4'],
    ]);
    expect(a.get('1')?.productId).toBe('1');
    // A read in a later turn is a query of its own; cached ids make none.
    await index.findKnownProducts(['5', '1']);
    expect(db.count).toBe(2);
  });

  it('does not keep a read that raced a change: it started under the old generation', async () => {
    let generation = 1;
    const fake = { live: () => true, generation: () => generation };
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: Queryable = {
      query: (async (...args: unknown[]) => {
        await gate;
        return (h.db.pool.query as (...a: unknown[]) => unknown)(...args);
      }) as Queryable['query'],
    };
    const db = counting(slow);
    const index = cachedIndex(db, fake);
    const read = index.findKnownProducts(['1']);
    generation = 2; // a sync committed while the read was under way
    release();
    await read;
    await index.findKnownProducts(['1']);
    expect(db.count).toBe(2);
    await index.findKnownProducts(['1']);
    expect(db.count).toBe(2); // the read under generation 2 was kept
  });

  it('makes one query for a burst of requests for the same cold ids; a failed read is not kept', async () => {
    let failNext = false;
    const flaky: Queryable = {
      query: ((...args: unknown[]) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('connection lost'));
        }
        return (h.db.pool.query as (...a: unknown[]) => unknown)(...args);
      }) as Queryable['query'],
    };
    const db = counting(flaky);
    const index = cachedIndex(db, watch);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => index.findKnownProducts(i % 2 ? ['1', '2'] : ['2', '1'])),
    );
    expect(db.count).toBe(1);
    for (const a of answers) expect([...a.keys()].sort()).toEqual(['1', '2']);
    await Promise.all(Array.from({ length: 10 }, () => index.findCategoryTrees(['2'], [])));
    expect(db.count).toBe(2);

    failNext = true;
    const burst = await Promise.allSettled(Array.from({ length: 5 }, () => index.findKnownProducts(['3'])));
    expect(burst.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
    expect([...(await index.findKnownProducts(['3'])).keys()]).toEqual(['3']);
    expect(db.count).toBe(4);
  });

  it('goes to PostgreSQL while its notification connection is lost, and caches again once it is back', async () => {
    let refuse = false;
    const make = clientLike(h.db.pool);
    // While `refuse`, reconnecting fails (nothing listens on port 1): the watch stays down.
    const w = watchIndex(
      () => (refuse ? new pg.Client({ host: '127.0.0.1', port: 1 }) : make()),
      silentLogger,
      {
        retryMs: 20,
        maxRetryMs: 40,
      },
    );
    const db = counting(h.db.pool);
    const index = cachedIndex(db, w);
    const admin = new pg.Client({ connectionString: h.db.url });
    await admin.connect();
    try {
      await w.ready();
      await index.findKnownProducts(['1']);
      const before = w.generation();
      refuse = true;
      await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity
          where application_name = $1 and datname = current_database()`,
        [APP_NAMES.indexWatch],
      );
      await until(() => !w.live(), { ...SOON, what: 'the watch to notice' });
      // A change made while nobody listens: it must be seen (nothing cached is trusted).
      await h.db.pool.query(`update store.products set price = 13 where id = '1'`);
      await runSyncJob(h.deps);
      const n = db.count;
      expect(price((await index.findKnownProducts(['1'])).get('1'))).toBe(13);
      expect(price((await index.findKnownProducts(['1'])).get('1'))).toBe(13);
      expect(db.count).toBe(n + 2);
      expect(index.stats().bypassed).toBe(2);
      refuse = false;
      await until(() => w.live(), { ...SOON, what: 'the watch to reconnect' });
      expect(w.generation()).toBeGreaterThan(before);
      await index.findKnownProducts(['1']);
      const m = db.count;
      expect(price((await index.findKnownProducts(['1'])).get('1'))).toBe(13);
      expect(db.count).toBe(m);
    } finally {
      await admin.end();
      await w.close();
    }
  });

  it('takes a connection that stops answering (no FIN, no error) for lost', async () => {
    class Silent extends pg.Client {
      silent = false;
      override query(...args: unknown[]): never {
        if (this.silent && args[0] === 'select 1') return new Promise(() => undefined) as never;
        return (super.query as (...a: unknown[]) => never)(...args);
      }
    }
    const clients: Silent[] = [];
    const make = clientLike(h.db.pool);
    const w = watchIndex(
      () => {
        const c = Object.setPrototypeOf(make(), Silent.prototype) as Silent;
        clients.push(c);
        return c;
      },
      silentLogger,
      { retryMs: 20, heartbeatMs: 50 },
    );
    try {
      await w.ready();
      clients[0]!.silent = true;
      await until(() => !w.live(), { ...SOON, what: 'the heartbeat to fail' });
      await until(() => w.live(), { ...SOON, what: 'a new connection' });
      expect(clients.length).toBeGreaterThanOrEqual(2);
    } finally {
      await w.close();
    }
    expect(w.live()).toBe(false);
  });

  it('fallback candidates: the same rule as the query, whatever is excluded and asked for', async () => {
    const direct = directIndex(h.db.pool);
    const index = cachedIndex(h.db.pool, watch, { candidates: 8 });
    const all = await direct.findAvailableProducts({ categoryIds: ['2'], limit: 100 });
    const ids = all.map((i) => i.productId);
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(ids),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(undefined, 'north'),
        async (exclude, limit, stockId) => {
          const q = { categoryIds: ['2'], limit, exclude, stockId };
          const want = await direct.findAvailableProducts(q);
          const got = await index.findAvailableProducts(q);
          expect(got.length).toBe(want.length);
          for (const item of got) {
            expect(exclude).not.toContain(item.productId);
            expect(isAvailableIn(item, stockId)).toBe(true);
            expect(item.categoryIds).toContain('2');
          }
          expect(new Set(got.map((i) => i.productId)).size).toBe(got.length);
        },
      ),
      { numRuns: 60 },
    );
  });
});
