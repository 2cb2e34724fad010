import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedactor, createRetailRocketClient, redact } from '../../src/rr/index.ts';
import { captureLogger, PARTNER_ID, rrConfig } from './rr.helpers.ts';

/**
 * Keys are runs of capital letters L-Z (letters that appear in none of the surrounding text, so
 * any run found in the output is a leak) joined by the characters that break naive redaction:
 * query separators, spaces, '+', '%', '/', '=' and non-ASCII.
 */
const SEPARATORS = [
  ' ',
  '&',
  '+',
  '/',
  '=',
  '%',
  '%zz',
  '#',
  ';',
  '?',
  ':',
  '@',
  '!',
  "'",
  '(',
  '*',
  '~',
  ',',
  '$',
  'é',
  '€',
  '&apiKey=',
];
const segment = fc.stringMatching(/^[L-Z]{6,10}$/);
const keyParts = fc
  .tuple(segment, fc.array(fc.tuple(fc.constantFrom(...SEPARATORS), segment), { minLength: 1, maxLength: 4 }))
  .map(([first, rest]) => ({
    key: first + rest.map(([s, g]) => s + g).join(''),
    segments: [first, ...rest.map(([, g]) => g)],
  }));

/** The forms a key takes in a URL or a message: as is, encodeURIComponent, '+' for spaces, form-encoded. */
const forms = (key: string) => [
  key,
  encodeURIComponent(key),
  encodeURIComponent(key).replace(/%20/g, '+'),
  new URLSearchParams({ k: key }).toString().slice(2),
  encodeURIComponent(key).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
];

describe('redact (property)', () => {
  it('replaces every form of the key exactly, wherever it sits, and nothing else', () => {
    fc.assert(
      fc.property(
        keyParts,
        fc.array(fc.tuple(fc.nat(4), fc.stringMatching(/^[a-z .:/]{0,12}$/)), { minLength: 1, maxLength: 4 }),
        ({ key }, pieces) => {
          const f = forms(key);
          let text = 'post https://api.example/1.0/view?partnerid=abc&apiKey=';
          let expected = text;
          for (const [which, filler] of pieces) {
            // '&' ends the value as in a URL: the apiKey= pattern may blank up to there.
            text += `${f[which]}&${filler} `;
            expected += `[redacted]&${filler} `;
          }
          expect(redact(text, [key])).toBe(expected);
          expect(createRedactor([undefined, key])(text)).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('still blanks any apiKey= value it was not told about, in either spelling', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[L-Z0-9%]{1,30}$/), (value) => {
        expect(redact(`x?partnerId=p&apiKey=${value}&a=b y;api_key=${value}`, [])).toBe(
          'x?partnerId=p&apiKey=[redacted]&a=b y;api_key=[redacted]',
        );
      }),
    );
  });
});

/**
 * A peer that refuses every call and quotes it back (path, decoded key, raw query), after a
 * random amount of padding: the key can sit anywhere, also where an error text is cut short.
 */
let server: http.Server;
let origin: string;
let padding = 0;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://x');
    const key = url.searchParams.get('apiKey') ?? '';
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`${'.'.repeat(padding)}refused ${req.method} ${req.url} key=${key} raw=${url.search}`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('Retail Rocket client with random keys (property, real socket)', () => {
  it('no error, batch report or log line carries any part of the key', async () => {
    await fc.assert(
      fc.asyncProperty(keyParts, fc.nat(320), async ({ key, segments }, pad) => {
        padding = pad;
        const logs = captureLogger();
        const client = createRetailRocketClient(
          rrConfig(origin, { apiKey: key, partnerId: PARTNER_ID, recommendationCacheEntries: 0 }),
          { logger: logs },
        );
        try {
          const results = [
            await client.events.view({ sessionExternalId: 'v', productId: 1 }),
            await client.recommendations.get('partnerRecommendations/popular', { sessionExternalId: 'v' }),
            await client.products.upsert({
              id: 1,
              name: 'n',
              price: 1,
              url: 'https://shop.example/p/1',
              pictureUrl: 'https://shop.example/p/1.jpg',
              isAvailable: true,
              categoryPaths: ['A'],
            }),
            await client.sendBatch([{ type: 'view', event: { sessionExternalId: 'v', productId: 1 } }], {
              retry: { retries: 0 },
            }),
          ];
          const text = JSON.stringify(results) + logs.lines.join('\n');
          expect(results.map((r) => r.ok)).toEqual([false, false, false, false]);
          expect(text).toContain('[redacted]');
          for (const s of segments) expect(text).not.toContain(s);
        } finally {
          await client.close();
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
