import type pg from 'pg';
import { PRODUCT_COLUMNS, STOCK_COLUMNS } from '../../src/catalog/catalog.schema.ts';

/**
 * A small store schema for feed tests, with text id columns so that any bad value can be stored.
 * Rows are given as partial objects; missing fields take valid defaults.
 */
export interface ProductRow {
  id: string | null;
  group_id?: string | null;
  name?: string | null;
  url?: string | null;
  picture_url?: string | null;
  price?: string | null;
  old_price?: string | null;
  available?: string | null;
  category_ids?: string | null;
  vendor?: string | null;
  model?: string | null;
  type_prefix?: string | null;
  description?: string | null;
  params?: string | null;
}
export interface StockRow {
  product_id: string | null;
  warehouse_id: string | null;
  available?: string | null;
  price?: string | null;
  old_price?: string | null;
  url?: string | null;
  picture_url?: string | null;
  name?: string | null;
  description?: string | null;
}
export interface StoreFixture {
  categories?: { id: string | null; parent_id?: string | null; name?: string | null }[];
  warehouses?: { id: string | null; name?: string }[];
  products?: ProductRow[];
  stocks?: StockRow[];
}

export const DEFAULT_CATEGORIES = [
  { id: '1', parent_id: null, name: 'Kitchen' },
  { id: '2', parent_id: '1', name: 'Knives' },
];
export const DEFAULT_WAREHOUSES = [
  { id: 'north', name: 'North' },
  { id: 'south', name: 'South' },
];

export function product(id: string | null, over: Partial<ProductRow> = {}): ProductRow {
  return {
    id,
    group_id: null,
    name: `Product ${id}`,
    url: `https://shop.example/p/${id}`,
    picture_url: `https://shop.example/img/${id}.jpg`,
    price: '10.50',
    old_price: null,
    available: 'true',
    category_ids: '{2}',
    vendor: null,
    model: null,
    type_prefix: null,
    description: null,
    params: null,
    ...over,
  };
}

/** (Re)create schema `store` holding exactly the given rows. */
export async function createStore(db: pg.Pool, f: StoreFixture, schema = 'store'): Promise<void> {
  await db.query(`drop schema if exists ${schema} cascade`);
  await db.query(`create schema ${schema}`);
  await db.query(`create table ${schema}.categories (id text, parent_id text, name text)`);
  await db.query(`create table ${schema}.warehouses (id text, name text)`);
  await db.query(`create table ${schema}.products (id text, group_id text, name text, url text, picture_url text,
    price text, old_price text, available text, category_ids text[], vendor text, model text, type_prefix text,
    description text, params jsonb, updated_at timestamptz)`);
  await db.query(`create table ${schema}.product_stocks (product_id text, warehouse_id text, available text,
    price text, old_price text, url text, picture_url text, name text, description text)`);
  for (const c of f.categories ?? DEFAULT_CATEGORIES) {
    await db.query(`insert into ${schema}.categories values ($1, $2, $3)`, [
      c.id,
      c.parent_id ?? null,
      c.name ?? `Category ${c.id}`,
    ]);
  }
  for (const w of f.warehouses ?? DEFAULT_WAREHOUSES) {
    await db.query(`insert into ${schema}.warehouses values ($1, $2)`, [w.id, w.name ?? String(w.id)]);
  }
  for (const p of f.products ?? []) {
    const values = PRODUCT_COLUMNS.map(
      (c) => (p as unknown as Record<string, string | null | undefined>)[c] ?? null,
    );
    await db.query(
      `insert into ${schema}.products (${PRODUCT_COLUMNS.join(', ')}) values (${PRODUCT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
      values,
    );
  }
  for (const s of f.stocks ?? []) {
    const values = STOCK_COLUMNS.map(
      (c) => (s as unknown as Record<string, string | null | undefined>)[c] ?? null,
    );
    await db.query(
      `insert into ${schema}.product_stocks (${STOCK_COLUMNS.join(', ')}) values (${STOCK_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
      values,
    );
  }
}
