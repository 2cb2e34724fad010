import type { Catalog, CatalogCategory, CatalogItem, StockOverride } from './emulator.catalog.ts';
import type { FeedRequiredTag } from './emulator.types.ts';
import { isIdText } from './emulator.validation.ts';

/**
 * One element of a feed, built from parser events for a single `<category>` or `<offer>` (never
 * for the whole document). Attribute values and text are already entity-decoded; character data
 * and CDATA are joined in document order.
 */
export interface XmlNode {
  attrs: Record<string, string>;
  text: string;
  children: Map<string, XmlNode[]>;
}

export const newNode = (attrs: Record<string, string>): XmlNode => ({ attrs, text: '', children: new Map() });

const all = (n: XmlNode, tag: string): XmlNode[] => n.children.get(tag) ?? [];

/** Text of the first `tag` child, trimmed; null when there is none. */
function textOf(n: XmlNode, tag: string): string | null {
  const child = all(n, tag)[0];
  return child === undefined ? null : child.text.trim();
}

const DECIMAL = /^\d+(\.\d+)?$/;
const positivePrice = (s: string | null): number | null =>
  s !== null && DECIMAL.test(s) && Number(s) > 0 ? Number(s) : null;
const absoluteUrl = (s: string | null): boolean =>
  s !== null && s.length <= 512 && URL.canParse(s) && /^https?:$/.test(new URL(s).protocol);
const validStockId = (s: string | undefined): s is string =>
  s !== undefined && s.length >= 1 && s.length <= 50 && !/\p{Cc}/u.test(s);

export function emptyCatalogAt(nextSeq: number): Catalog {
  return { items: new Map(), categories: new Map(), stocks: new Set(), removed: new Set(), nextSeq };
}

/** Adds the categories (in feed order) and checks the tree once all of them are known. */
export function readCategories(nodes: XmlNode[], catalog: Catalog, warn: (r: string) => void): void {
  for (const node of nodes) {
    const { id, parentId } = node.attrs;
    if (id === undefined || !isIdText(id)) {
      warn('category.id.invalid');
      continue;
    }
    if (catalog.categories.has(id)) {
      warn('category.id.duplicate');
      continue;
    }
    let parent: string | null = parentId ?? null;
    if (parent !== null && !isIdText(parent)) {
      warn('category.parentId.invalid');
      parent = null;
    }
    const cat: CatalogCategory = { id, parentId: parent, name: node.text.trim() };
    catalog.categories.set(id, cat);
  }
  for (const cat of catalog.categories.values()) {
    if (cat.parentId !== null && !catalog.categories.has(cat.parentId)) warn('category.parent.unknown');
    const seen = new Set<string>();
    let cur: string | null = cat.id;
    while (cur !== null && !seen.has(cur)) {
      seen.add(cur);
      cur = catalog.categories.get(cur)?.parentId ?? null;
    }
    if (cur === cat.id) warn('category.cycle');
  }
}

/** Returns the item, or the reason code it is ignored with. */
export function readOffer(
  node: XmlNode,
  catalog: Catalog,
  required: FeedRequiredTag[],
  warn: (r: string) => void,
): CatalogItem | string {
  const a = node.attrs;
  if (a.id === undefined || a.id === '') return 'offer.id.missing';
  if (!isIdText(a.id)) return 'offer.id.invalid';
  if (catalog.items.has(a.id)) return 'offer.id.duplicate';
  let available = true;
  if (a.available === undefined) {
    if (required.includes('available')) return 'offer.available.missing';
    warn('offer.available.missing');
  } else if (a.available === 'true' || a.available === 'false') available = a.available === 'true';
  else return 'offer.available.invalid';
  const groupId = a.group_id ?? null;
  if (groupId !== null && !isIdText(groupId)) return 'offer.group_id.invalid';

  const url = textOf(node, 'url');
  if (url === null || url === '') {
    if (required.includes('url')) return 'offer.url.missing';
  } else if (!absoluteUrl(url)) return 'offer.url.invalid';
  const priceText = textOf(node, 'price');
  const price = positivePrice(priceText);
  if (priceText === null || priceText === '') {
    if (required.includes('price')) return 'offer.price.missing';
  } else if (price === null) return 'offer.price.invalid';
  const name = textOf(node, 'name');
  if ((name === null || name === '') && required.includes('name')) return 'offer.name.missing';
  const picture = textOf(node, 'picture');
  if (picture === null || picture === '') {
    if (required.includes('picture')) return 'offer.picture.missing';
  } else if (!absoluteUrl(picture)) return 'offer.picture.invalid';

  const given = all(node, 'categoryId')
    .map((c) => c.text.trim())
    .filter((c) => c !== '');
  const categoryIds = given.filter((c) => catalog.categories.has(c));
  if (categoryIds.length < given.length) warn('offer.categoryId.unknown');
  if (categoryIds.length === 0 && required.includes('categoryId')) {
    return given.length === 0 ? 'offer.categoryId.missing' : 'offer.categoryId.unknown';
  }

  const oldText = textOf(node, 'oldprice');
  let oldPrice = positivePrice(oldText);
  if (oldText !== null && oldText !== '' && oldPrice === null) warn('offer.oldprice.invalid');
  if (oldPrice !== null && price !== null && oldPrice <= price) {
    warn('offer.oldprice.not_greater');
    oldPrice = null;
  }
  const params: Record<string, string> = {};
  for (const p of all(node, 'param')) if (p.attrs.name) params[p.attrs.name] = p.text.trim();
  return {
    id: a.id,
    groupId,
    available,
    name: name ?? '',
    url: url ?? '',
    picture: picture ?? '',
    price: price ?? 0,
    oldPrice,
    categoryIds,
    categoryPaths: [],
    vendor: textOf(node, 'vendor'),
    model: textOf(node, 'model'),
    typePrefix: textOf(node, 'typePrefix'),
    description: textOf(node, 'description'),
    params,
    stocks: readStocks(node, catalog, warn),
    seq: 0,
    source: 'feed',
  };
}

function readStocks(node: XmlNode, catalog: Catalog, warn: (r: string) => void): Map<string, StockOverride> {
  const stocks = new Map<string, StockOverride>();
  for (const s of all(node, 'stock')) {
    const id = s.attrs.id;
    if (!validStockId(id)) {
      warn('stock.id.invalid');
      continue;
    }
    if (stocks.has(id)) warn('stock.id.duplicate');
    const o: StockOverride = {};
    const av = textOf(s, 'available');
    if (av === 'true' || av === 'false') o.available = av === 'true';
    else if (av !== null) warn('stock.available.invalid');
    for (const [tag, key] of [
      ['price', 'price'],
      ['oldprice', 'oldPrice'],
    ] as const) {
      const t = textOf(s, tag);
      if (t === null) continue;
      const n = positivePrice(t);
      if (n === null) warn(`stock.${tag}.invalid`);
      else o[key] = n;
    }
    for (const [tag, key] of [
      ['url', 'url'],
      ['picture', 'picture'],
    ] as const) {
      const t = textOf(s, tag);
      if (t === null) continue;
      if (absoluteUrl(t)) o[key] = t;
      else warn(`stock.${tag}.invalid`);
    }
    const sname = textOf(s, 'name');
    if (sname) o.name = sname;
    const sdesc = textOf(s, 'description');
    if (sdesc) o.description = sdesc;
    stocks.set(id, o);
    catalog.stocks.add(id);
  }
  return stocks;
}
