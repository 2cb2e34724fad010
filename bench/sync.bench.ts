/**
 * Sync benchmark (run by hand): `npm run bench:sync -- --products 1000000`.
 *
 * On the demo store with N products (seeded once into rr_bench_sync_<N>, not timed), starting
 * from an empty sync state: (1) the first sync (records what the feed carries), (2) 1 % of the
 * prices and 1 % of the stock rows changed, (3) the incremental sync pass (read, validate, feed,
 * diff, enqueue; no push), (4) a plain `feed` run of the same catalog. Each measured run is a
 * fresh child process (peak RSS is its own). WAL volume is pg_current_wal_lsn() before and after
 * each run: run it on a quiet server (it is cluster-wide).
 *
 * Targets (issue 7): the sync pass <= 1.3x the feed run; peak RSS < 300 MB; the incremental sync's
 * WAL < 10 % of the first sync's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { migrate } from '../src/db/migrate.ts';
import { createPool } from '../src/db/pool.ts';
import { demoProductCount, seedDemo } from '../src/demo/demo.seed.ts';
import { runFeedJob } from '../src/feed/feed.job.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { runSyncJob } from '../src/sync/sync.job.ts';

const { values } = parseArgs({
  options: {
    products: { type: 'string', default: '100000' },
    child: { type: 'string' },
    feeds: { type: 'string' },
    checkpoint: { type: 'boolean', default: false },
  },
});
const products = Number(values.products);
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `rr_bench_sync_${products}`;
const dbUrl = (() => {
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  return u.toString();
})();

if (values.child) {
  const config = loadConfig({ DATABASE_URL: dbUrl, FEEDS_DIR: values.feeds, LOG_LEVEL: 'warn' });
  const pool = createPool(dbUrl, { max: 8 });
  const deps = { catalog: pool, state: pool, config, logger: silentLogger };
  const t0 = performance.now();
  const summary =
    values.child === 'feed'
      ? await runFeedJob(deps, { force: true })
      : await runSyncJob(deps, { force: true });
  const seconds = (performance.now() - t0) / 1000;
  await pool.end();
  process.stdout.write(
    `${JSON.stringify({ seconds, summary, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
  );
  process.exit(0);
}

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
const exists = await admin.query('select 1 from pg_database where datname = $1', [dbName]);
if (!exists.rowCount) await admin.query(`create database ${dbName}`);
await admin.end();

const pool = createPool(dbUrl);
if ((await demoProductCount(pool, 'store')) !== products + 14) {
  console.log(`seeding ${products.toLocaleString('en')} demo products into ${dbName} (not timed)...`);
  await seedDemo(pool, { schema: 'store', products }, silentLogger);
}
await migrate(pool, silentLogger);
await pool.query('truncate rr_sync.catalog_items, rr_sync.outbox, rr_sync.pushed, rr_sync.resyncs');
await pool.query('checkpoint');

const lsn = async () => (await pool.query<{ l: string }>('select pg_current_wal_lsn()::text as l')).rows[0].l;
const walSince = async (from: string) =>
  Number(
    (await pool.query<{ b: string }>('select pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::text as b', [from]))
      .rows[0].b,
  );

interface ChildResult {
  seconds: number;
  maxRssMb: number;
  wal: number;
  summary: { offers: number; status: string; changes?: Record<string, number> | null };
}

async function child(kind: 'feed' | 'sync', feeds: string): Promise<ChildResult> {
  const before = await lsn();
  const r = spawnSync(
    process.execPath,
    [
      '--max-semi-space-size=8',
      '--import',
      'tsx',
      new URL(import.meta.url).pathname,
      '--products',
      String(products),
      '--child',
      kind,
      '--feeds',
      feeds,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(1);
  }
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  return { ...out, wal: await walSince(before) };
}

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const syncFeeds = mkdtempSync(path.join(tmpdir(), 'rr-bench-sync-'));
const feedFeeds = mkdtempSync(path.join(tmpdir(), 'rr-bench-feed-'));
try {
  const first = await child('sync', syncFeeds);
  console.log(
    `first sync (baseline):   ${first.seconds.toFixed(2)} s, peak RSS ${first.maxRssMb.toFixed(0)} MB, WAL ${mb(first.wal)}, ${JSON.stringify(first.summary.changes)}`,
  );
  const t = performance.now();
  const p = await pool.query(
    "update store.products set price = price + 1 where right(id, 2) = '07' and price is not null",
  );
  const s = await pool.query(
    "update store.product_stocks set available = not available where right(product_id, 2) = '13'",
  );
  console.log(
    `changed ${p.rowCount} product prices and ${s.rowCount} stock rows (1 %) in ${((performance.now() - t) / 1000).toFixed(1)} s (not timed)`,
  );
  // --checkpoint: worst case, every page the sync touches is written whole once (full_page_writes).
  // Without it the server checkpoints on its own schedule, as in production.
  if (values.checkpoint) await pool.query('checkpoint');
  const inc = await child('sync', syncFeeds);
  console.log(
    `incremental sync pass:   ${inc.seconds.toFixed(2)} s, peak RSS ${inc.maxRssMb.toFixed(0)} MB, WAL ${mb(inc.wal)}, ${JSON.stringify(inc.summary.changes)}`,
  );
  const feed = await child('feed', feedFeeds);
  console.log(
    `plain feed run:          ${feed.seconds.toFixed(2)} s, peak RSS ${feed.maxRssMb.toFixed(0)} MB`,
  );
  console.log(`\nsync / feed time: ${(inc.seconds / feed.seconds).toFixed(2)} (target <= 1.3)`);
  console.log(
    `incremental WAL / first sync WAL: ${((inc.wal / first.wal) * 100).toFixed(1)} % (target < 10 %)`,
  );
  console.log(
    `peak RSS: sync ${inc.maxRssMb.toFixed(0)} MB, feed ${feed.maxRssMb.toFixed(0)} MB (target < 300 MB)`,
  );
} finally {
  await pool.end();
  rmSync(syncFeeds, { recursive: true, force: true });
  rmSync(feedFeeds, { recursive: true, force: true });
}
