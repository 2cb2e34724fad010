import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnswerTiming } from '../../src/recommendations/index.ts';
import { expectSound, RR_CATALOG, STORE } from './recs.fixture.ts';
import { createRecsHarness, type RecsHarness } from './recs.harness.ts';

let r: RecsHarness;

beforeAll(async () => {
  r = await createRecsHarness(RR_CATALOG);
  await r.sync(STORE);
  // Bought together (one order each, so Retail Rocket ranks them by id): 3 with 1, 2, 900, 5, 4, 8.
  // Searched "knife", then viewed 6 and 901.
  for (const id of [3, 1, 2, 900, 5, 4, 8]) {
    await r.track('order', {
      sessionExternalId: 'buyer',
      productId: id,
      price: 10,
      quantity: 1,
      transaction: 'T1',
    });
  }
  await r.track('search', { sessionExternalId: 'seeker', searchPhrase: 'knife' });
  await r.track('view', { sessionExternalId: 'seeker', productId: 6 });
  await r.track('view', { sessionExternalId: 'seeker', productId: 901 });
}, 60_000);
afterAll(async () => {
  await r?.close();
});

// A long deadline for the happy paths: the machine running the tests may be loaded.
const RELAXED = { RR_TIMEOUT_MS: '5000' };

describe('recommendations through Retail Rocket, checked and enriched by the index', () => {
  it('related: drops unknown, unavailable-in-stock and sibling variants, keeps RR order, enriches', async () => {
    const { service, upstreamCalls } = r.service({ env: RELAXED });
    const a = await service.get('productRecommendations/related', {
      productIds: ['3'],
      sessionExternalId: 'v1',
      stockId: 'north',
      limit: 3,
    });
    expect(a).toEqual({
      source: 'retailrocket',
      items: [
        {
          id: 1,
          name: 'Product 1',
          url: 'https://shop.example/p/1',
          pictureUrl: 'https://shop.example/img/1.jpg',
          price: 10.5,
          groupId: 100,
        },
        {
          id: 4,
          name: 'Product 4',
          url: 'https://shop.example/p/4',
          pictureUrl: 'https://shop.example/img/4.jpg',
          price: 10,
          oldPrice: 20,
        },
        expect.objectContaining({ id: 8 }),
      ],
    });
    expect(upstreamCalls()).toBe(1);
  });

  it('excludes the input products and the other variants of their groups', async () => {
    const { service } = r.service({ env: RELAXED });
    const a = await service.get('productRecommendations/related', {
      productIds: [1],
      sessionExternalId: 'v1',
    });
    expect(a.source).toBe('retailrocket');
    const ids = a.items.map((i) => i.id);
    expect(ids).not.toContain(1);
    expect(ids).not.toContain(2); // the same thing in another colour
    expect(ids.slice(0, 2)).toEqual([3, 4]);
    await expectSound(r.h.db.pool, a, undefined, ['1']);
  });

  it('tops a short answer up from the catalog and says how many items it added', async () => {
    const { service } = r.service({ env: RELAXED });
    const a = await service.get('productRecommendations/related', {
      productIds: [3],
      sessionExternalId: 'v1',
      stockId: 'north',
    });
    expect(a.source).toBe('retailrocket');
    expect(a.items.slice(0, 3).map((i) => i.id)).toEqual([1, 4, 8]);
    expect(a.fallbackItems).toBe(a.items.length - 3);
    // Same category as the input first: 7, with the north stock's own price and name.
    expect(a.items[3]).toMatchObject({ id: 7, price: 9, name: 'North knife 7' });
    await expectSound(r.h.db.pool, a, 'north', ['3']);
  });

  it('answers every family: partner, category, product and search resources', async () => {
    const { service } = r.service({ env: RELAXED });
    const popular = await service.get('partnerRecommendations/popular', {
      sessionExternalId: 'v1',
      limit: 3,
    });
    expect(popular).toMatchObject({ source: 'retailrocket' });
    expect(popular.items.map((i) => i.id)).toEqual([1, 3, 4]); // 2 folded into 1
    const category = await service.get('categoryRecommendations/popular', {
      categoryIds: [11],
      sessionExternalId: 'v1',
      limit: 3,
    });
    expect(category.source).toBe('retailrocket');
    expect(category.items.map((i) => i.id)).toEqual([1, 3, 8]);
    const search = await service.get('searchRecommendations/search', {
      searchPhrase: 'knife',
      sessionExternalId: 'v2',
      limit: 1,
    });
    expect(search).toMatchObject({ source: 'retailrocket', items: [{ id: 6 }] }); // 901 unknown
    for (const a of [popular, category, search]) await expectSound(r.h.db.pool, a);
  });

  it('times each answer: the wait for Retail Rocket apart from the service own part', async () => {
    const timings: AnswerTiming[] = [];
    const { service } = r.service({ env: RELAXED });
    const onTiming = (t: AnswerTiming) => timings.push(t);
    await r.faults({ delayMs: 60 });
    try {
      await service.get(
        'productRecommendations/related',
        { productIds: [3], sessionExternalId: 'v1' },
        { onTiming },
      );
      await service.get(
        'productRecommendations/related',
        { productIds: [999], sessionExternalId: 'v1' },
        { onTiming },
      );
    } finally {
      await r.faults({ delayMs: 0 });
    }
    const [asked, unknown] = timings;
    expect(asked).toMatchObject({ source: 'retailrocket' });
    expect(asked!.upstreamMs).toBeGreaterThanOrEqual(60);
    expect(asked!.totalMs).toBeGreaterThanOrEqual(asked!.upstreamMs);
    expect(unknown).toMatchObject({ source: 'fallback', upstreamMs: 0 });
    expect(unknown!.totalMs).toBeGreaterThan(0);
  });

  it('unknown input ids: no upstream call, the fallback, and which ids were unknown', async () => {
    const { service, upstreamCalls } = r.service({ env: RELAXED });
    const a = await service.get('productRecommendations/related', {
      productIds: [999],
      sessionExternalId: 'v1',
      stockId: 'north',
    });
    expect(a).toMatchObject({ source: 'fallback', reason: 'unknown_ids', unknown: { productIds: ['999'] } });
    expect(a.items.length).toBeGreaterThan(0);
    await expectSound(r.h.db.pool, a, 'north');
    const cat = await service.get('categoryRecommendations/popular', {
      categoryIds: [77],
      sessionExternalId: 'v1',
    });
    expect(cat).toMatchObject({
      source: 'fallback',
      reason: 'unknown_ids',
      unknown: { categoryIds: ['77'] },
    });
    const stock = await service.get('partnerRecommendations/popular', {
      sessionExternalId: 'v1',
      stockId: 'east',
    });
    // No product is known to be available in a stock the catalog never had.
    expect(stock).toEqual({
      source: 'fallback',
      reason: 'unknown_ids',
      items: [],
      unknown: { stockId: 'east' },
    });
    expect(upstreamCalls()).toBe(0);
  });

  it('a known product next to an unknown one: only the known one is sent upstream', async () => {
    const { service, upstreamCalls } = r.service({ env: RELAXED });
    const a = await service.get('productRecommendations/related', {
      productIds: [3, 999],
      sessionExternalId: 'v1',
    });
    expect(a).toMatchObject({ source: 'retailrocket', unknown: { productIds: ['999'] } });
    expect(a.items[0]).toMatchObject({ id: 1 });
    expect(upstreamCalls()).toBe(1);
  });

  it('category fallback covers subcategories, and the given categories only', async () => {
    const { service } = r.service({ rr: null });
    const a = await service.get('categoryRecommendations/latest', {
      categoryIds: [10],
      sessionExternalId: 'v1',
    });
    expect(a.source).toBe('fallback');
    expect(a.reason).toBe('no_credentials');
    // Kitchen (10) holds Knives and Pans: available 1|2, 3, 4, 5, 8, 9; never Garden, never 7.
    expect(new Set(a.items.map((i) => i.id).slice(0, 6))).toEqual(
      new Set([a.items.find((i) => i.groupId === 100)!.id, 3, 4, 5, 8, 9]),
    );
    await expectSound(r.h.db.pool, a);
  });

  it('without credentials every answer comes from the fallback, with popular() first where no category fits', async () => {
    const popular = async (limit: number, exclude: readonly string[]) =>
      ['11', '999', '7', '10', '6'].filter((id) => !exclude.includes(id)).slice(0, limit);
    const { service } = r.service({ rr: null, popular });
    const a = await service.get('partnerRecommendations/popular', { sessionExternalId: 'v1', limit: 3 });
    // 999 unknown, 7 unavailable: dropped.
    expect(a).toMatchObject({ source: 'fallback', reason: 'no_credentials' });
    expect(a.items.map((i) => i.id)).toEqual([11, 10, 6]);
  });

  it('history resources are not filled with other products', async () => {
    const { service } = r.service({ rr: null });
    const a = await service.get('partnerRecommendations/personalViewed', { sessionExternalId: 'v1' });
    expect(a).toEqual({ source: 'fallback', reason: 'no_credentials', items: [] });
  });
});

