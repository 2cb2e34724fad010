import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFeedJob } from '../../src/feed/feed.job.ts';
import { readCurrentFeed } from '../../src/feed/feed.layout.ts';
import { createFeedHarness, type FeedHarness } from './feed.harness.ts';
import { loadConfig } from '../../src/config.ts';
import { createStore, product } from './store.fixture.ts';

let h: FeedHarness;
beforeAll(async () => {
  h = await createFeedHarness();
  // A "demo" with 20 products in schema store, the user's own store with 3 in schema shop.
  await createStore(h.db.pool, { products: Array.from({ length: 20 }, (_, i) => product(String(i + 1))) });
  await createStore(h.db.pool, { products: [product('501'), product('502'), product('503')] }, 'shop');
});
afterAll(() => h.close());

describe('a feed of another catalog in the same FEEDS_DIR', () => {
  it('is refused as another catalog, not as a drop, naming both and the ways out; --force replaces it', async () => {
    const demo = await runFeedJob(h.deps);
    expect(demo.status).toBe('published');
    const before = await readCurrentFeed(h.feedsDir);
    expect(before?.manifest.catalog?.name).toMatch(/^database rrtest_[0-9a-f]+, schema store$/);

    const own = { ...h.deps, config: loadConfig({ ...h.env, CATALOG_SCHEMA: 'shop' }) };
    const refused = await runFeedJob(own);
    expect(refused).toMatchObject({ status: 'refused', exitCode: 3, code: 'feed.other_catalog' });
    expect(refused.reason).toContain(`version ${demo.version}, 20 offers) was built from another catalog`);
    expect(refused.reason).toContain('schema shop');
    expect(refused.reason).toContain('--force');
    expect(refused.reason).toContain('FEEDS_DIR');
    expect(refused.reason).not.toContain('fewer');
    expect((await readCurrentFeed(h.feedsDir))?.manifest.version).toBe(demo.version);

    const forced = await runFeedJob(own, { force: true });
    expect(forced).toMatchObject({ status: 'published', offers: 3 });
    expect((await readCurrentFeed(h.feedsDir))?.manifest.catalog?.name).toMatch(/schema shop$/);
    // From now on the same catalog is compared as usual.
    expect((await runFeedJob(own)).status).toBe('unchanged');
  });
});
