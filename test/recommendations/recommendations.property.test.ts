import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IndexedItem } from '../../src/catalog-index/catalog-index.repository.ts';
import { createSelection } from '../../src/recommendations/recommendations.enrich.ts';
import { RECOMMENDATION_RESOURCES, type RecommendationResource } from '../../src/rr/index.ts';
import { feedXml, importFeed, offer } from '../emulator/emulator.helpers.ts';
import { product } from '../feed/store.fixture.ts';
import { expectSound } from './recs.fixture.ts';
import { createRecsHarness, type RecsHarness } from './recs.harness.ts';

const STOCKS = ['north', 'south'];

const indexedItem = fc.record({
  productId: fc.integer({ min: 1, max: 40 }).map(String),
  groupId: fc.option(fc.constantFrom('100', '200', '300'), { nil: null }),
  available: fc.boolean(),
  stocks: fc.dictionary(fc.constantFrom(...STOCKS, 'constructor'), fc.record({ isAvailable: fc.boolean() })),
});

describe('the selection (pure)', () => {
  it('keeps only available, non-input items, one per group, at most limit, in candidate order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ c: indexedItem, known: fc.boolean() }), {
          selector: (x) => x.c.productId,
          maxLength: 40,
        }),
        fc.option(fc.constantFrom(...STOCKS, 'east', 'constructor'), { nil: undefined }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.integer({ min: 1, max: 40 }).map(String), { maxLength: 3 }),
        (raw, stockId, limit, inputs) => {
          const candidates = raw.map(({ c, known }) =>
            !known
              ? undefined
              : ({
                  ...c,
                  categoryIds: [],
                  stockIds: Object.keys(c.stocks),
                  product: {
                    id: Number(c.productId),
                    name: `P${c.productId}`,
                    price: 1,
                    url: 'https://x/',
                    pictureUrl: 'https://x/p',
                    isAvailable: c.available,
                    categoryPaths: [],
                  },
                } satisfies IndexedItem),
          );
          const s = createSelection({ stockId, limit, excludeIds: inputs, excludeGroups: [] });
          s.add(candidates);
          const items = s.items();
          expect(items.length).toBeLessThanOrEqual(limit);
          const ids = items.map((i) => String(i.id));
          expect(new Set(ids).size).toBe(ids.length);
          for (const id of ids) expect(inputs).not.toContain(id);
          const groups = items.flatMap((i) => (i.groupId === undefined ? [] : [i.groupId]));
          expect(new Set(groups).size).toBe(groups.length);
          const positions = ids.map((id) => candidates.findIndex((x) => x?.productId === id));
          expect(positions).toEqual([...positions].sort((a, b) => a - b));
          for (const id of ids) {
            const c = candidates.find((x) => x?.productId === id)!;
            const ok =
              stockId === undefined
                ? c.available
                : Object.hasOwn(c.stocks, stockId) && c.stocks[stockId]!.isAvailable;
            expect(ok).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

/**
 * Random stores synced into the index, and a random (stale) Retail Rocket catalog with random
 * orders in the emulator: whatever Retail Rocket or the fallback proposes, no answer carries an
 * item that is unknown, unavailable in the requested stock, an input, or a second variant.
 */
describe('every answer, for random stores and random Retail Rocket answers', () => {
  let r: RecsHarness;
  beforeAll(async () => {
    r = await createRecsHarness(feedXml(offer('1')));
  }, 60_000);
  afterAll(async () => {
    await r?.close();
  });

  const storeProduct = fc.record({
    group: fc.option(fc.constantFrom('100', '200'), { nil: null }),
    cat: fc.constantFrom('11', '12', '20'),
    available: fc.boolean(),
    north: fc.option(fc.boolean(), { nil: undefined }),
    south: fc.option(fc.boolean(), { nil: undefined }),
  });
  const world = fc.record({
    store: fc.array(fc.option(storeProduct, { nil: undefined, freq: 4 }), { minLength: 5, maxLength: 25 }),
    // Retail Rocket's view: ids 1–30 (some unknown to the store), its own availability.
    rr: fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
    orders: fc.array(fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 2, maxLength: 6 }), {
      maxLength: 6,
    }),
    asks: fc.array(
      fc.record({
        resource: fc.constantFrom(...(Object.keys(RECOMMENDATION_RESOURCES) as RecommendationResource[])),
        productIds: fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 3 }),
        stockId: fc.option(fc.constantFrom('north', 'south'), { nil: undefined }),
        limit: fc.integer({ min: 1, max: 12 }),
      }),
      { minLength: 4, maxLength: 8 },
    ),
  });

  it('holds', async () => {
    await fc.assert(
      fc.asyncProperty(world, async (w) => {
        const products = w.store.flatMap((p, i) =>
          p === undefined
            ? []
            : [
                {
                  row: product(String(i + 1), {
                    group_id: p.group,
                    category_ids: `{${p.cat}}`,
                    available: String(p.available),
                  }),
                  p,
                },
              ],
        );
        await r.sync({
          categories: [
            { id: '10', parent_id: null, name: 'Kitchen' },
            { id: '11', parent_id: '10', name: 'Knives' },
            { id: '12', parent_id: '10', name: 'Pans' },
            { id: '20', parent_id: null, name: 'Garden' },
          ],
          products: products.map((x) => x.row),
          stocks: products.flatMap(({ row, p }) =>
            (['north', 'south'] as const).flatMap((s) =>
              p[s] === undefined ? [] : [{ product_id: row.id, warehouse_id: s, available: String(p[s]) }],
            ),
          ),
        });
        r.emu.reset();
        const offers = w.rr.map((available, i) =>
          offer(String(i + 1), {
            available,
            cat: ['11', '12', '20'][i % 3],
            stocks:
              i === 0
                ? '<stock id="north"><available>true</available></stock><stock id="south"><available>true</available></stock>'
                : '',
          }),
        );
        expect((await importFeed(r.emuH1, feedXml(offers.join('')))).status).toBe(200);
        for (const [t, ids] of w.orders.entries()) {
          for (const id of ids) {
            await r.track('order', {
              sessionExternalId: 'b',
              productId: id,
              price: 1,
              quantity: 1,
              transaction: `T${t}`,
            });
          }
        }
        const { service } = r.service({ env: { RR_TIMEOUT_MS: '5000' } });
        for (const ask of w.asks) {
          const kind = RECOMMENDATION_RESOURCES[ask.resource];
          const params: Record<string, unknown> = { sessionExternalId: 'v', limit: ask.limit };
          if (ask.stockId) params.stockId = ask.stockId;
          if (kind === 'productIds') params.productIds = ask.productIds;
          if (kind === 'categoryIds') params.categoryIds = [11];
          if (kind === 'categoryPaths') params.categoryPaths = ['Kitchen'];
          if (kind === 'vendor') params.vendor = 'Acme';
          if (kind === 'searchPhrase') params.searchPhrase = 'knife';
          const a = await service.get(ask.resource, params);
          expect(a.items.length).toBeLessThanOrEqual(ask.limit);
          await expectSound(
            r.h.db.pool,
            a,
            ask.stockId,
            kind === 'productIds' ? ask.productIds.map(String) : [],
          );
        }
      }),
      { numRuns: 6 },
    );
  }, 120_000);
});
