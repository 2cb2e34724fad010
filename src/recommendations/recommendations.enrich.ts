import { displayOf, isAvailableIn, type IndexedItem } from '../catalog-index/catalog-index.repository.ts';
import type { RecommendedItem } from './recommendations.types.ts';

/**
 * The filter every recommended item passes, whether Retail Rocket or the fallback proposed it
 * (pure: the caller brings the index rows). Kept: items the published catalog knows, available in
 * the requested stock, not an input product nor a variant of one, the first variant of each group.
 */

export interface SelectionOptions {
  stockId?: string;
  limit: number;
  /** Input products: never recommended. */
  excludeIds: Iterable<string>;
  /** Groups of the input products: their other variants are the same thing in another colour. */
  excludeGroups: Iterable<string>;
}

export interface Selection {
  /**
   * Considers candidates in order (undefined = unknown to the index) until the selection is
   * full; returns how many were taken.
   */
  add(candidates: Iterable<IndexedItem | undefined>): number;
  readonly full: boolean;
  /** How many more items fit. */
  readonly room: number;
  /** Product ids taken so far, for the next source's exclude list. */
  takenIds(): string[];
  items(): RecommendedItem[];
}

export function createSelection(opts: SelectionOptions): Selection {
  const seenIds = new Set(opts.excludeIds);
  const seenGroups = new Set(opts.excludeGroups);
  const taken: IndexedItem[] = [];
  return {
    add(candidates) {
      let n = 0;
      for (const item of candidates) {
        if (taken.length >= opts.limit) break;
        if (item === undefined || seenIds.has(item.productId)) continue;
        if (item.groupId !== null && seenGroups.has(item.groupId)) continue;
        if (!isAvailableIn(item, opts.stockId)) continue;
        seenIds.add(item.productId);
        if (item.groupId !== null) seenGroups.add(item.groupId);
        taken.push(item);
        n += 1;
      }
      return n;
    },
    get full() {
      return taken.length >= opts.limit;
    },
    get room() {
      return Math.max(0, opts.limit - taken.length);
    },
    takenIds: () => taken.map((i) => i.productId),
    items: () => taken.map((i) => toItem(i, opts.stockId)),
  };
}

/** Display data of the stock where it has its own (price, name, url, picture), else the product's. */
export function toItem(item: IndexedItem, stockId?: string): RecommendedItem {
  const d = displayOf(item, stockId);
  return {
    id: d.id,
    name: d.name,
    url: d.url,
    pictureUrl: d.pictureUrl,
    price: d.price,
    ...(d.oldPrice !== undefined && d.oldPrice > d.price ? { oldPrice: d.oldPrice } : {}),
    ...(item.groupId !== null ? { groupId: Number(item.groupId) } : {}),
  };
}
