import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/index.ts';
import {
  AUTH,
  h2Transport,
  http1Transport,
  P,
  startTestEmulator,
  track,
  ts,
  type Transport,
} from './emulator.helpers.ts';

let emu: EmulatorHandle;
let h2: ReturnType<typeof h2Transport>;
const transports: Record<string, Transport> = {};

beforeAll(async () => {
  emu = await startTestEmulator({
    partners: [P, { partnerId: 'ffffffffffffffffffffffff', apiKey: '5ec0de5ec0de5ec0de5ec0de' }],
  });
  h2 = h2Transport(emu);
  transports['HTTP/2 TLS'] = h2;
  transports['HTTP/1.1'] = http1Transport(emu);
});
afterAll(async () => {
  h2.close();
  await emu.stop();
});
beforeEach(() => emu.reset());

describe('emulator transport', () => {
  it('speaks HTTP/2 over TLS with a certificate signed by the CA it wrote to caFile', async () => {
    expect(readFileSync(emu.caFile, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(emu.h2Url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(emu.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await h2('GET', '/__emulator/health');
    expect(res.status).toBe(200);
    expect(h2.session().alpnProtocol).toBe('h2');
  });

  it('also accepts HTTP/1.1 over TLS on the HTTP/2 port (allowHTTP1)', async () => {
    const https = await import('node:https');
    const status = await new Promise<number>((resolve, reject) => {
      https
        .get(`${emu.h2Url}/__emulator/health`, { ca: readFileSync(emu.caFile) }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(status).toBe(200);
  });
});

describe.each(['HTTP/2 TLS', 'HTTP/1.1'])('over %s', (name) => {
  const send = (...args: Parameters<Transport>) => (transports[name] as Transport)(...args);

  it('accepts a valid view event with 200 and a JSON body', async () => {
    const res = await send('POST', `/1.0/view?${AUTH}`, {
      body: { sessionExternalId: 'v1', productId: 1, timestamp: ts },
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json).toEqual({});
  });

  it('answers 401 for a missing apiKey, a wrong apiKey, an unknown partner and another partner’s key, never echoing the key', async () => {
    const body = { body: { sessionExternalId: 'v1', productId: 1 } };
    const cases = [
      `/1.0/view?partnerId=${P.partnerId}`,
      `/1.0/view?partnerId=${P.partnerId}&apiKey=wrong-key-value`,
      `/1.0/view?partnerId=000000000000000000000000&apiKey=${P.apiKey}`,
      `/1.0/view?partnerId=${P.partnerId}&apiKey=5ec0de5ec0de5ec0de5ec0de`,
      `/1.0/view?apiKey=${P.apiKey}`,
      `/api/3.0/partnerRecommendations/popular/?partnerId=${P.partnerId}&apiKey=nope&sessionExternalId=v1`,
    ];
    for (const path of cases) {
      const res = await send(
        path.startsWith('/api') ? 'GET' : 'POST',
        path,
        path.startsWith('/api') ? {} : body,
      );
      expect(res.status, path).toBe(401);
      expect(res.text).not.toContain(P.apiKey);
      expect(res.text).not.toContain('5ec0de5ec0de5ec0de5ec0de');
      expect(res.text).not.toContain('wrong-key-value');
    }
  });

  it('accepts the apiKey spelled apikey (offline-orders spelling)', async () => {
    const res = await send('POST', `/1.0/view?partnerId=${P.partnerId}&apikey=${P.apiKey}`, {
      body: { sessionExternalId: 'v1', productId: 1 },
    });
    expect(res.status).toBe(200);
  });

  it('answers 404 for unknown paths, events and recommendation resources', async () => {
    expect((await send('GET', '/nope')).status).toBe(404);
    expect((await send('POST', `/1.0/noSuchEvent?${AUTH}`, { body: {} })).status).toBe(404);
    expect(
      (await send('GET', `/api/3.0/partnerRecommendations/noSuchAlgo/?${AUTH}&sessionExternalId=a`)).status,
    ).toBe(404);
    expect((await send('GET', '/__emulator/nope')).status).toBe(404);
  });

  it('answers 405 for the wrong method on a known resource', async () => {
    expect((await send('GET', `/1.0/view?${AUTH}`)).status).toBe(405);
  });

  it('answers 400 naming the field and the rule', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ sessionExternalId: 'v1', productId: '12' }, 'productId', 'integer_id'],
      [{ sessionExternalId: 'v1', productId: 2 ** 53 }, 'productId', 'integer_id'],
      [{ sessionExternalId: 'v1' }, 'productId', 'required'],
      [{ productId: 1 }, 'sessionExternalId', 'required'],
      [{ sessionExternalId: 'x'.repeat(51), productId: 1 }, 'sessionExternalId', 'session_external_id'],
      [{ sessionExternalId: 'has space', productId: 1 }, 'sessionExternalId', 'session_external_id'],
      [{ sessionExternalId: 'v1', productId: 1, timestamp: 'yesterday' }, 'timestamp', 'iso8601'],
      [{ sessionExternalId: 'v1', productId: 1, stockId: 's'.repeat(51) }, 'stockId', 'max_length_50'],
      [{ sessionExternalId: 'v1', productId: 1, productID: 2 }, 'productID', 'unknown_field'],
    ];
    for (const [body, field, rule] of cases) {
      const res = await send('POST', `/1.0/view?${AUTH}`, { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json).toMatchObject({ error: 'validation', field, rule });
      expect(res.json.message).toContain(field);
    }
    const order = await track(send, 'order', {
      sessionExternalId: 'v1',
      productId: 1,
      price: -1,
      quantity: 0,
      transaction: 'T1',
    });
    expect(order.json.field).toBe('price');
    expect(order.json.issues.map((i: { field: string }) => i.field)).toEqual(['price', 'quantity']);
  });

  it('refuses a body that is not JSON, or not sent as application/json, in strict mode', async () => {
    const notJson = await send('POST', `/1.0/view?${AUTH}`, {
      raw: '{oops',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.json).toMatchObject({ field: 'body', rule: 'json' });
    const wrongType = await send('POST', `/1.0/view?${AUTH}`, {
      raw: JSON.stringify({ sessionExternalId: 'v1', productId: 1 }),
      headers: { 'content-type': 'text/plain' },
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json).toMatchObject({ field: 'content-type', rule: 'application_json' });
  });

  it('accepts a missing timestamp and stores the receipt time instead', async () => {
    await send('POST', `/1.0/view?${AUTH}`, { body: { sessionExternalId: 'nots', productId: 1 } });
    const { json } = await send('GET', '/__emulator/events?sessionExternalId=nots');
    expect(Date.parse(json.events[0].timestamp)).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe('lenient mode', () => {
  it('accepts what the SDK and third-party modules send and records what strict mode would refuse', async () => {
    const lenient = await startTestEmulator({ strict: false });
    try {
      const send = http1Transport(lenient);
      const res = await send('POST', `/1.0/view?${AUTH}`, {
        raw: JSON.stringify({
          sessionExternalId: 'visitor with spaces',
          productId: '12',
          stockId: 7,
          extra: 1,
        }),
        headers: { 'content-type': 'text/plain' },
      });
      expect(res.status).toBe(200);
      const { json } = await send('GET', '/__emulator/events');
      const rules = json.events[0].notes.map((n: { rule: string }) => n.rule).sort();
      expect(rules).toEqual(['integer_id', 'session_external_id', 'string', 'unknown_field']);
    } finally {
      await lenient.stop();
    }
  });
});
