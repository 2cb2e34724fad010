import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/index.ts';
import { categoriesXml, FEED_FOOTER, feedHeader, offerXml } from '../../src/feed/feed.xml.ts';
import type { Offer } from '../../src/validation/product.validator.ts';
import {
  AUTH,
  feedXml,
  http1Transport,
  importFeed,
  offer,
  startTestEmulator,
  type Transport,
} from './emulator.helpers.ts';

/** A feed host whose answer each test decides: `handle` gets every request. */
let handle: (req: http.IncomingMessage, res: http.ServerResponse) => void;
let host: http.Server;
let feedUrl: string;
let emu: EmulatorHandle;
let h1: Transport;
const open = new Set<http.ServerResponse>();

beforeAll(async () => {
  host = http.createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    handle(req, res);
  });
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  feedUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}/feeds/catalog.xml`;
  emu = await startTestEmulator({ feedUrl, behaviour: { feedPullTimeoutMs: 1500 } });
  h1 = http1Transport(emu);
});
afterAll(async () => {
  await emu.stop();
  host.closeAllConnections();
  await new Promise<void>((resolve) => host.close(() => resolve()));
});
beforeEach(() => {
  emu.reset();
  for (const res of open) res.destroy();
});

const base: Offer = {
  id: '1',
  groupId: null,
  available: true,
  url: 'https://shop.example/p/1?a=1&b=2',
  price: '10',
  oldPrice: null,
  categoryIds: ['10'],
  picture: 'https://shop.example/img/1.jpg',
  name: 'Knife "Chef" <8">',
  vendor: 'Smith & Sons',
  model: null,
  typePrefix: null,
  description: 'line one\nline two\r\nend',
  params: [{ name: 'Size "EU"\tcut\nx', value: 'M & L', unit: 'cm<>' }],
  stocks: [
    {
      id: 'A&B',
      available: true,
      price: '9',
      oldPrice: null,
      url: null,
      picture: null,
      name: 'A&B store',
      description: null,
    },
    {
      id: 'say "hi" <north>',
      available: false,
      price: null,
      oldPrice: null,
      url: null,
      picture: null,
      name: null,
      description: null,
    },
  ],
};

/** A feed exactly as rr-sync's writer builds it. */
const ourFeed = (offers: Offer[]) =>
  feedHeader('2026-12-01 02:00') +
  categoriesXml([{ id: '10', parentId: null, name: 'Kitchen & Garden' }]) +
  offers.map(offerXml).join('') +
  FEED_FOOTER;

describe('emulator reads feeds like Retail Rocket', () => {
  it('decodes entities in attribute values and text of a feed our own writer produced', async () => {
    const xml = ourFeed([base]);
    expect(xml).toContain('<stock id="A&amp;B">');
    expect(xml).toContain('<stock id="say &quot;hi&quot; &lt;north&gt;">');
    expect(xml).toContain('name="Size &quot;EU&quot;&#9;cut&#10;x"');
    const report = (await importFeed(h1, xml)).json;
    expect(report).toMatchObject({ status: 'imported', offersAccepted: 1, offersIgnored: 0, categories: 1 });
    expect(report.stocks).toEqual(['A&B', 'say "hi" <north>']);
    const item = (await h1('GET', '/__emulator/catalog?ids=1')).json.list[0];
    expect(item).toMatchObject({
      url: 'https://shop.example/p/1?a=1&b=2',
      name: 'Knife "Chef" <8">',
      vendor: 'Smith & Sons',
      description: 'line one\nline two\r\nend',
      params: { 'Size "EU"\tcut\nx': 'M & L' },
      stocks: {
        'A&B': { available: true, price: 9, name: 'A&B store' },
        'say "hi" <north>': { available: false },
      },
    });
    expect((await h1('GET', '/__emulator/catalog')).json.categories).toEqual([
      { id: '10', parentId: null, name: 'Kitchen & Garden' },
    ]);
  });

  it('decodes numeric character references in attributes, and a warehouse named A&B matches events', async () => {
    const xml = feedXml(offer('5', { stocks: '<stock id="A&#38;B"><available>true</available></stock>' }));
    expect((await importFeed(h1, xml)).json.stocks).toEqual(['A&B']);
    const view = await h1('POST', `/1.0/view?${AUTH}`, {
      body: { productId: 5, stockId: 'A&B', sessionExternalId: 's1', timestamp: '2024-03-01T09:31:00Z' },
    });
    expect(view.status).toBe(200);
    const warnings = (await h1('GET', '/__emulator/warnings?sessionExternalId=s1')).json;
    expect(warnings.total).toBe(0);
  });

  it('gives up on a server that drips the feed byte by byte, keeping the previous catalog', async () => {
    await importFeed(h1, feedXml(offer('1')));
    let dripping: NodeJS.Timeout | undefined;
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      const text = feedXml(offer('2'));
      let i = 0;
      dripping = setInterval(() => res.write(text[i++ % text.length] ?? ' '), 20);
      res.on('close', () => clearInterval(dripping));
    };
    const report = await emu.pullFeed();
    clearInterval(dripping);
    expect(report).toMatchObject({ status: 'failed', httpStatus: null });
    expect(report.error).toEqual({ code: 'feed.timeout', message: 'the pull took longer than 1500 ms' });
    expect((await h1('GET', '/__emulator/catalog')).json.list.map((i: { id: string }) => i.id)).toEqual([
      '1',
    ]);
  });

  it('keeps one deadline across redirects, and survives cutting bodies left dripping', async () => {
    const timers: NodeJS.Timeout[] = [];
    handle = (req, res) => {
      const first = !req.url?.endsWith('?next');
      res.writeHead(first ? 302 : 200, first ? { location: '/feeds/catalog.xml?next' } : {});
      const drip = setInterval(() => res.write(' '), 20);
      timers.push(drip);
      res.on('close', () => clearInterval(drip));
    };
    const report = await emu.pullFeed();
    for (const t of timers) clearInterval(t);
    expect(report.error?.code).toBe('feed.timeout');
    // Still alive and answering after both bodies were cut.
    expect((await h1('GET', '/__emulator/health')).status).toBe(200);
  });

  it('gives up on a server that never sends its headers', async () => {
    handle = () => undefined; // accepts the request, answers nothing
    const report = await emu.pullFeed();
    expect(report.error).toEqual({ code: 'feed.timeout', message: 'the pull took longer than 1500 ms' });
  });

  it('streams a large generated gzip feed into the catalog', async () => {
    const OFFERS = 30_000;
    let xmlBytes = 0;
    let wireBytes = 0;
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml', 'content-encoding': 'gzip' });
      const gzip = createGzip({ level: 1 });
      gzip.on('data', (c: Buffer) => (wireBytes += c.length));
      gzip.pipe(res);
      let id = 0;
      const more = () => {
        while (id < OFFERS) {
          id += 1;
          const o: Offer = { ...base, id: String(id), groupId: String(1_000_000 + Math.ceil(id / 3)) };
          const text =
            (id === 1
              ? feedHeader('2026-12-01 02:00') + categoriesXml([{ id: '10', parentId: null, name: 'K' }])
              : '') + offerXml(o);
          xmlBytes += Buffer.byteLength(text);
          if (!gzip.write(text)) return void gzip.once('drain', more);
        }
        xmlBytes += Buffer.byteLength(FEED_FOOTER);
        gzip.end(FEED_FOOTER);
      };
      more();
    };
    const slow = await startTestEmulator({ feedUrl, behaviour: { feedPullTimeoutMs: 120_000 } });
    try {
      const report = await slow.pullFeed();
      expect(report).toMatchObject({
        status: 'imported',
        httpStatus: 200,
        gzip: true,
        offersAccepted: OFFERS,
        offersIgnored: 0,
        groups: OFFERS / 3,
        categories: 1,
        stocks: ['A&B', 'say "hi" <north>'],
        xmlBytes,
        bytes: wireBytes,
      });
      expect(xmlBytes).toBeGreaterThan(16_000_000);
    } finally {
      await slow.stop();
    }
  }, 120_000);
});
