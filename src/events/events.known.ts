import {
  findGroupMembers,
  findKnownCategories,
  findKnownCategoryPaths,
  findKnownProductStocks,
  findKnownStocks,
} from '../catalog-index/catalog-index.repository.ts';
import type { Queryable } from '../db/pool.ts';
import { findNewPending } from '../sync/outbox.repository.ts';
import { idsOf, mergeIds, recordKeys, type KnownIds } from './events.verdict.ts';

/** What the published-catalog index knows of every id these events name: one query per kind. */
export async function lookupKnown(
  db: Queryable,
  bodies: readonly Record<string, unknown>[],
): Promise<KnownIds> {
  const each = bodies.map(idsOf);
  const ids = mergeIds(each);
  const [products, groups, categories, categoryPaths, stocks, unpushed] = await Promise.all([
    findKnownProductStocks(db, ids.products),
    findGroupMembers(db, ids.groups),
    findKnownCategories(db, ids.categories),
    findKnownCategoryPaths(db, ids.categoryPaths),
    findKnownStocks(db, ids.stocks),
    findNewPending(db, [...new Set(bodies.flatMap((b, i) => recordKeys(b, each[i]!)))]),
  ]);
  return { products, groups, categories, categoryPaths, stocks, unpushed };
}
