import { XMLParser } from 'fast-xml-parser';
import type { Catalog, CatalogCategory, CatalogItem, StockOverride } from './emulator.catalog.ts';
import { isIdText } from './emulator.validation.ts';
import type { FeedIgnoredOffer, FeedRequiredTag } from './emulator.types.ts';

/** A feed the emulator refuses as a whole (the previous catalog stays). */
export class FeedFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ParsedFeed {
  catalog: Catalog;
  accepted: number;
  ignored: FeedIgnoredOffer[];
  ignoredByReason: Record<string, number>;
  warningsByReason: Record<string, number>;
}

const MAX_IGNORED_LISTED = 1000;
const ARRAYS = new Set(['category', 'offer', 'param', 'picture', 'categoryId', 'stock']);

/**
 * Entities are NOT processed by the parser: a DOCTYPE can declare nothing that expands (no
 * billion laughs), external entities make the parse fail, and only the XML built-ins and numeric
 * character references are decoded, by `decodeText` below.
 */
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  cdataPropName: '#cdata',
  isArray: (name) => ARRAYS.has(name),
  maxNestedTags: 64,
});

const BUILTIN: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeText(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (whole, ref: string) => {
    if (ref[0] !== '#') return BUILTIN[ref] as string;
    const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

type Node = Record<string, unknown>;
const asNode = (v: unknown): Node | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Node) : null;
const attrs = (n: Node): Record<string, string> => (asNode(n['@']) as Record<string, string> | null) ?? {};
const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Text of an element: decoded character data plus raw CDATA sections; null when absent. */
export function textOf(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return textOf(v[0]);
  if (typeof v === 'string') return decodeText(v).trim();
  const n = asNode(v);
  if (!n) return String(v);
  const text = typeof n['#text'] === 'string' ? decodeText(n['#text']) : '';
  const cdata = list(n['#cdata']).map(String).join('');
  return (text + cdata).trim();
}

const DECIMAL = /^\d+(\.\d+)?$/;
const positivePrice = (s: string | null): number | null =>
  s !== null && DECIMAL.test(s) && Number(s) > 0 ? Number(s) : null;
const absoluteUrl = (s: string | null): boolean =>
  s !== null && s.length <= 512 && URL.canParse(s) && /^https?:$/.test(new URL(s).protocol);
const validStockId = (s: string | undefined): s is string =>
  s !== undefined && s.length >= 1 && s.length <= 50 && !/\p{Cc}/u.test(s);

/** Decodes the raw bytes with the encoding the XML declaration names (UTF-8 when none). */
export function decodeFeedBytes(bytes: Buffer): string {
  let body = bytes;
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3);
  const head = body.subarray(0, 200).toString('latin1');
  const label = /^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1] ?? 'utf-8';
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(label, { fatal: true });
  } catch {
    throw new FeedFailure('feed.encoding_unsupported', `unsupported encoding '${label}'`);
  }
  try {
    return decoder.decode(body);
  } catch {
    throw new FeedFailure('feed.encoding_invalid', `bytes are not valid ${label}`);
  }
}

/** Parses a YML feed into a new catalog, counting what was ignored and why (§3.1). */
export function parseFeed(xml: string, required: FeedRequiredTag[], firstSeq: number): ParsedFeed {
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = /external entit/i.test(message) ? 'feed.external_entity' : 'feed.malformed';
    throw new FeedFailure(code, message);
  }
  const root = asNode(doc.yml_catalog);
  if (!root) throw new FeedFailure('feed.no_yml_catalog', 'the root element must be <yml_catalog>');
  const shop = asNode(root.shop);
  if (!shop) throw new FeedFailure('feed.no_shop', '<yml_catalog> has no <shop>');

  const out: ParsedFeed = {
    catalog: emptyCatalogAt(firstSeq),
    accepted: 0,
    ignored: [],
    ignoredByReason: {},
    warningsByReason: {},
  };
  const warn = (reason: string) => {
    out.warningsByReason[reason] = (out.warningsByReason[reason] ?? 0) + 1;
  };
  const date = attrs(root).date;
  if (date === undefined) warn('feed.date.missing');
  else if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/.test(date)) warn('feed.date.format');

  readCategories(shop, out.catalog, warn);
  const offers = asNode(shop.offers);
  for (const raw of list(offers?.offer)) {
    const node = asNode(raw) ?? {};
    const result = readOffer(node, out.catalog, required, warn);
    if (typeof result === 'string') {
      out.ignoredByReason[result] = (out.ignoredByReason[result] ?? 0) + 1;
      if (out.ignored.length < MAX_IGNORED_LISTED)
        out.ignored.push({ offerId: attrs(node).id ?? null, reason: result });
      continue;
    }
    result.seq = out.catalog.nextSeq++;
    out.catalog.items.set(result.id, result);
    out.accepted += 1;
  }
  return out;
}

