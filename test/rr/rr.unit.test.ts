import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createRetailRocketClient,
  parseRetryAfter,
  withRetry,
  type RetailRocketClient,
} from '../../src/rr/index.ts';
import { API_KEY, captureLogger, PARTNER_ID, rrConfig } from './rr.helpers.ts';

const ORIGIN = 'https://rr.test';
let agent: MockAgent;
let client: RetailRocketClient;
let logs: ReturnType<typeof captureLogger>;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  logs = captureLogger();
  client = createRetailRocketClient(rrConfig(ORIGIN, { recommendationCacheEntries: 0 }), {
    logger: logs,
    dispatcher: agent,
  });
});

afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await client.close();
  await agent.close();
});

const pool = () => agent.get(ORIGIN);
const pathOf = (p: string) => new URL(p, ORIGIN);

describe('recommendations answers', () => {
  it('flattens scalar and array productId forms into one id list', async () => {
    pool()
      .intercept({ path: (p) => p.startsWith('/api/3.0/productRecommendations/related/?'), method: 'GET' })
      .reply(200, { recommendations: [{ productId: 3 }, { productId: [4, 5] }, { productId: '6' }] });
    const res = await client.recommendations.get('productRecommendations/related', {
      sessionExternalId: 'visitor-1',
      productIds: [1],
    });
    expect(res).toMatchObject({ ok: true, value: { productIds: [3, 4, 5, 6], cached: false } });
  });

  it('sends list params comma-separated and categoryPaths repeated', async () => {
    const seen: string[] = [];
    pool()
      .intercept({ path: (p) => (seen.push(p), true), method: 'GET' })
      .reply(200, { recommendations: [] })
      .times(2);
    await client.recommendations.get('productRecommendations/alternatives', {
      sessionExternalId: 'v1',
      productIds: [10, '11'],
      stockId: 'Москва',
    });
    await client.recommendations.get('categoryRecommendations/popularByCategoryPath', {
      sessionExternalId: 'v1',
      categoryPaths: ['Women/Skirts', 'Men'],
    });
    const u1 = pathOf(seen[0]!);
    expect(u1.searchParams.get('productIds')).toBe('10,11');
    expect(u1.pathname).toBe('/api/3.0/productRecommendations/alternatives/');
    expect(Object.fromEntries(u1.searchParams)).toMatchObject({
      partnerId: PARTNER_ID,
      apiKey: API_KEY,
      sessionExternalId: 'v1',
      stockId: 'Москва',
    });
    expect(pathOf(seen[1]!).searchParams.getAll('categoryPaths')).toEqual(['Women/Skirts', 'Men']);
  });

  it('refuses an answer that is not the documented shape, as invalid', async () => {
    pool().intercept({ path: /.*/, method: 'GET' }).reply(200, { items: [] });
    const res = await client.recommendations.get('partnerRecommendations/popular', {
      sessionExternalId: 'v',
    });
    expect(res).toMatchObject({ ok: false, error: { kind: 'invalid', retryable: false } });
  });

  it('serves a repeat from the cache when Cache-Control allows it', async () => {
    const cached = createRetailRocketClient(rrConfig(ORIGIN), { logger: logs, dispatcher: agent });
    pool()
      .intercept({ path: /popular/, method: 'GET' })
      .reply(
        200,
        { recommendations: [{ productId: 7 }] },
        { headers: { 'cache-control': 'public, max-age=60' } },
      );
    const a = await cached.recommendations.get('partnerRecommendations/popular', { sessionExternalId: 'v' });
    const b = await cached.recommendations.get('partnerRecommendations/popular', { sessionExternalId: 'v' });
    expect(a).toMatchObject({ ok: true, value: { productIds: [7], cached: false } });
    expect(b).toMatchObject({ ok: true, value: { productIds: [7], cached: true } });
    await cached.close();
  });
});

describe('validation before sending', () => {
  it('refuses a product id above 2^53-1 naming the field and the rule, and sends nothing', async () => {
    const res = await client.events.view({ sessionExternalId: 'v1', productId: '9007199254740992' });
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.error.kind).toBe('invalid');
    expect(res.error.message).toMatch(/productId: must be digits only, from 1 to 9007199254740991/);
  });

  it.each([
    [
      'sessionExternalId',
      { sessionExternalId: 'has space', productId: 1, price: 1, quantity: 1, transaction: 't' },
    ],
    ['quantity', { sessionExternalId: 'v', productId: 1, price: 1, quantity: 0, transaction: 't' }],
    ['price', { sessionExternalId: 'v', productId: 1, price: -1, quantity: 1, transaction: 't' }],
    [
      'stockId',
      {
        sessionExternalId: 'v',
        productId: 1,
        price: 1,
        quantity: 1,
        transaction: 't',
        stockId: 'x'.repeat(51),
      },
    ],
    ['productId', { sessionExternalId: 'v', productId: '007', price: 1, quantity: 1, transaction: 't' }],
    [
      'timestamp',
      {
        sessionExternalId: 'v',
        productId: 1,
        price: 1,
        quantity: 1,
        transaction: 't',
        timestamp: 'yesterday',
      },
    ],
    ['qty', { sessionExternalId: 'v', productId: 1, price: 1, quantity: 1, transaction: 't', qty: 2 }],
  ])('refuses an order with a bad %s', async (field, event) => {
    const res = await client.events.order(event as never);
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.error.message).toContain(field);
  });

  it('refuses a product without picture and with a zero price', async () => {
    const res = await client.products.upsert({
      id: 1,
      name: 'x',
      price: 0,
      url: 'https://shop.example/p/1',
      pictureUrl: 'not a url',
      isAvailable: true,
      categoryPaths: ['A'],
    });
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.error.message).toMatch(/price: must be > 0.*pictureUrl: must be an absolute/);
  });
});

