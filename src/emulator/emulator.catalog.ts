/** The emulator's product base for one partner: what a feed import or the Product API produced. */

/** Per-warehouse overrides (§2): only the fields that were given are set. */
export interface StockOverride {
  available?: boolean;
  price?: number;
  oldPrice?: number;
  url?: string;
  picture?: string;
  name?: string;
  description?: string;
}

export interface CatalogItem {
  id: string;
  groupId: string | null;
  available: boolean;
  name: string;
  url: string;
  picture: string;
  price: number;
  oldPrice: number | null;
  /** YML integration: category ids; Product API integration: full `/` paths. */
  categoryIds: string[];
  categoryPaths: string[];
  vendor: string | null;
  model: string | null;
  typePrefix: string | null;
  description: string | null;
  params: Record<string, string>;
  stocks: Map<string, StockOverride>;
  /** Insertion order: position in the feed, then Product API inserts; "latest" sorts on it. */
  seq: number;
  source: 'feed' | 'product_api';
}

export interface CatalogCategory {
  id: string;
  parentId: string | null;
  name: string;
}

export interface Catalog {
  items: Map<string, CatalogItem>;
  categories: Map<string, CatalogCategory>;
  /** Every stock id named by a feed `<stock id>` or a Product API `stockId`. */
  stocks: Set<string>;
  /** Ids that left the catalog with a later feed: still resolvable for events, never recommended. */
  removed: Set<string>;
  nextSeq: number;
}

export function emptyCatalog(): Catalog {
  return { items: new Map(), categories: new Map(), stocks: new Set(), removed: new Set(), nextSeq: 1 };
}

/** The item as seen from one warehouse (stock overrides applied), or the base item. */
export interface EffectiveItem {
  id: string;
  groupId: string | null;
  available: boolean;
  price: number;
  oldPrice: number | null;
  name: string;
  url: string;
  picture: string;
  description: string | null;
}

export function effectiveItem(
  item: CatalogItem,
  stockId: string | undefined,
  stockMissingMeans: 'base' | 'unavailable',
): EffectiveItem {
  const base: EffectiveItem = {
    id: item.id,
    groupId: item.groupId,
    available: item.available,
    price: item.price,
    oldPrice: item.oldPrice,
    name: item.name,
    url: item.url,
    picture: item.picture,
    description: item.description,
  };
  if (stockId === undefined) return base;
  const o = item.stocks.get(stockId);
  if (!o) return stockMissingMeans === 'base' ? base : { ...base, available: false };
  return {
    ...base,
    available: o.available ?? base.available,
    price: o.price ?? base.price,
    oldPrice: o.oldPrice ?? base.oldPrice,
    name: o.name ?? base.name,
    url: o.url ?? base.url,
    picture: o.picture ?? base.picture,
    description: o.description ?? base.description,
  };
}

/** A category and every category below it (cycles in a broken tree are cut). */
export function categoryWithDescendants(catalog: Catalog, roots: string[]): Set<string> {
  const children = new Map<string, string[]>();
  for (const c of catalog.categories.values()) {
    if (c.parentId === null) continue;
    const list = children.get(c.parentId) ?? [];
    list.push(c.id);
    children.set(c.parentId, list);
  }
  const out = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (out.has(id)) continue;
    out.add(id);
    for (const child of children.get(id) ?? []) stack.push(child);
  }
  return out;
}

/** Path `a/b` matches items in `a/b` and below it (`a/b/c`), never `a/bc`. */
export function pathMatches(itemPath: string, wanted: string): boolean {
  return itemPath === wanted || itemPath.startsWith(`${wanted}/`);
}

/** Every category path known to the catalog, with all its prefixes (`a`, `a/b`, `a/b/c`). */
export function knownCategoryPaths(catalog: Catalog): Set<string> {
  const out = new Set<string>();
  for (const item of catalog.items.values()) {
    for (const p of item.categoryPaths) {
      const parts = p.split('/');
      for (let i = 1; i <= parts.length; i += 1) out.add(parts.slice(0, i).join('/'));
    }
  }
  return out;
}

/** Group id -> member product ids. */
export function groupMembers(catalog: Catalog): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const item of catalog.items.values()) {
    if (item.groupId === null) continue;
    const set = out.get(item.groupId) ?? new Set<string>();
    set.add(item.id);
    out.set(item.groupId, set);
  }
  return out;
}

/** Numeric order of digit-string ids without precision loss. */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Categories from the leaf up to the root, stopping at a cycle or a missing parent. */
export function categoryPathToRoot(catalog: Catalog, leaf: string): string[] {
  const out: string[] = [];
  let current: string | null = leaf;
  while (current !== null && !out.includes(current)) {
    const cat = catalog.categories.get(current);
    if (!cat) break;
    out.push(cat.id);
    current = cat.parentId;
  }
  return out;
}