function emptyCatalogAt(nextSeq: number): Catalog {
  return { items: new Map(), categories: new Map(), stocks: new Set(), removed: new Set(), nextSeq };
}

function readCategories(shop: Node, catalog: Catalog, warn: (r: string) => void): void {
  const categories = asNode(shop.categories);
  if (!categories) warn('feed.no_categories');
  for (const raw of list(categories?.category)) {
    const node = asNode(raw) ?? { '#text': raw };
    const { id, parentId } = attrs(node);
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
    const cat: CatalogCategory = { id, parentId: parent, name: textOf(node) ?? '' };
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
function readOffer(
  node: Node,
  catalog: Catalog,
  required: FeedRequiredTag[],
  warn: (r: string) => void,
): CatalogItem | string {
  const a = attrs(node);
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

  const url = textOf(node.url);
  if (url === null || url === '') {
    if (required.includes('url')) return 'offer.url.missing';
  } else if (!absoluteUrl(url)) return 'offer.url.invalid';
  const priceText = textOf(node.price);
  const price = positivePrice(priceText);
  if (priceText === null || priceText === '') {
    if (required.includes('price')) return 'offer.price.missing';
  } else if (price === null) return 'offer.price.invalid';
  const name = textOf(node.name);
  if ((name === null || name === '') && required.includes('name')) return 'offer.name.missing';
  const picture = textOf(list(node.picture)[0]);
  if (picture === null || picture === '') {
    if (required.includes('picture')) return 'offer.picture.missing';
  } else if (!absoluteUrl(picture)) return 'offer.picture.invalid';

  const given = list(node.categoryId)
    .map(textOf)
    .filter((c): c is string => c !== null && c !== '');
  const categoryIds = given.filter((c) => catalog.categories.has(c));
  if (categoryIds.length < given.length) warn('offer.categoryId.unknown');
  if (categoryIds.length === 0 && required.includes('categoryId')) {
    return given.length === 0 ? 'offer.categoryId.missing' : 'offer.categoryId.unknown';
  }

  const oldText = textOf(node.oldprice);
  let oldPrice = positivePrice(oldText);
  if (oldText !== null && oldText !== '' && oldPrice === null) warn('offer.oldprice.invalid');
  if (oldPrice !== null && price !== null && oldPrice <= price) {
    warn('offer.oldprice.not_greater');
    oldPrice = null;
  }
  const params: Record<string, string> = {};
  for (const p of list(node.param)) {
    const pn = asNode(p);
    const pname = pn ? attrs(pn).name : undefined;
    if (pname) params[pname] = textOf(p) ?? '';
  }
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
    vendor: textOf(node.vendor),
    model: textOf(node.model),
    typePrefix: textOf(node.typePrefix),
    description: textOf(node.description),
    params,
    stocks: readStocks(node, catalog, warn),
    seq: 0,
    source: 'feed',
  };
}

function readStocks(node: Node, catalog: Catalog, warn: (r: string) => void): Map<string, StockOverride> {
  const stocks = new Map<string, StockOverride>();
  for (const raw of list(node.stock)) {
    const s = asNode(raw) ?? {};
    const id = attrs(s).id;
    if (!validStockId(id)) {
      warn('stock.id.invalid');
      continue;
    }
    if (stocks.has(id)) warn('stock.id.duplicate');
    const o: StockOverride = {};
    const av = textOf(s.available);
    if (av === 'true' || av === 'false') o.available = av === 'true';
    else if (av !== null) warn('stock.available.invalid');
    for (const [tag, key] of [
      ['price', 'price'],
      ['oldprice', 'oldPrice'],
    ] as const) {
      const t = textOf(s[tag]);
      if (t === null) continue;
      const n = positivePrice(t);
      if (n === null) warn(`stock.${tag}.invalid`);
      else o[key] = n;
    }
    for (const [tag, key] of [
      ['url', 'url'],
      ['picture', 'picture'],
    ] as const) {
      const t = textOf(s[tag]);
      if (t === null) continue;
      if (absoluteUrl(t)) o[key] = t;
      else warn(`stock.${tag}.invalid`);
    }
    const sname = textOf(s.name);
    if (sname) o.name = sname;
    const sdesc = textOf(s.description);
    if (sdesc) o.description = sdesc;
    stocks.set(id, o);
    catalog.stocks.add(id);
  }
  return stocks;
}
