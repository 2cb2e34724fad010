import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config.ts';
import { EVENT_LIMITS } from '../../src/events/events.contracts.ts';
import { createEventRoutes } from '../../src/events/events.routes.ts';
import { createEventService } from '../../src/events/events.service.ts';
import { EVENT_TYPES } from '../../src/rr/index.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { sampleEvent } from './events.fixtures.ts';

const TOKEN = 'storefront-secret-token';
let db: TestDatabase;
let app: App;
let service: ReturnType<typeof createEventService>;

beforeAll(async () => {
  db = await createTestDatabase();
  const config = loadConfig({ DATABASE_URL: db.url, API_TOKEN: TOKEN, LOG_LEVEL: 'silent' });
  service = createEventService({ state: db.pool, config, logger: silentLogger });
  app = await startApp(
    { config, logger: silentLogger },
    { port: 0, host: '127.0.0.1', routes: createEventRoutes(service, config) },
  );
});
afterAll(async () => {
  await app?.close();
  await service?.close();
  await db?.drop();
});

const auth = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json', ...auth };

async function post(path: string, body: unknown, headers: Record<string, string> = json) {
  const res = await fetch(`${app.url}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const parsed: any = text ? JSON.parse(text) : undefined;
  return { status: res.status, headers: res.headers, body: parsed };
}

async function spoolCount(): Promise<number> {
  return (await db.pool.query('select count(*)::int as n from rr_sync.event_spool')).rows[0].n;
}

describe('POST /v1/events/{type}', () => {
  it.each(EVENT_TYPES)('accepts a %s event: 202 with its spool id, stored with a timestamp', async (type) => {
    const r = await post(`/v1/events/${type}`, sampleEvent(type, `v-${type}`));
    expect(r.status).toBe(202);
    expect(r.body.id).toMatch(/^\d+$/);
    const row = (
      await db.pool.query('select visitor, type, body, status from rr_sync.event_spool where id = $1', [
        r.body.id,
      ])
    ).rows[0];
    expect(row).toMatchObject({ visitor: `v-${type}`, type, status: 'pending' });
    expect(row.body.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('keeps a given timestamp (as UTC ISO 8601) and stores ids as numbers', async () => {
    const r = await post('/v1/events/view', {
      sessionExternalId: 'v-ts',
      productId: '7',
      timestamp: '2024-03-01T12:31:00+03:00',
    });
    expect(r.status).toBe(202);
    const { body } = (await db.pool.query('select body from rr_sync.event_spool where id = $1', [r.body.id]))
      .rows[0];
    expect(body).toEqual({ sessionExternalId: 'v-ts', productId: 7, timestamp: '2024-03-01T09:31:00.000Z' });
  });

  it('says in Server-Timing how long reading and storing took (a refusal does not)', async () => {
    const durations = (h: Headers) =>
      Object.fromEntries(
        (h.get('server-timing') ?? '').split(', ').map((part) => {
          const [name, dur] = part.split(';dur=');
          return [name, Number(dur)];
        }),
      );
    for (const r of [
      await post('/v1/events/view', sampleEvent('view', 'v-timing')),
      await post('/v1/events/batch', [{ type: 'view', ...sampleEvent('view', 'v-timing') }]),
    ]) {
      expect(r.status).toBe(202);
      const t = durations(r.headers);
      expect(Object.keys(t)).toEqual(['read', 'store', 'total']);
      for (const v of Object.values(t)) expect(v).toBeGreaterThanOrEqual(0);
      // The commit is inside `store`, and the parts add up to the whole (to rounding).
      expect(t.store).toBeGreaterThan(0);
      expect(Math.abs(t.read! + t.store! - t.total!)).toBeLessThanOrEqual(0.11);
    }
    const refused = await post('/v1/events/view', { ...sampleEvent('view'), color: 'red' });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('server-timing')).toBeNull();
  });

  it('refuses bad input with a clear 4xx and stores nothing', async () => {
    const before = await spoolCount();
    const view = sampleEvent('view');
    const cases: [ReturnType<typeof post>, number, string][] = [
      [post('/v1/events/view', '{"sessionExternalId": "v1", ', json), 400, 'events.bad_json'],
      [
        post('/v1/events/view', view, { 'content-type': 'text/plain', ...auth }),
        415,
        'http.unsupported_media_type',
      ],
      [post('/v1/events/view', view, auth), 415, 'http.unsupported_media_type'],
      [post('/v1/events/viewed', view), 404, 'events.unknown_type'],
      [post('/v1/events/view', { ...view, color: 'red' }), 400, 'events.invalid'],
      [post('/v1/events/view', { ...view, productId: 'abc' }), 400, 'events.invalid'],
      [post('/v1/events/view', { ...view, productId: 0 }), 400, 'events.invalid'],
      [post('/v1/events/view', { ...view, productId: 2 ** 53 }), 400, 'events.invalid'],
      [post('/v1/events/view', [view]), 400, 'events.invalid'],
      [post('/v1/events/view', view, { 'content-type': 'application/json' }), 401, 'auth.required'],
      [
        post('/v1/events/view', view, { 'content-type': 'application/json', authorization: 'Bearer nope' }),
        401,
        'auth.required',
      ],
    ];
    for (const [p, status, code] of cases) {
      const r = await p;
      expect({ status: r.status, code: r.body?.error?.code }).toEqual({ status, code });
    }
    expect(await spoolCount()).toBe(before);
  });

  it('names the field and the rule of an invalid event, and lists the valid types for an unknown one', async () => {
    const unknownField = await post('/v1/events/view', { ...sampleEvent('view'), color: 'red' });
    expect(unknownField.body.error.issues).toEqual([
      { field: 'color', rule: 'unrecognized_keys', message: 'is not a field of this event type' },
    ]);
    const badId = await post('/v1/events/order', { ...sampleEvent('order'), productId: 'abc' });
    expect(badId.body.error.issues).toEqual([
      expect.objectContaining({
        field: 'productId',
        rule: 'custom',
        message: expect.stringMatching(/digits/),
      }),
    ]);
    expect(badId.body.error.message).toMatch(/productId/);
    const unknown = await post('/v1/events/viewed', sampleEvent('view'));
    expect(unknown.body.error.message).toContain('groupView');
    expect(unknown.body.error.message).toContain('impressionContentClicked');
  });

  it('refuses an oversized body with 413 http.too_large, by Content-Length and when chunked', async () => {
    const before = await spoolCount();
    const big = JSON.stringify({
      ...sampleEvent('search'),
      searchPhrase: 'x'.repeat(EVENT_LIMITS.singleBytes),
    });
    const declared = await post('/v1/events/search', big);
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe('http.too_large');

    // Chunked, no Content-Length: counted while reading; the rest is never read.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${app.url}/v1/events/search`, { method: 'POST', headers: json }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', reject);
      const piece = 'x'.repeat(16 * 1024);
      req.write('{"sessionExternalId":"v1","searchPhrase":"');
      let sent = 0;
      const pump = () => {
        // Stop once far past the limit: the server must have answered by then.
        while (sent < 8 * EVENT_LIMITS.singleBytes) {
          sent += piece.length;
          if (!req.write(piece)) return req.once('drain', pump);
        }
        req.end('"}');
      };
      pump();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).error.code).toBe('http.too_large');
    expect(await spoolCount()).toBe(before);
  });
});

