import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { checkFeedFile } from '../../src/feed/feed.check.js';
import { EXTERNAL_TESTDATA } from '../helpers/external.ts';

/** Third-party feeds (see its README for origins and licences). */
const EXTERNAL = EXTERNAL_TESTDATA;

const WELL_FORMED = [
  'yandex-ecom-search/yandex_products_Ekaterinburg_feed.xml',
  'yandex-ecom-search/yandex_products_Moscow_feed_with_delivery.xml',
  'yandex-ecom-search/yandex_products_Saint_Petersburg_feed_vendor_type.xml',
  ...[
    'yml',
    'book',
    'currencies',
    'empty_offers',
    'minimal',
    'nested_categories',
    'no_categories',
    'simplified',
    'vendor_model',
  ].map((n) => `sirian-php-yml-parser/${n}.xml`),
  'irpsv-yandex-yml/general-test.xml',
  'lotustm-yandex-market-language/snapshot-create-full.xml',
  'lotustm-yandex-market-language/snapshot-escape.xml',
  'lireincore-ymlparser/example-windows-1251.xml',
];

/** An independent offer count: fast-xml-parser over the text decoded as its declaration says. */
async function countOffers(file: string): Promise<number> {
  const bytes = await readFile(file);
  const encoding =
    /encoding=["']([\w-]+)["']/.exec(bytes.subarray(0, 200).toString('latin1'))?.[1] ?? 'utf-8';
  const text = new TextDecoder(encoding).decode(bytes);
  const doc = new XMLParser({ ignoreAttributes: false, processEntities: false }).parse(text);
  const offer = doc.yml_catalog?.shop?.offers?.offer;
  return offer === undefined ? 0 : Array.isArray(offer) ? offer.length : 1;
}

describe('checkFeedFile on third-party feeds', () => {
  it.each(WELL_FORMED)('%s is well-formed and counts the offers fast-xml-parser counts', async (name) => {
    const file = path.join(EXTERNAL, name);
    const result = await checkFeedFile(file);
    expect(result.error ?? '').not.toMatch(/parse|invalid|DOCTYPE|entit/i);
    expect(result.wellFormed).toBe(true);
    expect(result.offers).toBe(await countOffers(file));
    expect(result.bytes).toBe((await readFile(file)).length);
  });

  it('counts offers in real feeds (not all zero)', async () => {
    const r = await checkFeedFile(path.join(EXTERNAL, WELL_FORMED[0]));
    expect(r.offers).toBe(36);
    expect(r.catalogDate).toBe('2023-12-11T20:53:45+03:00');
  });

  it('decodes a windows-1251 feed as its declaration says', async () => {
    const file = path.join(EXTERNAL, 'lireincore-ymlparser/example-windows-1251.xml');
    const r = await checkFeedFile(file);
    expect(r).toMatchObject({
      ok: true,
      wellFormed: true,
      offers: 2,
      categories: 5,
      catalogDate: '2016-02-05 17:22',
    });
  });

  it('rejects malformed.xml as not well-formed', async () => {
    const r = await checkFeedFile(path.join(EXTERNAL, 'sirian-php-yml-parser/malformed.xml'));
    expect(r).toMatchObject({ ok: false, wellFormed: false, offers: 0, error: 'unexpected close tag.' });
  });

  it('rejects xxe.xml without reading /etc/passwd', async () => {
    const r = await checkFeedFile(path.join(EXTERNAL, 'sirian-php-yml-parser/xxe.xml'));
    expect(r).toMatchObject({ ok: false, wellFormed: false });
    expect(r.error).toMatch(/DOCTYPE declares entities/);
    const everything = JSON.stringify(r);
    expect(everything).not.toContain('root:');
    expect(everything).not.toMatch(/\/bin\/(ba)?sh/);
  });

  it('says a well-formed catalog without <shop> is not a feed', async () => {
    const r = await checkFeedFile(path.join(EXTERNAL, 'sirian-php-yml-parser/no_shop.xml'));
    expect(r).toMatchObject({ ok: false, wellFormed: true, error: '<yml_catalog> has no <shop>' });
  });

  it('says a bare <offer> fragment is not a feed', async () => {
    const r = await checkFeedFile(path.join(EXTERNAL, 'irpsv-yandex-yml/offer-test.fragment.xml'));
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/yml_catalog/);
  });
});
