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
  /** Misses that joined a read of the same key already under way. */
  shared: number;
  /** Reads that went to PostgreSQL because the watch was not live. */
  bypassed: number;
  generation: number;
}

const UNKNOWN = Symbol('unknown');
/** Product ids per batched read at most. */
const MAX_BATCH = 1000;
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
  watch: Pick<IndexWatch, 'generation' | 'live'> & Partial<Pick<IndexWatch, 'categoryGeneration'>>,
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
  const stats = { hits: 0, misses: 0, bypassed: 0, shared: 0 };
  let cachedGeneration = -1;
  let cachedCategoryGeneration = -1;
  const categoryGeneration = () => watch.categoryGeneration?.() ?? watch.generation();
  // Reads under way, by key: a burst of requests for the same cold product or category (a cold
  // start at hundreds of requests/s) makes one query, not one each. Dropped with the generation;
  // the category lookups' with the category generation.
  const inflight = new Map<string, Promise<unknown>>();
  const treeReads = new Map<string, Promise<unknown>>();

  /** One read per key at a time; its result is stored only if `valid` still holds (no change came in between). */
  function once<T>(
    key: string,
    valid: () => boolean,
    read: () => Promise<T>,
    store: (v: T) => void,
    reads = inflight,
  ): Promise<T> {
    const running = reads.get(key) as Promise<T> | undefined;
    if (running) {
      stats.shared += 1;
      return running;
    }
    const p = read().then((v) => {
      if (valid()) store(v);
      return v;
    });
    reads.set(key, p);
    const forget = () => {
      if (reads.get(key) === p) reads.delete(key);
    };
    p.then(forget, forget);
    return p;
  }

  /** The generation the cache holds, or null when it may not be used now. */
  function current(): number | null {
    if (!watch.live()) {
      stats.bypassed += 1;
      return null;
    }
    const g = watch.generation();
    if (g !== cachedGeneration) {
      items.clear();
      stocks.clear();
      candidates.clear();
      inflight.clear();
      cachedGeneration = g;
    }
    return g;
  }
  /**
   * The category generation the trees hold, or null. Category lookups read rr_sync.category_paths
   * only: a sync that changed products but no category keeps them.
   */
  function currentCategories(): number | null {
    if (current() === null) return null;
    const cg = categoryGeneration();
    if (cg !== cachedCategoryGeneration) {
      trees.clear();
      treeReads.clear();
      cachedCategoryGeneration = cg;
    }
    return cg;
  }
  /** Still the generation a read started in: its result may be stored. */
  const unchanged = (g: number) => () => watch.live() && watch.generation() === g;
  const categoriesUnchanged = (cg: number) => () => watch.live() && categoryGeneration() === cg;

  /**
   * Product reads of the requests handled in one turn of the event loop go out as one query. Right
   * after a sync emptied the cache, each request's handful of ids was a query of its own: hundreds
   * in the first second at 500 requests/s, each planned through the catalog_items view.
   */
  let batch: { ids: Set<string>; read: Promise<Map<string, IndexedItem>> } | null = null;
  function batchedRead(ids: readonly string[]): Promise<Map<string, IndexedItem>> {
    if (!batch || batch.ids.size + ids.length > MAX_BATCH) {
      const pending = new Set<string>();
      const next = {
        ids: pending,
        read: new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
          if (batch === next) batch = null;
          return direct.findKnownProducts([...pending]);
        }),
      };
      batch = next;
    }
    for (const id of ids) batch.ids.add(id);
    return batch.read;
  }

  async function knownProducts(ids: readonly string[]): Promise<Map<string, IndexedItem>> {
    const g = current();
    if (g === null) return direct.findKnownProducts(ids);
    const out = new Map<string, IndexedItem>();
    const missing: string[] = [];
    const waiting: Promise<void>[] = [];
    for (const id of new Set(ids)) {
      const slot = items.get(id);
      if (slot !== undefined) {
        stats.hits += 1;
        if (slot !== UNKNOWN) out.set(id, slot);
        continue;
      }
      const running = inflight.get(`p:${id}`) as Promise<ItemSlot> | undefined;
      if (running) {
        stats.shared += 1;
        waiting.push(running.then((s) => void (s !== UNKNOWN && out.set(id, s))));
      } else missing.push(id);
    }
    stats.misses += missing.length;
    if (missing.length > 0) {
      const read = batchedRead(missing);
      for (const id of missing) {
        const slot = once(
          `p:${id}`,
          unchanged(g),
          () => read.then((found) => found.get(id) ?? UNKNOWN),
          (s) => items.set(id, s),
        );
        // The whole read's failure reaches the caller through `waiting`; no promise is left unhandled.
        slot.catch(() => undefined);
        waiting.push(slot.then((s) => void (s !== UNKNOWN && out.set(id, s))));
      }
    }
    await Promise.all(waiting);
    return out;
  }

  return {
    findKnownProducts: knownProducts,

    async findCategoryTrees(ids, paths) {
      const cg = currentCategories();
      if (cg === null) return direct.findCategoryTrees(ids, paths);
      const key = JSON.stringify([ids, paths]);
      const hit = trees.get(key);
      if (hit) {
        stats.hits += 1;
        return hit;
      }
      stats.misses += 1;
      return once(
        `t:${key}`,
        categoriesUnchanged(cg),
        () => direct.findCategoryTrees(ids, paths),
        (match) => trees.set(key, match),
        treeReads,
      );
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
      return once(
        `s:${stockId}`,
        unchanged(g),
        () => direct.isKnownStock(stockId),
        (known) => stocks.set(stockId, known),
      );
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
      const read = await once(
        `c:${key}`,
        unchanged(g),
        () => direct.findAvailableProducts({ ...q, exclude: [], limit: candidatesPerKey }),
        (found) => {
          for (const item of found) items.set(item.productId, item);
          candidates.set(key, {
            ids: found.map((i) => i.productId),
            complete: found.length < candidatesPerKey,
          });
        },
      );
      const complete = read.length < candidatesPerKey;
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
