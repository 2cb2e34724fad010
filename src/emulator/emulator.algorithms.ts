/**
 * Deterministic, explainable stand-ins for Retail Rocket's algorithms (§7, INFERRED). Each returns
 * candidate product ids best first; the caller filters (availability, stock, groups, inputs).
 */
import {
  categoryWithDescendants,
  compareIds,
  pathMatches,
  type Catalog,
  type CatalogItem,
} from './emulator.catalog.ts';
import type { PartnerState, StoredEvent } from './emulator.state.ts';
import { eventProductIds } from './emulator.state.ts';

export interface AlgorithmInput {
  partner: PartnerState;
  visitor: string;
  productIds: string[];
  categoryIds: string[];
  categoryPaths: string[];
  vendor: string;
  searchPhrase: string;
  accessoryCategories: Record<string, string[]>;
}

export type Algorithm = (input: AlgorithmInput) => string[];

const rankCache = new WeakMap<PartnerState, { version: number; ids: string[]; rank: Map<string, number> }>();

/** Every catalog id by orders, then add-to-baskets, then views (all visitors), ties by id. */
export function popularRanking(partner: PartnerState): { ids: string[]; rank: Map<string, number> } {
  const cached = rankCache.get(partner);
  if (cached && cached.version === partner.version) return cached;
  const ids = [...partner.catalog.items.keys()].sort((a, b) => {
    const pa = partner.popularityOf(a);
    const pb = partner.popularityOf(b);
    return pb.order - pa.order || pb.addToBasket - pa.addToBasket || pb.view - pa.view || compareIds(a, b);
  });
  const entry = { version: partner.version, ids, rank: new Map(ids.map((id, i) => [id, i])) };
  rankCache.set(partner, entry);
  return entry;
}

const latestOrder = (catalog: Catalog) =>
  [...catalog.items.values()].sort((a, b) => b.seq - a.seq || compareIds(a.id, b.id)).map((i) => i.id);

/** Sorts by a score (desc), then popularity, then id. */
function byScore(partner: PartnerState, score: Map<string, number>): string[] {
  const { rank } = popularRanking(partner);
  const far = Number.MAX_SAFE_INTEGER;
  return [...score.keys()].sort(
    (a, b) =>
      (score.get(b) as number) - (score.get(a) as number) ||
      (rank.get(a) ?? far) - (rank.get(b) ?? far) ||
      compareIds(a, b),
  );
}

/** Items in any of the categories (YML ids with their subcategories) or paths (Product API). */
function inCategories(
  catalog: Catalog,
  categoryIds: string[],
  paths: string[],
): (item: CatalogItem) => boolean {
  const ids = categoryWithDescendants(catalog, categoryIds);
  return (item) =>
    item.categoryIds.some((c) => ids.has(c)) ||
    item.categoryPaths.some((p) => paths.some((w) => pathMatches(p, w)));
}

function filterIds(catalog: Catalog, ids: string[], keep: (item: CatalogItem) => boolean): string[] {
  return ids.filter((id) => {
    const item = catalog.items.get(id);
    return item !== undefined && keep(item);
  });
}

const history = (partner: PartnerState, visitor: string): StoredEvent[] =>
  partner.byVisitor.get(visitor) ?? [];

function visitorProducts(partner: PartnerState, visitor: string, types: Set<string>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const events = history(partner, visitor);
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const ev = events[i] as StoredEvent;
    if (!types.has(ev.type)) continue;
    for (const id of eventProductIds(ev)) {
      if (!seen.has(id)) {
        seen.add(id);
        out.push(id);
      }
    }
  }
  return out;
}

const VIEWS = new Set(['view', 'groupView', 'recomTap']);
const INTEREST = new Set(['view', 'groupView', 'recomTap', 'addToBasket', 'recomAddToBasket', 'order']);

/** The visitor's interest: categories of products they touched plus categories they browsed. */
function interest(partner: PartnerState, visitor: string): { ids: string[]; paths: string[] } {
  const catalog = partner.catalog;
  const ids = new Set<string>();
  const paths = new Set<string>();
  for (const id of visitorProducts(partner, visitor, INTEREST)) {
    const item = catalog.items.get(id);
    item?.categoryIds.forEach((c) => ids.add(c));
    item?.categoryPaths.forEach((p) => paths.add(p));
  }
  for (const ev of history(partner, visitor)) {
    if (ev.type === 'categoryView') ids.add(String(ev.body.categoryId));
    if (ev.type === 'categoryViewByCategoryPath') paths.add(String(ev.body.categoryPath));
  }
  return { ids: [...ids], paths: [...paths] };
}

