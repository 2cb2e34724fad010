import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serveCommand } from '../../src/cli/commands/serve.command.ts';
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { feedUrlFor, startApp } from '../../src/app/app.ts';
import { catalogXml, makeFeedsDir, publish } from './feeds-dir.fixture.ts';
import { request } from './http.fixture.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let feeds: Awaited<ReturnType<typeof makeFeedsDir>>;
let db: TestDatabase;
beforeEach(async () => {
  feeds = await makeFeedsDir();
  db = await createTestDatabase();
});
afterEach(async () => {
  await feeds.remove();
  await db.drop();
});

describe('rr-sync serve', () => {
  it('serves the feed and the storefront API until the signal aborts, then exits 0', async () => {
    const v1 = await publish(feeds.dir, 'v1', catalogXml('one'), new Date('2026-11-28T02:00:00Z'));
    const controller = new AbortController();
    let printed!: (line: string) => void;
    const firstLine = new Promise<string>((r) => (printed = r));
    const run = serveCommand.run({
      flags: {},
      positionals: [],
      env: {},
      config: loadConfig({ FEEDS_DIR: feeds.dir, PORT: '0', DATABASE_URL: db.url }),
      logger: silentLogger,
      json: true,
      out: (line) => printed(line),
      signal: controller.signal,
    });
    const summary = JSON.parse(await firstLine);
    expect(summary.ok).toBe(true);
    expect(summary.feedUrl).toMatch(/^http:\/\/localhost:\d+\/feeds\/catalog\.xml$/);
    const res = await request(summary.feedUrl);
    expect(res.status).toBe(200);
    expect(res.body.equals(v1.xml)).toBe(true);
    // The storefront API is mounted once the line is printed: an event is accepted into the spool.
    const base = summary.feedUrl.replace(/\/feeds\/catalog\.xml$/, '');
    const ev = await fetch(`${base}/v1/events/view`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sessionExternalId: 'v1', productId: 5 }),
    });
    expect(ev.status).toBe(202);
    const { rows } = await db.pool.query('select type from rr_sync.event_spool');
    expect(rows).toEqual([{ type: 'view' }]);
    controller.abort();
    expect(await run).toBe(0);
    await expect(request(summary.feedUrl)).rejects.toThrow();
  });

  it('fails with config.invalid (exit 2) when PORT is taken', async () => {
    const first = await startApp(
      { config: loadConfig({ FEEDS_DIR: feeds.dir }), logger: silentLogger },
      { port: 0 },
    );
    try {
      const run = serveCommand.run({
        flags: {},
        positionals: [],
        env: {},
        config: loadConfig({ FEEDS_DIR: feeds.dir, PORT: String(first.port) }),
        logger: silentLogger,
        json: false,
        out: () => undefined,
        signal: new AbortController().signal,
      });
      await expect(run).rejects.toMatchObject({ code: 'config.invalid', exitCode: 2 });
    } finally {
      await first.close();
    }
  });

  it('prints the feed URL under FEED_BASE_URL when it is set', () => {
    const config = loadConfig({ FEEDS_DIR: feeds.dir, FEED_BASE_URL: 'https://shop.example/rr' });
    expect(feedUrlFor(config, 8080)).toBe('https://shop.example/rr/feeds/catalog.xml');
    expect(feedUrlFor(loadConfig({ FEEDS_DIR: feeds.dir }), 8081)).toBe(
      'http://localhost:8081/feeds/catalog.xml',
    );
  });
});
