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
 *
 * The WAL of each run is also attributed by relation with pg_walinspect (a temporary physical slot
 * keeps the WAL until it is read): the target is the state schema's (rr_sync) share, which other
 * databases of a shared server and the catalog read (page pruning of the changed store rows) do not
 * touch. `--wal-detail` prints the relations and record types that wrote the most.
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
import { silentLogger, type Logger } from '../src/shared/logger.ts';
import { runSyncJob } from '../src/sync/sync.job.ts';

const { values } = parseArgs({
  options: {
    products: { type: 'string', default: '100000' },
    child: { type: 'string' },
    feeds: { type: 'string' },
    checkpoint: { type: 'boolean', default: false },
    'wal-detail': { type: 'boolean', default: false },
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
  // The apply step's own timing line (`sync changes applied`) goes into the result.
  let applied: Record<string, unknown> | null = null;
  const logger: Logger = {
    ...silentLogger,
    info: (obj, msg) => {
      if (msg === 'sync changes applied') applied = obj;
    },
    child: () => logger,
  };
  const deps = { catalog: pool, state: pool, config, logger };
  const t0 = performance.now();
  const summary =
    values.child === 'feed'
      ? await runFeedJob(deps, { force: true })
      : await runSyncJob(deps, { force: true });
  const seconds = (performance.now() - t0) / 1000;
  await pool.end();
  process.stdout.write(
    `${JSON.stringify({ seconds, summary, applied, maxRssMb: process.resourceUsage().maxRSS / 1024, cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6 })}\n`,
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
await pool.query('create extension if not exists pg_walinspect');
// Keeps the WAL of the measured runs until it is attributed (dropped when the session ends).
const slot = await pool.connect();
await slot.query(
  `select pg_create_physical_replication_slot('rr_bench_sync_' || pg_backend_pid(), true, true)`,
);
await pool.query(
  'truncate rr_sync.catalog_items_base, rr_sync.catalog_items_delta, rr_sync.outbox, rr_sync.pushed, rr_sync.resyncs',
);
await pool.query('checkpoint');

const lsn = async () => (await pool.query<{ l: string }>('select pg_current_wal_lsn()::text as l')).rows[0].l;
const walSince = async (from: string) =>
  Number(
    (await pool.query<{ b: string }>('select pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::text as b', [from]))
      .rows[0].b,
  );

/** WAL bytes (records incl. full-page images) per relation of this database, by its first block. */
interface WalShare {
  state: number;
  catalog: number;
  other: number;
  fpi: number;
  top: { rel: string; rmgr: string; bytes: number; fpi: number; n: number }[];
}

async function walShare(from: string, to: string): Promise<WalShare> {
  const { rows } = await pool.query<{
    rel: string;
    schema: string;
    rmgr: string;
    bytes: string;
    fpi: string;
    n: string;
  }>(
    `with r as (
       select resource_manager as rmgr, record_length::bigint as len, fpi_length::bigint as fpi,
              regexp_match(block_ref, 'rel (\\d+)/(\\d+)/(\\d+)') as m
         from pg_get_wal_records_info($1::pg_lsn, least($2::pg_lsn, pg_current_wal_flush_lsn()))),
     g as (
       select rmgr, m[1]::oid as spc, m[2]::oid as db, m[3]::oid as node,
              sum(len) as len, sum(fpi) as fpi, count(*) as n
         from r group by 1, 2, 3, 4),
     a as (
       select g.*,
              case when db = (select oid from pg_database where datname = current_database())
                   then pg_filenode_relation(case when spc = (select oid from pg_tablespace where spcname = 'pg_default') then 0 else spc end, node) end as rel
         from g),
     o as (
       select a.*,
              coalesce((select t.oid from pg_class t where t.reltoastrelid = a.rel), -- toast table -> its table
                       (select t.oid from pg_index i join pg_class t on t.reltoastrelid = i.indrelid where i.indexrelid = a.rel),
                       a.rel) as owner
         from a)
     select coalesce(rel::regclass::text, '-') as rel,
            coalesce((select nspname from pg_namespace s join pg_class c on c.relnamespace = s.oid where c.oid = owner), '-') as schema,
            rmgr, sum(len)::text as bytes, sum(fpi)::text as fpi, sum(n)::text as n
       from o group by 1, 2, 3 order by sum(len) desc`,
    [from, to],
  );
  const share: WalShare = { state: 0, catalog: 0, other: 0, fpi: 0, top: [] };
  for (const r of rows) {
    const bytes = Number(r.bytes);
    if (r.schema === 'rr_sync') share.state += bytes;
    else if (r.schema === 'store') share.catalog += bytes;
    else share.other += bytes;
    if (r.schema === 'rr_sync') share.fpi += Number(r.fpi);
    share.top.push({ rel: r.rel, rmgr: r.rmgr, bytes, fpi: Number(r.fpi), n: Number(r.n) });
  }
  share.top = share.top.slice(0, 12);
  return share;
}

interface ChildResult {
  seconds: number;
  /** This process's CPU time (user + system; the database server's is not in it). */
  cpuSeconds: number;
  applied: Record<string, unknown> | null;
  maxRssMb: number;
  wal: number;
  share: WalShare;
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
    console.error(`${kind} run failed: status ${r.status}, signal ${r.signal}, ${r.error ?? ''}`);
    console.error(r.stderr);
    process.exit(1);
  }
  // A run that works but warns (e.g. a deprecated use of a library) should still be seen.
  for (const line of r.stderr.split('\n')) if (/warning/i.test(line)) console.error(`  ${kind}: ${line}`);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  const after = await lsn();
  return { ...out, wal: await walSince(before), share: await walShare(before, after) };
}

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const printShare = (s: WalShare) => {
  console.log(
    `  WAL by schema: rr_sync ${mb(s.state)} (full-page images ${mb(s.fpi)}), store ${mb(s.catalog)}, other ${mb(s.other)}`,
  );
  if (!values['wal-detail']) return;
  for (const t of s.top) {
    console.log(
      `    ${t.rel.padEnd(48)} ${t.rmgr.padEnd(12)} ${mb(t.bytes).padStart(10)} (fpi ${mb(t.fpi)}, ${t.n} records)`,
    );
  }
};
const syncFeeds = mkdtempSync(path.join(tmpdir(), 'rr-bench-sync-'));
const feedFeeds = mkdtempSync(path.join(tmpdir(), 'rr-bench-feed-'));
try {
  const first = await child('sync', syncFeeds);
  console.log(
    `first sync (baseline):   ${first.seconds.toFixed(2)} s, peak RSS ${first.maxRssMb.toFixed(0)} MB, WAL ${mb(first.wal)}, ${JSON.stringify(first.summary.changes)}`,
  );
  printShare(first.share);
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
    `incremental sync pass:   ${inc.seconds.toFixed(2)} s (process CPU ${inc.cpuSeconds.toFixed(1)} s), peak RSS ${inc.maxRssMb.toFixed(0)} MB, WAL ${mb(inc.wal)}, ${JSON.stringify(inc.summary.changes)}`,
  );
  console.log(`  apply step: ${JSON.stringify(inc.applied)}`);
  printShare(inc.share);
  const feed = await child('feed', feedFeeds);
  console.log(
    `plain feed run:          ${feed.seconds.toFixed(2)} s (process CPU ${feed.cpuSeconds.toFixed(1)} s), peak RSS ${feed.maxRssMb.toFixed(0)} MB`,
  );
  console.log(
    `\nsync / feed time: ${(inc.seconds / feed.seconds).toFixed(2)} (target <= 1.3); process CPU: ${(inc.cpuSeconds / feed.cpuSeconds).toFixed(2)}`,
  );
  console.log(
    `incremental WAL / first sync WAL: ${((inc.wal / first.wal) * 100).toFixed(1)} % of all WAL, ${((inc.share.state / first.share.state) * 100).toFixed(1)} % of the state schema's (target < 10 %)`,
  );
  console.log(
    `peak RSS: sync ${inc.maxRssMb.toFixed(0)} MB, feed ${feed.maxRssMb.toFixed(0)} MB (target < 300 MB)`,
  );
} finally {
  slot.release();
  await pool.end();
  rmSync(syncFeeds, { recursive: true, force: true });
  rmSync(feedFeeds, { recursive: true, force: true });
}
