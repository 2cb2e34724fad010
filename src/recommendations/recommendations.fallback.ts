import { findAvailableProducts, findKnownProducts } from '../catalog-index/catalog-index.repository.ts';
import type { Queryable } from '../db/pool.ts';
import type { Selection } from './recommendations.enrich.ts';

/**
 * Most popular product ids first (e.g. from the event spool's popularity table), leaving out
 * `exclude`. May return ids the index does not know or that are unavailable: they are filtered.
 */
export type PopularProducts = (limit: number, exclude: readonly string[]) => Promise<string[]>;

export interface FallbackContext {
  /** Categories whose products fit the request (inputs' categories, or the requested ones with subcategories). */
  categoryIds: readonly string[];
  stockId?: string;
  /** Input products (never offered). */
  exclude: readonly string[];
}

/**
 * Asks for more than the selection lacks: some candidates are variants of a group already taken
 * (one per group is kept) or, from `popular`, unknown or unavailable.
 */
const overfetch = (missing: number) => missing * 3 + 10;

/**
 * Fills `selection` from our own catalog, best source first, stopping when it is full:
 * 1. available products of the request's categories;
 * 2. the most popular products (`popular`, when the service was given one);
 * 3. any available products.
 * Each step is one index query (popular: its own call plus one); the caller bounds the whole by
 * its deadline and keeps whatever was selected when time runs out.
 */
export async function fillFromCatalog(
  db: Queryable,
  selection: Selection,
  ctx: FallbackContext,
  popular?: PopularProducts,
): Promise<void> {
  const exclude = () => [...ctx.exclude, ...selection.takenIds()];
  const missing = () => Math.max(1, selection.room);
  if (ctx.categoryIds.length > 0) {
    selection.add(
      await findAvailableProducts(db, {
        categoryIds: ctx.categoryIds,
        stockId: ctx.stockId,
        limit: overfetch(missing()),
        exclude: exclude(),
      }),
    );
    if (selection.full) return;
  }
  if (popular) {
    const ids = await popular(overfetch(missing()), exclude());
    const known = await findKnownProducts(db, ids);
    selection.add(ids.map((id) => known.get(id)));
    if (selection.full) return;
  }
  selection.add(
    await findAvailableProducts(db, {
      stockId: ctx.stockId,
      limit: overfetch(missing()),
      exclude: exclude(),
    }),
  );
}
