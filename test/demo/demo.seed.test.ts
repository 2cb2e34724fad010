import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRows } from '../../src/demo/demo.copy.ts';
import { buildCategoryTree } from '../../src/demo/demo.catalog.ts';
import { PLANTED_ROWS } from '../../src/demo/demo.invalid.ts';
import { PRODUCT_COLUMNS, productRows } from '../../src/demo/demo.products.ts';
import { DEMO_MARKER, demoProductCount, seedDemo, type DemoSummary } from '../../src/demo/demo.seed.ts';
import { AppError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const N = 2000;
let db: TestDatabase;
let summary: DemoSummary;

/** One md5 over every row of the four tables, in a stable order. */
async function fingerprint(schema: string): Promise<string> {
  const parts: string[] = [];
  for (const table of ['categories', 'warehouses', 'products', 'product_stocks']) {
    const { rows } = await db.pool.query<{ h: string }>(
      `select md5(string_agg(t::text, E'\\n' order by t::text collate "C")) as h from "${schema}".${table} t`,
    );
    parts.push(rows[0]!.h);
  }
  return parts.join(':');
}

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
  summary = await seedDemo(db.pool, { schema: 'store', products: N }, silentLogger);
});
afterAll(async () => {
  await db?.drop();
});

describe('seedDemo', () => {
  it('reports and writes the requested products plus the fixed planted rows', async () => {
    const planted = PLANTED_ROWS.filter((r) => r.relation === 'products').length;
    expect(summary).toMatchObject({ schema: 'store', products: N, productRows: N + planted, warehouses: 5 });
    expect(summary.invalidRows).toBe(PLANTED_ROWS.length);
    const { rows } = await db.pool.query(
      `select (select count(*) from store.products)::int as products,
              (select count(*) from store.product_stocks)::int as stocks,
              (select count(*) from store.categories)::int as categories,
              (select count(*) from store.warehouses)::int as warehouses`,
    );
    expect(rows[0]).toEqual({
      products: summary.productRows,
      stocks: summary.stockRows,
      categories: summary.categories,
      warehouses: 5,
    });
    expect(summary.categories).toBeGreaterThanOrEqual(180);
    expect(summary.categories).toBeLessThanOrEqual(240);
    expect(summary.stockRows / N).toBeGreaterThan(2.8);
    expect(summary.stockRows / N).toBeLessThan(3.2);
    expect(await demoProductCount(db.pool, 'store')).toBe(summary.productRows);
    expect(await demoProductCount(db.pool, 'no_such_schema')).toBeNull();
  });

  it('generates products that follow the ID contract, with groups, discounts and 2-4 warehouses each', async () => {
    const { rows } = await db.pool.query(
      `with p as (select * from store.products where id::bigint between 100000 and 900000000 and id ~ '^[1-9][0-9]*$')
       select (select count(*) from p)::int as valid,
              (select count(distinct id) from p)::int as distinct_ids,
              (select avg((group_id is not null)::int) from p)::float as grouped,
              (select avg((old_price is not null)::int) from p)::float as discounted,
              (select bool_and(old_price > price) from p) as old_above_price,
              (select avg(available::int) from p)::float as available,
              (select bool_and(length(description) between 100 and 400) from p) as description_length,
              (select bool_and(description !~ '[\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f]') from p) as no_control_chars,
              (select bool_and(cardinality(category_ids) between 1 and 2) from p) as one_or_two_categories,
              (select count(*) from p where description ~ '[&<>"'']' and description ~ '[а-я]')::int as escaped_and_cyrillic,
              (select count(*) from p where params is not null and jsonb_typeof(params) = 'array')::int as params_array,
              (select count(*) from p where params is not null and jsonb_typeof(params) = 'object')::int as params_object,
              (select count(*) from p where g.group_id is not null and not exists
                 (select 1 from p q where q.id = g.group_id and q.group_id = g.group_id))::int as group_id_outside
         from p g limit 1`,
    );
    const r = rows[0];
    expect(r.valid).toBe(N);
    expect(r.distinct_ids).toBe(N);
    expect(r.grouped).toBeGreaterThan(0.2);
    expect(r.grouped).toBeLessThan(0.4);
    expect(r.discounted).toBeGreaterThan(0.12);
    expect(r.discounted).toBeLessThan(0.28);
    expect(r.old_above_price).toBe(true);
    expect(r.available).toBeGreaterThan(0.85);
    expect(r.description_length).toBe(true);
    expect(r.no_control_chars).toBe(true);
    expect(r.one_or_two_categories).toBe(true);
    expect(r.escaped_and_cyrillic).toBeGreaterThan(0);
    expect(r.params_array).toBeGreaterThan(0);
    expect(r.params_object).toBeGreaterThan(0);
    expect(r.group_id_outside).toBe(0);
    const stocks = await db.pool.query(
      `select min(n)::int as min, max(n)::int as max from
         (select count(*) as n from store.product_stocks where warehouse_id <> 'kazan' group by product_id) s`,
    );
    expect(stocks.rows[0]).toEqual({ min: 2, max: 4 });
    const leaves = await db.pool.query(
      `select count(*)::int as n from store.products p, unnest(p.category_ids) c(id)
        where p.id ~ '^1' and exists (select 1 from store.categories k where k.parent_id = c.id)`,
    );
    expect(leaves.rows[0].n).toBe(0);
  });

  it('contains every planted invalid row', async () => {
    const ids = PLANTED_ROWS.filter((r) => r.relation === 'products').map((r) => r.key);
    const products = await db.pool.query<{ id: string }>('select id from store.products where id = any($1)', [
      ids,
    ]);
    expect(products.rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    const cats = await db.pool.query(
      'select id::text, parent_id::text from store.categories where id in (9901, 9902, 9903) order by id',
    );
    expect(cats.rows).toEqual([
      { id: '9901', parent_id: '9902' },
      { id: '9902', parent_id: '9901' },
      { id: '9903', parent_id: '8888' },
    ]);
    const facts = await db.pool.query(
      `select (select count(*) from store.product_stocks s where not exists
                 (select 1 from store.warehouses w where w.id = s.warehouse_id))::int as unknown_warehouse,
              (select price::text from store.products where id = '990000004') as zero_price,
              (select picture_url from store.products where id = '990000005') as picture,
              (select length(url) from store.products where id = '990000007') as long_url,
              (select length(name) from store.products where id = '990000013') as long_name,
              (select description ~ '\\x01' and description ~ '\\x0b' from store.products where id = '990000014') as control,
              (select group_id from store.products where id = '990000015') as group_id`,
    );
    expect(facts.rows[0]).toEqual({
      unknown_warehouse: 1,
      zero_price: '0',
      picture: null,
      long_url: expect.any(Number),
      long_name: expect.any(Number),
      control: true,
      group_id: '990000013',
    });
    expect(facts.rows[0].long_url).toBeGreaterThan(512);
    expect(facts.rows[0].long_name).toBeGreaterThan(120);
  });

  it('round-trips every generated field exactly through COPY (backslash, tab, newline, emoji, NULL)', async () => {
    const tree = buildCategoryTree();
    const expected = [...productRows(42, N, tree.types, tree.typesByDepartment)];
    const cols = PRODUCT_COLUMNS.filter(
      (c) => c !== 'params' && c !== 'updated_at' && c !== 'price' && c !== 'old_price',
    );
    const { rows } = await db.pool.query(
      `select ${cols.map((c) => `${c}::text`).join(', ')}, price::text, old_price::text from store.products
        where id ~ '^1' order by id collate "C"`,
    );
    expect(rows).toHaveLength(N);
    const byId = new Map(expected.map((e) => [e[0], e]));
    for (const row of rows) {
      const e = byId.get(row.id)!;
      for (const c of [...cols, 'price', 'old_price']) {
        const value = e[PRODUCT_COLUMNS.indexOf(c as never)];
        expect(row[c], c).toBe(c === 'available' ? (value === 't' ? 'true' : 'false') : value);
      }
    }
    expect(expected.some((e) => /[\\\n\t]/.test(e[12] ?? ''))).toBe(true);
  });

  it('round-trips special strings in a plain COPY, keeping the text \\N apart from NULL', async () => {
    const values = ['a\\b', 'tab\there', 'line\nbreak', 'cr\r\n', '\\N', 'emoji 🚚 кириллица', '', null];
    const client = await db.pool.connect();
    try {
      await client.query('create temp table copy_probe (n int, v text)');
      await copyRows(
        client,
        'copy_probe (n, v)',
        values.map((v, i) => [String(i), v]),
      );
      const { rows } = await client.query('select v from copy_probe order by n');
      expect(rows.map((r) => r.v)).toEqual(values);
    } finally {
      client.release();
    }
  });

  it('gives the same rows for the same seed and different rows for another seed', async () => {
    await seedDemo(db.pool, { schema: 'store_again', products: N }, silentLogger);
    await seedDemo(db.pool, { schema: 'store_other', products: N, seed: 7 }, silentLogger);
    const [a, b, c] = await Promise.all([
      fingerprint('store'),
      fingerprint('store_again'),
      fingerprint('store_other'),
    ]);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it('re-seeds its own schema in place (the marker allows it)', async () => {
    await seedDemo(db.pool, { schema: 'store_again', products: 50, seed: 3 }, silentLogger);
    expect(await demoProductCount(db.pool, 'store_again')).toBe(50 + 14);
    const { rows } = await db.pool.query(
      "select obj_description('store_again'::regnamespace, 'pg_namespace') as c",
    );
    expect(rows[0].c).toBe(DEMO_MARKER);
  });

  it('refuses to drop a schema it did not create, and leaves it untouched', async () => {
    await db.pool.query(
      'create schema shop; create table shop.products (id text); insert into shop.products values ($$42$$)',
    );
    const err = await seedDemo(db.pool, { schema: 'shop', products: 10 }, silentLogger).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('demo.schema_not_demo');
    expect((err as AppError).exitCode).toBe(2);
    const { rows } = await db.pool.query('select id from shop.products');
    expect(rows).toEqual([{ id: '42' }]);
  });

  it('fills an existing empty schema', async () => {
    await db.pool.query('create schema empty_shop');
    await seedDemo(db.pool, { schema: 'empty_shop', products: 10 }, silentLogger);
    expect(await demoProductCount(db.pool, 'empty_shop')).toBe(10 + 14);
  });
});
