import type pg from 'pg';
import { quoteIdent, withTransaction, type Queryable } from '../db/pool.ts';
import { AppError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { buildCategoryTree } from './demo.catalog.ts';
import { copyRows } from './demo.copy.ts';
import { PLANTED_CATEGORIES, PLANTED_ROWS, plantedProductRows, plantedStockRows } from './demo.invalid.ts';
import { WAREHOUSES } from './demo.names.ts';
import { PRODUCT_COLUMNS, productRows, STOCK_COLUMNS, stockRows } from './demo.products.ts';

export interface DemoOptions {
  schema: string;
  products: number;
  /** Default 42. */
  seed?: number;
}

export interface DemoSummary {
  schema: string;
  /** Generated (valid) products; the planted rows come on top. */
  products: number;
  productRows: number;
  stockRows: number;
  categories: number;
  warehouses: number;
  /** Rows planted on purpose (errors and warnings), see PLANTED_ROWS. */
  invalidRows: number;
  seconds: number;
}

/** The comment that marks a schema as ours: only such a schema is ever dropped. */
export const DEMO_MARKER = 'rr-sync demo';
export const DEFAULT_DEMO_SEED = 42;

const TABLES = (s: string) => [
  `create table ${s}.categories (id bigint, parent_id bigint, name text)`,
  `create table ${s}.warehouses (id text, name text)`,
  `create table ${s}.products (id text, group_id text, name text, url text, picture_url text,
     price numeric, old_price numeric, available boolean, category_ids bigint[], vendor text,
     model text, type_prefix text, description text, params jsonb, updated_at timestamptz)`,
  `create table ${s}.product_stocks (product_id text, warehouse_id text, available boolean,
     price numeric, old_price numeric, url text, picture_url text, name text, description text)`,
];

/** The reader orders by these expressions: indexes turn its sorts into index scans. */
const INDEXES = (s: string) => [
  `create index on ${s}.products ((id::text) collate "C")`,
  `create index on ${s}.product_stocks ((product_id::text) collate "C", (warehouse_id::text) collate "C")`,
];

/**
 * Make sure overwriting `schema` cannot lose a store's data: it must be missing, empty, or carry
 * the demo marker. Returns whether it exists.
 */
async function assertDemoSchema(db: Queryable, schema: string): Promise<boolean> {
  const { rows } = await db.query<{ comment: string | null; objects: number }>(
    `select obj_description(n.oid, 'pg_namespace') as comment,
            (select count(*) from pg_class c where c.relnamespace = n.oid)::int
          + (select count(*) from pg_proc p where p.pronamespace = n.oid)::int
          + (select count(*) from pg_type t where t.typnamespace = n.oid and t.typrelid = 0)::int as objects
       from pg_namespace n where n.nspname = $1`,
    [schema],
  );
  const found = rows[0];
  if (!found) return false;
  if (found.comment === DEMO_MARKER || found.objects === 0) return true;
  throw new AppError(
    'demo.schema_not_demo',
    `Schema "${schema}" already holds ${found.objects} object(s) and was not created by rr-sync demo: ` +
      'refusing to overwrite it. Point CATALOG_SCHEMA at another schema (or drop this one yourself).',
    { details: { schema, objects: found.objects } },
  );
}

/** Drop and recreate `schema` (tables above), then fill it. Deterministic: same options => same rows. */
export async function seedDemo(pool: pg.Pool, options: DemoOptions, logger: Logger): Promise<DemoSummary> {
  const started = performance.now();
  const seed = options.seed ?? DEFAULT_DEMO_SEED;
  const count = options.products;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new AppError('usage.invalid', `The demo needs a positive whole number of products, got ${count}`);
  }
  const s = quoteIdent(options.schema);
  const tree = buildCategoryTree();
  const log = logger.child({ schema: options.schema, products: count, seed });
  let productRowCount = 0;
  let stockRowCount = 0;
  const counted = function* <T>(rows: Iterable<T>, onRow: () => void): Generator<T> {
    for (const r of rows) {
      onRow();
      yield r;
    }
  };

  // One transaction: a failed or interrupted seed leaves the previous schema as it was.
  await withTransaction(pool, async (client) => {
    await client.query('select pg_advisory_xact_lock(hashtext($1))', [`rr-sync demo:${options.schema}`]);
    const exists = await assertDemoSchema(client, options.schema);
    if (exists) await client.query(`drop schema ${s} cascade`);
    await client.query(`create schema ${s}`);
    await client.query(`comment on schema ${s} is '${DEMO_MARKER}'`);
    for (const ddl of TABLES(s)) await client.query(ddl);

    const categories = [...tree.categories, ...PLANTED_CATEGORIES];
    await copyRows(
      client,
      `${s}.categories (id, parent_id, name)`,
      categories.map((c) => [String(c.id), c.parentId === null ? null : String(c.parentId), c.name]),
    );
    await copyRows(
      client,
      `${s}.warehouses (id, name)`,
      WAREHOUSES.map((w) => [w.id, w.name]),
    );

    log.info({}, 'demo: writing products');
    const products = function* () {
      yield* productRows(seed, count, tree.types, tree.typesByDepartment);
      yield* plantedProductRows(tree.types[1]!.leafIds[0]!);
    };
    await copyRows(
      client,
      `${s}.products (${PRODUCT_COLUMNS.join(', ')})`,
      counted(products(), () => {
        productRowCount += 1;
        if (productRowCount % 250_000 === 0) log.info({ rows: productRowCount }, 'demo: products written');
      }),
    );

    log.info({}, 'demo: writing stocks');
    let firstId: string | null = null;
    const stocks = function* () {
      for (const r of stockRows(seed, count, tree.types)) {
        firstId ??= r[0]!;
        yield r;
      }
      yield* plantedStockRows(firstId!);
    };
    await copyRows(
      client,
      `${s}.product_stocks (${STOCK_COLUMNS.join(', ')})`,
      counted(stocks(), () => (stockRowCount += 1)),
    );

    log.info({}, 'demo: indexing');
    for (const ddl of INDEXES(s)) await client.query(ddl);
    await client.query(`analyze ${s}.categories, ${s}.warehouses, ${s}.products, ${s}.product_stocks`);
  });

  const summary: DemoSummary = {
    schema: options.schema,
    products: count,
    productRows: productRowCount,
    stockRows: stockRowCount,
    categories: tree.categories.length + PLANTED_CATEGORIES.length,
    warehouses: WAREHOUSES.length,
    invalidRows: PLANTED_ROWS.length,
    seconds: Math.round(performance.now() - started) / 1000,
  };
  log.info(
    { productRows: productRowCount, stockRows: stockRowCount, seconds: summary.seconds },
    'demo store seeded',
  );
  return summary;
}

/** null when `schema.products` does not exist, else its row count. */
export async function demoProductCount(pool: pg.Pool, schema: string): Promise<number | null> {
  const { rows } = await pool.query<{ rel: string | null }>('select to_regclass($1)::text as rel', [
    `${quoteIdent(schema)}.products`,
  ]);
  if (!rows[0]?.rel) return null;
  const counted = await pool.query<{ n: string }>(`select count(*) as n from ${quoteIdent(schema)}.products`);
  return Number(counted.rows[0]!.n);
}
