/**
 * bench:spool — how fast the event spool's claims drain a backlog (the database side of the event
 * sender, without Retail Rocket): BENCH_EVENTS pending view events (default 100,000) of 5,000
 * visitors are stored in a fresh database `rr_bench_spool`, then claimed 500 at a time and
 * deleted as sent (finishSent), four claims' deletes in flight and a VACUUM every 5,000 claimed
 * events, as the sender does. Prints events/s and the claim time p50/p99/max.
 *
 * BENCH_WAITING (default 0): that many events, the oldest, of other visitors, wait for a retry an
 * hour away (after an outage): the claims must reach the due events behind them.
 *
 *   npm run bench:spool   (BENCH_EVENTS, BENCH_WAITING, BENCH_DATABASE_URL to change)
 */
import { migrate } from '../src/db/migrate.ts';
import { createPool } from '../src/db/pool.ts';
import { claimEvents, finishSent, vacuumSpool } from '../src/events/events.repository.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { freshDatabase } from './bench.db.ts';
import { quantile, round } from './paced.load.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const WAITING = Number(process.env.BENCH_WAITING ?? 0);

async function main() {
  const pool = createPool(await freshDatabase('rr_bench_spool'), { max: 6 });
  try {
    await migrate(pool, silentLogger);
    console.log(`storing ${EVENTS.toLocaleString('en')} events (${WAITING.toLocaleString('en')} waiting)...`);
    await pool.query(
      `insert into rr_sync.event_spool (visitor, type, body, next_attempt_at)
       select v, 'view', jsonb_build_object('sessionExternalId', v, 'productId', g % 997 + 1),
              case when g <= $2 then now() + interval '1 hour' else now() end
         from generate_series(1, $1) g,
              -- the waiting events' visitors have nothing due (their later events would wait too)
              lateral (select case when g <= $2 then 'w' else 'v' end || (g % 5000) as v) x`,
      [EVENTS, WAITING],
    );
    await pool.query('vacuum rr_sync.event_spool');
    const due = EVENTS - WAITING;
    const times: number[] = [];
    const deletes = new Set<Promise<unknown>>();
    let done = 0;
    let sinceVacuum = 0;
    const t0 = performance.now();
    while (done < due) {
      const c0 = performance.now();
      const rows = await claimEvents(pool, 'bench', 500, 60_000);
      times.push(performance.now() - c0);
      if (rows.length === 0) {
        await Promise.all(deletes); // what is in flight frees the visitors it holds back
        continue;
      }
      done += rows.length;
      const d: Promise<unknown> = finishSent(
        pool,
        'bench',
        rows.map((r) => r.id),
      ).finally(() => deletes.delete(d));
      deletes.add(d);
      if (deletes.size >= 4) await Promise.race(deletes);
      sinceVacuum += rows.length;
      if (sinceVacuum >= 5000) {
        sinceVacuum = 0;
        void vacuumSpool(pool).catch(() => undefined);
      }
    }
    await Promise.all(deletes);
    const seconds = (performance.now() - t0) / 1000;
    times.sort((a, b) => a - b);
    console.log({
      events: due,
      waiting: WAITING,
      seconds: round(seconds),
      'events/s': Math.round(due / seconds),
      claims: times.length,
      'claim p50 ms': round(quantile(times, 0.5)),
      'claim p99 ms': round(quantile(times, 0.99)),
      'claim max ms': round(times.at(-1)!),
    });
  } finally {
    await pool.end();
  }
}

await main();
