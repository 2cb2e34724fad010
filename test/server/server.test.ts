import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { HttpError, sendJson } from '../../src/server/server.respond.ts';
import { startApp } from '../../src/app/app.ts';
import type { AppServer, Route } from '../../src/server/server.ts';
import { catalogXml, makeFeedsDir, publish } from './feeds-dir.fixture.ts';
import { captureLogger, request } from './http.fixture.ts';

let feeds: Awaited<ReturnType<typeof makeFeedsDir>>;
let server: AppServer | undefined;

beforeEach(async () => {
  feeds = await makeFeedsDir();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await feeds.remove();
});

const start = (routes: Route[] = [], logger = silentLogger) =>
  startApp({ config: loadConfig({ FEEDS_DIR: feeds.dir }), logger }, { port: 0, host: '127.0.0.1', routes });

describe('http server', () => {
  it('reports healthz as 503 no_feed before the first publish: Retail Rocket has nothing to pull', async () => {
    server = await start();
    const res = await request(`${server.url}/healthz`);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body.toString())).toEqual({
      status: 'no_feed',
      message:
        'No feed has been published: Retail Rocket has nothing to pull. Run `rr-sync feed` (or `npm start`).',
      feed: null,
      lastPulls: [],
    });
    await publish(feeds.dir, 'v1', catalogXml('one'), new Date());
    const after = await request(`${server.url}/healthz`);
    expect(after.status).toBe(200);
    expect(JSON.parse(after.body.toString())).toMatchObject({ status: 'ok', feed: { version: 'v1' } });
  });

  it('reports healthz with the current version, its age and the last pull per user agent', async () => {
    server = await start();
    const publishedAt = new Date(Date.now() - 3_600_000);
    await publish(feeds.dir, 'v7', catalogXml('seven', 4), publishedAt);
    await request(`${server.url}/feeds/catalog.xml`, { headers: { 'user-agent': 'RetailRocket-Fetcher' } });
    await request(`${server.url}/feeds/catalog.xml.gz`, { headers: { 'user-agent': 'curl/8' } });
    await request(`${server.url}/feeds/catalog.xml`, {
      headers: { 'user-agent': 'RetailRocket-Fetcher', 'if-modified-since': new Date().toUTCString() },
    });
    const body = JSON.parse((await request(`${server.url}/healthz`)).body.toString());
    expect(body.status).toBe('ok');
    expect(body.feed).toMatchObject({ version: 'v7', offers: 4, publishedAt: publishedAt.toISOString() });
    expect(body.feed.ageSeconds).toBeGreaterThanOrEqual(3600);
    expect(body.feed.ageSeconds).toBeLessThan(3600 + 600);
    expect(body.lastPulls.map((p: { userAgent: string; status: number }) => [p.userAgent, p.status])).toEqual(
      [
        ['RetailRocket-Fetcher', 304],
        ['curl/8', 200],
      ],
    );
    expect(body.lastPulls[0]).toMatchObject({ path: '/feeds/catalog.xml', version: 'v7' });
  });

  it('answers unknown paths with 404 JSON and wrong methods with 405 and Allow', async () => {
    server = await start();
    const missing = await request(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString()).error.code).toBe('http.not_found');
    const wrong = await request(`${server.url}/feeds/catalog.xml`, { method: 'POST' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET, HEAD');
    expect(JSON.parse(wrong.body.toString()).error.code).toBe('http.method_not_allowed');
  });

  it('runs added routes with RegExp params, and answers HEAD from a GET route', async () => {
    server = await start([
      {
        method: 'GET',
        path: /^\/v1\/things\/(?<id>[^/]+)$/,
        handle: (_req, res, params) => sendJson(res, 200, { id: params.id }),
      },
    ]);
    const res = await request(`${server.url}/v1/things/a%20b`);
    expect(JSON.parse(res.body.toString())).toEqual({ id: 'a b' });
    const head = await request(`${server.url}/v1/things/x`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it('turns a thrown error into 500 JSON without the stack, and an HttpError into its status', async () => {
    const { logger, lines } = captureLogger();
    server = await start(
      [
        {
          method: 'GET',
          path: '/boom',
          handle: () => {
            throw new Error('secret internals at /srv/x.ts:12');
          },
        },
        {
          method: 'POST',
          path: '/bad',
          handle: () => {
            throw new HttpError(422, 'thing.invalid', 'The thing is invalid.');
          },
        },
      ],
      logger,
    );
    const boom = await request(`${server.url}/boom`);
    expect(boom.status).toBe(500);
    expect(JSON.parse(boom.body.toString())).toEqual({
      error: { code: 'internal', message: 'Internal error; see the server log.' },
    });
    expect(boom.body.toString()).not.toContain('internals');
    expect(lines.some((l) => l.level === 'error' && JSON.stringify(l.obj).includes('secret internals'))).toBe(
      true,
    );
    const bad = await request(`${server.url}/bad`, { method: 'POST' });
    expect(bad.status).toBe(422);
    expect(JSON.parse(bad.body.toString()).error).toEqual({
      code: 'thing.invalid',
      message: 'The thing is invalid.',
    });
  });

  it('closes gracefully: refuses new connections and lets an in-flight response finish', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    server = await start([
      {
        method: 'GET',
        path: '/slow',
        async handle(_req, res) {
          entered();
          await gate;
          sendJson(res, 200, { done: true });
        },
      },
    ]);
    const url = server.url;
    const pending = request(`${url}/slow`);
    await inside;
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await expect(request(`${url}/healthz`)).rejects.toThrow();
    expect(closed).toBe(false);
    release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ done: true });
    await closing;
    server = undefined;
  });

  it('cuts responses still in flight when the close timeout passes', async () => {
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    server = await start([
      {
        method: 'GET',
        path: '/hang',
        handle: () => {
          entered();
          return new Promise<void>(() => {});
        },
      },
    ]);
    const pending = new Promise<string>((resolve) => {
      const req = http.get(`${server!.url}/hang`, { agent: false });
      req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? 'error'));
      req.on('response', () => resolve('response'));
    });
    await inside;
    await server.close({ timeoutMs: 50 });
    server = undefined;
    expect(await pending).toBe('ECONNRESET');
  });
});
