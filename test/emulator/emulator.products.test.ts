import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/index.ts';
import { h2Transport, http1Transport, P, startTestEmulator, type Transport } from './emulator.helpers.ts';

let emu: EmulatorHandle;
let h2: ReturnType<typeof h2Transport>;
let h1: Transport;

beforeAll(async () => {
  emu = await startTestEmulator();
  h2 = h2Transport(emu);
  h1 = http1Transport(emu);
});
afterAll(async () => {
  h2.close();
  await emu.stop();
});
beforeEach(() => emu.reset());

const product = (id: number, extra: Record<string, unknown> = {}) => ({
  id,
  name: `Chef knife ${id}`,
  price: 49.9,
  oldPrice: 59.9,
  url: `https://shop.example/p/${id}`,
  pictureUrl: `https://shop.example/img/${id}.jpg`,
  isAvailable: true,
  categoryPaths: ['Kitchen/Knives'],
  vendor: 'Acme',
  params: { Material: 'Steel' },
  ...extra,
});
const productPath = (id: number | string, query = `?apiKey=${P.apiKey}`) =>
  `/api/1.0/partner/${P.partnerId}/products/${id}${query}`;
const items = async (ids: string, stock?: string) =>
  h2(
    'GET',
    `/api/1.0/partner/${P.partnerId}/items/?itemsIds=${ids}${stock ? `&stock=${encodeURIComponent(stock)}` : ''}`,
  );

describe('Product API', () => {
  it('upserts a product that the items lookup then returns with PascalCase fields', async () => {
    const res = await h2('POST', productPath(700123), { body: product(700123) });
    expect(res.status).toBe(200);
    const lookup = await items('700123,999');
    expect(lookup.status).toBe(200);
    expect(lookup.json).toEqual([
      expect.objectContaining({
        ItemId: 700123,
        Name: 'Chef knife 700123',
        Price: 49.9,
        OldPrice: 59.9,
        Url: 'https://shop.example/p/700123',
        PictureUrl: 'https://shop.example/img/700123.jpg',
        IsAvailable: true,
        Vendor: 'Acme',
        GroupId: null,
        CategoryPaths: ['Kitchen/Knives'],
        Params: { Material: 'Steel' },
      }),
    ]);
  });

  it('replaces the whole record on a second upsert (omitted optional fields are cleared)', async () => {
    await h1('POST', productPath(5), { body: product(5) });
    const { vendor: _v, oldPrice: _o, ...rest } = product(5, { price: 30 });
    await h1('POST', productPath(5), { body: rest });
    const [item] = (await items('5')).json;
    expect(item).toMatchObject({ Price: 30, OldPrice: 0, Vendor: null });
  });

  it('keeps per-warehouse overrides from a stockId upsert, used by the lookup with stock=', async () => {
    await h2('POST', productPath(6), { body: product(6) });
    const stockRes = await h2(
      'POST',
      productPath(6, `?stockId=${encodeURIComponent('Москва')}&apiKey=${P.apiKey}`),
      {
        body: product(6, { price: 45, isAvailable: false }),
      },
    );
    expect(stockRes.status).toBe(200);
    expect((await items('6')).json[0]).toMatchObject({ Price: 49.9, IsAvailable: true });
    expect((await items('6', 'Москва')).json[0]).toMatchObject({
      Price: 45,
      IsAvailable: false,
      Regions: ['Москва'],
    });
  });

  it('upserts a group: every member carries the group id and inherits the group fields', async () => {
    const body = {
      groupId: 7001,
      name: 'Chef knife',
      price: 40,
      url: 'https://shop.example/g/7001',
      pictureUrl: 'https://shop.example/img/g7001.jpg',
      isAvailable: true,
      categoryPaths: ['Kitchen/Knives'],
      products: {
        '700124': { isAvailable: true, name: 'Chef knife, red', color: 'red', price: 41 },
        '700125': { isAvailable: false, size: 'XL' },
      },
    };
    const res = await h1('POST', `/api/1.0/partner/${P.partnerId}/productsgroup/7001`, { body });
    expect(res.status).toBe(200);
    const found = (await items('700124,700125')).json;
    expect(found).toEqual([
      expect.objectContaining({
        ItemId: 700124,
        GroupId: 7001,
        Name: 'Chef knife, red',
        Price: 41,
        Color: 'red',
      }),
      expect.objectContaining({
        ItemId: 700125,
        GroupId: 7001,
        Name: 'Chef knife',
        Price: 40,
        IsAvailable: false,
        Size: 'XL',
      }),
    ]);
    const log = (await h1('GET', '/__emulator/upserts')).json;
    expect(log.upserts[0]).toMatchObject({
      kind: 'group',
      id: '7001',
      productIds: ['700124', '700125'],
      stockId: null,
    });
  });

  it('answers 401 for a wrong apiKey and for an unknown partner', async () => {
    expect((await h1('POST', productPath(7, '?apiKey=wrong'), { body: product(7) })).status).toBe(401);
    const unknown = await h1('POST', `/api/1.0/partner/000000000000000000000000/products/7`, {
      body: product(7),
    });
    expect(unknown.status).toBe(401);
  });

  it('accepts a post without apiKey like the SDK’s public posts (documented choice)', async () => {
    const res = await h1('POST', productPath(8, '?contentHash=123'), { body: product(8) });
    expect(res.status).toBe(200);
  });

  it('refuses a post without apiKey when productApiAllowMissingKey is off', async () => {
    const strictKey = await startTestEmulator({ behaviour: { productApiAllowMissingKey: false } });
    try {
      const res = await http1Transport(strictKey)('POST', productPath(8, ''), { body: product(8) });
      expect(res.status).toBe(401);
    } finally {
      await strictKey.stop();
    }
  });

  it('answers 400 naming the field and the rule', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [product(9, { id: 10 }), 'id', 'matches_path'],
      [product(9, { name: 'n'.repeat(121) }), 'name', 'max_length_120'],
      [product(9, { price: 0 }), 'price', 'number_gt_0'],
      [product(9, { url: '/p/9' }), 'url', 'absolute_url'],
      [product(9, { isAvailable: 'True' }), 'isAvailable', 'boolean'],
      [product(9, { categoryPaths: [] }), 'categoryPaths', 'string_array'],
      [product(9, { colour: 'red' }), 'colour', 'unknown_field'],
      [product(9, { stockId: 'x'.repeat(51) }), 'stockId', 'max_length_50'],
      [product(9, { params: { weight: 250 } }), 'params.weight', 'string'],
    ];
    for (const [body, field, rule] of cases) {
      const res = await h2('POST', productPath(9), { body });
      expect(res.status, field).toBe(400);
      expect(res.json).toMatchObject({ field, rule });
    }
    const badPath = await h2('POST', productPath('SKU-1'), { body: product(1) });
    expect(badPath.json).toMatchObject({ field: 'productId', rule: 'integer_id' });
    expect((await items('')).status).toBe(400);
    expect((await items('1,abc')).json).toMatchObject({ field: 'itemsIds', rule: 'integer_id' });
  });

  it('answers the items lookup for an unknown partner with 404 and sends CORS headers', async () => {
    expect((await h1('GET', '/api/1.0/partner/000000000000000000000000/items/?itemsIds=1')).status).toBe(404);
    const res = await h1('GET', `/api/1.0/partner/${P.partnerId}/items/?itemsIds=1`, {
      headers: { origin: 'https://shop.example' },
    });
    expect(res.headers['access-control-allow-origin']).toBe('https://shop.example');
    expect(res.json).toEqual([]);
  });
});