describe('events on the wire', () => {
  it('posts JSON with the ids as numbers and a UTC ISO timestamp', async () => {
    let body: Record<string, unknown> = {};
    let contentType = '';
    pool()
      .intercept({
        path: `/1.0/order?partnerId=${PARTNER_ID}&apiKey=${API_KEY}`,
        method: 'POST',
        body: (b) => ((body = JSON.parse(b)), true),
        headers: (h) => ((contentType = String(h['content-type'])), true),
      })
      .reply(200, {});
    const res = await client.events.order({
      sessionExternalId: 'a1b2-c3',
      productId: '700123',
      price: 49.9,
      quantity: 2,
      transaction: 'ORD-1',
      stockId: 'north',
      timestamp: '2024-03-01T12:31:00+03:00',
    });
    expect(res).toMatchObject({ ok: true, status: 200 });
    expect(contentType).toBe('application/json');
    expect(body).toEqual({
      sessionExternalId: 'a1b2-c3',
      productId: 700123,
      price: 49.9,
      quantity: 2,
      transaction: 'ORD-1',
      stockId: 'north',
      timestamp: '2024-03-01T09:31:00.000Z',
    });
  });

  it('adds the current time when the caller gives none', async () => {
    let ts = '';
    pool()
      .intercept({
        path: /\/1\.0\/view\?/,
        method: 'POST',
        body: (b) => ((ts = JSON.parse(b).timestamp), true),
      })
      .reply(204, '');
    const before = Date.now();
    const res = await client.events.view({ sessionExternalId: 'v', productId: 1 });
    expect(res.ok).toBe(true);
    expect(ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(ts)).toBeGreaterThanOrEqual(before - 5);
  });
});

describe('errors and retries', () => {
  it('parses Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    const now = Date.parse('2024-03-01T00:00:00Z');
    expect(parseRetryAfter('Fri, 01 Mar 2024 00:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('classifies 429 as retryable with its Retry-After and 401 as permanent', async () => {
    pool()
      .intercept({ path: /popular/, method: 'GET' })
      .reply(429, {}, { headers: { 'retry-after': '1' } });
    pool().intercept({ path: /view/, method: 'POST' }).reply(401, 'bad key');
    const r429 = await client.recommendations.get('partnerRecommendations/popular', {
      sessionExternalId: 'v',
    });
    const r401 = await client.events.view({ sessionExternalId: 'v', productId: 1 });
    expect(r429).toMatchObject({
      ok: false,
      error: { kind: 'http', status: 429, retryable: true, retryAfterMs: 1000 },
    });
    expect(r401).toMatchObject({ ok: false, error: { kind: 'http', status: 401, retryable: false } });
  });

  it('withRetry retries a 503 and a 429 (waiting Retry-After) and stops at success', async () => {
    pool()
      .intercept({ path: /products\/5/, method: 'POST' })
      .reply(503, '');
    pool()
      .intercept({ path: /products\/5/, method: 'POST' })
      .reply(429, '', { headers: { 'retry-after': '2' } });
    pool()
      .intercept({ path: /products\/5/, method: 'POST' })
      .reply(200, '');
    const waits: number[] = [];
    const product = {
      id: 5,
      name: 'Knife',
      price: 10,
      url: 'https://shop.example/p/5',
      pictureUrl: 'https://shop.example/i/5.jpg',
      isAvailable: true,
      categoryPaths: ['Kitchen/Knives'],
    };
    const res = await withRetry(() => client.products.upsert(product), {
      sleep: async (ms) => void waits.push(ms),
      random: () => 0.5,
    });
    expect(res.ok).toBe(true);
    expect(waits).toEqual([100, 2000]);
  });

  it('withRetry never retries 400 or 401', async () => {
    for (const status of [400, 401]) {
      pool().intercept({ path: /view/, method: 'POST' }).reply(status, '');
      let calls = 0;
      const res = await withRetry(
        () => (calls++, client.events.view({ sessionExternalId: 'v', productId: 1 })),
        {
          sleep: async () => undefined,
        },
      );
      expect(res).toMatchObject({ ok: false, error: { status, retryable: false } });
      expect(calls).toBe(1);
    }
  });

  it('logs one warn line per kind of failure and second during an outage, not one per call', async () => {
    pool().intercept({ path: /view/, method: 'POST' }).reply(503, '').times(30);
    const results = await Promise.all(
      Array.from({ length: 30 }, () => client.events.view({ sessionExternalId: 'v', productId: 1 })),
    );
    expect(results.every((r) => !r.ok)).toBe(true);
    expect(logs.lines.filter((l) => l.includes('retail rocket call failed'))).toHaveLength(1);
  });

  it('keeps the apiKey out of errors and log lines, even when the server echoes it', async () => {
    pool()
      .intercept({ path: /view/, method: 'POST' })
      .reply(400, `bad request /1.0/view?partnerId=${PARTNER_ID}&apiKey=${API_KEY} key was ${API_KEY}`);
    pool()
      .intercept({ path: /popular/, method: 'GET' })
      .replyWithError(new Error(`socket died apiKey=${API_KEY}`));
    const a = await client.events.view({ sessionExternalId: 'v', productId: 1 });
    const b = await client.recommendations.get('partnerRecommendations/popular', { sessionExternalId: 'v' });
    expect(a.ok || b.ok).toBe(false);
    const everything = JSON.stringify([a, b]) + logs.lines.join('\n');
    expect(logs.lines.length).toBeGreaterThanOrEqual(2);
    expect(everything).toContain('[redacted]');
    expect(everything).not.toContain(API_KEY);
  });
});
