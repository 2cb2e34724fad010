/**
 * bench:push — the outbox pusher against the emulator at RR_PUSH_RATE (default 500/s).
 *
 * The emulator runs in a child process (it must not share the pusher's event loop) with
 * BENCH_LATENCY_MS of injected latency (default 20 ms) and its rate limits off. BENCH_ITEMS
 * product records (default 10,000) are enqueued into a fresh database `rr_bench_push`, then one
 * pusher drains them. Prints the achieved call rate (from the emulator's arrival times, first to
 * last call), its error against the target, p50/p99 call latency (client side), retries, and the
 * pusher process's peak RSS.
 *
 *   npm run bench:push   (BENCH_ITEMS, BENCH_RATE, BENCH_LATENCY_MS, BENCH_TIMEOUT_MS,
 *                          BENCH_DATABASE_URL to change)
 */
import { loadConfig } from '../src/config.ts';
import { migrate } from '../src/db/migrate.ts';
import { createPool } from '../src/db/pool.ts';
import { DEMO_PARTNER } from '../src/emulator/index.ts';
import { createRetailRocketClient } from '../src/rr/index.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { freshDatabase } from './bench.db.ts';
import { enqueue, type OutboxItem } from '../src/sync/outbox.repository.ts';
import { createPusher } from '../src/sync/pusher.ts';
import { itemKey } from '../src/sync/sync.contracts.ts';
import { startEmulatorProcess } from './emulator.peer.ts';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 10_000);
const RATE = process.env.BENCH_RATE ?? '500';
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const TIMEOUT_MS = process.env.BENCH_TIMEOUT_MS ?? '500';

function item(id: number): OutboxItem {
  const body = {
    id,
    name: `Bench item ${id}`,
    price: 10 + (id % 900),
    url: `https://shop.example/p/${id}`,
    pictureUrl: `https://shop.example/img/${id}.jpg`,
    isAvailable: id % 5 !== 0,
    categoryPaths: ['Kitchen/Knives'],
  };
  return {
    key: itemKey.product(String(id)),
    kind: 'product',
    itemId: String(id),
    body,
    hash: `h${id}`,
    change: 'new',
  };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

async function main() {
  const emu = await startEmulatorProcess({
    port: 0,
    httpPort: 0,
    faults: { delayMs: LATENCY_MS },
    limits: { tracking: 0, recommendations: 0, site: 0 },
  });
  const pool = createPool(await freshDatabase('rr_bench_push'), { max: 5 });
  try {
    await migrate(pool, silentLogger);
    for (let i = 0; i < ITEMS; i += 5000) {
      await enqueue(
        pool,
        Array.from({ length: Math.min(5000, ITEMS - i) }, (_, j) => item(1 + i + j)),
      );
    }
    const config = loadConfig({
      RR_PARTNER_ID: DEMO_PARTNER.partnerId,
      RR_API_KEY: DEMO_PARTNER.apiKey,
      RR_PRODUCT_API_URL: `${emu.info.h2Url}/api/1.0/`,
      RR_CA_FILE: emu.info.caFile,
      RR_PUSH_RATE: RATE,
      RR_TIMEOUT_MS: TIMEOUT_MS,
    });
    const latencies: number[] = [];
    let failed = 0;
    /** Failed calls by kind and status, e.g. "timeout" or "http 503". */
    const failures: Record<string, number> = {};
    const rr = createRetailRocketClient(config.rr, {
      logger: silentLogger,
      onCall: (c) => {
        if (c.ok) return void latencies.push(c.ms);
        failed++;
        const key = c.status === undefined ? `${c.kind}` : `${c.kind} ${c.status}`;
        failures[key] = (failures[key] ?? 0) + 1;
      },
    });
    const pusher = createPusher({ state: pool, rr, config, logger: silentLogger });
    const report = await pusher.drain({ maxWaitMs: 60_000 });
    await rr.close();

    const calls = (await (await fetch(`${emu.info.httpUrl}/__emulator/calls`)).json()) as {
      calls: { receivedAt: string }[];
    };
    const times = calls.calls.map((c) => Date.parse(c.receivedAt)).sort((a, b) => a - b);
    const spanS = (times.at(-1)! - times[0]!) / 1000;
    const achieved = (times.length - 1) / spanS;
    const target = config.push.rate;
    latencies.sort((a, b) => a - b);
    const result = {
      items: ITEMS,
      pushed: report.pushed,
      deadLetters: report.deadLetters,
      pending: report.pending,
      calls: times.length,
      'failed calls (retried)': failed,
      'target /s': target,
      'achieved /s': Math.round(achieved * 10) / 10,
      'error %': Math.round((achieved / target - 1) * 1000) / 10,
      'drain s': report.seconds,
      'p50 ms': pct(latencies, 50),
      'p99 ms': pct(latencies, 99),
      'injected latency ms': LATENCY_MS,
      'peak RSS MB': Math.round(process.resourceUsage().maxRSS / 1024),
    };
    console.table(result);
    if (failed > 0) console.log('failed calls by kind (each was retried):', failures);
    console.log(JSON.stringify(result));
    const within = Math.abs(achieved / target - 1) <= 0.05;
    console.log(`rate within ±5 % of ${target}/s: ${within ? 'met' : 'missed'}`);
    process.exitCode = within && report.pushed === ITEMS ? 0 : 1;
  } finally {
    await pool.end();
    emu.stop();
  }
}

await main();
