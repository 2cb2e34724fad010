import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { XMLParser } from 'fast-xml-parser';
import { to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRows, type CopyRow } from '../../src/catalog/copy-text.ts';
import { loadConfig } from '../../src/config.ts';
import { runFeedJob, type FeedSummary } from '../../src/feed/feed.job.ts';
import { AppError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { REASON_CODES, type ReasonCode } from '../../src/validation/validation.codes.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createStore, product, type StoreFixture } from '../feed/store.fixture.ts';

// design §4 end to end against real PostgreSQL: one fixture row (or a few) per reason code,
// validated by `runFeedJob({ validateOnly: true })`, then built into a real feed to see which
// offers and <stock> blocks survive.

interface ReportIssue {
  severity: 'error' | 'warning';
  code: ReasonCode;
  entity: string;
  id: string | null;
  warehouseId?: string | null;
  field?: string;
  value?: string | null;
}
interface ReportJson {
  status: string;
  codes: Record<string, { severity: string; count: number; description: string }>;
  issues: ReportIssue[];
}

const LONG_URL = `https://shop.example/${'x'.repeat(600)}`;
const U_FFFF = '\uffff';

const CATEGORIES: StoreFixture['categories'] = [
  { id: '1', parent_id: null, name: 'Kitchen' },
  { id: '2', parent_id: '1', name: 'Knives' },
  { id: '3', parent_id: '1', name: 'Pans\u0001' }, // category.text.invalid_chars, kept as "Pans"
  { id: '4', parent_id: '1', name: 'Pots/Lids' }, // category.name.slash, kept
  { id: null, name: 'no id' }, // category.id.missing
  { id: 'c7', name: 'letters' }, // category.id.not_integer
  { id: '010', name: 'zero' }, // category.id.leading_zero
  { id: '9007199254740992', name: 'big' }, // category.id.out_of_range
  { id: '20', name: 'twin a' }, // category.id.duplicate (both rows)
  { id: '20', name: 'twin b' },
  { id: '21', name: '   ' }, // category.name.missing
  { id: '30', parent_id: '999', name: 'orphan' }, // category.parent.missing
  { id: '31', parent_id: '30', name: 'below orphan' }, // category.parent.rejected
  { id: '32', parent_id: '31', name: 'further below' }, // category.parent.rejected
  { id: '42', parent_id: '40', name: 'below cycle' }, // category.parent.rejected
  { id: '40', parent_id: '41', name: 'cycle a' }, // category.cycle
  { id: '41', parent_id: '40', name: 'cycle b' }, // category.cycle
  { id: '43', parent_id: '43', name: 'own parent' }, // category.cycle
  { id: '50', parent_id: 'abc', name: 'bad parent id' }, // category.parent.missing
];

const WAREHOUSES: StoreFixture['warehouses'] = [
  { id: 'north' },
  { id: 'south' },
  { id: 'north', name: 'North again' }, // warehouse.id.duplicate (kept once)
  { id: ' west' }, // warehouse.id.invalid (edge space)
  { id: 'x'.repeat(51) }, // warehouse.id.invalid (too long)
  { id: 'e\u0001' }, // warehouse.id.invalid (control character)
  { id: `w${U_FFFF}` }, // warehouse.id.invalid (XML cannot carry it)
  { id: null }, // warehouse.id.invalid
];

const PRODUCTS = [
  product('100'),
  // Errors: the product is left out.
  product(null), // product.id.missing
  product('p1'), // product.id.not_integer
  product('0101'), // product.id.leading_zero
  product('9007199254740992'), // product.id.out_of_range
  product('102'), // product.id.duplicate: three rows, all left out
  product('102', { name: 'second' }),
  product('102', { name: 'third' }),
  product('103', { group_id: 'g1' }), // product.group_id.invalid
  product('104', { name: '  ' }), // product.name.missing
  product('106', { url: null }), // product.url.missing
  product('107', { url: 'ftp://shop.example/p/107' }), // product.url.invalid
  product('108', { url: LONG_URL }), // product.url.too_long
  product('109', { url: `https://shop.example/p/${U_FFFF}` }), // product.url.invalid
  product('110', { picture_url: null }), // product.picture.missing
  product('111', { picture_url: '/img/111.jpg' }), // product.picture.invalid
  product('112', { picture_url: LONG_URL }), // product.picture.too_long
  product('113', { price: null }), // product.price.missing
  product('114', { price: 'abc' }), // product.price.invalid
  product('115', { price: '0' }), // product.price.not_positive
  product('116', { price: '-5' }), // product.price.not_positive
  product('117', { available: 'yes' }), // product.available.invalid
  product('118', { available: null }), // product.available.invalid
  product('119', { category_ids: '{}' }), // product.category.missing
  product('120', { category_ids: null }), // product.category.missing
  product('121', { category_ids: '{30,999}' }), // 2x product.category.unknown + none_valid
  product('122', { category_ids: '{42}' }), // unknown + none_valid (below a cycle)
  // Warnings: the product is kept.
  product('123', { category_ids: '{3,40}' }), // product.category.unknown (40), kept in 3
  product('130', { category_ids: '{2,999}' }), // product.category.unknown (999)
  product('131', { old_price: '5' }), // product.old_price.not_greater
  product('132', { old_price: '10.50' }), // product.old_price.not_greater
  product('133', { old_price: 'abc' }), // product.old_price.invalid
  product('134', { old_price: '-1' }), // product.old_price.not_greater
  product('135', { old_price: '020.00' }), // kept as <oldprice>20.00</oldprice>
  product('136', { name: 'n'.repeat(121) }), // product.name.too_long
  product('137', { name: '😀'.repeat(120) }), // 120 code points: no warning
  product('139', { params: '{"size": {"w": 1}}' }), // product.params.invalid
  product('140', { params: '[{"name": "Color", "value": "red"}, 5]' }), // product.params.invalid
  product('141', { params: '"just text"' }), // product.params.invalid
  product('142', { description: 'bad\u0001text' }), // product.text.invalid_chars
  product('143', { params: '[{"name": "a\\u0001", "value": "v"}]' }), // product.text.invalid_chars
  product('150', { group_id: '151' }), // group.id_is_product_id
  product('151'),
  product('152', { group_id: '160' }),
  product('153', { group_id: '160' }),
  // Stock rows (below): errors drop only that <stock> block.
  product('200'),
  product('201'),
  product('202'),
  product('203'),
  product('204'),
];

const STOCKS: StoreFixture['stocks'] = [
  { product_id: '200', warehouse_id: 'north', available: 'true' },
  { product_id: '200', warehouse_id: 'nowhere', available: 'true' }, // stock.unknown_warehouse
  { product_id: '200', warehouse_id: ' west', available: 'true' }, // stock.unknown_warehouse
  { product_id: '200', warehouse_id: null, available: 'true' }, // stock.unknown_warehouse
  { product_id: '200', warehouse_id: 'south', available: 'maybe' }, // stock.available.invalid
  { product_id: '201', warehouse_id: 'north', available: 'true' }, // stock.duplicate
  { product_id: '201', warehouse_id: 'north', available: 'false' }, // stock.duplicate
  { product_id: '201', warehouse_id: 'south', available: 'true', price: '0' }, // stock.price.invalid
  { product_id: '202', warehouse_id: 'north', available: 'true', url: 'nope' }, // stock.url.invalid
  {
    product_id: '202',
    warehouse_id: 'south',
    available: 'true',
    picture_url: `https://shop.example/${U_FFFF}`,
  }, // stock.picture.invalid
  { product_id: '203', warehouse_id: 'north', available: 'true', old_price: '1' }, // stock.old_price.not_greater
  { product_id: '203', warehouse_id: 'south', available: 'false', name: 'S\u0001' }, // stock.text.invalid_chars
  { product_id: '204', warehouse_id: 'north', available: 'true', price: '5', old_price: '6' },
  { product_id: '103', warehouse_id: 'north', available: 'true' }, // product left out: silently gone
  { product_id: '998', warehouse_id: 'north', available: 'true' }, // stock.unknown_product
  { product_id: '999', warehouse_id: 'south', available: 'true' }, // stock.unknown_product
];

/** Every code, the exact offending ids (for stocks `product/warehouse`), sorted. */
const EXPECTED: Record<ReasonCode, (string | null)[]> = {
  'product.id.missing': [null],
  'product.id.not_integer': ['p1'],
  'product.id.leading_zero': ['0101'],
  'product.id.out_of_range': ['9007199254740992'],
  'product.id.duplicate': ['102', '102', '102'],
  'product.group_id.invalid': ['103'],
  'product.name.missing': ['104'],
  'product.url.missing': ['106'],
  'product.url.invalid': ['107', '109'],
  'product.url.too_long': ['108'],
  'product.picture.missing': ['110'],
  'product.picture.invalid': ['111'],
  'product.picture.too_long': ['112'],
  'product.price.missing': ['113'],
  'product.price.invalid': ['114'],
  'product.price.not_positive': ['115', '116'],
  'product.available.invalid': ['117', '118'],
  'product.category.missing': ['119', '120'],
  'product.category.none_valid': ['121', '122'],
  'product.category.unknown': ['121', '121', '122', '123', '130'],
  'product.old_price.not_greater': ['131', '132', '134'],
  'product.old_price.invalid': ['133'],
  'product.name.too_long': ['136'],
  'product.params.invalid': ['139', '140', '141'],
  'product.text.invalid_chars': ['142', '143'],
  'group.id_is_product_id': ['150'],
  'category.id.missing': [null],
  'category.id.not_integer': ['c7'],
  'category.id.leading_zero': ['010'],
  'category.id.out_of_range': ['9007199254740992'],
  'category.id.duplicate': ['20', '20'],
  'category.name.missing': ['21'],
  'category.parent.missing': ['30', '50'],
  'category.parent.rejected': ['31', '32', '42'],
  'category.cycle': ['40', '41', '43'],
  'category.text.invalid_chars': ['3'],
  'category.name.slash': ['4'],
  'warehouse.id.invalid': [null, ' west', 'e\u0001', `w${U_FFFF}`, 'x'.repeat(51)],
  'warehouse.id.duplicate': ['north'],
  'stock.unknown_warehouse': ['200/ west', '200/nowhere', '200/null'],
  'stock.duplicate': ['201/north', '201/north'],
  'stock.available.invalid': ['200/south'],
  'stock.price.invalid': ['201/south'],
  'stock.url.invalid': ['202/north'],
  'stock.picture.invalid': ['202/south'],
  'stock.old_price.not_greater': ['203/north'],
  'stock.text.invalid_chars': ['203/south'],
  'stock.unknown_product': ['998/north', '999/south'],
};

// prettier-ignore
const KEPT_OFFERS = [
  '100', '123', '130', '131', '132', '133', '134', '135', '136', '137', '139', '140', '141', '142', '143',
  '150', '151', '152', '153', '200', '201', '202', '203', '204',
];

const sortIds = (ids: (string | null)[]) =>
  [...ids].sort((a, b) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1));

