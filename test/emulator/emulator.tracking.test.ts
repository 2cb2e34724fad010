import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/index.ts';
import {
  AUTH,
  feedXml,
  h2Transport,
  http1Transport,
  importFeed,
  offer,
  startTestEmulator,
  track,
  ts,
  type Transport,
} from './emulator.helpers.ts';

let emu: EmulatorHandle;
let h2: ReturnType<typeof h2Transport>;
let h1: Transport;

beforeAll(async () => {
  emu = await startTestEmulator({ limits: { tracking: 0, site: 0 } });
  h2 = h2Transport(emu);
  h1 = http1Transport(emu);
});
afterAll(async () => {
  h2.close();
  await emu.stop();
});
beforeEach(() => emu.reset());

/** One valid body per event resource of §4.2–4.5. */
const VALID: Record<string, Record<string, unknown>> = {
  view: { productId: 101, stockId: 'north' },
  groupView: { groupId: 700, productIds: [101, 102] },
  addToBasket: { productId: 101 },
  categoryView: { categoryId: 11 },
  categoryViewByCategoryPath: { categoryPath: 'Women/Clothes/Skirts' },
  order: { productId: 101, price: 49.9, quantity: 2, transaction: 'ORD-1' },
  search: { searchPhrase: 'chef knife' },
  setContact: {
    contactExternalId: 'c42',
    email: 'a@b.example',
    phone: '+4930123456',
    customData: { tier: 'gold' },
  },
  welcomeSequence: { email: 'a@b.example' },
  emailClick: { mailTrackingId: 'mt-123' },
  recomBlockViewed: { recomBlockId: 'home-1' },
  recomTap: { productId: 101, recomBlockId: 'home-1' },
  recomAddToBasket: { productId: 101, recomBlockId: 'home-1' },
  impressionContentViewed: { impressionContentId: 'imp-1' },
  impressionContentClicked: { impressionContentId: 9 },
};

const events = async (query = '') => (await h1('GET', `/__emulator/events${query}`)).json;
const warnings = async (query = '') => (await h1('GET', `/__emulator/warnings${query}`)).json.warnings;

describe('tracking events', () => {
  it('accepts every documented event resource and stores it in order', async () => {
    for (const [type, body] of Object.entries(VALID)) {
      const res = await track(h2, type, { sessionExternalId: 'all-events', ...body });
      expect(res.status, type).toBe(200);
    }
    const { events: stored } = await events('?sessionExternalId=all-events');
    expect(stored.map((e: { type: string }) => e.type)).toEqual(Object.keys(VALID));
    expect(stored[0]).toMatchObject({
      body: { productId: 101, stockId: 'north' },
      timestamp: ts,
      batch: null,
    });
  });

  it('filters the received events by type and visitor', async () => {
    await track(h1, 'view', { sessionExternalId: 'a', productId: 1 });
    await track(h1, 'addToBasket', { sessionExternalId: 'a', productId: 1 });
    await track(h1, 'view', { sessionExternalId: 'b', productId: 1 });
    expect((await events('?type=view')).total).toBe(2);
    expect((await events('?sessionExternalId=a&type=view')).total).toBe(1);
    expect((await h1('GET', '/__emulator/events?partnerId=nobody')).status).toBe(404);
  });

  it('refuses an order line with quantity 0 or a negative price', async () => {
    const res = await track(h2, 'order', {
      sessionExternalId: 'o',
      productId: 1,
      price: 1,
      quantity: 0,
      transaction: 'T',
    });
    expect(res.json).toMatchObject({ field: 'quantity', rule: 'number_gt_0' });
  });

  it('refuses the older-doc groupView typo (groupView/productId keys) in strict mode', async () => {
    const res = await track(h2, 'groupView', { sessionExternalId: 'g', groupView: 7, productId: [1] });
    expect(res.status).toBe(400);
    expect(res.json.issues.map((i: { rule: string }) => i.rule)).toContain('unknown_field');
  });
});