describe('the cache', () => {
  it('serves a non-personal answer to the next visitor from the cache', async () => {
    const { service, upstreamCalls } = r.service({ env: RELAXED });
    const q = { productIds: [3], stockId: 'north', limit: 3 };
    expect(
      (await service.get('productRecommendations/related', { ...q, sessionExternalId: 'a' })).source,
    ).toBe('retailrocket');
    const again = await service.get('productRecommendations/related', { ...q, sessionExternalId: 'b' });
    expect(again.source).toBe('cache');
    expect(again.items.map((i) => i.id)).toEqual([1, 4, 8]);
    expect(upstreamCalls()).toBe(2); // the client was asked; it answered from its cache
    expect(service.counts().bySource).toMatchObject({ retailrocket: 1, cache: 1 });
  });

  it('never serves one visitor’s personal answer to another', async () => {
    const { service } = r.service({ env: RELAXED });
    await r.track('view', { sessionExternalId: 'alice', productId: 6 });
    const alice = await service.get('partnerRecommendations/personalViewed', { sessionExternalId: 'alice' });
    expect(alice).toMatchObject({ source: 'retailrocket', items: [{ id: 6 }] });
    const bob = await service.get('partnerRecommendations/personalViewed', { sessionExternalId: 'bob' });
    expect(bob.source).toBe('fallback'); // nothing viewed: RR's empty list
    expect(bob.items).toEqual([]);
    await r.track('view', { sessionExternalId: 'alice', productId: 9 });
    const later = await service.get('partnerRecommendations/personalViewed', { sessionExternalId: 'alice' });
    expect(later).toMatchObject({ source: 'retailrocket', items: [{ id: 9 }, { id: 6 }] });
  });
});

