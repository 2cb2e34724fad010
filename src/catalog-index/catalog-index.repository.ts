import type { Queryable } from '../db/pool.ts';
import { stockRecord, type ProductBody, type StockOverride } from '../sync/product-api.mapping.ts';

/**
 * The published-catalog index (design §2): what Retail Rocket was given, by a published feed or a
 * confirmed push (rr_sync.catalog_items, written by the sync). Events and recommendations check
 * their ids here, so the service never names to Retail Rocket an id it was not given. A product
 * that left the catalog stays in the table as `gone` (it was told unavailable): it is not known.
 */

export interface IndexedItem {
  productId: string;
  groupId: string | null;
  /** The product's own availability (a stock can override it). */
  available: boolean;
  categoryIds: string[];
  stockIds: string[];
  /** The Product API base record last given to Retail Rocket: display data for recommendations. */
  product: ProductBody;
  stocks: Record<string, StockOverride>;
}

interface ItemRow {
  product_id: string;
  group_id: string | null;
  available: boolean;
  category_ids: string[];
  stock_ids: string[];
  body: { product: ProductBody; stocks?: Record<string, StockOverride> };
}

function itemOf(r: ItemRow): IndexedItem {
  return {
    productId: r.product_id,
    groupId: r.group_id,
    available: r.available,
    categoryIds: r.category_ids,
    stockIds: r.stock_ids,
    product: r.body.product,
    stocks: r.body.stocks ?? {},
  };
}

const ITEM_COLUMNS = 'product_id, group_id, available, category_ids, stock_ids, body';

/** The known products among `ids` (decimal id text), keyed by id; unknown and gone ids are absent. */
export async function findKnownProducts(
  db: Queryable,
  ids: readonly string[],
): Promise<Map<string, IndexedItem>> {
  const out = new Map<string, IndexedItem>();
  if (ids.length === 0) return out;
  const { rows } = await db.query<ItemRow>(
    `select ${ITEM_COLUMNS} from rr_sync.catalog_items
      where product_id = any($1::text[]) and not gone`,
    [[...new Set(ids)]],
  );
  for (const r of rows) out.set(r.product_id, itemOf(r));
  return out;
}

/** The known members of each known group among `groupIds`, in product id order. */
export async function findGroupMembers(
  db: Queryable,
  groupIds: readonly string[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (groupIds.length === 0) return out;
  const { rows } = await db.query<{ group_id: string; product_id: string }>(
    `select group_id, product_id from rr_sync.catalog_items
      where group_id = any($1::text[]) and not gone
      order by group_id, product_id`,
    [[...new Set(groupIds)]],
  );
  for (const r of rows) {
    const members = out.get(r.group_id) ?? [];
    members.push(r.product_id);
    out.set(r.group_id, members);
  }
  return out;
}

/** The categories among `ids` that the published catalog has (with their root-to-leaf path). */
export async function findKnownCategories(
  db: Queryable,
  ids: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const { rows } = await db.query<{ id: string; path: string }>(
    'select id, path from rr_sync.category_paths where id = any($1::text[])',
    [[...new Set(ids)]],
  );
  for (const r of rows) out.set(r.id, r.path);
  return out;
}

/** Whether Retail Rocket was told about this stock of the product (events may only name those). */
export function hasStock(item: IndexedItem, stockId: string): boolean {
  return Object.hasOwn(item.stocks, stockId);
}

/** Available to a visitor: in `stockId` when given (that stock's own flag), else the product's. */
export function isAvailableIn(item: IndexedItem, stockId?: string): boolean {
  if (stockId === undefined) return item.available;
  const stock = item.stocks[stockId];
  return stock !== undefined && Object.hasOwn(item.stocks, stockId) && stock.isAvailable;
}

/** What a shop needs to render an item, with the stock's own price, name, url or picture if it has them. */
export function displayOf(item: IndexedItem, stockId?: string): ProductBody {
  const stock =
    stockId !== undefined && Object.hasOwn(item.stocks, stockId) ? item.stocks[stockId] : undefined;
  return stock ? stockRecord(item.product, stock) : item.product;
}

/** The category paths among `paths` (root/.../leaf names) that the published catalog has. */
export async function findKnownCategoryPaths(db: Queryable, paths: readonly string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const { rows } = await db.query<{ path: string }>(
    'select distinct path from rr_sync.category_paths where path = any($1::text[])',
    [[...new Set(paths)]],
  );
  return new Set(rows.map((r) => r.path));
}

/** The stock ids among `ids` that at least one known product was given with (e.g. a search's region). */
export async function findKnownStocks(db: Queryable, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const wanted = [...new Set(ids)];
  const { rows } = await db.query<{ id: string }>(
    `select distinct s.id from rr_sync.catalog_items c, unnest(c.stock_ids) as s(id)
      where c.stock_ids && $1::text[] and not c.gone and s.id = any($1::text[])`,
    [wanted],
  );
  return new Set(rows.map((r) => r.id));
}
