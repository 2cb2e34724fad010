import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startApp } from '../../src/app/app.ts';
import type { AppServer } from '../../src/server/server.ts';
import { catalogXml, makeFeedsDir, publish } from './feeds-dir.fixture.ts';
import { captureLogger, request, type CapturedLog } from './http.fixture.ts';

const TOKEN = 'feed-token-s3cret-42';
let feeds: Awaited<ReturnType<typeof makeFeedsDir>>;
let server: AppServer;
let lines: CapturedLog[];

beforeEach(async () => {
  feeds = await makeFeedsDir();
  const captured = captureLogger();
  lines = captured.lines;
  server = await startApp(
    { config: loadConfig({ FEEDS_DIR: feeds.dir, FEED_TOKEN: TOKEN }), logger: captured.logger },
    { port: 0, host: '127.0.0.1' },
  );
  await publish(feeds.dir, 'v1', catalogXml('one'), new Date('2026-11-28T02:00:00Z'));
});
afterEach(async () => {
  await server.close();
  await feeds.remove();
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('feed access token', () => {
  it('refuses feed downloads without the token: 401 with a Basic challenge', async () => {
    for (const p of ['catalog.xml', 'catalog.xml.gz', 'catalog.report.json']) {
      const res = await request(`${server.url}/feeds/${p}`);
      expect(res.status, p).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Basic realm="rr-catalog-sync feed"');
      expect(JSON.parse(res.body.toString()).error.code).toBe('feed.unauthorized');
    }
  });

  it('refuses a wrong token in the query or as the basic-auth password', async () => {
    const wrong = [
      await request(`${server.url}/feeds/catalog.xml?token=nope`),
      await request(`${server.url}/feeds/catalog.xml?token=${TOKEN}x`),
      await request(`${server.url}/feeds/catalog.xml`, { headers: { authorization: basic(TOKEN, 'nope') } }),
      await request(`${server.url}/feeds/catalog.xml`, { headers: { authorization: `Bearer ${TOKEN}` } }),
    ];
    expect(wrong.map((r) => r.status)).toEqual([401, 401, 401, 401]);
  });

  it('serves the feed with ?token= or with basic auth under any user name', async () => {
    const viaQuery = await request(`${server.url}/feeds/catalog.xml?token=${encodeURIComponent(TOKEN)}`);
    expect(viaQuery.status).toBe(200);
    expect(viaQuery.body.toString()).toContain('one product 1');
    for (const user of ['retailrocket', '']) {
      const viaBasic = await request(`${server.url}/feeds/catalog.xml.gz`, {
        headers: { authorization: basic(user, TOKEN) },
      });
      expect(viaBasic.status).toBe(200);
    }
  });

  it('leaves /healthz open', async () => {
    expect((await request(`${server.url}/healthz`)).status).toBe(200);
  });

  it('never writes the token to the log, yet logs each download without its query string', async () => {
    const started = performance.now();
    await request(`${server.url}/feeds/catalog.xml?token=${TOKEN}`, {
      headers: { 'user-agent': 'RR-Test/1' },
    });
    await request(`${server.url}/feeds/catalog.xml?token=wrong-${TOKEN}`);
    await request(`${server.url}/feeds/catalog.xml`, { headers: { authorization: basic('u', TOKEN) } });
    // The server logs a download once its last byte left, which may be just after the client saw it.
    await vi.waitFor(() => expect(lines.filter((l) => l.msg === 'feed request')).toHaveLength(3));
    const text = JSON.stringify(lines);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(Buffer.from(`u:${TOKEN}`).toString('base64'));
    // Lines are written when each response finished, so their order is not the request order.
    const downloads = lines.filter((l) => l.msg === 'feed request').map((l) => l.obj);
    expect(downloads.map((d) => `${d.path} ${d.status}`).sort()).toEqual([
      '/feeds/catalog.xml 200',
      '/feeds/catalog.xml 200',
      '/feeds/catalog.xml 401',
    ]);
    const first = downloads.find((d) => d.userAgent === 'RR-Test/1');
    const elapsed = performance.now() - started;
    expect(first).toMatchObject({
      method: 'GET',
      path: '/feeds/catalog.xml',
      status: 200,
      version: 'v1',
      // No Accept-Encoding: the plain XML, every byte of it.
      bytes: Buffer.byteLength(catalogXml('one')),
      remoteAddress: '127.0.0.1',
    });
    // Whole milliseconds, and no more than the test itself waited.
    expect(Number.isInteger(first!.ms)).toBe(true);
    expect(first!.ms as number).toBeGreaterThanOrEqual(0);
    expect(first!.ms as number).toBeLessThanOrEqual(Math.ceil(elapsed));
  });
});