describe('GET /v1/recommendations/{group}/{algorithm}', () => {
  const TOKEN = 'storefront-token-0123456789';
  let base: string;
  beforeAll(async () => {
    const config = r.config({ ...RELAXED, API_TOKEN: TOKEN });
    const { service } = r.service({ env: RELAXED });
    base = `${(await r.app(service, config)).url}/v1/recommendations`;
  });
  const get = async (path: string, token: string | null = TOKEN) => {
    const res = await fetch(
      `${base}/${path}`,
      token ? { headers: { authorization: `Bearer ${token}` } } : {},
    );
    return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  it('answers with Retail Rocket’s path and parameter names', async () => {
    const res = await get(
      'productRecommendations/related?productIds=3&sessionExternalId=v1&stockId=north&limit=3',
    );
    expect(res).toMatchObject({ status: 200, body: { source: expect.any(String) } });
    expect(res.body.items.map((i: { id: number }) => i.id)).toEqual([1, 4, 8]);
    const paths = await get(
      'categoryRecommendations/popularByCategoryPath?categoryPaths=Kitchen%2FKnives&categoryPaths=Garden&session=rcuid-1&limit=2',
    );
    expect(paths.status).toBe(200);
    expect(paths.body.items).toHaveLength(2);
    const unknownPath = await get(
      'categoryRecommendations/latestByCategoryPath?categoryPaths=Nowhere&session=x1',
    );
    expect(unknownPath.body).toMatchObject({
      source: 'fallback',
      reason: 'unknown_ids',
      unknown: { categoryPaths: ['Nowhere'] },
    });
  });

  it('says in Server-Timing how long Retail Rocket took and how long the whole answer', async () => {
    const timing = async (path: string) => {
      const res = await fetch(`${base}/${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const body = (await res.json()) as { source: string };
      const header = res.headers.get('server-timing') ?? '';
      const dur = (name: string) => Number(new RegExp(`(?:^|, )${name};dur=([\\d.]+)`).exec(header)?.[1]);
      return { source: body.source, rr: dur('rr'), total: dur('total') };
    };
    await r.faults({ delayMs: 60 });
    try {
      const asked = await timing('productRecommendations/related?productIds=3&sessionExternalId=v1');
      expect(asked.source).toBe('retailrocket');
      expect(asked.rr).toBeGreaterThanOrEqual(60);
      expect(asked.total).toBeGreaterThanOrEqual(asked.rr);
      // An unknown product: Retail Rocket is not asked.
      const unknown = await timing('productRecommendations/related?productIds=999&sessionExternalId=v1');
      expect(unknown).toMatchObject({ source: 'fallback', rr: 0 });
      expect(unknown.total).toBeLessThan(60);
    } finally {
      await r.faults({ delayMs: 0 });
    }
  });

  it('refuses a missing or wrong token with 401 auth.required', async () => {
    for (const token of [null, 'wrong-token-0123456789']) {
      const res = await get('partnerRecommendations/popular?sessionExternalId=v1', token);
      expect(res).toMatchObject({ status: 401, body: { error: { code: 'auth.required' } } });
      expect(JSON.stringify(res.body)).not.toContain(TOKEN);
    }
  });

  it('an unknown resource is 404 listing the groups and algorithms', async () => {
    const res = await get('productRecommendations/similar?productIds=3&sessionExternalId=v1');
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'recommendations.unknown_resource' } } });
    expect(res.body.error.message).toContain('productRecommendations: alternatives, related');
    expect(res.body.error.message).toContain('searchRecommendations: search, searchWithNeuralNetworks');
  });

  it.each([
    [
      'productRecommendations/related?productIds=abc&sessionExternalId=v1',
      'productIds.0: must be digits only',
    ],
    ['productRecommendations/related?productIds=&sessionExternalId=v1', 'productIds: must list at least one'],
    ['productRecommendations/related?sessionExternalId=v1', 'productIds'],
    ['productRecommendations/related?productIds=3', 'give exactly one of sessionExternalId or session'],
    ['productRecommendations/related?productIds=3&sessionExternalId=v1&session=s', 'give exactly one'],
    [
      'productRecommendations/related?productIds=3&sessionExternalId=a%20b',
      'sessionExternalId: must be 1 to 50',
    ],
    ['partnerRecommendations/popular?sessionExternalId=v1&color=red', 'unknown parameter "color"'],
    ['partnerRecommendations/popular?sessionExternalId=v1&apiKey=x', 'unknown parameter "apiKey"'],
    [
      'partnerRecommendations/popular?sessionExternalId=v1&limit=51',
      'limit: must be a whole number from 1 to 50',
    ],
    [
      'partnerRecommendations/popular?sessionExternalId=v1&limit=0',
      'limit: must be a whole number from 1 to 50',
    ],
    [
      'partnerRecommendations/popular?sessionExternalId=v1&stockId=a&stockId=b',
      'stockId: must be given once',
    ],
    [
      'categoryRecommendations/popularByCategoryPath?categoryPaths=%2FKitchen&session=s',
      'categoryPaths.0: must be a full path',
    ],
  ])('400 recommendations.invalid for %s', async (path, message) => {
    const res = await get(path);
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'recommendations.invalid' } } });
    expect(res.body.error.message).toContain(message);
  });

  it('the in-process entry refuses the same mistakes with RecommendationInputError', async () => {
    const { service } = r.service({ env: RELAXED });
    await expect(
      service.get('productRecommendations/nope', { sessionExternalId: 'v1' }),
    ).rejects.toMatchObject({
      name: 'RecommendationInputError',
      status: 404,
    });
    await expect(
      service.get('productRecommendations/related', { productIds: [0], sessionExternalId: 'v1' }),
    ).rejects.toMatchObject({ status: 400, code: 'recommendations.invalid' });
  });
});
