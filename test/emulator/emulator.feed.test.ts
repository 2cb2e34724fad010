import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatorHandle, FeedImportReport } from '../../src/emulator/index.ts';
import { external } from '../helpers/external.ts';
import {
  feedXml,
  http1Transport,
  importFeed,
  offer,
  startTestEmulator,
  type Transport,
} from './emulator.helpers.ts';

/** A tiny feed host: serves `current` with ETag/Last-Modified, answers 304 on a match, logs requests. */
interface FeedHost {
  url: string;
  current: { body: Buffer; etag: string; lastModified: string; encoding?: 'gzip'; type?: string };
  requests: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

async function startFeedHost(): Promise<FeedHost> {
  const host: FeedHost = {
    url: '',
    current: { body: Buffer.from(''), etag: '"v0"', lastModified: new Date(0).toUTCString() },
    requests: [],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    host.requests.push(req.headers);
    const c = host.current;
    if (req.headers['if-none-match'] === c.etag) {
      res.writeHead(304, { etag: c.etag }).end();
      return;
    }
    res.writeHead(200, {
      'content-type': c.type ?? 'application/xml',
      etag: c.etag,
      'last-modified': c.lastModified,
      ...(c.encoding ? { 'content-encoding': c.encoding } : {}),
    });
    res.end(c.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/feeds/catalog.xml`;
  return host;
}

let feedHost: FeedHost;
let emu: EmulatorHandle;
let h1: Transport;

beforeAll(async () => {
  feedHost = await startFeedHost();
  emu = await startTestEmulator({ feedUrl: feedHost.url, feedIntervalSeconds: 0 });
  h1 = http1Transport(emu);
});
afterAll(async () => {
  await emu.stop();
  await feedHost.close();
});
beforeEach(() => {
  emu.reset();
  feedHost.requests.length = 0;
});

const SMALL = feedXml(
  offer('1') +
    offer('2', { group: '9' }) +
    offer('3', { stocks: '<stock id="north"><price>5</price></stock>' }),
);
const catalogIds = async () =>
  (await h1('GET', '/__emulator/catalog')).json.list.map((i: { id: string }) => i.id);
const serve = (xml: string, etag: string, extra: Partial<FeedHost['current']> = {}) => {
  feedHost.current = {
    body: Buffer.from(xml),
    etag,
    lastModified: 'Sat, 01 Mar 2024 09:30:00 GMT',
    ...extra,
  };
};

describe('feed pulling', () => {
  it('imports the feed, then sends If-None-Match/If-Modified-Since and counts the 304', async () => {
    serve(SMALL, '"v1"');
    const first = await emu.pullFeed();
    expect(first).toMatchObject({
      status: 'imported',
      httpStatus: 200,
      offersAccepted: 3,
      offersIgnored: 0,
      groups: 1,
    });
    expect(first.stocks).toEqual(['north']);
    expect(first.bytes).toBe(Buffer.byteLength(SMALL));
    expect(feedHost.requests[0]?.['accept-encoding']).toContain('gzip');
    const second = await emu.pullFeed();
    expect(feedHost.requests[1]).toMatchObject({
      'if-none-match': '"v1"',
      'if-modified-since': 'Sat, 01 Mar 2024 09:30:00 GMT',
    });
    expect(second).toMatchObject({
      status: 'not_modified',
      httpStatus: 304,
      counters: { pulls: 2, imported: 1, notModified: 1, failed: 0 },
    });
    expect(await catalogIds()).toEqual(['1', '2', '3']);
    const admin = (await h1('GET', '/__emulator/feed')).json;
    expect(admin.counters).toEqual({ pulls: 2, imported: 1, notModified: 1, failed: 0 });
    expect(admin.lastStatus).toBe('not_modified');
    expect(admin.reports.map((r: FeedImportReport) => r.status)).toEqual(['imported', 'not_modified']);
  });

  it('unpacks a gzip Content-Encoding and a raw .gz body', async () => {
    const gz = gzipSync(Buffer.from(SMALL));
    feedHost.current = { body: gz, etag: '"gz1"', lastModified: '', encoding: 'gzip' };
    const encoded = await emu.pullFeed();
    expect(encoded).toMatchObject({
      status: 'imported',
      gzip: true,
      bytes: gz.length,
      xmlBytes: Buffer.byteLength(SMALL),
    });
    emu.reset();
    feedHost.current = { body: gz, etag: '"gz2"', lastModified: '', type: 'application/gzip' };
    const raw = await emu.pullFeed();
    expect(raw).toMatchObject({ status: 'imported', gzip: true, offersAccepted: 3 });
  });

  it('replaces the catalog on a changed feed and keeps removed ids out of it', async () => {
    serve(SMALL, '"a"');
    await emu.pullFeed();
    serve(feedXml(offer('3') + offer('4')), '"b"');
    const report = await emu.pullFeed();
    expect(report.status).toBe('imported');
    expect(await catalogIds()).toEqual(['3', '4']);
    expect((await h1('GET', '/__emulator/catalog')).json.removed.sort()).toEqual(['1', '2']);
  });

  it('keeps the previous catalog when a feed is malformed, empty or answered with an error', async () => {
    serve(SMALL, '"ok"');
    await emu.pullFeed();
    serve(readFileSync(external('sirian-php-yml-parser/malformed.xml'), 'utf8'), '"bad"');
    expect((await emu.pullFeed()).error?.code).toBe('feed.malformed');
    serve(feedXml(''), '"empty"');
    expect((await emu.pullFeed()).error?.code).toBe('feed.empty');
    serve('<rss/>', '"rss"');
    expect((await emu.pullFeed()).error?.code).toBe('feed.no_yml_catalog');
    expect(await catalogIds()).toEqual(['1', '2', '3']);
    // The failed feed's ETag was not kept: the next pull downloads it whole again.
    await emu.pullFeed();
    expect(feedHost.requests.at(-1)?.['if-none-match']).toBe('"ok"');
  });

  it('does not read local files through an external entity (XXE)', async () => {
    const xxe = readFileSync(external('sirian-php-yml-parser/xxe.xml'), 'utf8');
    const report = (await importFeed(h1, xxe)).json as FeedImportReport;
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('feed.external_entity');
    const everything = JSON.stringify((await h1('GET', '/__emulator/catalog')).json) + JSON.stringify(report);
    expect(everything).not.toContain('root:');
  });

  it('leaves internal DOCTYPE entities unexpanded (no entity bombs) and decodes only XML built-ins', async () => {
    const bomb = SMALL.replace(
      '<yml_catalog',
      '<!DOCTYPE yml_catalog [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<yml_catalog',
    ).replace('<name>Item 1</name>', '<name>&b; &amp; &#x41;&#66;</name>');
    expect((await importFeed(h1, bomb)).json.status).toBe('imported');
    const item = (await h1('GET', '/__emulator/catalog?ids=1')).json.list[0];
    expect(item.name).toBe('&b; & AB');
  });

  it('imports a feed that names an external DTD (common in YML) without fetching it', async () => {
    const xml = readFileSync(external('sirian-php-yml-parser/yml.xml'), 'utf8');
    expect(xml).toContain('<!DOCTYPE yml_catalog SYSTEM "shops.dtd">');
    const report = (await importFeed(h1, xml)).json as FeedImportReport;
    expect(report).toMatchObject({
      status: 'imported',
      offersAccepted: 4,
      ignoredByReason: { 'offer.name.missing': 3 },
    });
  });

  it('refuses a feed over the size cap while downloading', async () => {
    const capped = await startTestEmulator({ feedUrl: feedHost.url, behaviour: { maxFeedBytes: 1000 } });
    try {
      serve(SMALL, '"big"');
      const report = await capped.pullFeed();
      expect(report.error?.code).toBe('feed.too_large');
    } finally {
      await capped.stop();
    }
  });

  it('pulls on start when a schedule is set, and redacts credentials in the report', async () => {
    serve(SMALL, '"sched"');
    const url = feedHost.url.replace('http://', 'http://user:secret-pw@') + '?token=feed-secret-token';
    const scheduled = await startTestEmulator({ feedUrl: url, feedIntervalSeconds: 3600 });
    try {
      const send = http1Transport(scheduled);
      let reports: FeedImportReport[] = [];
      for (let i = 0; i < 100 && reports.length === 0; i += 1) {
        reports = (await send('GET', '/__emulator/feed')).json.reports;
        if (reports.length === 0) await new Promise((r) => setTimeout(r, 20));
      }
      expect(reports[0]?.status).toBe('imported');
      expect(feedHost.requests.at(-1)?.authorization).toBe(
        `Basic ${Buffer.from('user:secret-pw').toString('base64')}`,
      );
      const text = JSON.stringify((await send('GET', '/__emulator/feed')).json);
      expect(text).not.toContain('secret-pw');
      expect(text).not.toContain('feed-secret-token');
    } finally {
      await scheduled.stop();
    }
  });

  it('imports XML posted to the admin API, or pulls a URL given as {url}', async () => {
    expect((await importFeed(h1, SMALL)).json).toMatchObject({
      source: 'body',
      status: 'imported',
      offersAccepted: 3,
    });
    serve(feedXml(offer('8')), '"u"');
    const res = await h1('POST', '/__emulator/feed', { body: { url: feedHost.url } });
    expect(res.json).toMatchObject({ status: 'imported', offersAccepted: 1 });
    expect((await h1('POST', '/__emulator/feed', { body: { url: 'not a url' } })).status).toBe(400);
  });
});

describe('feed validation report', () => {
  it('counts ignored offers by reason and keeps warnings for what was dropped', async () => {
    const xml = feedXml(
      [
        offer('1'),
        offer('1'), // duplicate
        offer('0123'), // leading zero
        offer('9007199254740992'), // above 2^53-1
        offer('4', { cat: '99' }), // unknown category
        offer('5', { price: 0 }),
        offer('6', { oldprice: 5 }), // oldprice below price: dropped, offer kept
        offer('7').replace('<picture>https://shop.example/img/7.jpg</picture>', ''),
        offer('8').replace('https://shop.example/p/8', '/p/8'),
        offer('10').replace(' available="true"', ' available="yes"'),
        offer('11').replace('<name>Item 11</name>', ''),
        offer('12').replace(' available="true"', ''), // defaults to available, with a warning
      ].join(''),
      '\n      <category id="30" parentId="31">Orphan</category>',
    );
    const report = (await importFeed(h1, xml)).json as FeedImportReport;
    expect(report.offersAccepted).toBe(3);
    expect(report.offersIgnored).toBe(9);
    expect(report.ignoredByReason).toEqual({
      'offer.id.duplicate': 1,
      'offer.id.invalid': 2,
      'offer.categoryId.unknown': 1,
      'offer.price.invalid': 1,
      'offer.picture.missing': 1,
      'offer.url.invalid': 1,
      'offer.available.invalid': 1,
      'offer.name.missing': 1,
    });
    expect(report.warningsByReason).toMatchObject({
      'offer.oldprice.not_greater': 1,
      'offer.available.missing': 1,
      'category.parent.unknown': 1,
      'offer.categoryId.unknown': 1,
    });
    expect(report.ignored).toContainEqual({ offerId: '0123', reason: 'offer.id.invalid' });
  });

  it.each([
    ['yandex_products_Ekaterinburg_feed.xml', 36, {}],
    ['yandex_products_Moscow_feed_with_delivery.xml', 36, {}],
  ])('imports the real Yandex feed %s and counts what it accepted', async (file, accepted, ignored) => {
    const xml = readFileSync(external(`yandex-ecom-search/${file}`), 'utf8');
    const offers = xml.match(/<offer\s/g)?.length;
    const report = (await importFeed(h1, xml)).json as FeedImportReport;
    expect(report.status).toBe('imported');
    expect(report.offersAccepted).toBe(accepted);
    expect(report.offersAccepted + report.offersIgnored).toBe(offers);
    expect(report.ignoredByReason).toEqual(ignored);
    // These feeds carry no available attribute (Yandex default: available) and an ISO date.
    expect(report.warningsByReason).toEqual({ 'offer.available.missing': offers, 'feed.date.format': 1 });
    expect(report.categories).toBe(7);
    const first = (await h1('GET', '/__emulator/catalog?limit=1')).json.list[0];
    expect(first).toMatchObject({ name: 'Умная лампочка Яндекса E14', price: 1490, available: true });
  });

  it('refuses the vendor.model Yandex feed whose offers have no <name>, keeping the catalog', async () => {
    await importFeed(h1, SMALL);
    const xml = readFileSync(
      external('yandex-ecom-search/yandex_products_Saint_Petersburg_feed_vendor_type.xml'),
    );
    const report = (await importFeed(h1, xml.toString('utf8'))).json as FeedImportReport;
    expect(report).toMatchObject({
      status: 'failed',
      offersAccepted: 0,
      offersIgnored: 36,
      ignoredByReason: { 'offer.name.missing': 36 },
    });
    expect(report.error?.code).toBe('feed.empty');
    expect(await catalogIds()).toEqual(['1', '2', '3']);
  });

  it('decodes a windows-1251 feed by its XML declaration', async () => {
    const bytes = readFileSync(external('lireincore-ymlparser/example-windows-1251.xml'));
    const res = await h1('POST', '/__emulator/feed', {
      raw: bytes,
      headers: { 'content-type': 'application/xml' },
    });
    expect(res.json).toMatchObject({ status: 'imported', offersAccepted: 2 });
    const names = (await h1('GET', '/__emulator/catalog')).json.list.map((i: { name: string }) => i.name);
    expect(names[0]).toBe('Смартфон Apple iPhone 6s 128gb Space Gray');
  });
});
