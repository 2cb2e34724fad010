import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/index.ts';
import { RESOURCES } from '../../src/emulator/emulator.recommendations.ts';
import {
  AUTH,
  feedXml,
  h2Transport,
  http1Transport,
  importFeed,
  offer,
  P,
  startTestEmulator,
  track,
  type Transport,
} from './emulator.helpers.ts';

let emu: EmulatorHandle;
let h2: ReturnType<typeof h2Transport>;
let h1: Transport;

beforeAll(async () => {
  emu = await startTestEmulator({ limits: { tracking: 0, recommendations: 0, site: 0 } });
  h2 = h2Transport(emu);
  h1 = http1Transport(emu);
});
afterAll(async () => {
  h2.close();
  await emu.stop();
});

/**
 * Knives (11, under Kitchen 10): 1 and 2 are variants of group 100, 3 is unavailable, 7 is
 * unavailable except in stock "north". Pans (12): 4 is on sale, 5 is unavailable in "north".
 * Garden (20): 6 (vendor Acme).
 */
const CATALOG = feedXml(
  offer('1', { group: '100' }) +
    offer('2', { group: '100' }) +
    offer('3', { available: false }) +
    offer('4', { cat: '12', price: 10, oldprice: 20 }) +
    offer('5', { cat: '12', stocks: '<stock id="north"><available>false</available></stock>' }) +
    offer('6', { cat: '20', vendor: 'Acme' }) +
    offer('7', {
      available: false,
      stocks: '<stock id="north"><available>true</available><price>9</price></stock>',
    }),
);

async function recs(resource: string, query = '', send: Transport = h2) {
  const res = await send('GET', `/api/3.0/${resource}/?${AUTH}&sessionExternalId=rv&${query}`);
  expect(res.status, `${resource} ${JSON.stringify(res.json)}`).toBe(200);
  return { ids: res.json.recommendations.map((r: { productId: number }) => r.productId), res };
}

const order = (sid: string, productId: number, transaction: string) =>
  track(h1, 'order', { sessionExternalId: sid, productId, price: 10, quantity: 1, transaction });

describe('recommendations from catalog and events', () => {
  beforeAll(async () => {
    emu.reset();
    expect((await importFeed(h1, CATALOG)).json.offersAccepted).toBe(7);
    // Popularity: 4 has two orders; 6 and 1 one each (6 also two views); 5 three add-to-baskets.
    await order('a', 4, 'T1');
    await order('a', 6, 'T1');
    await order('b', 4, 'T2');
    await order('b', 1, 'T2');
    for (let i = 0; i < 3; i += 1) await track(h1, 'addToBasket', { sessionExternalId: 'c', productId: 5 });
    for (const id of [1, 6, 6, 5]) await track(h1, 'view', { sessionExternalId: 'v', productId: id });
  });

  it('ranks popular by orders, then add-to-baskets, then views; available only; one per group', async () => {
    expect((await recs('partnerRecommendations/popular')).ids).toEqual([4, 6, 1, 5]);
  });

  it('answers the same over HTTP/1.1, with or without the trailing slash', async () => {
    expect((await recs('partnerRecommendations/popular', '', h1)).ids).toEqual([4, 6, 1, 5]);
    const res = await h1('GET', `/api/3.0/partnerRecommendations/popular?${AUTH}&sessionExternalId=rv`);
    expect(res.json.recommendations.map((r: { productId: number }) => r.productId)).toEqual([4, 6, 1, 5]);
  });

  it('applies the stock override of availability when stockId is given', async () => {
    expect((await recs('partnerRecommendations/popular', 'stockId=north')).ids).toEqual([4, 6, 1, 7]);
  });

  it('answers an empty list for a stock the catalog does not know', async () => {
    expect((await recs('partnerRecommendations/popular', 'stockId=south')).ids).toEqual([]);
  });

  it('recommends co-purchased products for related, never the input itself', async () => {
    expect((await recs('productRecommendations/related', 'productIds=4')).ids).toEqual([6, 1]);
    expect((await recs('productRecommendations/relatedWithoutCurrentCategory', 'productIds=4')).ids).toEqual([
      6, 1,
    ]);
  });

  it('answers {"recommendations": []} for an unknown product', async () => {
    const { ids, res } = await recs('productRecommendations/alternatives', 'productIds=999');
    expect(ids).toEqual([]);
    expect(res.json).toEqual({ recommendations: [] });
  });

  it('recommends available items of the same category for alternatives', async () => {
    expect((await recs('productRecommendations/alternatives', 'productIds=1')).ids).toEqual([2]);
  });

  it('covers subcategories in category algorithms and keeps only sale items for sale*', async () => {
    expect((await recs('categoryRecommendations/popular', 'categoryIds=12')).ids).toEqual([4, 5]);
    expect((await recs('categoryRecommendations/saleByPopular', 'categoryIds=10')).ids).toEqual([4]);
    expect((await recs('categoryRecommendations/latest', 'categoryIds=10')).ids).toEqual([5, 4, 2]);
  });

  it('returns the visitor’s own history, most recent first, for personal algorithms', async () => {
    const sid = (s: string) => `sessionExternalId=${s}`;
    const res = await h2('GET', `/api/3.0/partnerRecommendations/personalViewed/?${AUTH}&${sid('v')}`);
    expect(res.json.recommendations.map((r: { productId: number }) => r.productId)).toEqual([5, 6, 1]);
    const ordered = await h2('GET', `/api/3.0/partnerRecommendations/personalOrdered/?${AUTH}&${sid('a')}`);
    expect(ordered.json.recommendations.map((r: { productId: number }) => r.productId)).toEqual([6, 4]);
  });

  it('filters by vendor for popularByVendor', async () => {
    expect((await recs('partnerRecommendations/popularByVendor', 'vendor=acme')).ids).toEqual([6]);
  });

  it('sends Cache-Control: cacheable for popular, no-store for personal', async () => {
    expect((await recs('partnerRecommendations/popular')).res.headers['cache-control']).toBe(
      'public, max-age=3600',
    );
    expect((await recs('partnerRecommendations/personalViewed')).res.headers['cache-control']).toBe(
      'private, no-store',
    );
  });

  it('answers every documented resource, and 400 naming the missing parameter', async () => {
    const params: Record<string, string> = {
      none: '',
      vendor: 'vendor=Acme',
      categoryIds: 'categoryIds=10',
      categoryPaths: 'categoryPaths=Kitchen&categoryPaths=Kitchen%2FKnives',
      productIds: 'productIds=1,4',
      searchPhrase: 'searchPhrase=knife',
    };
    for (const [key, spec] of Object.entries(RESOURCES)) {
      const [group, algorithm] = key.split('/');
      const path = `${group}/${algorithm}`;
      await recs(path, params[spec.needs]);
      if (spec.needs !== 'none') {
        const res = await h2('GET', `/api/3.0/${path}/?${AUTH}&sessionExternalId=rv`);
        expect(res.status, path).toBe(400);
        expect(res.json).toMatchObject({ field: spec.needs, rule: 'required' });
      }
    }
    const noVisitor = await h2('GET', `/api/3.0/partnerRecommendations/popular/?${AUTH}`);
    expect(noVisitor.json).toMatchObject({ field: 'sessionExternalId', rule: 'required' });
    const badIds = await h2(
      'GET',
      `/api/3.0/productRecommendations/related/?${AUTH}&sessionExternalId=a&productIds=1,x`,
    );
    expect(badIds.json).toMatchObject({ field: 'productIds', rule: 'integer_id' });
  });
});

