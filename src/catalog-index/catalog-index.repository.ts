import type { Queryable } from '../db/pool.ts';
import type pg from 'pg';
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
  const rows = await knownProductRows<ItemRow>(db, ids, ITEM_COLUMNS);
  return new Map(rows.map((r) => [r.product_id, itemOf(r)]));
}

/** `columns` of the known (not gone) products among `ids`, each id once. */
async function knownProductRows<R extends pg.QueryResultRow>(
  db: Queryable,
  ids: readonly string[],
  columns: string,
): Promise<R[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<R>(
    `select ${columns} from rr_sync.catalog_items where product_id = any($1::text[]) and not gone`,
    [[...new Set(ids)]],
  );
  return rows;
}

/**
 * The stock ids of each known product among `ids`: what the event sender checks, without the
 * display data (the body is stored out of line, TOAST: reading it cost the sender's id check a
 * second lookup per product and most of its time).
 */
export async function findKnownProductStocks(
  db: Queryable,
  ids: readonly string[],
): Promise<Map<string, string[]>> {
  const rows = await knownProductRows<{ product_id: string; stock_ids: string[] }>(
    db,
    ids,
    'product_id, stock_ids',
  );
  return new Map(rows.map((r) => [r.product_id, r.stock_ids]));
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

/**
 * The category paths among `paths` (root/.../leaf names) that Retail Rocket knows. It builds its
 * category tree from the categoryPaths of the products it was given (retailrocket-api.md §3.2),
 * so a valid category counts only when a published product is in it or below it: an empty one
 * (or one whose products all left) is in our category table but unknown there. The product look
 * is a scalar subquery with LIMIT 1 per category, so it stops at the first product.
 */
export async function findKnownCategoryPaths(db: Queryable, paths: readonly string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const { rows } = await db.query<{ path: string }>(
    `select distinct c.path from rr_sync.category_paths c
      where c.path = any($1::text[])
        and exists (
          select 1 from rr_sync.category_paths d
           where (d.path = c.path or starts_with(d.path, c.path || '/'))
             and (select true from rr_sync.catalog_items i
                   where i.category_ids @> array[d.id] and not i.gone limit 1))`,
    [[...new Set(paths)]],
  );
  return new Set(rows.map((r) => r.path));
}

/** The stock ids among `ids` that at least one known product was given with (e.g. a search's region). */
export async function findKnownStocks(db: Queryable, ids: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  // One cheap look per distinct id (isKnownStock): an array overlap over all rows is a full scan
  // for a stock nobody has (seconds at 1M products).
  for (const id of new Set(ids)) if (await isKnownStock(db, id)) out.add(id);
  return out;
}

/**
 * Whether any product of the published catalog has a record for this stock (Retail Rocket knows
 * it). Two looks, both cheap at 1M products (1-7 ms measured): a common stock shows up in the
 * first rows; an unknown or rare one is answered by the GIN index (rr_sync.is_known_stock, see
 * migration 0005 for why neither alone will do).
 */
export async function isKnownStock(db: Queryable, stockId: string): Promise<boolean> {
  const { rows } = await db.query<{ known: boolean }>(
    `select exists(select 1 from (select stock_ids from rr_sync.catalog_items where not gone limit 1000) s
                    where stock_ids @> array[$1]::text[])
            or rr_sync.is_known_stock($1) as known`,
    [stockId],
  );
  return rows[0]?.known === true;
}

export interface CategoryMatch {
  /** The given ids and paths the published catalog has. */
  knownIds: string[];
  knownPaths: string[];
  /** The matched categories with all their subcategories (what "in this category" means to a shop). */
  withDescendants: string[];
}

/**
 * Categories given by id or by Retail Rocket path (root/…/leaf), with their subcategories. The
 * category table holds the store's tree (thousands of rows, not millions): comparing each path
 * with each given root is cheap, and prefix comparison needs no LIKE escaping.
 */
export async function findCategoryTrees(
  db: Queryable,
  ids: readonly string[],
  paths: readonly string[],
): Promise<CategoryMatch> {
  const out: CategoryMatch = { knownIds: [], knownPaths: [], withDescendants: [] };
  if (ids.length === 0 && paths.length === 0) return out;
  const { rows } = await db.query<{ root_id: string; root_path: string; id: string }>(
    `with roots as (
       select id, path from rr_sync.category_paths where id = any($1::text[]) or path = any($2::text[]))
     select r.id as root_id, r.path as root_path, c.id
       from roots r join rr_sync.category_paths c
         on c.path = r.path or left(c.path, length(r.path) + 1) = r.path || '/'`,
    [[...new Set(ids)], [...new Set(paths)]],
  );
  const knownIds = new Set<string>();
  const knownPaths = new Set<string>();
  const all = new Set<string>();
  for (const r of rows) {
    knownIds.add(r.root_id);
    knownPaths.add(r.root_path);
    all.add(r.id);
  }
  out.knownIds = ids.filter((id) => knownIds.has(id));
  out.knownPaths = paths.filter((p) => knownPaths.has(p));
  out.withDescendants = [...all];
  return out;
}

export interface AvailableQuery {
  /** Only products in one of these categories (their own category_ids); omitted = any. */
  categoryIds?: readonly string[];
  /** Available in this stock (its own flag), else by the product's own flag. */
  stockId?: string;
  limit: number;
  exclude?: readonly string[];
}

/**
 * Some available products (fallback recommendations), in no particular order: no ORDER BY, so a
 * LIMIT stops the scan after `limit` rows instead of reading a whole large category (the GIN
 * indexes on category_ids and stock_ids find the candidates). Variants are not folded here: the
 * caller asks for more than it shows.
 */
export async function findAvailableProducts(db: Queryable, q: AvailableQuery): Promise<IndexedItem[]> {
  if (q.categoryIds !== undefined && q.categoryIds.length === 0) return [];
  const values: unknown[] = [q.limit, [...(q.exclude ?? [])]];
  const where = ['not gone', 'not (product_id = any($2::text[]))'];
  if (q.categoryIds !== undefined) {
    values.push([...q.categoryIds]);
    where.push(`category_ids && $${values.length}::text[]`);
  }
  if (q.stockId === undefined) {
    where.push('available');
  } else {
    values.push(q.stockId);
    const s = `$${values.length}::text`;
    where.push(`stock_ids @> array[${s}]`, `(body->'stocks'->${s}->>'isAvailable')::boolean`);
  }
  const { rows } = await db.query<ItemRow>(
    `select ${ITEM_COLUMNS} from rr_sync.catalog_items where ${where.join(' and ')} limit $1`,
    values,
  );
  return rows.map(itemOf);
}
