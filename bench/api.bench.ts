/**
 * bench:api — the storefront API (events and recommendations) of `rr-sync serve`, under an
 * open-loop load at a constant rate (`paced.load.ts`: latency counted from each request's due
 * time): `npm run bench:api -- --products 1000000`.
 *
 * Set-up (not timed): the demo store with N products in rr_bench_api_<N> (seeded once), synced
 * once (the published-catalog index and the feed, kept in <tmpdir>/rr-bench-api-<N>). The service
 * (`rr-sync serve`, the CLI's own Node flags) and the emulator each run in a child process; the
 * emulator learns a slice of 5,000 sampled products (its algorithms scan its whole catalog per
 * request: at 1M products the bench would measure the emulator); requests name those products.
 *
 * Phases (issue 8 targets in brackets):
 *  1. events: POST /v1/events/view at --events-rate for --events-seconds [2,000/s for 60 s, p99 <
 *     25 ms], then the time until the emulator received every accepted event [all delivered];
 *  2. recommendations with the emulator answering in 100 ms, at --recs-rate [500 rps: p99 overhead
 *     over the upstream < 5 ms]; the same load on the emulator alone, and through a bare Node
 *     proxy (`proxy.peer.ts`: the floor of one hop on this machine), go first;
 *  3. reindex: the recommendations load with an index change (what a sync commits) half-way through
 *     --reindex-seconds: the p99 by second around it (the index cache is dropped at the change);
 *  4. recommendations with the emulator stalled (2 s), at --stall-rate [1,000 rps: p99 <= deadline
 *     + 10 ms];
 *  and the serving process's peak RSS [< 300 MB with the 1M index].
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { Pool } from 'undici';
import { loadConfig } from '../src/config.ts';
import { migrate } from '../src/db/migrate.ts';
import { createPool } from '../src/db/pool.ts';
import { demoProductCount, seedDemo } from '../src/demo/demo.seed.ts';
import { DEMO_PARTNER } from '../src/emulator/index.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { runSyncJob } from '../src/sync/sync.job.ts';
import { startEmulatorProcess } from './emulator.peer.ts';
import { startNoopProcess } from './noop.peer.ts';
import { startProxyProcess } from './proxy.peer.ts';
import { openPool, pacedLoad, quantile, round, type PacedRequest, type PacedResult } from './paced.load.ts';

const { values } = parseArgs({
  options: {
    products: { type: 'string', default: '100000' },
    'events-rate': { type: 'string', default: '2000' },
    'events-seconds': { type: 'string', default: '60' },
    'recs-rate': { type: 'string', default: '500' },
    'recs-seconds': { type: 'string', default: '30' },
    'recs-latency': { type: 'string', default: '100' },
    // Unmeasured load before the events and each recommendations phase (the service's JIT, index
    // cache and connections warm up; the cold start is reported separately).
    'warmup-seconds': { type: 'string', default: '5' },
    'stall-rate': { type: 'string', default: '1000' },
    'stall-seconds': { type: 'string', default: '20' },
    // An index change (what a sync commits) this many seconds into the reindex phase's load.
    'reindex-seconds': { type: 'string', default: '20' },
    // Comma-separated phases to run (default all): events, recs, reindex, stalled.
    only: { type: 'string', default: 'events,recs,reindex,stalled' },
  },
});
const products = Number(values.products);
const phases = new Set(values.only.split(','));
const DEADLINE_MS = 500;
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `rr_bench_api_${products}`;
const dbUrl = (() => {
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  return u.toString();
})();
const feedsDir = path.join(tmpdir(), `rr-bench-api-${products}`);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function prepareCatalog(): Promise<{ id: string; category: string }[]> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const exists = await admin.query('select 1 from pg_database where datname = $1', [dbName]);
  if (!exists.rowCount) await admin.query(`create database ${dbName}`);
  await admin.end();
  const pool = createPool(dbUrl, { max: 8 });
  try {
    if ((await demoProductCount(pool, 'store')) !== products + 14) {
      console.log(`seeding ${products.toLocaleString('en')} demo products into ${dbName} (not timed)...`);
      await seedDemo(pool, { schema: 'store', products }, silentLogger);
      await pool.query('drop schema if exists rr_sync cascade');
    }
    await migrate(pool, silentLogger);
    const indexed = await pool.query('select 1 from rr_sync.catalog_items limit 1');
    mkdirSync(feedsDir, { recursive: true });
    if (!indexed.rowCount || !existsSync(path.join(feedsDir, 'catalog.xml'))) {
      console.log('first sync: the published-catalog index and the feed (not timed)...');
      const config = loadConfig({ DATABASE_URL: dbUrl, FEEDS_DIR: feedsDir, LOG_LEVEL: 'warn' });
      await pool.query('truncate rr_sync.catalog_items_base, rr_sync.catalog_items_delta, rr_sync.outbox');
      await runSyncJob({ catalog: pool, state: pool, config, logger: silentLogger }, { force: true });
    }
    await pool.query('vacuum analyze rr_sync.catalog_items_base');
    await pool.query('vacuum analyze rr_sync.catalog_items_delta');
    await pool.query('truncate rr_sync.event_spool, rr_sync.event_counts, rr_sync.product_popularity');
    // A spread of known, available products for the requests (TABLESAMPLE: not just the lowest ids).
    const { rows } = await pool.query<{ id: string; category: string }>(
      `select product_id as id, category_ids[1] as category from rr_sync.catalog_items_base tablesample system (5)
        where not gone and available and cardinality(category_ids) > 0 limit 20000`,
    );
    return rows;
  } finally {
    await pool.end();
  }
}

interface Service {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

function startService(env: Record<string, string>): Promise<Service> {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  // The same Node flags as `npm start` (e.g. the young generation size that bounds RSS).
  const nodeFlags = pkg.scripts.start.split(' ').filter((a) => a.startsWith('--'));
  // BENCH_SERVICE_NODE_FLAGS: more for the service alone, e.g. --cpu-prof --cpu-prof-dir=/tmp/prof.
  nodeFlags.push(...(process.env.BENCH_SERVICE_NODE_FLAGS ?? '').split(' ').filter(Boolean));
  const child = spawn(
    process.execPath,
    [...nodeFlags, path.join(root, 'src/cli/rr-sync.js'), 'serve', '--json'],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`rr-sync serve exited with ${code}`)));
    // The first JSON line names the URL; anything else on stdout (e.g. --trace-gc from
    // BENCH_SERVICE_NODE_FLAGS) goes to the file BENCH_SERVICE_STDOUT names, if any.
    const keep = process.env.BENCH_SERVICE_STDOUT;
    let started = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!started && line.startsWith('{"ok"')) {
        started = true;
        const { listening } = JSON.parse(line) as { listening: string };
        resolve({
          url: listening.replace('localhost', '127.0.0.1'),
          pid: child.pid!,
          stop: () =>
            new Promise<void>((done) => {
              child.removeAllListeners('exit');
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      } else if (keep) appendFileSync(keep, `${line}\n`);
    });
  });
}

/** Peak and current resident set of a process, in MB (Linux /proc). */
function rssOf(pid: number): { peakMb: number; nowMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { peakMb: Math.round(kb('VmHWM') / 1024), nowMb: Math.round(kb('VmRSS') / 1024) };
}

