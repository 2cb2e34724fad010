import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/demo/demo.seed.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createPushHarness, type PushHarness } from '../sync/push.harness.ts';
import { killStragglers, startCli, until } from './run.harness.ts';

let h: PushHarness;
let feedsDir: string;
beforeAll(async () => {
  h = await createPushHarness();
  await seedDemo(h.db.pool, { schema: 'store', products: 200 }, silentLogger);
  feedsDir = await mkdtemp(path.join(tmpdir(), 'rr-run-push-'));
}, 120_000);
afterEach(killStragglers);
afterAll(async () => {
  await h?.close();
  await rm(feedsDir, { recursive: true, force: true });
});

describe('rr-sync run with Retail Rocket credentials', () => {
  it('pushes what a scheduled sync enqueued, continuously, and stops cleanly on SIGTERM', async () => {
    const run = startCli(['run'], {
      ...h.env,
      FEEDS_DIR: feedsDir,
      PORT: '0',
      TZ: 'UTC',
      LOG_LEVEL: 'info',
      SYNC_CRON: '*/2 * * * * *',
    });
    // The first sync of an installation records what the feed carries and pushes nothing.
    const productId = await until(async () => {
      const r = await h.db.pool.query<{ product_id: string }>(
        'select product_id from rr_sync.catalog_items order by product_id limit 1',
      );
      return r.rows[0]?.product_id;
    });
    await h.db.pool.query('update store.products set price = price + 1 where id::text = $1', [productId]);
    // A later sync tick enqueues the change; the running pusher sends it without being asked.
    const pushed = await until(async () => {
      const calls = await h.calls(productId);
      return calls.find((c) => c.status === 200 && c.stockId === null);
    });
    expect(pushed).toMatchObject({ kind: 'product', id: productId });
    await until(async () => (await h.db.pool.query('select 1 from rr_sync.outbox')).rowCount === 0);
    run.proc.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const { rows } = await h.db.pool.query("select 1 from rr_sync.runs where status = 'running'");
    expect(rows).toEqual([]);
    expect(run.stderr()).not.toContain(h.env.RR_API_KEY);
  }, 120_000);

  it('refuses to start with only half of the credentials (exit 2 naming the missing one)', async () => {
    const run = startCli(['run'], { ...h.env, RR_API_KEY: '', FEEDS_DIR: feedsDir, PORT: '0' });
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain('RR_API_KEY');
  });
});