describe('visitorEvents batch', () => {
  const batchPath = `/1.0/visitorEvents?${AUTH}`;

  it('stores a batch in the given order, marking each event with its batch index', async () => {
    const batch = [
      { view: { sessionExternalId: 'v1', productId: 3, timestamp: ts } },
      { addToBasket: { sessionExternalId: 'v1', productId: 3, timestamp: ts } },
      { view: { sessionExternalId: 'v2', productId: 4, timestamp: ts } },
      {
        order: {
          sessionExternalId: 'v1',
          productId: 3,
          price: 5,
          quantity: 1,
          transaction: 'B1',
          timestamp: ts,
        },
      },
    ];
    const res = await h2('POST', batchPath, { body: batch });
    expect(res.status).toBe(200);
    const { events: stored } = await events();
    expect(stored.map((e: { type: string; visitor: string }) => `${e.type}:${e.visitor}`)).toEqual([
      'view:v1',
      'addToBasket:v1',
      'view:v2',
      'order:v1',
    ]);
    expect(stored.map((e: { batch: { index: number } }) => e.batch.index)).toEqual([0, 1, 2, 3]);
    expect(new Set(stored.map((e: { batch: { id: number } }) => e.batch.id)).size).toBe(1);
  });

  it('is all-or-nothing: one bad envelope refuses the batch with the failing indexes', async () => {
    const batch = [
      { view: { sessionExternalId: 'v1', productId: 1 } },
      { view: { sessionExternalId: 'v1', productId: 'one' } },
      { view: { sessionExternalId: 'v1', productId: 2 } },
      { view: { sessionExternalId: 'v1' }, order: {} },
      { categoryViewByCategoryPath: { sessionExternalId: 'v1', categoryPath: 'A/B' } },
    ];
    const res = await h1('POST', batchPath, { body: batch });
    expect(res.status).toBe(400);
    expect(res.json.failingIndexes).toEqual([1, 3, 4]);
    expect(res.json.field).toBe('[1].view.productId');
    expect(res.json.issues.map((i: { rule: string }) => i.rule)).toEqual([
      'integer_id',
      'envelope',
      'event_type',
    ]);
    expect((await events()).total).toBe(0);
  });

  it('refuses a body that is not an array, and an empty batch', async () => {
    expect((await h1('POST', batchPath, { body: { view: {} } })).json).toMatchObject({
      field: 'body',
      rule: 'array',
    });
    expect((await h1('POST', batchPath, { body: [] })).json).toMatchObject({ rule: 'non_empty' });
  });

  it('keeps each visitor’s order across concurrent batches of different visitors', async () => {
    const visitors = ['p', 'q', 'r', 's'];
    await Promise.all(
      visitors.map((v) =>
        h2('POST', batchPath, {
          body: Array.from({ length: 20 }, (_, i) => ({
            view: { sessionExternalId: v, productId: i + 1, timestamp: ts },
          })),
        }),
      ),
    );
    for (const v of visitors) {
      const { events: stored } = await events(`?sessionExternalId=${v}`);
      expect(stored.map((e: { body: { productId: number } }) => e.body.productId)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    }
  });
});

describe('consistency warnings (§6)', () => {
  beforeEach(async () => {
    const xml = feedXml(
      offer('101', { group: '700', stocks: '<stock id="north"><available>true</available></stock>' }) +
        offer('102', { group: '700' }) +
        offer('103'),
    );
    expect((await importFeed(h1, xml)).json.status).toBe('imported');
  });

  it('accepts events with unknown ids (200) but records a warning for each', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['view', { productId: 999 }, 'product.unknown'],
      ['view', { productId: 101, stockId: 'south' }, 'stock.unknown'],
      ['categoryView', { categoryId: 99 }, 'category.unknown'],
      ['categoryViewByCategoryPath', { categoryPath: 'No/Such' }, 'category_path.unknown'],
      ['groupView', { groupId: 701, productIds: [101] }, 'group.unknown'],
      ['groupView', { groupId: 700, productIds: [101, 103] }, 'group.member_mismatch'],
    ];
    for (const [type, body, code] of cases) {
      const sid = `w-${code.replace(/[^A-Za-z0-9]/g, '-')}`;
      const res = await track(h2, type, { sessionExternalId: sid, ...body });
      expect(res.status).toBe(200);
      const list = await warnings(`?sessionExternalId=${sid}`);
      expect(
        list.map((w: { code: string }) => w.code),
        code,
      ).toEqual([code]);
    }
    const stored = (await events('?sessionExternalId=w-product-unknown')).events[0];
    expect(stored.warnings).toEqual(['product.unknown']);
  });

  it('raises no warning for ids the catalog knows', async () => {
    await track(h2, 'view', { sessionExternalId: 'ok', productId: 101, stockId: 'north' });
    await track(h2, 'groupView', { sessionExternalId: 'ok', groupId: 700, productIds: [101, 102] });
    await track(h2, 'categoryView', { sessionExternalId: 'ok', categoryId: 11 });
    expect(await warnings('?sessionExternalId=ok')).toEqual([]);
  });

  it('records a repeated order line of the same transaction instead of merging it', async () => {
    const line = { sessionExternalId: 'dup', productId: 101, price: 10, quantity: 1, transaction: 'ORD-9' };
    await track(h1, 'order', line);
    await track(h1, 'order', line);
    expect((await events('?sessionExternalId=dup')).total).toBe(2);
    expect((await warnings('?code=order.duplicate_line')).length).toBe(1);
  });

  it('keeps ids removed by a later feed resolvable for events', async () => {
    await importFeed(h1, feedXml(offer('102') + offer('103')));
    await track(h2, 'view', { sessionExternalId: 'gone', productId: 101 });
    expect(await warnings('?sessionExternalId=gone')).toEqual([]);
  });
});