/** Products bought in the same transaction as any input, by number of shared transactions. */
function coPurchased(input: AlgorithmInput): string[] {
  const inputs = new Set(input.productIds);
  const score = new Map<string, number>();
  for (const lines of input.partner.transactions.values()) {
    if (![...lines.keys()].some((id) => inputs.has(id))) continue;
    for (const id of lines.keys()) if (!inputs.has(id)) score.set(id, (score.get(id) ?? 0) + 1);
  }
  return byScore(input.partner, score);
}

function inputCategories(input: AlgorithmInput): { ids: string[]; paths: string[] } {
  const ids = new Set<string>();
  const paths = new Set<string>();
  for (const id of input.productIds) {
    const item = input.partner.catalog.items.get(id);
    item?.categoryIds.forEach((c) => ids.add(c));
    item?.categoryPaths.forEach((p) => paths.add(p));
  }
  return { ids: [...ids], paths: [...paths] };
}

/** Exact category overlap (no subcategories): "same category" for alternatives and upsell. */
function sharesCategory(cats: { ids: string[]; paths: string[] }): (item: CatalogItem) => boolean {
  return (item) =>
    item.categoryIds.some((c) => cats.ids.includes(c)) ||
    item.categoryPaths.some((p) => cats.paths.includes(p));
}

const normalise = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').trim();
const phraseMatches = (a: string, b: string) => {
  const x = normalise(a);
  const y = normalise(b);
  return x !== '' && y !== '' && (x === y || x.includes(y) || y.includes(x));
};

/** Items viewed (or bought) by any visitor after a search matching the phrase, until their next search. */
function searchBased(input: AlgorithmInput): string[] {
  const score = new Map<string, number>();
  for (const events of input.partner.byVisitor.values()) {
    let matching = false;
    for (const ev of events) {
      if (ev.type === 'search') matching = phraseMatches(String(ev.body.searchPhrase), input.searchPhrase);
      else if (matching && INTEREST.has(ev.type))
        for (const id of eventProductIds(ev)) score.set(id, (score.get(id) ?? 0) + 1);
    }
  }
  return byScore(input.partner, score);
}

const popular: Algorithm = ({ partner }) => popularRanking(partner).ids;

function popularIn(partner: PartnerState, keep: (item: CatalogItem) => boolean): string[] {
  return filterIds(partner.catalog, popularRanking(partner).ids, keep);
}

const related: Algorithm = (input) => coPurchased(input);

/** Category blocks kept per partner, until its catalog or events change (then all are dropped). */
const BLOCKS_KEPT = 2000;
const blocks = new WeakMap<PartnerState, { version: number; lists: Map<string, string[]> }>();

/**
 * A category block's candidates, computed once per catalog version: each one filters the whole
 * catalog, which under a steady load of the same few blocks made the emulator, not the service
 * under test, the busiest process of a benchmark. Callers must not change the returned list.
 */
function categoryBlock(partner: PartnerState, key: string, compute: () => string[]): string[] {
  let kept = blocks.get(partner);
  if (kept?.version !== partner.version) {
    kept = { version: partner.version, lists: new Map() };
    blocks.set(partner, kept);
  }
  let ids = kept.lists.get(key);
  if (ids === undefined) {
    if (kept.lists.size >= BLOCKS_KEPT) kept.lists.clear();
    ids = compute();
    kept.lists.set(key, ids);
  }
  return ids;
}

const blockKey = (kind: string, values: readonly string[]) => `${kind}\u0000${values.join('\u0000')}`;

const categoryPopular: Algorithm = (i) =>
  categoryBlock(i.partner, blockKey('popular', i.categoryIds), () =>
    popularIn(i.partner, inCategories(i.partner.catalog, i.categoryIds, [])),
  );
const categoryPopularByPath: Algorithm = (i) =>
  categoryBlock(i.partner, blockKey('popularByPath', i.categoryPaths), () =>
    popularIn(i.partner, inCategories(i.partner.catalog, [], i.categoryPaths)),
  );
const categoryLatest: Algorithm = (i) =>
  categoryBlock(i.partner, blockKey('latest', i.categoryIds), () =>
    filterIds(
      i.partner.catalog,
      latestOrder(i.partner.catalog),
      inCategories(i.partner.catalog, i.categoryIds, []),
    ),
  );
