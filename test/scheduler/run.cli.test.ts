import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import type pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRunHarness, killStragglers, startCli, until, type RunHarness } from './run.harness.ts';

const harnesses: RunHarness[] = [];
async function harness(): Promise<RunHarness> {
  const h = await createRunHarness();
  harnesses.push(h);
  return h;
}
afterEach(killStragglers);
afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
});

interface RunRow {
  id: number;
  kind: string;
  trigger: string;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  summary: Record<string, unknown> | null;
}

async function history(pool: pg.Pool): Promise<RunRow[]> {
  const { rows } = await pool.query<RunRow & { id: string }>(
    'select id, kind, trigger, status, started_at, finished_at, summary from rr_sync.runs order by id',
  );
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

// Feed ticks on even seconds, sync ticks on odd ones: both jobs tick every 2 s.
const FAST = { FEED_CRON: '*/2 * * * * *', SYNC_CRON: '1-59/2 * * * * *' };

describe('rr-sync run', () => {
  it('two instances on one database: each feed and sync tick runs once in total, the other instance records it skipped', async () => {
    const h = await harness();
    const env = { ...h.env, ...FAST };
    const a = startCli(['run'], env);
    const b = startCli(['run'], env);
    const scheduled = (p: typeof a) =>
      Promise.all([
        p.waitForLog(/"job":"feed".*"msg":"scheduled"/),
        p.waitForLog(/"job":"sync".*"msg":"scheduled"/),
      ]);
    await Promise.all([scheduled(a), scheduled(b)]);
    // Both are scheduling from here on: wait for five more ticks of each job, then stop both.
    const { rows } = await h.db.pool.query<{ now: Date }>('select now()');
    const since = rows[0].now;
    await until(async () => {
      const r = await h.db.pool.query<{ feed: string; sync: string }>(
        `select count(*) filter (where job = 'feed') as feed, count(*) filter (where job = 'sync') as sync
           from rr_sync.job_ticks where tick > $1 and run_id is not null`,
        [since],
      );
      return Number(r.rows[0].feed) >= 5 && Number(r.rows[0].sync) >= 5;
    }, 120_000);
    a.proc.kill('SIGTERM');
    b.proc.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);

    const runs = await history(h.db.pool);
    expect(runs.filter((r) => r.status === 'running')).toEqual([]);
    let losers = 0;
    for (const job of ['feed', 'sync']) {
      const { rows: ticks } = await h.db.pool.query<{ tick: Date; instance: string; run_id: string | null }>(
        'select tick, instance, run_id from rr_sync.job_ticks where job = $1 order by tick',
        [job],
      );
      const scheduled = runs.filter((r) => r.kind === job && r.trigger === 'schedule');
      // Every run the scheduler started belongs to exactly one claimed tick, and no tick has two.
      expect(new Set(ticks.map((t) => Number(t.run_id))).size).toBe(ticks.length);
      for (const run of scheduled.filter((r) => r.status !== 'skipped')) {
        expect(ticks.filter((t) => Number(t.run_id) === run.id)).toHaveLength(1);
      }
      for (const t of ticks) {
        const iso = t.tick.toISOString();
        const skippedHere = scheduled.filter((r) => r.status === 'skipped' && r.summary?.tick === iso);
        const owner = runs.find((r) => r.id === Number(t.run_id))!;
        expect(owner).toMatchObject({ kind: job, trigger: 'schedule' });
        // At most one row per instance for a tick: the owner's run (or its recorded skip) and the loser's skip.
        const rowsForTick = new Set([owner.id, ...skippedHere.map((r) => r.id)]);
        expect(rowsForTick.size).toBeLessThanOrEqual(2);
        for (const s of skippedHere.filter((r) => r.id !== owner.id)) {
          expect(s.summary).toMatchObject({
            claimedBy: t.instance,
            reason: `instance ${t.instance} claimed this tick`,
          });
          losers++;
        }
      }
    }
    expect(losers).toBeGreaterThanOrEqual(5);
    // Runs never overlapped, across both processes and both jobs (start-up runs included).
    const ran = runs.filter((r) => r.status !== 'skipped').sort((x, y) => +x.started_at - +y.started_at);
    expect(ran.filter((r) => r.trigger === 'schedule').length).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < ran.length; i++) {
      expect(+ran[i - 1].finished_at!).toBeLessThanOrEqual(+ran[i].started_at);
    }
    const succeeded = runs.filter((r) => r.status === 'published' || r.status === 'unchanged');
    expect(succeeded.length).toBe(ran.length);
  }, 180_000);

  it('SIGTERM lets the in-flight run finish, then exits 0 with no run left running', async () => {
    const h = await harness();
    // Hold the catalog: the start-up feed run (no feed yet) blocks on its first read.
    const blocker = await h.db.pool.connect();
    await blocker.query('begin');
    await blocker.query('lock table store.products in access exclusive mode');
    const run = startCli(['run'], h.env);
    try {
      await until(async () => {
        const r = await h.db.pool.query("select 1 from rr_sync.runs where status = 'running'");
        return (r.rowCount ?? 0) > 0;
      });
      run.proc.kill('SIGTERM');
      await run.waitForLog(/waiting for the in-flight run/);
    } finally {
      await blocker.query('rollback');
      blocker.release();
    }
    expect(await run.exited).toBe(0);
    const runs = await history(h.db.pool);
    expect(runs.map((r) => [r.kind, r.trigger, r.status])).toEqual([['feed', 'startup', 'published']]);
    expect(run.stderr()).toMatch(/"aborted":false,"abandoned":false/);
  }, 90_000);

  it('a second SIGTERM exits at once (130) while the first waits for the in-flight run', async () => {
    const h = await harness();
    const blocker = await h.db.pool.connect();
    await blocker.query('begin');
    await blocker.query('lock table store.products in access exclusive mode');
    const run = startCli(['run'], h.env);
    try {
      await until(async () => {
        const r = await h.db.pool.query("select 1 from rr_sync.runs where status = 'running'");
        return (r.rowCount ?? 0) > 0;
      });
      run.proc.kill('SIGTERM');
      await run.waitForLog(/waiting for the in-flight run/);
      // The run is stuck behind the lock: only the second signal can end the process now.
      run.proc.kill('SIGTERM');
      expect(await run.exited).toBe(130);
    } finally {
      await blocker.query('rollback');
      blocker.release();
    }
  }, 90_000);

  it('does not run the start-up feed when the published feed is current', async () => {
    const h = await harness();
    // Daily at 02:00 UTC; a feed published just now is newer than the previous fire time.
    const first = startCli(['feed'], h.env);
    expect(await first.exited).toBe(0);
    const run = startCli(['run'], h.env);
    await run.waitForLog(/the feed is current: no start-up run/);
    run.proc.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const runs = await history(h.db.pool);
    expect(runs.map((r) => [r.trigger, r.status])).toEqual([['manual', 'published']]);
  }, 90_000);

  it('binds PORT before any other work: a busy port is exit 2 even with an unreachable database', async () => {
    const blocker: Server = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = startCli(['run'], {
        DATABASE_URL: 'postgres://u:secretpw@127.0.0.1:1/x',
        PORT: String(port),
        LOG_LEVEL: 'silent',
      });
      expect(await run.exited).toBe(2);
      expect(run.stderr()).toContain(`PORT: ${port} is already in use`);
      expect(run.stderr()).not.toContain('secretpw');
    } finally {
      blocker.close();
    }
  });

  it('exits 2 naming SYNC_CRON when it is not a cron expression, and on an unknown flag', async () => {
    const bad = startCli(['run'], { SYNC_CRON: 'nonsense', PORT: '0', LOG_LEVEL: 'silent' });
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain('SYNC_CRON: must be a valid cron expression (got "nonsense")');
    const flag = startCli(['run', '--every', '5'], { PORT: '0', LOG_LEVEL: 'silent' });
    expect(await flag.exited).toBe(2);
    expect(flag.stderr()).toMatch(/unknown (option|flag) '?--every/i);
  });
});
