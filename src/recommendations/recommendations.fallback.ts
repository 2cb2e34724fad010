import type { CatalogIndexReader } from '../catalog-index/catalog-index.cache.ts';
import type { IndexedItem } from '../catalog-index/catalog-index.repository.ts';
import { createSelection } from './recommendations.enrich.ts';

/**
 * Most popular product ids first (e.g. from the event spool's popularity table), leaving out
 * `exclude`. May return ids the index does not know or that are unavailable: they are filtered.
 */
export type PopularProducts = (limit: number, exclude: readonly string[]) => Promise<string[]>;

export interface FallbackContext {
  /** Categories whose products fit the request (inputs' categories, or the requested ones with subcategories). */
  categoryIds: readonly string[];
  stockId?: string;
  /** Input products and their groups (never offered). */
  excludeIds: readonly string[];
  excludeGroups: readonly string[];
  /** How many items the answer shows. */
  limit: number;
}

/**
 * Candidates from our own catalog, best source first, until they hold `limit` items that pass
 * the filter (one per group, available in the stock, not an input):
 * 1. available products of the request's categories;
 * 2. the most popular products (`popular`, when the service was given one);
 * 3. any available products.
 * So whatever Retail Rocket's items take, they and these fill the answer. Each step is one index
 * query (popular: its own call plus one) that asks for more than it lacks, because variants of
 * one group fold into one item; the caller bounds the whole by its deadline.
 */
export async function fallbackCandidates(
  index: CatalogIndexReader,
  ctx: FallbackContext,
  popular?: PopularProducts,
): Promise<IndexedItem[]> {
  const probe = createSelection({
    stockId: ctx.stockId,
    limit: ctx.limit,
    excludeIds: ctx.excludeIds,
    excludeGroups: ctx.excludeGroups,
  });
  const out: IndexedItem[] = [];
  const take = (items: readonly (IndexedItem | undefined)[]) => {
    for (const i of items) if (i !== undefined) out.push(i);
    probe.add(items);
  };
  const exclude = () => [...ctx.excludeIds, ...probe.takenIds()];
  const want = () => probe.room * 3 + 10;
  if (ctx.categoryIds.length > 0) {
    take(
      await index.findAvailableProducts({
        categoryIds: ctx.categoryIds,
        stockId: ctx.stockId,
        limit: want(),
        exclude: exclude(),
      }),
    );
    if (probe.full) return out;
  }
  if (popular) {
    const ids = await popular(want(), exclude());
    const known = await index.findKnownProducts(ids);
    take(ids.map((id) => known.get(id)));
    if (probe.full) return out;
  }
  take(await index.findAvailableProducts({ stockId: ctx.stockId, limit: want(), exclude: exclude() }));
  return out;
}

export interface PopularCacheOptions {
  /** How long one read of the popularity table serves (default 5 s): it moves with events, slowly. */
  ttlMs?: number;
  /** Ids read each time, before exclusions (default 100). */
  depth?: number;
  clock?: () => number;
}

/**
 * `source` read at most once per ttlMs (one read in flight at a time), the exclusions applied in
 * memory; a request wanting more than `depth` ids asks `source` itself. A failed read is not kept.
 */
export function popularEvery(source: PopularProducts, options: PopularCacheOptions = {}): PopularProducts {
  const ttlMs = options.ttlMs ?? 5_000;
  const depth = options.depth ?? 100;
  const now = options.clock ?? (() => performance.now());
  let kept: { at: number; ids: Promise<string[]> } | undefined;
  return async (limit, exclude) => {
    if (limit + exclude.length > depth) return source(limit, exclude);
    if (!kept || now() - kept.at >= ttlMs) {
      const entry = { at: now(), ids: source(depth, []) };
      kept = entry;
      entry.ids.catch(() => {
        if (kept === entry) kept = undefined;
      });
    }
    const ids = await kept.ids;
    const skip = new Set(exclude);
    const out = ids.filter((id) => !skip.has(id)).slice(0, limit);
    // Fewer left than asked, from a list that was cut at `depth`: there may be more.
    if (out.length < limit && ids.length >= depth) return source(limit, exclude);
    return out;
  };
}
