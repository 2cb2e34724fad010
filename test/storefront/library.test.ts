import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createServiceClient,
  createStorefront,
  loadConfig,
  silentLogger,
  type Storefront,
} from '../../src/index.ts';
import { runSyncJob } from '../../src/sync/sync.job.ts';
import { createFeedHarness, type FeedHarness } from '../feed/feed.harness.ts';
import { createStore, product } from '../feed/store.fixture.ts';

// Library use (issue 8): a Node back end calls the storefront in-process through the package
// entry, with the same validation, spool and fallback as the HTTP routes.
let h: FeedHarness;
let storefront: Storefront;
beforeAll(async () => {
  h = await createFeedHarness();
  await createStore(h.db.pool, {
    categories: [
      { id: '1', parent_id: null, name: 'Kitchen' },
      { id: '2', parent_id: '1', name: 'Knives' },
    ],
    products: ['1', '2', '3', '4'].map((id) => product(id)),
  });
  await runSyncJob(h.deps);
  const config = loadConfig(h.env);
  // No RR credentials: events wait in the spool, recommendations come from the catalog.
  const rr = createServiceClient(config, silentLogger);
  storefront = createStorefront({ state: h.db.pool, rr, config, logger: silentLogger });
  storefront.start();
});
afterAll(async () => {
  await storefront?.stop();
  await h?.close();
});

describe('the package entry (library use)', () => {
  it('accepts a valid event into the spool and refuses a bad one with the field and rule, never throwing', async () => {
    const ok = await storefront.events.accept('view', { sessionExternalId: 'v1', productId: 2 });
    expect(ok).toMatchObject({ ok: true, id: expect.any(String) });
    const bad = await storefront.events.accept('view', { sessionExternalId: 'v1', productId: 'abc' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'events.invalid' } });
    expect(JSON.stringify(bad)).toContain('productId');
    const { rows } = await h.db.pool.query('select type, body from rr_sync.event_spool');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ type: 'view', body: { sessionExternalId: 'v1', productId: 2 } });
  });

  it('answers recommendations from the catalog without Retail Rocket, known and enriched', async () => {
    const answer = await storefront.recommendations.get('productRecommendations/related', {
      productIds: [1],
      sessionExternalId: 'v1',
      limit: 3,
    });
    expect(answer.source).toBe('fallback');
    expect(answer.items.map((i) => i.id).sort()).toEqual([2, 3, 4]);
    expect(answer.items[0]).toMatchObject({
      name: expect.stringMatching(/^Product /),
      url: expect.any(String),
    });
    await expect(
      storefront.recommendations.get('productRecommendations/nope', { sessionExternalId: 'v1' }),
    ).rejects.toMatchObject({ name: 'RecommendationInputError' });
  });
});
