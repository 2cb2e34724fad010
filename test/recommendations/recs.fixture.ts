import { expect } from 'vitest';
import { findKnownProducts, isAvailableIn } from '../../src/catalog-index/catalog-index.repository.ts';
import type { Queryable } from '../../src/db/pool.ts';
import type { RecommendationAnswer } from '../../src/recommendations/index.ts';
import { feedXml, offer } from '../emulator/emulator.helpers.ts';
import { product } from '../feed/store.fixture.ts';

/**
 * The store (what the published-catalog index knows): Kitchen 10 > Knives 11, Pans 12; Garden 20.
 * 1 and 2 are variants of group 100; 7 is unavailable except in "north" (own price and name
 * there); 5 is unavailable in "north"; 10 and 11 have no stock records.
 */
export const STORE = {
  categories: [
    { id: '10', parent_id: null, name: 'Kitchen' },
    { id: '11', parent_id: '10', name: 'Knives' },
    { id: '12', parent_id: '10', name: 'Pans' },
    { id: '20', parent_id: null, name: 'Garden' },
  ],
  warehouses: [
    { id: 'north', name: 'North' },
    { id: 'south', name: 'South' },
  ],
  products: [
    product('1', { group_id: '100', category_ids: '{11}' }),
    product('2', { group_id: '100', category_ids: '{11}' }),
    product('3', { category_ids: '{11}' }),
    product('4', { category_ids: '{12}', price: '10', old_price: '20' }),
    product('5', { category_ids: '{12}' }),
    product('6', { category_ids: '{20}', vendor: 'Acme' }),
    product('7', { category_ids: '{11}', available: 'false' }),
    product('8', { category_ids: '{11}' }),
    product('9', { category_ids: '{12}' }),
    product('10', { category_ids: '{20}' }),
    product('11', { category_ids: '{20}' }),
  ],
  stocks: [
    ...['1', '2', '3', '4', '6', '8', '9'].map((id) => ({
      product_id: id,
      warehouse_id: 'north',
      available: 'true',
    })),
    { product_id: '5', warehouse_id: 'north', available: 'false' },
    { product_id: '5', warehouse_id: 'south', available: 'true', price: '7' },
    { product_id: '7', warehouse_id: 'north', available: 'true', price: '9', name: 'North knife 7' },
  ],
};

/**
 * What Retail Rocket knows is stale: 900 and 901 were never published by us, 1 and 2 are not
 * grouped there, 5 has no "north" record (so it counts as available there).
 */
export const RR_CATALOG = feedXml(
  offer('1', { stocks: '<stock id="north"><available>true</available></stock>' }) +
    ['2', '3', '8', '900', '901'].map((id) => offer(id)).join('') +
    offer('4', { cat: '12', price: 10, oldprice: 20 }) +
    offer('5', { cat: '12' }) +
    offer('9', { cat: '12' }) +
    offer('6', { cat: '20', vendor: 'Acme' }) +
    offer('10', { cat: '20' }) +
    offer('11', { cat: '20' }) +
    offer('7', { available: false }),
);

/** The invariant of every answer: items known to the index, available in the stock, one per group. */
export async function expectSound(
  db: Queryable,
  a: RecommendationAnswer,
  stockId?: string,
  inputs: string[] = [],
) {
  const ids = a.items.map((i) => String(i.id));
  const known = await findKnownProducts(db, ids);
  for (const id of ids) {
    expect(known.has(id), `item ${id} is known`).toBe(true);
    expect(isAvailableIn(known.get(id)!, stockId), `item ${id} available in ${stockId}`).toBe(true);
    expect(inputs).not.toContain(id);
  }
  expect(new Set(ids).size).toBe(ids.length);
  const groups = a.items.flatMap((i) => (i.groupId === undefined ? [] : [i.groupId]));
  expect(new Set(groups).size).toBe(groups.length);
}
