import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  displayOf,
  findAvailableProducts,
  findCategoryTrees,
  findGroupMembers,
  findKnownCategories,
  findKnownCategoryPaths,
  findKnownProducts,
  findKnownStocks,
  findKnownProductStocks,
  isAvailableIn,
  isKnownStock,
} from '../../src/catalog-index/catalog-index.repository.ts';
import { runSyncJob } from '../../src/sync/sync.job.ts';
import { createFeedHarness, type FeedHarness } from '../feed/feed.harness.ts';
import { createStore, product } from '../feed/store.fixture.ts';

let h: FeedHarness;

beforeAll(async () => {
  h = await createFeedHarness();
  await createStore(h.db.pool, {
    categories: [
      { id: '1', parent_id: null, name: 'Kitchen' },
      { id: '2', parent_id: '1', name: 'Knives' },
      { id: '3', parent_id: '1', name: 'Pans' }, // no product lists it
      { id: '4', parent_id: '1', name: 'Spoons' }, // its only product leaves
    ],
    warehouses: [
      { id: 'north', name: 'North' },
      { id: 'south', name: 'South' },
    ],
    products: [
      product('1', { price: '10' }),
      product('2', { group_id: '30' }),
      product('3', { group_id: '30', available: 'false' }),
      product('4', { category_ids: '{4}' }),
      product('5', { url: 'not a url' }), // invalid: never published
      // Enough others that one product leaving stays under the publish gate (FEED_MAX_DROP 0.2).
      ...['6', '7', '8', '9', '10', '11'].map((id) => product(id)),
    ],
    stocks: [
      { product_id: '1', warehouse_id: 'north', available: 'true' },
      { product_id: '1', warehouse_id: 'south', available: 'false', price: '9.5', name: 'South knife' },
    ],
  });
  await runSyncJob(h.deps);
  // Product 4 leaves the store: the next sync tells Retail Rocket it is unavailable and marks it gone.
  await h.db.pool.query(`delete from store.products where id = '4'`);
  await runSyncJob(h.deps);
});
afterAll(async () => {
  await h.close();
});

describe('the published-catalog index', () => {
  it('knows the published products only: not invalid ones, not ones that left the catalog', async () => {
    const known = await findKnownProducts(h.db.pool, ['1', '2', '3', '4', '5', '99']);
    expect([...known.keys()].sort()).toEqual(['1', '2', '3']);
    expect(known.get('2')).toMatchObject({ groupId: '30', available: true, categoryIds: ['2'] });
    expect(known.get('3')?.available).toBe(false);
  });

  it('lists the known members of a group and the known categories with their paths', async () => {
    expect(await findGroupMembers(h.db.pool, ['30', '31'])).toEqual(new Map([['30', ['2', '3']]]));
    expect(await findKnownCategories(h.db.pool, ['1', '2', '7'])).toEqual(
      new Map([
        ['1', 'Kitchen'],
        ['2', 'Kitchen/Knives'],
      ]),
    );
  });

  it('answers per stock: which stocks were given, availability there, and the stock display data', async () => {
    const one = (await findKnownProducts(h.db.pool, ['1'])).get('1')!;
    // What the event sender reads: the stock ids alone, known and not gone products only.
    const stocks = await findKnownProductStocks(h.db.pool, ['1', '1', '3', '4', '99']);
    expect([...stocks.keys()].sort()).toEqual(['1', '3']);
    expect(stocks.get('1')).toEqual(one.stockIds);
    expect([...one.stockIds].sort()).toEqual(Object.keys(one.stocks).sort());
    expect(isAvailableIn(one, 'north')).toBe(true);
    expect(isAvailableIn(one, 'south')).toBe(false);
    expect(isAvailableIn(one, 'east')).toBe(false);
    expect(isAvailableIn(one)).toBe(true);
    expect(displayOf(one, 'south')).toMatchObject({ id: 1, name: 'South knife', price: 9.5 });
    expect(displayOf(one)).toMatchObject({ id: 1, price: 10 });
  });

  it('knows the category paths and the stocks products were given with (for events without a product)', async () => {
    expect(
      await findKnownCategoryPaths(h.db.pool, ['Kitchen/Knives', 'Kitchen', 'Kitchen/Garden', 'Kitch']),
    ).toEqual(new Set(['Kitchen/Knives', 'Kitchen']));
    // Valid categories, but Retail Rocket learns paths from products: no published product has them.
    expect(await findKnownCategoryPaths(h.db.pool, ['Kitchen/Pans', 'Kitchen/Spoons'])).toEqual(new Set());
    expect(await findKnownStocks(h.db.pool, ['north', 'south', 'east'])).toEqual(new Set(['north', 'south']));
  });
});

describe('queries for recommendations', () => {
  it('knows the stocks of the published catalog', async () => {
    expect(await isKnownStock(h.db.pool, 'north')).toBe(true);
    expect(await isKnownStock(h.db.pool, 'south')).toBe(true);
    expect(await isKnownStock(h.db.pool, 'east')).toBe(false);
  });

  it('finds categories by id or path, with their subcategories', async () => {
    expect(await findCategoryTrees(h.db.pool, ['1', '9'], [])).toEqual({
      knownIds: ['1'],
      knownPaths: [],
      withDescendants: expect.arrayContaining(['1', '2']),
    });
    expect(await findCategoryTrees(h.db.pool, [], ['Kitchen/Knives', 'Kitch', 'Garden'])).toEqual({
      knownIds: [],
      knownPaths: ['Kitchen/Knives'],
      withDescendants: ['2'],
    });
  });

  it('lists available products, by category and stock, leaving out the excluded and gone ones', async () => {
    const ids = async (q: Parameters<typeof findAvailableProducts>[1]) =>
      (await findAvailableProducts(h.db.pool, q)).map((i) => i.productId).sort();
    // 3 is unavailable, 4 is gone, 5 was never published.
    expect(await ids({ limit: 100 })).toEqual(['1', '10', '11', '2', '6', '7', '8', '9']);
    expect(await ids({ limit: 100, categoryIds: ['2'], exclude: ['1', '6'] })).toEqual([
      '10',
      '11',
      '2',
      '7',
      '8',
      '9',
    ]);
    expect(await ids({ limit: 100, categoryIds: ['1'] })).toEqual([]);
    expect(await ids({ limit: 100, categoryIds: [] })).toEqual([]);
    expect(await ids({ limit: 100, stockId: 'north' })).toEqual(['1']);
    expect(await ids({ limit: 100, stockId: 'south' })).toEqual([]);
    expect(await ids({ limit: 2 })).toHaveLength(2);
  });
});
