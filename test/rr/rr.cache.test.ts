import { request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { DEMO_PARTNER, startEmulator, type EmulatorHandle } from '../../src/emulator/index.ts';
import { createRetailRocketClient, type RetailRocketClient } from '../../src/rr/index.ts';
import { AppError } from '../../src/shared/errors.ts';
import { captureLogger, rrConfig } from './rr.helpers.ts';

// Issue 10 §9: the emulator (like Retail Rocket) allows `related` to be cached for an hour, so in a
// demo an order did not show in related(…) until then. RR_RECS_CACHE switches the cache off or caps it.

describe('RR_RECS_CACHE', () => {
  const parse = (v: string | undefined) => loadConfig({ RR_RECS_CACHE: v }).rr.recsCacheMaxAgeSeconds;

  it('reads on (or unset) as "as Cache-Control says", off as 0, and a number of seconds as a cap', () => {
    expect(parse(undefined)).toBeUndefined();
    expect(parse('on')).toBeUndefined();
    expect(parse('off')).toBe(0);
    expect(parse('OFF')).toBe(0);
    expect(parse('0')).toBe(0);
    expect(parse('60')).toBe(60);
    expect(parse('86400')).toBe(86_400);
  });

  it.each(['no', 'false', '-1', '1.5', '86401', '1e3', '10s'])('refuses %j naming the variable', (v) => {
    let err: unknown;
    try {
      parse(v);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('config.invalid');
    expect((err as AppError).message).toContain(
      `RR_RECS_CACHE: must be on, off, or a whole number of seconds from 0 to 86400 (got ${JSON.stringify(v)})`,
    );
  });
});

describe('the recommendation cache against the emulator', () => {
  let emu: EmulatorHandle;
  const logs = captureLogger();
  const clients: RetailRocketClient[] = [];

  beforeAll(async () => {
    emu = await startEmulator({ port: 0, httpPort: 0, limits: { tracking: 0, recommendations: 0, site: 0 } });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await emu?.stop();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function client(env: Record<string, string>): RetailRocketClient {
    const cfg = loadConfig(env).rr;
    const c = createRetailRocketClient(
      rrConfig(emu.httpUrl, { ...DEMO_PARTNER, recsCacheMaxAgeSeconds: cfg.recsCacheMaxAgeSeconds }),
      { logger: logs },
    );
    clients.push(c);
    return c;
  }

  /** Products 1-3 in the emulator's catalog; 1 and 2 bought together (transaction T1). */
  beforeEach(async () => {
    emu.reset();
    const c = client({});
    for (const id of [1, 2, 3]) {
      const res = await c.products.upsert({
        id,
        name: `Product ${id}`,
        price: '9.90',
        url: `https://shop.example/p/${id}`,
        pictureUrl: `https://shop.example/i/${id}.jpg`,
        isAvailable: true,
        categoryPaths: ['Kitchen'],
      });
      expect(res).toMatchObject({ ok: true });
    }
  });

  const order = (c: RetailRocketClient, productId: number, transaction: string) =>
    c.events.order({ sessionExternalId: 'buyer', productId, price: 9.9, quantity: 1, transaction });
  const related = (c: RetailRocketClient) =>
    c.recommendations.get('productRecommendations/related', { sessionExternalId: 'v1', productIds: [1] });

  it('by default keeps answering from the cache after an order (what the issue saw)', async () => {
    const c = client({});
    expect(await related(c)).toMatchObject({ ok: true, value: { productIds: [], cached: false } });
    expect(await order(c, 1, 'T1')).toMatchObject({ ok: true });
    expect(await order(c, 2, 'T1')).toMatchObject({ ok: true });
    expect(await related(c)).toMatchObject({ ok: true, value: { productIds: [], cached: true } });
  });

  it('with RR_RECS_CACHE=off asks Retail Rocket every time, so the order shows at once', async () => {
    const c = client({ RR_RECS_CACHE: 'off' });
    expect(await related(c)).toMatchObject({ ok: true, value: { productIds: [], cached: false } });
    await order(c, 1, 'T1');
    await order(c, 2, 'T1');
    expect(await related(c)).toMatchObject({ ok: true, value: { productIds: [2], cached: false } });
  });

  it('with RR_RECS_CACHE=30 caches for 30 s at most although Cache-Control allows an hour', async () => {
    // Only Date is faked: sockets and timers stay real.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-01T10:00:00Z'));
    const c = client({ RR_RECS_CACHE: '30' });
    const first = await related(c);
    expect(first).toMatchObject({ ok: true, value: { productIds: [], cached: false } });
    if (first.ok) expect(first.value.cacheControl).toBe('public, max-age=3600');
    await order(c, 1, 'T1');
    await order(c, 2, 'T1');
    vi.setSystemTime(new Date('2026-12-01T10:00:29Z'));
    expect(await related(c)).toMatchObject({ ok: true, value: { productIds: [], cached: true } });
    vi.setSystemTime(new Date('2026-12-01T10:00:31Z'));
    expect(await related(c)).toMatchObject({ ok: true, value: { productIds: [2], cached: false } });
  });

  it('shares a non-personal answer between visitors (the visitor is not part of the key)', async () => {
    const c = client({});
    const ask = (sessionExternalId: string) =>
      c.recommendations.get('productRecommendations/related', { sessionExternalId, productIds: [1] });
    expect(await ask('v1')).toMatchObject({ ok: true, value: { cached: false } });
    expect(await ask('v2')).toMatchObject({ ok: true, value: { cached: true } });
    expect(
      await c.recommendations.get('productRecommendations/related', { session: 'rcuid-3', productIds: [1] }),
    ).toMatchObject({ ok: true, value: { cached: true } });
    // Other parameters are part of the key.
    expect(
      await c.recommendations.get('productRecommendations/related', {
        sessionExternalId: 'v1',
        productIds: [2],
      }),
    ).toMatchObject({ ok: true, value: { cached: false } });
  });

  it('sends decimal-text prices as JSON numbers of the same value', async () => {
    const res = await request(`${emu.httpUrl}/__emulator/upserts?id=1`);
    const body = (await res.body.json()) as { upserts: { body: { price: unknown } }[] };
    expect(body.upserts.map((u) => u.body.price)).toEqual([9.9]);
  });

  it('looks items up by a list of ids or by an object with itemIds and stockId', async () => {
    const c = client({});
    const ids = (r: Awaited<ReturnType<RetailRocketClient['products']['items']>>) =>
      r.ok ? r.value.map((i) => i.itemId).sort() : r;
    expect(ids(await c.products.items([1, 2, 999]))).toEqual([1, 2]);
    expect(ids(await c.products.items({ itemIds: [1, '3'] }))).toEqual([1, 3]);
    expect(ids(await c.products.items({ itemIds: [2], stockId: 'moscow' }))).toEqual([2]);
    expect(await c.products.items({ itemIds: [2], stockId: 'a' }, { stockId: 'b' })).toMatchObject({
      ok: false,
      error: { kind: 'invalid', message: expect.stringContaining('stockId is given twice') },
    });
    expect(await c.products.items({ itemsIds: [2] } as never)).toMatchObject({
      ok: false,
      error: { kind: 'invalid', message: expect.stringContaining('items lookup refused before sending') },
    });
  });
});

describe('personal recommendations are never cached', () => {
  // An emulator that (wrongly) allows caching every answer for an hour, personal ones too.
  let emu: EmulatorHandle;
  let c: RetailRocketClient;
  beforeAll(async () => {
    emu = await startEmulator({
      port: 0,
      httpPort: 0,
      limits: { tracking: 0, recommendations: 0, site: 0 },
      behaviour: { cacheControlRealtime: 'public, max-age=3600' },
    });
    c = createRetailRocketClient(rrConfig(emu.httpUrl, DEMO_PARTNER), { logger: captureLogger() });
  });
  afterAll(async () => {
    await c?.close();
    await emu?.stop();
  });

  it('asks Retail Rocket for each visitor and each time, whatever Cache-Control says', async () => {
    for (const id of [1, 2]) {
      await c.products.upsert({
        id,
        name: `Product ${id}`,
        price: 5,
        url: `https://shop.example/p/${id}`,
        pictureUrl: `https://shop.example/i/${id}.jpg`,
        isAvailable: true,
        categoryPaths: ['Kitchen'],
      });
    }
    const viewed = (sessionExternalId: string) =>
      c.recommendations.get('partnerRecommendations/personalViewed', { sessionExternalId });
    expect(await c.events.view({ sessionExternalId: 'alice', productId: 1 })).toMatchObject({ ok: true });
    const alice = await viewed('alice');
    expect(alice).toMatchObject({ ok: true, value: { productIds: [1], cached: false } });
    if (alice.ok) expect(alice.value.cacheControl).toBe('public, max-age=3600');
    expect(await viewed('bob')).toMatchObject({ ok: true, value: { productIds: [], cached: false } });
    expect(await c.events.view({ sessionExternalId: 'alice', productId: 2 })).toMatchObject({ ok: true });
    expect(await viewed('alice')).toMatchObject({ ok: true, value: { productIds: [2, 1], cached: false } });
  });
});
