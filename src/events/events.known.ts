import {
  findGroupMembers,
  findKnownCategories,
  findKnownCategoryPaths,
  findKnownProducts,
  findKnownStocks,
} from '../catalog-index/catalog-index.repository.ts';
import type { Queryable } from '../db/pool.ts';
import { findNewPending } from '../sync/outbox.repository.ts';
import { itemKey } from '../sync/sync.contracts.ts';
import { idsOf, mergeIds, type KnownIds } from './events.verdict.ts';

/** What the published-catalog index knows of every id these events name: one query per kind. */
export async function lookupKnown(
  db: Queryable,
  bodies: readonly Record<string, unknown>[],
): Promise<KnownIds> {
  const ids = mergeIds(bodies.map(idsOf));
  const [products, groups, categories, categoryPaths, stocks, unpushed] = await Promise.all([
    findKnownProducts(db, ids.products),
    findGroupMembers(db, ids.groups),
    findKnownCategories(db, ids.categories),
    findKnownCategoryPaths(db, ids.categoryPaths),
    findKnownStocks(db, ids.stocks),
    findNewPending(db, recordKeys(bodies)),
  ]);
  return { products, groups, categories, categoryPaths, stocks, unpushed };
}

/** The Product API records these events rely on: each product, its stock's record, each group. */
function recordKeys(bodies: readonly Record<string, unknown>[]): string[] {
  const keys = new Set<string>();
  for (const body of bodies) {
    const ids = idsOf(body);
    const stockId = body.stockId === undefined || body.stockId === null ? undefined : String(body.stockId);
    for (const p of ids.products) {
      keys.add(itemKey.product(p));
      if (stockId !== undefined) keys.add(itemKey.stock(p, stockId));
    }
    for (const g of ids.groups) keys.add(itemKey.group(g));
  }
  return [...keys];
}