describe('POST /v1/events/batch', () => {
  it('stores every item and answers their ids in input order', async () => {
    const items = EVENT_TYPES.map((type, i) => ({ type, ...sampleEvent(type, `vb${i % 3}`) }));
    const r = await post('/v1/events/batch', items);
    expect(r.status).toBe(202);
    expect(r.body.results).toHaveLength(items.length);
    const ids = r.body.results.map((x: { id: string }) => x.id);
    const rows = (
      await db.pool.query('select id::text, type from rr_sync.event_spool where id = any($1::bigint[])', [
        ids,
      ])
    ).rows;
    const typeOf = new Map(rows.map((x) => [x.id, x.type]));
    expect(ids.map((id: string) => typeOf.get(id))).toEqual(EVENT_TYPES);
    expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => a - b));
  });

  it('is all or nothing: one invalid item refuses the batch with per-item errors', async () => {
    const before = await spoolCount();
    const r = await post('/v1/events/batch', [
      { type: 'view', ...sampleEvent('view') },
      { type: 'view', ...sampleEvent('view'), productId: 'abc' },
      { type: 'nope', sessionExternalId: 'v1' },
      { type: 'order', ...sampleEvent('order'), extra: 1 },
    ]);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('events.invalid');
    expect(r.body.error.issues).toEqual([
      expect.objectContaining({ index: 1, field: 'productId' }),
      expect.objectContaining({ index: 2, field: 'type', rule: 'event_type' }),
      expect.objectContaining({ index: 3, field: 'extra', rule: 'unrecognized_keys' }),
    ]);
    expect(await spoolCount()).toBe(before);
  });

  it('refuses more than the documented number of items, an empty batch and a non-array', async () => {
    const before = await spoolCount();
    const many = Array.from({ length: EVENT_LIMITS.batchItems + 1 }, () => ({
      type: 'search',
      sessionExternalId: 'v1',
      searchPhrase: 'a',
    }));
    expect((await post('/v1/events/batch', many)).body.error.code).toBe('events.batch_too_large');
    expect((await post('/v1/events/batch', [])).status).toBe(400);
    expect((await post('/v1/events/batch', { type: 'view' })).status).toBe(400);
    expect((await post('/v1/events/batch', '[', json)).body.error.code).toBe('events.bad_json');
    expect(await spoolCount()).toBe(before);
  });
});

describe('group commit', () => {
  it('stores many concurrent requests with far fewer INSERTs than events, every one durable', async () => {
    const before = service.spool.stats();
    const n = 200; // below HTTP_MAX_CONNECTIONS (256)
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        post('/v1/events/view', { sessionExternalId: `g${i % 20}`, productId: i + 1 }),
      ),
    );
    expect(results.every((r) => r.status === 202)).toBe(true);
    const after = service.spool.stats();
    expect(after.events - before.events).toBe(n);
    // Over HTTP the requests arrive as their connections open, spread over many 2 ms windows on a
    // loaded machine: fewer transactions than events is all that can be said here.
    expect(after.commits - before.commits).toBeLessThan(n);
    const ids = results.map((r) => r.body.id);
    const stored = await db.pool.query(
      'select count(*)::int as n from rr_sync.event_spool where id = any($1::bigint[])',
      [ids],
    );
    expect(stored.rows[0].n).toBe(n);
    expect(new Set(ids).size).toBe(n);
  });

  it('puts events accepted at the same moment into one INSERT (in-process callers)', async () => {
    const before = service.spool.stats();
    const n = 200;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        service.accept('view', { sessionExternalId: `h${i % 20}`, productId: i + 1 }),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const after = service.spool.stats();
    expect(after.events - before.events).toBe(n);
    // At most one INSERT in flight: the first takes what came in its 2 ms, the rest goes in the next.
    expect(after.commits - before.commits).toBeLessThanOrEqual(3);
  });
});
