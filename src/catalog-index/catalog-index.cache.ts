import { LRUCache } from 'lru-cache';
import type { Queryable } from '../db/pool.ts';
import {
  findAvailableProducts,
  findCategoryTrees,
  findKnownProducts,
  isKnownStock,
  type AvailableQuery,
  type CategoryMatch,
  type IndexedItem,
} from './catalog-index.repository.ts';
import type { IndexWatch } from './catalog-index.watch.ts';

/**
 * The reads of the published-catalog index a storefront request makes (recommendations: the
 * input ids, the category tree, the stock, Retail Rocket's items, the fallback's candidates).
 */
export interface CatalogIndexReader {
  findKnownProducts(ids: readonly string[]): Promise<Map<string, IndexedItem>>;
  findCategoryTrees(ids: readonly string[], paths: readonly string[]): Promise<CategoryMatch>;
  isKnownStock(stockId: string): Promise<boolean>;
  /** As the repository's; with `exclude` applied, at most `limit` items. */
  findAvailableProducts(q: AvailableQuery): Promise<IndexedItem[]>;
}

/** Every read goes to PostgreSQL. */
export function directIndex(db: Queryable): CatalogIndexReader {
  return {
    findKnownProducts: (ids) => findKnownProducts(db, ids),
    findCategoryTrees: (ids, paths) => findCategoryTrees(db, ids, paths),
    isKnownStock: (stockId) => isKnownStock(db, stockId),
    findAvailableProducts: (q) => findAvailableProducts(db, q),
  };
}

export interface IndexCacheOptions {
  /** Products kept (known ones with their display data, and unknown ids) (default 20,000). */
  maxItems?: number;
  /** Category lookups, stocks and candidate lists kept (default 5,000). */
  maxEntries?: number;
  /** Fallback candidates read per (categories, stock) and kept, before exclusions (default 64). */
  candidates?: number;
}

export interface IndexCacheStats {
  hits: number;
  misses: number;
  /** Reads that went to PostgreSQL because the watch was not live. */
  bypassed: number;
  generation: number;
}

const UNKNOWN = Symbol('unknown');
type ItemSlot = IndexedItem | typeof UNKNOWN;

/**
 * The index reads of a storefront kept in memory, so that a steady stream of requests for the hot
 * products and categories costs no query at all (measured: the recommendation path made 2-4 index
 * queries per answer, which at 500 rps on two cores is what pushed answers past the deadline).
 *
 * Correctness rests on the watch (catalog-index.watch.ts): everything is dropped when the index
 * changes (a sync committed) and nothing is cached, nor read from the cache, while notifications
 * may be missed (its connection is down). A read that raced a change is not stored: it carries the
 * generation it started in. Bounded: LRU on products and on lookups.
 */
export function cachedIndex(
  db: Queryable,
  watch: Pick<IndexWatch, 'generation' | 'live'>,
  options: IndexCacheOptions = {},
): CatalogIndexReader & { stats(): IndexCacheStats } {
  const direct = directIndex(db);
  const candidatesPerKey = options.candidates ?? 64;
  const items = new LRUCache<string, ItemSlot>({ max: options.maxItems ?? 20_000 });
  const trees = new LRUCache<string, CategoryMatch>({ max: options.maxEntries ?? 5_000 });
  const stocks = new LRUCache<string, boolean>({ max: options.maxEntries ?? 5_000 });
  // Product ids only: the items themselves live (and are bounded) in `items`.
  const candidates = new LRUCache<string, { ids: string[]; complete: boolean }>({
    max: options.maxEntries ?? 5_000,
  });
  const stats = { hits: 0, misses: 0, bypassed: 0 };
  let cachedGeneration = -1;

  /** The generation the cache holds, or null when it may not be used now. */
  function current(): number | null {
    if (!watch.live()) {
      stats.bypassed += 1;
      return null;
    }
    const g = watch.generation();
    if (g !== cachedGeneration) {
      items.clear();
      trees.clear();
      stocks.clear();
      candidates.clear();
      cachedGeneration = g;
    }
    return g;
  }
  /** Still the generation a read started in: its result may be stored. */
  const unchanged = (g: number) => watch.live() && watch.generation() === g;

  async function knownProducts(ids: readonly string[]): Promise<Map<string, IndexedItem>> {
    const g = current();
    if (g === null) return direct.findKnownProducts(ids);
    const out = new Map<string, IndexedItem>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const slot = items.get(id);
      if (slot === undefined) missing.push(id);
      else if (slot !== UNKNOWN) out.set(id, slot);
    }
    stats.hits += ids.length - missing.length;
    stats.misses += missing.length;
    if (missing.length === 0) return out;
    const found = await direct.findKnownProducts(missing);
    const store = unchanged(g);
    for (const id of missing) {
      const item = found.get(id);
      if (item) out.set(id, item);
      if (store) items.set(id, item ?? UNKNOWN);
    }
    return out;
  }

  return {
    findKnownProducts: knownProducts,

    async findCategoryTrees(ids, paths) {
      const g = current();
      if (g === null) return direct.findCategoryTrees(ids, paths);
      const key = JSON.stringify([ids, paths]);
      const hit = trees.get(key);
      if (hit) {
        stats.hits += 1;
        return hit;
      }
      stats.misses += 1;
      const match = await direct.findCategoryTrees(ids, paths);
      if (unchanged(g)) trees.set(key, match);
      return match;
    },

    async isKnownStock(stockId) {
      const g = current();
      if (g === null) return direct.isKnownStock(stockId);
      const hit = stocks.get(stockId);
      if (hit !== undefined) {
        stats.hits += 1;
        return hit;
      }
      stats.misses += 1;
      const known = await direct.isKnownStock(stockId);
      if (unchanged(g)) stocks.set(stockId, known);
      return known;
    },

    async findAvailableProducts(q) {
      const g = current();
      const exclude = new Set(q.exclude ?? []);
      // More than a candidate list holds: not worth keeping.
      if (g === null || q.limit + exclude.size > candidatesPerKey) return direct.findAvailableProducts(q);
      const key = JSON.stringify([q.categoryIds ?? null, q.stockId ?? null]);
      const list = candidates.get(key);
      if (list) {
        // Its items may have been evicted from `items`: then the list is read again.
        const resolved = list.ids.map((id) => items.get(id));
        if (resolved.every((s) => s !== undefined && s !== UNKNOWN)) {
          const picked = pick(resolved as IndexedItem[], exclude, q.limit);
          if (picked.length >= q.limit || list.complete) {
            stats.hits += 1;
            return picked;
          }
          // The exclusions left too few of a list that is not all there is.
          stats.misses += 1;
          return direct.findAvailableProducts(q);
        }
      }
      stats.misses += 1;
      const read = await direct.findAvailableProducts({ ...q, exclude: [], limit: candidatesPerKey });
      const complete = read.length < candidatesPerKey;
      if (unchanged(g)) {
        for (const item of read) items.set(item.productId, item);
        candidates.set(key, { ids: read.map((i) => i.productId), complete });
      }
      const picked = pick(read, exclude, q.limit);
      if (picked.length < q.limit && !complete) return direct.findAvailableProducts(q);
      return picked;
    },

    stats: () => ({ ...stats, generation: cachedGeneration }),
  };
}

function pick(items: readonly IndexedItem[], exclude: ReadonlySet<string>, limit: number): IndexedItem[] {
  const out: IndexedItem[] = [];
  for (const i of items) {
    if (out.length >= limit) break;
    if (!exclude.has(i.productId)) out.push(i);
  }
  return out;
}