function issueKey(i: ReportIssue): string | null {
  return i.entity === 'stock' && i.id !== null ? `${i.id}/${i.warehouseId}` : i.id;
}

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  isArray: (name) => ['category', 'offer', 'categoryId', 'param', 'stock'].includes(name),
});

interface XmlOffer {
  '@id': string;
  price: string;
  oldprice?: string;
  name: string;
  description?: string;
  categoryId: string[];
  param?: { '@name': string; '#text': string }[];
  stock?: { '@id': string; available?: string; price?: string; oldprice?: string; name?: string }[];
}

let db: TestDatabase;
const dirs: string[] = [];

async function run(schema: string, options: { validateOnly?: boolean } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'rr-validation-'));
  dirs.push(dir);
  const config = loadConfig({ DATABASE_URL: db.url, FEEDS_DIR: dir, CATALOG_SCHEMA: schema });
  const summary = await runFeedJob(
    { catalog: db.pool, state: db.pool, config, logger: silentLogger },
    { validateOnly: options.validateOnly ?? true },
  );
  const report = JSON.parse(await readFile(summary.reportPath, 'utf8')) as ReportJson;
  return { summary, report, dir };
}

async function runError(schema: string): Promise<AppError> {
  const err = await run(schema).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

beforeAll(async () => {
  db = await createTestDatabase();
  await createStore(db.pool, {
    categories: CATEGORIES,
    warehouses: WAREHOUSES,
    products: PRODUCTS,
    stocks: STOCKS,
  });
});

afterAll(async () => {
  await db?.drop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('validation report (validate only)', () => {
  let summary: FeedSummary;
  let report: ReportJson;
  beforeAll(async () => {
    ({ summary, report } = await run('store'));
  });

  it('lists every reason code the validator knows, and nothing else', () => {
    expect(Object.keys(report.codes).sort()).toEqual(Object.keys(REASON_CODES).sort());
    expect(Object.keys(EXPECTED).sort()).toEqual(Object.keys(REASON_CODES).sort());
  });

  it.each(Object.keys(EXPECTED) as ReasonCode[])('%s: count, severity and the offending ids', (code) => {
    const issues = report.issues.filter((i) => i.code === code);
    expect(sortIds(issues.map(issueKey))).toEqual(sortIds(EXPECTED[code]));
    expect(report.codes[code]).toEqual({
      severity: REASON_CODES[code][0],
      count: EXPECTED[code].length,
      description: REASON_CODES[code][1],
    });
    for (const i of issues) expect(i.severity).toBe(REASON_CODES[code][0]);
  });

  it('counts offers, rejected rows, errors and warnings', () => {
    expect(summary.status).toBe('validated');
    expect(summary.exitCode).toBe(0);
    expect(summary.offers).toBe(KEPT_OFFERS.length);
    expect(summary.productRowsRead).toBe(PRODUCTS.length);
    expect(summary.rejectedProducts).toBe(PRODUCTS.length - KEPT_OFFERS.length);
    expect(summary.categories).toBe(4);
    const count = (sev: string) =>
      Object.entries(EXPECTED)
        .filter(([code]) => REASON_CODES[code as ReasonCode][0] === sev)
        .reduce((n, [, ids]) => n + ids.length, 0);
    expect({ errors: summary.errors, warnings: summary.warnings }).toEqual({
      errors: count('error'),
      warnings: count('warning'),
    });
    expect(report.issues).toHaveLength(count('error') + count('warning'));
  });

  it('names the field and the offending value', () => {
    const find = (code: ReasonCode, id: string) => report.issues.find((i) => i.code === code && i.id === id);
    expect(find('product.price.invalid', '114')).toMatchObject({ field: 'price', value: 'abc' });
    expect(find('category.parent.missing', '30')).toMatchObject({ field: 'parent_id', value: '999' });
    expect(find('group.id_is_product_id', '150')).toMatchObject({ field: 'group_id', value: '151' });
    expect(
      report.issues.filter((i) => i.code === 'product.category.unknown').map((i) => `${i.id}:${i.value}`),
    ).toEqual(expect.arrayContaining(['121:30', '121:999', '122:42', '123:40', '130:999']));
    // Values are cut to 200 characters.
    expect(find('product.url.too_long', '108')?.value).toBe(`${LONG_URL.slice(0, 200)}…`);
    expect(report.issues.filter((i) => i.code === 'stock.unknown_product').map((i) => i.warehouseId)).toEqual(
      ['north', 'south'],
    );
  });
});

describe('the feed built from the same catalog', () => {
  let offers: Map<string, XmlOffer>;
  let categories: { '@id': string; '@parentId'?: string; '#text': string }[];
  let summary: FeedSummary;
  beforeAll(async () => {
    const r = await run('store', { validateOnly: false });
    summary = r.summary;
    const xml = await readFile(path.join(r.dir, 'catalog.xml'), 'utf8');
    const shop = xmlParser.parse(xml).yml_catalog.shop;
    categories = shop.categories.category;
    offers = new Map((shop.offers.offer as XmlOffer[]).map((o) => [o['@id'], o]));
  });

  it('publishes (characters XML cannot carry never reach it)', () => {
    expect(summary.status).toBe('published');
    expect(summary.offers).toBe(KEPT_OFFERS.length);
  });

  it('holds exactly the offers without errors: warnings keep the item', () => {
    expect([...offers.keys()].sort()).toEqual([...KEPT_OFFERS].sort());
  });

  it('holds only the valid categories, cleaned', () => {
    expect(categories.map((c) => [c['@id'], c['@parentId'] ?? null, c['#text']])).toEqual([
      ['1', null, 'Kitchen'],
      ['2', '1', 'Knives'],
      ['3', '1', 'Pans'],
      ['4', '1', 'Pots/Lids'],
    ]);
  });

  it('applies the warning fixes to the kept offers', () => {
    expect(offers.get('123')!.categoryId).toEqual(['3']);
    expect(offers.get('130')!.categoryId).toEqual(['2']);
    for (const id of ['131', '132', '133', '134']) expect(offers.get(id)!.oldprice).toBeUndefined();
    expect(offers.get('135')!.oldprice).toBe('20');
    expect(offers.get('136')!.name).toBe('n'.repeat(121));
    expect(offers.get('140')!.param).toEqual([{ '@name': 'Color', '#text': 'red' }]);
    expect(offers.get('142')!.description).toBe('badtext');
    expect(offers.get('143')!.param).toEqual([{ '@name': 'a', '#text': 'v' }]);
  });

  it('drops only the bad <stock> blocks', () => {
    const stocks = (id: string) => offers.get(id)!.stock ?? [];
    expect(stocks('200')).toEqual([{ '@id': 'north', available: 'true' }]);
    expect(stocks('201')).toEqual([]);
    expect(stocks('202')).toEqual([]);
    expect(stocks('203')).toEqual([
      { '@id': 'north', available: 'true' },
      { '@id': 'south', available: 'false', name: 'S' },
    ]);
    expect(stocks('204')).toEqual([{ '@id': 'north', available: 'true', price: '5', oldprice: '6' }]);
    expect(summary.stockBlocks).toBe(4);
  });
});

describe('catalog column types', () => {
  beforeAll(async () => {
    await db.pool.query(`
      create schema store_big;
      create table store_big.categories (id numeric, parent_id bigint, name text);
      create table store_big.warehouses (id text, name text);
      create table store_big.products (id bigint, group_id bigint, name text, url text, picture_url text,
        price numeric(12, 2), old_price numeric, available boolean, category_ids bigint[]);
      create table store_big.product_stocks (product_id bigint, warehouse_id text, available boolean,
        price numeric);
      insert into store_big.categories values (1, null, 'Root'), (10, 1, 'Ten'), (2.5, 1, 'Decimal');
      insert into store_big.warehouses values ('north', 'North');
      insert into store_big.products
        select id, case when id = 10 then 9 end, 'P' || id, 'https://shop.example/p/' || id,
               'https://shop.example/i/' || id, 19.9, null, true, array[10, 1]
          from unnest(array[9, 10, 100, 9007199254740991, 9007199254740992, 0, -5]::bigint[]) as id;
      insert into store_big.product_stocks values
        (9, 'north', true, 5), (10, 'north', false, null), (100, 'north', true, 7.50), (11, 'north', true, null);
    `);
  });

  it('reads bigint and numeric id columns as text and validates them', async () => {
    const { summary, report } = await run('store_big', { validateOnly: false });
    const ids = (code: ReasonCode) => sortIds(report.issues.filter((i) => i.code === code).map(issueKey));
    expect(ids('product.id.out_of_range')).toEqual(['0', '9007199254740992']);
    expect(ids('product.id.not_integer')).toEqual(['-5']);
    expect(ids('category.id.not_integer')).toEqual(['2.5']);
    expect(ids('group.id_is_product_id')).toEqual(['10']);
    expect(Object.keys(report.codes).sort()).toEqual([
      'category.id.not_integer',
      'group.id_is_product_id',
      'product.id.not_integer',
      'product.id.out_of_range',
      'stock.unknown_product',
    ]);
    expect(summary.offers).toBe(4);
    const xml = await readFile(path.join(path.dirname(summary.reportPath), 'catalog.xml'), 'utf8');
    const shop = xmlParser.parse(xml).yml_catalog.shop;
    const offers = shop.offers.offer as (XmlOffer & { '@group_id'?: string })[];
    expect(offers.map((o) => [o['@id'], o.price, o.categoryId, o.stock ?? [], o['@group_id']])).toEqual([
      ['10', '19.9', ['10', '1'], [{ '@id': 'north', available: 'false' }], '9'],
      ['100', '19.9', ['10', '1'], [{ '@id': 'north', available: 'true', price: '7.5' }], undefined],
      ['9', '19.9', ['10', '1'], [{ '@id': 'north', available: 'true', price: '5' }], undefined],
      ['9007199254740991', '19.9', ['10', '1'], [], undefined],
    ]);
  });
});

describe('prices computed by a view', () => {
  it('are written and reported in canonical decimal form (issue 10 §5)', async () => {
    // price_cents / 100.0 is numeric with 16 or 20 fractional digits: "9.9000000000000000".
    await db.pool.query(`
      create schema shop_cents;
      create table shop_cents.items (id bigint, price_cents int, list_cents int);
      insert into shop_cents.items values (1, 990, 1200), (2, 1000, 0), (3, 0, null), (4, 1050, 1050);
      create schema store_cents;
      create view store_cents.categories as select 1 as id, null::bigint as parent_id, 'All' as name;
      create view store_cents.warehouses as select 'north' as id, 'North' as name;
      create view store_cents.products as
        select id, null::bigint as group_id, 'P' || id as name, 'https://shop.example/p/' || id as url,
               'https://shop.example/i/' || id as picture_url, price_cents / 100.0 as price,
               nullif(list_cents, 0) / 100.0 as old_price, true as available, array[1] as category_ids
          from shop_cents.items;
      create view store_cents.product_stocks as
        select id as product_id, 'north' as warehouse_id, true as available,
               (price_cents + 5) / 100.0 as price, (price_cents * 2) / 100.0 as old_price
          from shop_cents.items where id = 1;
    `);
    const { summary, report } = await run('store_cents', { validateOnly: false });
    expect(summary.offers).toBe(3);
    const xml = await readFile(path.join(path.dirname(summary.reportPath), 'catalog.xml'), 'utf8');
    expect(xml).not.toMatch(/price>[0-9.]*\.[0-9]*0</);
    const offers = xmlParser.parse(xml).yml_catalog.shop.offers.offer as XmlOffer[];
    expect(offers.map((o) => [o['@id'], o.price, o.oldprice, o.stock ?? []])).toEqual([
      ['1', '9.9', '12', [{ '@id': 'north', available: 'true', price: '9.95', oldprice: '19.8' }]],
      ['2', '10', undefined, []],
      ['4', '10.5', undefined, []],
    ]);
    expect(report.issues.map((i) => [i.code, i.id, i.value])).toEqual([
      ['product.price.not_positive', '3', '0'],
      ['product.old_price.not_greater', '4', '10.5'],
    ]);
  });
});

describe('a store schema that breaks the contract', () => {
  it('stops with catalog.relation_missing (exit 2) naming the relation', async () => {
    await db.pool.query(`
      create schema store_norel;
      create table store_norel.categories (id text, parent_id text, name text);
      create table store_norel.products (id text);
      create table store_norel.product_stocks (product_id text, warehouse_id text, available text);
    `);
    const err = await runError('store_norel');
    expect(err.code).toBe('catalog.relation_missing');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('store_norel.warehouses');
    expect(err.details).toEqual({ relation: 'store_norel.warehouses' });
  });

  it('stops with catalog.column_missing (exit 2) naming the columns', async () => {
    await createStore(db.pool, { products: [product('1')] }, 'store_nocol');
    await db.pool.query('alter table store_nocol.products drop column price, drop column available');
    const err = await runError('store_nocol');
    expect(err.code).toBe('catalog.column_missing');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('store_nocol.products lacks columns price, available');
    expect(err.details).toEqual({ relation: 'store_nocol.products', columns: ['price', 'available'] });
  });

  it('reads a store whose optional columns are absent', async () => {
    await db.pool.query('alter table store_nocol.products add column price text, add column available text');
    await db.pool.query("update store_nocol.products set price = '1', available = 'false'");
    await db.pool.query('alter table store_nocol.products drop column vendor, drop column params');
    const { summary, report } = await run('store_nocol');
    expect(summary.offers).toBe(1);
    expect(report.issues).toEqual([]);
  });
});

describe('COPY text read from PostgreSQL', () => {
  it('gives back exactly the text that was stored, whatever the characters', async () => {
    // Any Unicode text PostgreSQL can store (no NUL; lone surrogates cannot be UTF-8).
    const char = fc.oneof(
      fc.constantFrom(
        '\\',
        '\t',
        '\n',
        '\r',
        '\b',
        '\f',
        '\v',
        '\\N',
        'N',
        ' ',
        '\u0001',
        '\uffff',
        '😀',
        'é',
      ),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    );
    const text = fc
      .string({ unit: char, maxLength: 30 })
      .map((s) => s.replace(/\u0000/g, ''))
      .filter((s) => !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')));
    const rows = fc.array(fc.tuple(fc.option(text, { freq: 5 }), fc.option(text, { freq: 5 })), {
      minLength: 1,
      maxLength: 40,
    });
    await db.pool.query('create table public.copy_round_trip (n int, a text, b text)');
    const client = await db.pool.connect();
    try {
      await fc.assert(
        fc.asyncProperty(rows, async (rs) => {
          await client.query('truncate public.copy_round_trip');
          await client.query(
            'insert into public.copy_round_trip select * from unnest($1::int[], $2::text[], $3::text[])',
            [rs.map((_, i) => i), rs.map((r) => r[0]), rs.map((r) => r[1])],
          );
          const stream = client.query(
            copyTo('COPY (select a, b from public.copy_round_trip order by n) TO STDOUT'),
          );
          const out: CopyRow[] = [];
          for await (const batch of copyRows(stream as AsyncIterable<Buffer>)) out.push(...batch);
          expect(out).toEqual(rs);
        }),
        { numRuns: 15 },
      );
    } finally {
      client.release();
    }
  });
});