const EMULATOR_SLICE = 5000;

/** A YML feed of the given products (flat categories): what the emulator needs to recommend them. */
function sliceFeed(products: readonly { id: string; category: string }[]): string {
  const categories = [...new Set(products.map((p) => p.category))]
    .map((c) => `<category id="${c}">Category ${c}</category>`)
    .join('');
  const offers = products
    .map(
      (p) =>
        `<offer id="${p.id}" available="true"><url>https://shop.example/p/${p.id}</url><price>10</price>` +
        `<categoryId>${p.category}</categoryId><picture>https://shop.example/img/${p.id}.jpg</picture><name>Item ${p.id}</name></offer>`,
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><yml_catalog date="2026-12-01 02:00"><shop><categories>${categories}</categories><offers>${offers}</offers></shop></yml_catalog>`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function emulatorJson(base: string, route: string, init?: RequestInit): Promise<any> {
  const res = await fetch(`${base}${route}`, init);
  if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function acceptedEvents(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "select coalesce(sum(count), 0)::float8 as n from rr_sync.event_counts where result = 'accepted'",
  );
  return rows[0]!.n;
}

/** A named duration (ms) of a Server-Timing header, if there. */
function timingOf(headers: Record<string, unknown>, name: string): number | undefined {
  const m = new RegExp(`(?:^|, )${name};dur=([\\d.]+)`).exec(String(headers['server-timing'] ?? ''));
  return m ? Number(m[1]) : undefined;
}

/**
 * Where the events' time went, from each answer's Server-Timing (`total`: from the handler's start
 * to the answer, in the service): its p99, and what the shop saw beyond it (`outside`: the
 * generator, the kernel, and the service's event loop before the handler ran). Per second of the
 * load, the slowest answer inside the service next to the p99 the shop saw: a slow second with
 * quick answers inside the service waited outside it.
 */
function eventsTally(rate: number) {
  const inside: number[] = [];
  const outside: number[] = [];
  const slowest: number[] = [];
  return {
    onResponse(_status: number, _body: string, headers: Record<string, unknown>, ms: number, i: number) {
      const total = timingOf(headers, 'total');
      if (total === undefined) return;
      inside.push(total);
      outside.push(ms - total);
      const second = Math.floor(i / rate);
      slowest[second] = Math.max(slowest[second] ?? 0, Math.round(total));
    },
    summary() {
      const a = Float64Array.from(inside).sort();
      const o = Float64Array.from(outside).sort();
      return {
        'in service p50 ms': round(quantile(a, 0.5)),
        'in service p99 ms': round(quantile(a, 0.99)),
        'outside p50 ms': round(quantile(o, 0.5)),
        'outside p99 ms': round(quantile(o, 0.99)),
        'in service max ms by second': slowest,
      };
    },
  };
}

/**
 * What the answers of one recommendations load said: their sources, and from each answer's
 * Server-Timing (`rr`: Retail Rocket's time, `total`: the whole answer in the service) what the
 * service added to Retail Rocket's time, at the shop and inside itself, and its slowest answer
 * per second of the load (a slow second with quick answers inside the service waited outside it).
 */
function recsTally(rate: number) {
  const sources: Record<string, number> = {};
  const added: number[] = [];
  const own: number[] = [];
  const slowest: number[] = [];
  return {
    onResponse(_status: number, body: string, headers: Record<string, unknown>, ms: number, i: number) {
      const m = /"source":"(\w+)"/.exec(body);
      const r = /"reason":"(\w+)"/.exec(body);
      const s = m ? `${m[1]}${r ? `:${r[1]}` : ''}` : 'error';
      sources[s] = (sources[s] ?? 0) + 1;
      const rr = timingOf(headers, 'rr');
      const total = timingOf(headers, 'total');
      if (total === undefined) return;
      const second = Math.floor(i / rate);
      slowest[second] = Math.max(slowest[second] ?? 0, Math.round(total));
      if (s === 'retailrocket' && rr !== undefined) {
        added.push(ms - rr);
        own.push(total - rr);
      }
    },
    summary() {
      const a = Float64Array.from(added).sort();
      const o = Float64Array.from(own).sort();
      return {
        // Per answer from Retail Rocket: latency at the shop minus Retail Rocket's time for it.
        'added per answer p50 ms': round(quantile(a, 0.5)),
        'added per answer p99 ms': round(quantile(a, 0.99)),
        'answers timed': a.length,
        // The same inside the service (total − rr: what rr_sync_recommendation_overhead_seconds observes).
        'own time p99 ms': round(quantile(o, 0.99)),
        'service answer max ms by second': slowest,
        sources,
      };
    },
  };
}

const faults = (base: string, f: Record<string, unknown>) =>
  emulatorJson(base, '/__emulator/faults', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(f),
  });

async function main() {
  const sample = (await prepareCatalog()).slice(0, EMULATOR_SLICE);
  const ids = sample.map((s) => s.id);
  console.log(`${ids.length} sample product ids; feed in ${feedsDir}`);
  const emu = await startEmulatorProcess({
    port: 0,
    httpPort: 0,
    limits: { tracking: 0, recommendations: 0, site: 0 },
  });
  const service = await startService({
    DATABASE_URL: dbUrl,
    FEEDS_DIR: feedsDir,
    PORT: '0',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    RR_PARTNER_ID: DEMO_PARTNER.partnerId,
    RR_API_KEY: DEMO_PARTNER.apiKey,
    RR_TRACKING_URL: `${emu.info.h2Url}/1.0/`,
    RR_RECOMMENDATIONS_URL: `${process.env.BENCH_RECS_PLAIN ? emu.info.httpUrl : emu.info.h2Url}/api/3.0/`,
    RR_PRODUCT_API_URL: `${emu.info.h2Url}/api/1.0/`,
    RR_CA_FILE: emu.info.caFile,
    RR_TIMEOUT_MS: String(DEADLINE_MS),
    RR_RATE_LIMIT: '100000',
    RR_RECS_CACHE: 'off',
    // The open-loop stalled phase keeps ~500 requests (connections) waiting at once.
    HTTP_MAX_CONNECTIONS: '2000',
  });
  const results: Record<string, unknown> = { products };
  try {
    // The emulator learns a slice of the catalog (the sampled products): its algorithms scan its
    // whole catalog per request, which at 1M products would measure the emulator, not the service.
    // Every id it can recommend is in our index; the events name only these products too.
    const t0 = performance.now();
    await emulatorJson(emu.info.httpUrl, '/__emulator/feed', {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: sliceFeed(sample),
    });
    console.log(
      `emulator imported a slice of ${sample.length} products in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    const verdicts: Record<string, boolean> = {};

    // 1. Events.
    if (phases.has('events')) {
      const eventRequest = (n: number): PacedRequest => ({
        method: 'POST',
        path: '/v1/events/view',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sessionExternalId: `v${n % 5000}`, productId: ids[n % ids.length] }),
      });
      const rate = Number(values['events-rate']);
      const warmup = Number(values['warmup-seconds']);
      // Control: the same load, warm-up included, on a server that answers 202 at once (no
      // database, no work): what this machine and the generator alone add to the latency.
      const noop = await startNoopProcess();
      try {
        const noopPool = openPool(noop.info.url, 200);
        if (warmup > 0) await pacedLoad({ pool: noopPool, rate, seconds: warmup, request: eventRequest });
        results.eventsFloor = await pacedLoad({
          pool: noopPool,
          rate,
          seconds: Number(values['events-seconds']),
          request: eventRequest,
        });
        await noopPool.close();
        console.log('events control (the same load on a no-op server)', results.eventsFloor);
      } finally {
        noop.stop();
      }
      // One set of connections for the warm-up and the measured load (their set-up is not timed).
      const pool = openPool(service.url, 200);
      const eventLoad = (seconds: number) => {
        const tally = eventsTally(rate);
        return pacedLoad({ pool, rate, seconds, request: eventRequest, onResponse: tally.onResponse }).then(
          (result) => ({ result, split: tally.summary() }),
        );
      };
      if (warmup > 0) {
        results.eventsWarmup = (await eventLoad(warmup)).result;
        console.log(`events, first ${warmup} s (warm-up, not in the verdict)`, results.eventsWarmup);
      }
      const { result: events, split } = await eventLoad(Number(values['events-seconds']));
      await pool.close();
      const floor = results.eventsFloor as PacedResult;
      results.events = {
        ...events,
        'p99 − no-op p99 ms': round(events['p99 ms'] - floor['p99 ms']),
        ...split,
      };
      // The spool's own counter of accepted (committed) events: what the emulator must receive.
      const drainStart = performance.now();
      const db = createPool(dbUrl, { max: 1 });
      let accepted = await acceptedEvents(db);
      let delivered = 0;
      try {
        while (performance.now() - drainStart < 300_000) {
          await sleep(500);
          const now = await acceptedEvents(db);
          delivered = (await emulatorJson(emu.info.httpUrl, '/__emulator/events?limit=1')).total as number;
          // Answers still in flight when the load ended are committed a moment later.
          if (now === accepted && delivered >= accepted) break;
          accepted = now;
        }
      } finally {
        await db.end();
      }
      results.eventsDelivered = {
        accepted,
        delivered,
        'drain s after load': round((performance.now() - drainStart) / 1000),
      };
      console.log('events', results.events, results.eventsDelivered);
      verdicts[`events p99 < 25 ms at ${values['events-rate']}/s`] =
        events['p99 ms'] < 25 && events.non2xx === 0 && events.errors === 0;
      verdicts['every accepted event delivered'] = accepted > 0 && delivered >= accepted;
    }

    let k = 0;
    // A category block: the emulator's `related` answers nothing without orders, `popular` always does.
    const recsQuery = () => {
      k++;
      return `categoryIds=${sample[k % sample.length]!.category}&sessionExternalId=v${k % 5000}`;
    };
    /** One recommendations load through the service: its figures and what its answers said. */
    const recsLoad = async (pool: Pool, rate: number, seconds: number) => {
      const tally = recsTally(rate);
      const result = await pacedLoad({
        pool,
        rate,
        seconds,
        request: () => ({ path: `/v1/recommendations/categoryRecommendations/popular?${recsQuery()}` }),
        onResponse: tally.onResponse,
      });
      return { result, answers: tally.summary() };
    };
    const clean = (r: PacedResult) => r.non2xx === 0 && r.errors === 0;

    // 2. Recommendations, the emulator answering in --recs-latency ms.
    if (phases.has('recs')) {
      const latency = Number(values['recs-latency']);
      await faults(emu.info.httpUrl, { delayMs: latency });
      const rate = Number(values['recs-rate']);
      const duration = Number(values['recs-seconds']);
      const warmup = Number(values['warmup-seconds']);
      // Control: the same load (rate, connections, requests, duration, warm-up) on the emulator
      // itself. Its p99 is the upstream's own under this load on this machine (the emulator's timer
      // and event loop): the overhead is measured against it.
      const controlPool = openPool(emu.info.httpUrl, 200);
      const controlLoad = (seconds: number) =>
        pacedLoad({
          pool: controlPool,
          rate,
          seconds,
          request: () => ({
            path: `/api/3.0/categoryRecommendations/popular/?partnerId=${DEMO_PARTNER.partnerId}&apiKey=${DEMO_PARTNER.apiKey}&${recsQuery()}`,
          }),
        });
      if (warmup > 0) await controlLoad(warmup);
      const control = await controlLoad(duration);
      await controlPool.close();
      results.upstreamAlone = control;
      console.log('upstream alone (the same load on the emulator)', results.upstreamAlone);
      // Floor: the same load through the thinnest Node proxy to the emulator (no database, no
      // checks): what this machine, the generator and one hop through Node add per answer.
      const proxy = await startProxyProcess({
        upstream: `${emu.info.h2Url}/api/3.0/`,
        caFile: emu.info.caFile,
        partnerId: DEMO_PARTNER.partnerId,
        apiKey: DEMO_PARTNER.apiKey,
      });
      let floorAdded: number;
      try {
        const proxyPool = openPool(proxy.info.url, 200);
        if (warmup > 0) await recsLoad(proxyPool, rate, warmup);
        const floor = await recsLoad(proxyPool, rate, duration);
        await proxyPool.close();
        results.recsFloor = { ...floor.result, ...floor.answers };
        floorAdded = floor.answers['added per answer p99 ms'];
        console.log('recommendations floor (the same load through a bare Node proxy)', results.recsFloor);
      } finally {
        proxy.stop();
      }
      const pool = openPool(service.url, 200);
      if (warmup > 0) {
        const cold = await recsLoad(pool, rate, warmup);
        results.recsWarmup = { ...cold.result, ...cold.answers };
        console.log(`recommendations, first ${warmup} s (warm-up, not in the verdict)`, results.recsWarmup);
      }
      const { result: recs, answers } = await recsLoad(pool, rate, duration);
      await pool.close();
      const overhead = round(recs['p99 ms'] - control['p99 ms']);
      results.recommendations = {
        ...recs,
        'p99 − upstream p99 ms': overhead,
        ...answers,
        // What the service adds beyond a bare hop through Node on this machine.
        'added p99 − bare proxy added p99 ms': round(answers['added per answer p99 ms'] - floorAdded),
      };
      console.log('recommendations', results.recommendations);
      // Only a load answered by Retail Rocket says anything about the overhead over it (fallback
      // answers, e.g. while the breaker is open, are quick and would flatter it).
      const upstreamAnswered = clean(recs) && answers['answers timed'] >= recs.requests * 0.99;
      verdicts['recommendations p99 overhead < 5 ms (per answer: latency − Retail Rocket time)'] =
        upstreamAnswered && answers['added per answer p99 ms'] < 5;
      verdicts['recommendations p99 overhead < 5 ms (against the control run)'] =
        upstreamAnswered && clean(control) && overhead < 5;
      verdicts['recommendations p99 own time <= 5 ms (in the service)'] =
        upstreamAnswered && answers['own time p99 ms'] <= 5;
    }

    // 3. An index change under load: a sync commits, and the service's index cache is dropped.
    if (phases.has('reindex')) {
      await faults(emu.info.httpUrl, { delayMs: Number(values['recs-latency']) });
      const rate = Number(values['recs-rate']);
      const seconds = Number(values['reindex-seconds']);
      const at = Math.floor(seconds / 2);
      const pool = openPool(service.url, 200);
      const warmup = Number(values['warmup-seconds']);
      if (warmup > 0) await recsLoad(pool, rate, warmup);
      const db = createPool(dbUrl, { max: 1 });
      // A committed write to the products of the index notifies rr_sync_catalog like the commit of
      // a sync that changed products (and no category) does.
      const change = setTimeout(() => {
        db.query(
          `update rr_sync.catalog_items_base set available = available
            where product_id = (select min(product_id) from rr_sync.catalog_items_base)`,
        ).catch((err: unknown) => console.error('the index change failed', err));
      }, at * 1000);
      try {
        const { result, answers } = await recsLoad(pool, rate, seconds);
        const bySecond = result['p99 by second'];
        results.reindex = {
          ...result,
          'index change at s': at,
          'p99 before the change ms': Math.max(...bySecond.slice(0, at)),
          'p99 in the 3 s from the change ms': Math.max(...bySecond.slice(at, at + 3)),
          ...answers,
        };
      } finally {
        clearTimeout(change);
        await pool.close();
        await db.end();
      }
      console.log('reindex (an index change under load)', results.reindex);
      await faults(emu.info.httpUrl, { delayMs: 0 });
    }

    // 4. Stalled upstream.
    if (phases.has('stalled')) {
      await faults(emu.info.httpUrl, { delayMs: 2000 });
      // Open loop: at 1,000/s with a 500 ms deadline about 500 answers are pending at once.
      const pool = openPool(service.url, 800);
      const { result: stalled, answers } = await recsLoad(
        pool,
        Number(values['stall-rate']),
        Number(values['stall-seconds']),
      );
      await pool.close();
      const { sources, 'service answer max ms by second': slowest } = answers;
      results.stalled = {
        ...stalled,
        'deadline ms': DEADLINE_MS,
        'service answer max ms by second': slowest,
        sources,
      };
      console.log('stalled', results.stalled);
      await faults(emu.info.httpUrl, { delayMs: 0 });
      verdicts['stalled p99 <= deadline + 10 ms'] = clean(stalled) && stalled['p99 ms'] <= DEADLINE_MS + 10;
    }

    results.serviceRss = rssOf(service.pid);
    verdicts['serving RSS < 300 MB'] = (results.serviceRss as { peakMb: number }).peakMb < 300;
    results.verdicts = verdicts;
    console.log(JSON.stringify(results));
    for (const [rule, ok] of Object.entries(verdicts)) console.log(`${ok ? 'met   ' : 'MISSED'} ${rule}`);
  } finally {
    await service.stop();
    emu.stop();
  }
}

await main();