const categoryLatestByPath: Algorithm = (i) =>
  categoryBlock(i.partner, blockKey('latestByPath', i.categoryPaths), () =>
    filterIds(
      i.partner.catalog,
      latestOrder(i.partner.catalog),
      inCategories(i.partner.catalog, [], i.categoryPaths),
    ),
  );
const relatedWithoutCurrentCategory: Algorithm = (input) => {
  const other = sharesCategory(inputCategories(input));
  return filterIds(input.partner.catalog, coPurchased(input), (item) => !other(item));
};

/** Resource name (lower case, `group/algorithm`) → algorithm. */
export const ALGORITHMS: Record<string, Algorithm> = {
  'partnerrecommendations/popular': popular,
  'partnerrecommendations/popularbyvendor': ({ partner, vendor }) =>
    popularIn(partner, (i) => i.vendor !== null && normalise(i.vendor) === normalise(vendor)),
  'partnerrecommendations/personalviewed': ({ partner, visitor }) => visitorProducts(partner, visitor, VIEWS),
  'partnerrecommendations/personalordered': ({ partner, visitor }) =>
    visitorProducts(partner, visitor, new Set(['order'])),
  'partnerrecommendations/popularininterestedcategories': ({ partner, visitor }) => {
    const cats = interest(partner, visitor);
    return cats.ids.length + cats.paths.length === 0
      ? []
      : popularIn(partner, inCategories(partner.catalog, cats.ids, cats.paths));
  },
  'partnerrecommendations/personalcomposite': ({ partner, visitor }) => {
    const cats = interest(partner, visitor);
    const first =
      cats.ids.length + cats.paths.length === 0
        ? []
        : popularIn(partner, inCategories(partner.catalog, cats.ids, cats.paths));
    return [...first, ...popularRanking(partner).ids];
  },
  'categoryrecommendations/popular': categoryPopular,
  'categoryrecommendations/popularbycategorypath': categoryPopularByPath,
  // sale*: the same rankings; the caller keeps only items whose (stock) oldprice > price.
  'categoryrecommendations/salebypopular': categoryPopular,
  'categoryrecommendations/salebypopularbycategorypath': categoryPopularByPath,
  'categoryrecommendations/latest': categoryLatest,
  'categoryrecommendations/latestbycategorypath': categoryLatestByPath,
  'categoryrecommendations/salebylatest': categoryLatest,
  'categoryrecommendations/salebylatestbycategorypath': categoryLatestByPath,
  'productrecommendations/alternatives': (i) => popularIn(i.partner, sharesCategory(inputCategories(i))),
  'productrecommendations/related': related,
  'productrecommendations/relatedwithrules': related,
  'productrecommendations/relatedwithoutcurrentcategory': relatedWithoutCurrentCategory,
  'productrecommendations/relatedbyinterestedproperties': (i) => {
    const liked = new Set<string>();
    for (const id of visitorProducts(i.partner, i.visitor, VIEWS)) {
      for (const [k, v] of Object.entries(i.partner.catalog.items.get(id)?.params ?? {}))
        liked.add(`${k}\u0000${v}`);
    }
    const shared = (id: string) =>
      Object.entries(i.partner.catalog.items.get(id)?.params ?? {}).filter(([k, v]) =>
        liked.has(`${k}\u0000${v}`),
      ).length;
    const base = coPurchased(i);
    const pos = new Map(base.map((id, n) => [id, n]));
    return [...base].sort((a, b) => shared(b) - shared(a) || (pos.get(a) as number) - (pos.get(b) as number));
  },
  'productrecommendations/accessories': (i) => {
    const cats = inputCategories(i);
    const mapped = cats.ids.flatMap((c) => i.accessoryCategories[c] ?? []);
    return mapped.length > 0
      ? popularIn(i.partner, inCategories(i.partner.catalog, mapped, []))
      : relatedWithoutCurrentCategory(i);
  },
  'productrecommendations/upsell': (i) => {
    const max = Math.max(...i.productIds.map((id) => i.partner.catalog.items.get(id)?.price ?? Infinity));
    const same = sharesCategory(inputCategories(i));
    return popularIn(i.partner, (item) => same(item) && item.price > max);
  },
  'searchrecommendations/search': searchBased,
  'searchrecommendations/searchwithneuralnetworks': (i) => {
    const words = normalise(i.searchPhrase).split(' ');
    const byName = popularIn(i.partner, (item) => {
      const text = normalise(`${item.name} ${item.vendor ?? ''} ${item.model ?? ''}`);
      return words.every((w) => text.includes(w));
    });
    return [...searchBased(i), ...byName];
  },
};