describe('search and Product API catalogs', () => {
  beforeEach(() => emu.reset());

  it('recommends what visitors viewed after a matching search', async () => {
    await importFeed(h1, CATALOG);
    const s = (sid: string, searchPhrase: string) =>
      track(h1, 'search', { sessionExternalId: sid, searchPhrase });
    const v = (sid: string, productId: number) => track(h1, 'view', { sessionExternalId: sid, productId });
    await s('s1', 'chef knife');
    await v('s1', 2);
    await s('s1', 'garden hose');
    await v('s1', 6);
    await s('s2', 'Chef  KNIFE');
    await v('s2', 2);
    await v('s2', 4);
    expect((await recs('searchRecommendations/search', 'searchPhrase=chef%20knife')).ids).toEqual([2, 4]);
    expect((await recs('searchRecommendations/search', 'searchPhrase=hose')).ids).toEqual([6]);
  });

  it('serves ...ByCategoryPath algorithms from Product API category paths', async () => {
    const body = (id: number, paths: string[]) => ({
      id,
      name: `P${id}`,
      price: 5,
      url: `https://s.example/${id}`,
      pictureUrl: `https://s.example/${id}.jpg`,
      isAvailable: true,
      categoryPaths: paths,
    });
    const post = (id: number, paths: string[]) =>
      h1('POST', `/api/1.0/partner/${P.partnerId}/products/${id}?${AUTH}`, { body: body(id, paths) });
    await post(11, ['Women/Clothes/Skirts']);
    await post(12, ['Women/Clothes']);
    await post(13, ['Men/Clothes']);
    expect(
      (await recs('categoryRecommendations/popularByCategoryPath', 'categoryPaths=Women%2FClothes')).ids,
    ).toEqual([11, 12]);
    expect(
      (await recs('categoryRecommendations/latestByCategoryPath', 'categoryPaths=Women,Men')).ids,
    ).toEqual([13, 12, 11]);
  });

  it('returns at most 10 by default, and the configured count per algorithm', async () => {
    const many = Array.from({ length: 15 }, (_, i) => offer(String(i + 1))).join('');
    await importFeed(h1, feedXml(many));
    expect((await recs('partnerRecommendations/popular')).ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const small = await startTestEmulator({ behaviour: { recommendationCounts: { popular: 3 } } });
    try {
      const send = http1Transport(small);
      await importFeed(send, feedXml(many));
      expect((await recs('partnerRecommendations/popular', '', send)).ids).toEqual([1, 2, 3]);
    } finally {
      await small.stop();
    }
  });
});

describe('category blocks asked for again', () => {
  beforeEach(() => emu.reset());

  it('follow new events and a new catalog, not the first answer', async () => {
    expect((await importFeed(h1, CATALOG)).json.offersAccepted).toBe(7);
    const pans = async () => (await recs('categoryRecommendations/popular', 'categoryIds=12')).ids;
    const latest = async () => (await recs('categoryRecommendations/latest', 'categoryIds=10')).ids;
    expect(await pans()).toEqual([4, 5]);
    expect(await latest()).toEqual([5, 4, 2]);
    // Asked again with nothing changed: the same answer.
    expect(await pans()).toEqual([4, 5]);
    // Orders make 5 the most popular pan.
    await order('x', 5, 'T9');
    expect(await pans()).toEqual([5, 4]);
    // A new catalog: 5 is gone, 8 is a new pan; the latest block sees it too.
    const next = CATALOG.replace(/<offer id="5"[\s\S]*?<\/offer>/, offer('8', { cat: '12' }));
    expect((await importFeed(h1, next)).json.offersAccepted).toBe(7);
    expect(await pans()).toEqual([4, 8]);
    expect(await latest()).toEqual([8, 4, 2]);
  });
});
