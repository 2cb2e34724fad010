/**
 * Feed benchmark (run by hand): `npm run bench:feed -- --products 1000000`.
 *
 * Seeds the demo store with N products (not timed; reused when already seeded with N), then runs
 * the whole feed job (read, validate, write xml + gz, self-check, publish) in a fresh child process
 * and prints offers/s, MB/s of XML, seconds and peak RSS. Beside it, in the same run, it times the
 * two steps no implementation can skip: `psql \copy` of the same rows to /dev/null and `gzip -1`
 * of the produced catalog.xml, and prints our time as a ratio to their sum.
 *
 * Database: BENCH_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres; the bench
 * creates a database rr_bench_<N> there (kept for the next run; drop it by hand).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { demoProductCount, seedDemo } from '../src/demo/demo.seed.ts';
import { createPool } from '../src/db/pool.ts';
import { migrate } from '../src/db/migrate.ts';
import { runFeedJob } from '../src/feed/feed.job.ts';
import { silentLogger } from '../src/shared/logger.ts';

const { values } = parseArgs({
  options: {
    products: { type: 'string', default: '100000' },
    child: { type: 'string' },
    feeds: { type: 'string' },
  },
});
const products = Number(values.products);
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `rr_bench_${products}`;
const dbUrl = (() => {
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  return u.toString();
})();

if (values.child) {
  // The measured run: a fresh process, so peak RSS is the job's own (worker threads included).
  const config = loadConfig({ DATABASE_URL: dbUrl, FEEDS_DIR: values.feeds, LOG_LEVEL: 'warn' });
  const pool = createPool(dbUrl, { max: 4 });
  await migrate(pool, silentLogger);
  const t0 = performance.now();
  const summary = await runFeedJob(
    { catalog: pool, state: pool, config, logger: silentLogger },
    { force: true },
  );
  const seconds = (performance.now() - t0) / 1000;
  await pool.end();
  process.stdout.write(
    JSON.stringify({ seconds, summary, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n',
  );
  process.exit(0);
}

function timeIt(label: string, fn: () => void): number {
  const t0 = performance.now();
  fn();
  const s = (performance.now() - t0) / 1000;
  console.log(`  ${label.padEnd(44)} ${s.toFixed(2)} s`);
  return s;
}

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
const exists = await admin.query('select 1 from pg_database where datname = $1', [dbName]);
if (!exists.rowCount) await admin.query(`create database ${dbName}`);
await admin.end();

const pool = createPool(dbUrl);
if ((await demoProductCount(pool, 'store')) !== products + 14) {
  console.log(`seeding ${products.toLocaleString('en')} demo products into ${dbName} (not timed)...`);
  const s = await seedDemo(pool, { schema: 'store', products }, silentLogger);
  console.log(
    `  seeded in ${s.seconds.toFixed(1)} s: ${s.productRows} product rows, ${s.stockRows} stock rows`,
  );
}
const { rows } = await pool.query<{ p: string; s: string }>(
  'select (select count(*) from store.products)::text as p, (select count(*) from store.product_stocks)::text as s',
);
await pool.end();
console.log(
  `\nfeed benchmark: ${Number(rows[0].p).toLocaleString('en')} product rows, ${Number(rows[0].s).toLocaleString('en')} stock rows`,
);

const feeds = mkdtempSync(path.join(tmpdir(), 'rr-bench-feeds-'));
try {
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL(import.meta.url).pathname,
      '--products',
      String(products),
      '--child',
      '1',
      '--feeds',
      feeds,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (child.status !== 0) {
    console.error(child.stderr);
    process.exit(1);
  }
  const r = JSON.parse(child.stdout.trim().split('\n').at(-1)!);
  const s = r.summary;
  console.log(`  rr-sync feed (read, validate, xml+gz, self-check, publish) ${r.seconds.toFixed(2)} s`);
  console.log(
    `    offers ${s.offers.toLocaleString('en')}, ${(s.bytes / 1e6).toFixed(1)} MB xml, ${(s.gzBytes / 1e6).toFixed(1)} MB gz`,
  );
  console.log(
    `    ${Math.round(s.offers / r.seconds).toLocaleString('en')} offers/s, ${(s.bytes / 1e6 / r.seconds).toFixed(1)} MB/s of XML`,
  );
  console.log(`    peak RSS ${r.maxRssMb.toFixed(0)} MB`);

  console.log('baseline (steps no implementation can skip):');
  const psql = (sql: string) =>
    execFileSync('psql', ['-X', '-q', dbUrl, '-c', `\\copy (${sql}) to /dev/null`], { stdio: 'inherit' });
  const tp = timeIt('psql \\copy products to /dev/null', () => psql('select * from store.products'));
  const ts = timeIt('psql \\copy product_stocks to /dev/null', () =>
    psql('select * from store.product_stocks'),
  );
  const xml = path.join(feeds, 'catalog.xml');
  const tg = timeIt('gzip -1 catalog.xml', () =>
    execFileSync('sh', ['-c', `gzip -1 -c "${xml}" > /dev/null`]),
  );
  const base = tp + ts + tg;
  console.log(
    `\nratio: ${(r.seconds / base).toFixed(2)} (ours ${r.seconds.toFixed(1)} s / baseline ${base.toFixed(1)} s; target <= 3)`,
  );
  console.log(`peak RSS: ${r.maxRssMb.toFixed(0)} MB (target < 300 MB at 1M)`);
} finally {
  rmSync(feeds, { recursive: true, force: true });
}
