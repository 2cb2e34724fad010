import { describe, expect, it } from 'vitest';
import { P, S } from '../../src/catalog/catalog.reader.ts';
import type { CopyRow } from '../../src/catalog/copy-text.ts';
import { validateProduct, type Offer } from '../../src/validation/product.validator.ts';
import { RunReport } from '../../src/validation/validation.report.ts';

// validateProduct on rows as the reader hands them over (text or NULL per column), for the cases
// the end-to-end fixture does not pin: list formats, params cleaning, stock price fallbacks.

type Fields = Partial<Record<keyof typeof P, string | null>>;

function row(id: string | null, f: Fields = {}): CopyRow {
  const r: CopyRow = new Array(Object.keys(P).length).fill(null);
  const all: Fields = {
    id,
    name: `Product ${id}`,
    url: `https://shop.example/p/${id}`,
    picture: `https://shop.example/i/${id}.jpg`,
    price: '10.50',
    available: 'true',
    categoryIds: '["2"]',
    ...f,
  };
  for (const [k, v] of Object.entries(all)) r[P[k as keyof typeof P]] = v ?? null;
  return r;
}

function stock(productId: string, warehouseId: string, f: Partial<Record<keyof typeof S, string>> = {}) {
  const r: CopyRow = new Array(Object.keys(S).length).fill(null);
  r[S.productId] = productId;
  r[S.warehouseId] = warehouseId;
  for (const [k, v] of Object.entries(f)) r[S[k as keyof typeof S]] = v;
  return r;
}

function validate(rows: CopyRow[], stocks: CopyRow[] = []) {
  const report = new RunReport(null);
  const offer = validateProduct(
    { rows, stocks },
    {
      categories: new Set(['1', '2', '3']),
      warehouses: new Set(['north', 'south']),
      groupIdCollisions: new Set(),
      report,
    },
  );
  return { offer, codes: report.totals().byCode };
}

describe('validateProduct', () => {
  it.each([
    ['["2", "3"]', ['2', '3']],
    ['{2,3}', ['2', '3']],
    ['2, 3;1', ['2', '3', '1']],
    ['[2, 2, "3"]', ['2', '3']],
    ['3', ['3']],
  ])('reads the category list %j', (list, ids) => {
    expect(validate([row('1', { categoryIds: list })]).offer?.categoryIds).toEqual(ids);
  });

  it.each(['', '  '])('treats an empty group_id (%j) as no group, like NULL', (groupId) => {
    const { offer, codes } = validate([row('1', { groupId })]);
    expect(offer?.groupId).toBeNull();
    expect(codes).toEqual({});
  });

  it('still rejects a group_id that breaks the id rule', () => {
    expect(validate([row('1', { groupId: 'G-1' })]).codes).toEqual({ 'product.group_id.invalid': 1 });
  });

  it('rejects a category list that is not a list', () => {
    const { offer, codes } = validate([row('1', { categoryIds: '[2' })]);
    expect(offer).toBeNull();
    expect(codes).toEqual({ 'product.category.missing': 1 });
  });

  it('drops a param whose name or unit is nothing but characters XML forbids', () => {
    const params = JSON.stringify([
      { name: '\u0001', value: 'gone' },
      { name: 'Weight', value: '1', unit: '\u0002' },
      { name: 'Color \u0001', value: 're\u0001d' },
      { name: 'Size', value: 'L', unit: 'cm' },
    ]);
    const { offer, codes } = validate([row('1', { params })]);
    expect(offer?.params).toEqual([
      { name: 'Color', value: 'red' },
      { name: 'Size', value: 'L', unit: 'cm' },
    ]);
    expect(codes).toEqual({ 'product.params.invalid': 1, 'product.text.invalid_chars': 1 });
  });

  it('keeps params given as an object, skipping NULL values', () => {
    const { offer, codes } = validate([row('1', { params: '{"Color": "red", "Size": 42, "X": null}' })]);
    expect(offer?.params).toEqual([
      { name: 'Color', value: 'red' },
      { name: 'Size', value: '42' },
    ]);
    expect(codes).toEqual({});
  });

  it('compares an old price numerically and keeps it canonical', () => {
    const old = (price: string, oldPrice: string) =>
      validate([row('1', { price, oldPrice })]).offer?.oldPrice ?? null;
    expect(old('10.5', '10.50')).toBeNull();
    expect(old('9.99', '10')).toBe('10');
    expect(old('100', '99.999')).toBeNull();
    expect(old('0.5', '000.51')).toBe('0.51');
  });

  it('compares a stock old price with the stock price, else with the product price', () => {
    const { offer, codes } = validate(
      [row('1', { price: '10' })],
      [
        stock('1', 'north', { available: 'true', price: '5', oldPrice: '6' }),
        stock('1', 'south', { available: 'false', oldPrice: '9' }),
      ],
    );
    expect(offer?.stocks.map((s) => [s.id, s.price, s.oldPrice, s.available])).toEqual([
      ['north', '5', '6', true],
      ['south', null, null, false],
    ]);
    expect(codes).toEqual({ 'stock.old_price.not_greater': 1 });
  });

  it('keeps a stock block whose availability is not overridden (NULL)', () => {
    const { offer, codes } = validate([row('1')], [stock('1', 'north')]);
    expect(offer?.stocks).toEqual([
      {
        id: 'north',
        available: null,
        price: null,
        oldPrice: null,
        url: null,
        picture: null,
        name: null,
        description: null,
      },
    ]);
    expect(codes).toEqual({});
  });

  it('reports every row of a duplicated id and keeps none', () => {
    const { offer, codes } = validate([row('7'), row('7'), row('7', { price: null })]);
    expect(offer).toBeNull();
    expect(codes).toEqual({ 'product.id.duplicate': 3 });
  });

  it('counts a name in code points', () => {
    const name = (n: string) => validate([row('1', { name: n })]).codes;
    expect(name('😀'.repeat(120))).toEqual({});
    expect(name('😀'.repeat(121))).toEqual({ 'product.name.too_long': 1 });
    expect(name(` ${'a'.repeat(120)} `)).toEqual({});
  });

  it('cleans and trims every text field of the offer', () => {
    const { offer, codes } = validate([
      row('1', { name: ' A\u0001 ', vendor: 'V\u0002', model: ' ', typePrefix: 'T', description: '\u0003' }),
    ]);
    expect(offer).toMatchObject<Partial<Offer>>({
      name: 'A',
      vendor: 'V',
      model: null,
      typePrefix: 'T',
      description: null,
    });
    expect(codes).toEqual({ 'product.text.invalid_chars': 3 });
  });
});
