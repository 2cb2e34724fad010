import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFeedJob, type FeedSummary } from '../../src/feed/feed.job.ts';
import { FEED_FILES } from '../../src/feed/feed.layout.ts';
import { createFeedHarness, FIXED_NOW, readPublished, sha256, type FeedHarness } from './feed.harness.ts';
import { GOLDEN_STORE } from './golden.fixture.ts';
import { createStore } from './store.fixture.ts';

const GOLDEN = path.resolve('test/fixtures/feeds/small.xml');

let h: FeedHarness;
let summary: FeedSummary;

beforeAll(async () => {
  h = await createFeedHarness();
  await createStore(h.db.pool, GOLDEN_STORE);
  summary = await runFeedJob(h.deps, { now: () => FIXED_NOW });
});
afterAll(() => h?.close());

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

describe('the feed of a small catalog', () => {
  it('is published with every offer and no validation issue', () => {
    expect(summary).toMatchObject({
      status: 'published',
      exitCode: 0,
      offers: 3,
      categories: 4,
      stockBlocks: 3,
      rejectedProducts: 0,
      errors: 0,
      warnings: 0,
    });
  });

  it('matches the golden file byte for byte', async () => {
    const xml = await readFile(path.join(h.feedsDir, FEED_FILES.xml));
    // UPDATE_GOLDEN=1 rewrites the file; review the diff like code before committing it.
    if (process.env.UPDATE_GOLDEN) await writeFile(GOLDEN, xml);
    expect(xml.toString('utf8')).toBe(await readFile(GOLDEN, 'utf8'));
    expect(xml.equals(await readFile(GOLDEN))).toBe(true);
  });

  it('round-trips through fast-xml-parser with the expected structure and unescaped texts', async () => {
    const parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@',
      parseTagValue: false,
      parseAttributeValue: false,
    });
    const doc = parser.parse(await readFile(path.join(h.feedsDir, FEED_FILES.xml), 'utf8'));
    expect(doc.yml_catalog['@date']).toBe('2026-11-29 02:00');
    const shop = doc.yml_catalog.shop;
    const categories = asArray(shop.categories.category);
    expect(categories.map((c: Record<string, string>) => [c['@id'], c['@parentId'], c['#text']])).toEqual([
      ['10', undefined, 'Kitchen & Dining'],
      ['11', '10', 'Knives <sharp> "pro"'],
      ['12', '10', 'Посуда 🍳'],
      ['20', undefined, "Garden's"],
    ]);
    const offers = asArray(shop.offers.offer) as Record<string, unknown>[];
    expect(offers.map((o) => o['@id'])).toEqual(['700123', '700124', '800']);
    const [knife, variant, plain] = offers;
    expect(knife).toMatchObject({
      '@available': 'true',
      '@group_id': '7001',
      price: '49.9',
      oldprice: '59.9',
      categoryId: ['11', '12'],
      name: 'Chef knife 20 cm 🔪',
      vendor: 'Smith & Sons <Ltd>',
      model: 'CK-20 "Pro"',
      typePrefix: 'Нож',
      description: "Forged blade — it's sharp & <safe> 👍",
    });
    expect(asArray(knife.param)).toEqual([
      { '@name': 'Material', '#text': 'Steel' },
      { '@name': 'Length', '@unit': 'cm', '#text': '20' },
      { '@name': 'Note "quoted"', '#text': 'a < b & c > d' },
    ]);
    const stocks = asArray(knife.stock) as Record<string, unknown>[];
    expect(stocks.map((s) => s['@id'])).toEqual(['north', 'Москва']);
    expect(stocks[0]).toMatchObject({
      available: 'false',
      price: '52',
      oldprice: '60',
      url: 'https://north.shop.example/p/700123?a=1&b=2',
    });
    expect(stocks[1]).toMatchObject({
      available: 'true',
      name: 'Нож шеф-повара "20"',
      description: "Tom & Jerry's <choice>",
    });
    expect(variant).toMatchObject({ '@available': 'false', '@group_id': '7001', price: '52' });
    expect(asArray(variant.param)).toEqual([
      { '@name': 'Color', '#text': 'Red & black' },
      { '@name': 'Размер', '#text': 'L' },
    ]);
    expect(asArray(variant.stock).map((s) => (s as Record<string, unknown>)['@id'])).toEqual(['north']);
    expect(plain['@group_id']).toBeUndefined();
    expect(plain).not.toHaveProperty('oldprice');
    expect(plain).not.toHaveProperty('stock');
  });

  it('writes a .gz that gunzips to exactly catalog.xml, and a manifest that matches both files', async () => {
    const published = await readPublished(h.feedsDir);
    expect(published).not.toBeNull();
    const { manifest, xml, gz } = published!;
    expect(gunzipSync(gz).equals(xml)).toBe(true);
    // The stable names point at the same bytes as the version directory.
    expect((await readFile(path.join(h.feedsDir, FEED_FILES.gz))).equals(gz)).toBe(true);
    expect(manifest).toMatchObject({
      version: summary.version,
      sha256: sha256(xml),
      gzSha256: sha256(gz),
      bytes: xml.length,
      gzBytes: gz.length,
      offers: 3,
      categories: 4,
      catalogDate: '2026-11-29 02:00',
      publishedAt: FIXED_NOW.toISOString(),
    });
    const header = '<?xml version="1.0" encoding="UTF-8"?>\n<yml_catalog date="2026-11-29 02:00">\n';
    expect(xml.subarray(0, Buffer.byteLength(header)).toString()).toBe(header);
    expect(manifest.contentSha256).toBe(sha256(xml.subarray(Buffer.byteLength(header))));
    expect(summary).toMatchObject({ bytes: xml.length, gzBytes: gz.length });
  });
});
