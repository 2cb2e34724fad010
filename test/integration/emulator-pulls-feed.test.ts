import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { seedDemo } from '../../src/demo/demo.seed.ts';
import { DEMO_PARTNER, startEmulator, type EmulatorHandle } from '../../src/emulator/index.ts';
import { checkFeedFile } from '../../src/feed/feed.check.js';
import { runFeedJob } from '../../src/feed/feed.job.ts';
import { createRetailRocketClient, type RetailRocketClient } from '../../src/rr/index.ts';
import { startApp } from '../../src/app/app.ts';
import type { AppServer } from '../../src/server/server.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * The channels agree end to end: the feed the service publishes is what the emulator imports
 * (as Retail Rocket would pull it, conditionally), and recommendations only name its products.
 */
let db: TestDatabase;
let feedsDir: string;
let server: AppServer;
let emu: EmulatorHandle;
let client: RetailRocketClient;
const feedIds = new Set<number>();

beforeAll(async () => {
  db = await createTestDatabase();
  feedsDir = await mkdtemp(path.join(tmpdir(), 'rr-int-feeds-'));
  await seedDemo(db.pool, { schema: 'store', products: 300 }, silentLogger);
  const config = loadConfig({ DATABASE_URL: db.url, FEEDS_DIR: feedsDir });
  const summary = await runFeedJob({ catalog: db.pool, state: db.pool, config, logger: silentLogger });
  expect(summary.status).toBe('published');
  server = await startApp({ config, logger: silentLogger }, { port: 0, host: '127.0.0.1' });
  emu = await startEmulator({
    port: 0,
    httpPort: 0,
    feedUrl: `${server.url}/feeds/catalog.xml`,
    feedIntervalSeconds: 0,
    limits: { tracking: 0, recommendations: 0, site: 0 },
  });
  const b = `${emu.h2Url}/`;
  client = createRetailRocketClient(
    {
      partnerId: DEMO_PARTNER.partnerId,
      apiKey: DEMO_PARTNER.apiKey,
      trackingUrl: `${b}1.0/`,
      recommendationsUrl: `${b}api/3.0/`,
      productApiUrl: `${b}api/1.0/`,
      timeoutMs: 2000,
      rateLimit: 1000,
      caFile: emu.caFile,
      recommendationCacheEntries: 0,
    },
    { logger: silentLogger },
  );
  // The ids actually in the published file.
  const xml = await readFile(path.join(feedsDir, 'catalog.xml'), 'utf8');
  for (const m of xml.matchAll(/<offer id="(\d+)"/g)) feedIds.add(Number(m[1]));
});

afterAll(async () => {
  await client?.close();
  await emu?.stop();
  await server?.close();
  await db?.drop();
  await rm(feedsDir, { recursive: true, force: true });
});

describe('Retail Rocket emulator pulling the feed that rr-sync serves', () => {
  it('imports every offer of the published feed, then gets 304 on the next pull', async () => {
    const check = await checkFeedFile(path.join(feedsDir, 'catalog.xml'));
    expect(check.ok).toBe(true);
    const first = await emu.pullFeed();
    expect(first.status).toBe('imported');
    expect(first.offersAccepted).toBe(check.offers);
    expect(first.offersIgnored).toBe(0);
    const second = await emu.pullFeed();
    expect(second.status).toBe('not_modified');
    expect(second.httpStatus).toBe(304);
    expect(second.counters.notModified).toBe(1);
  });

  it('recommends only products of that feed, whatever the visitor did', async () => {
    await emu.pullFeed();
    const ids = [...feedIds].slice(0, 20);
    for (const [i, id] of ids.entries()) {
      const sid = `visitor${i % 3}`;
      expect((await client.events.view({ sessionExternalId: sid, productId: id })).ok).toBe(true);
      if (i % 2 === 0) {
        const r = await client.events.order({
          sessionExternalId: sid,
          productId: id,
          price: 10,
          quantity: 1,
          transaction: `T${i % 4}`,
        });
        expect(r.ok).toBe(true);
      }
    }
    const seen = new Set<number>();
    for (const [resource, params] of [
      ['partnerRecommendations/popular', { sessionExternalId: 'visitor0' }],
      ['productRecommendations/related', { sessionExternalId: 'visitor1', productIds: [ids[0]] }],
      ['productRecommendations/alternatives', { sessionExternalId: 'visitor2', productIds: [ids[1]] }],
      ['partnerRecommendations/personalViewed', { sessionExternalId: 'visitor0' }],
    ] as const) {
      const r = await client.recommendations.get(resource, params as never);
      expect(r.ok, resource).toBe(true);
      if (!r.ok) continue;
      for (const id of r.value.productIds) seen.add(id);
    }
    expect(seen.size).toBeGreaterThan(0);
    for (const id of seen) expect(feedIds.has(id), `recommended ${id} is in the feed`).toBe(true);
  });
});
