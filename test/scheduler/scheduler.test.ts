import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JOB_LOCKS } from '../../src/db/locks.ts';
import { finishRun, insertRun } from '../../src/runs/runs.history.ts';
import {
  createScheduler,
  type JobFn,
  type Scheduler,
  type SchedulerDeps,
  type TickResult,
} from '../../src/scheduler/scheduler.ts';
import { AppError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import type { RunTrigger } from '../../src/sync/sync.contracts.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());
beforeEach(async () => {
  await db.pool.query(
    'truncate rr_sync.job_ticks, rr_sync.feed_versions, rr_sync.runs restart identity cascade',
  );
});

const config = { feedCron: '0 2 * * *', syncCron: '*/15 * * * *', timeZone: 'UTC' };
const schedulers: Scheduler[] = [];

function scheduler(overrides: Partial<SchedulerDeps> & Pick<SchedulerDeps, 'jobs'>): Scheduler {
  const s = createScheduler({ state: db.pool, config, logger: silentLogger, ...overrides });
  schedulers.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(schedulers.map((s) => s.stop({ timeoutMs: 5_000 })));
});

/** A job that records its run the way the real jobs do (a runs row), optionally held open until released. */
function recordingJob(kind: 'feed' | 'sync', options: { hold?: Promise<void> } = {}) {
  const calls: RunTrigger[] = [];
  const fn: JobFn = async (trigger) => {
    calls.push(trigger);
    const runId = await insertRun(db.pool, kind, trigger);
    await options.hold;
    await finishRun(db.pool, runId, { status: 'published', exitCode: 0, summary: {}, report: {} });
    return { status: 'published', exitCode: 0, runId };
  };
  return { fn, calls };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function runs() {
  const { rows } = await db.pool.query<{
    id: string;
    kind: string;
    trigger: string;
    status: string;
    summary: Record<string, string> | null;
  }>('select id, kind, trigger, status, summary from rr_sync.runs order by id');
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

const slot = (second: number) => new Date(Date.UTC(2026, 11, 1, 2, 0, second));

describe('scheduler ticks across instances', () => {
  it('runs each (job, tick) once across instances; the others record it skipped, naming the winner', async () => {
    const a = recordingJob('sync');
    const b = recordingJob('sync');
    const sa = scheduler({ jobs: { sync: a.fn }, instance: 'host-a:1:aaaaaa' });
    const sb = scheduler({ jobs: { sync: b.fn }, instance: 'host-b:2:bbbbbb' });
    const results: TickResult[] = [];
    for (let i = 0; i < 6; i++) {
      // Both instances fire the same slot at the same moment, as two `run` processes do.
      results.push(
        ...(await Promise.all([sa.runTick('sync', slot(i * 2)), sb.runTick('sync', slot(i * 2))])),
      );
    }
    expect(a.calls.length + b.calls.length).toBe(6);
    expect(results.filter((r) => r.outcome === 'ran')).toHaveLength(6);
    expect(results.filter((r) => r.outcome === 'skipped')).toHaveLength(6);

    const { rows: ticks } = await db.pool.query<{ tick: Date; instance: string; run_id: string }>(
      "select tick, instance, run_id from rr_sync.job_ticks where job = 'sync' order by tick",
    );
    expect(ticks.map((t) => t.tick)).toEqual([0, 2, 4, 6, 8, 10].map(slot));
    const history = await runs();
    for (const t of ticks) {
      const ran = history.find((r) => r.id === Number(t.run_id))!;
      expect(ran).toMatchObject({ kind: 'sync', trigger: 'schedule', status: 'published' });
      const skipped = history.filter(
        (r) => r.status === 'skipped' && r.summary?.tick === t.tick.toISOString(),
      );
      expect(skipped).toHaveLength(1);
      expect(skipped[0]).toMatchObject({ kind: 'sync', trigger: 'schedule' });
      expect(skipped[0].summary).toMatchObject({
        claimedBy: t.instance,
        reason: `instance ${t.instance} claimed this tick`,
      });
      expect(skipped[0].summary!.instance).not.toBe(t.instance);
    }
    expect(history).toHaveLength(12);
  });

  it('skips a tick (recorded) while the previous run of this instance is still going', async () => {
    const hold = deferred();
    const job = recordingJob('feed', { hold: hold.promise });
    const s = scheduler({ jobs: { feed: job.fn, sync: job.fn }, instance: 'host-a:1:cccccc' });
    const first = s.runTick('feed', slot(0));
    await expect.poll(() => job.calls.length).toBe(1);
    // A feed tick and a sync tick both wait for the feed run: they write the same feed.
    const second = await s.runTick('feed', slot(2));
    const sync = await s.runTick('sync', slot(2));
    hold.resolve();
    expect(await first).toMatchObject({ outcome: 'ran', status: 'published' });
    for (const [r, job] of [
      [second, 'feed'],
      [sync, 'sync'],
    ] as const) {
      expect(r).toMatchObject({ outcome: 'skipped', job, tick: slot(2) });
      expect(r.outcome === 'skipped' && r.reason).toMatch(
        /^the feed run this instance started at .+ is still going$/,
      );
    }
    expect(job.calls).toEqual(['schedule']);
    const { rows } = await db.pool.query<{ job: string; run_id: string }>(
      'select job, run_id from rr_sync.job_ticks where tick = $1 order by job',
      [slot(2)],
    );
    // The winner of a tick it skipped links the tick to its skipped run.
    expect(rows.map((r) => [r.job, Number(r.run_id)])).toEqual([
      ['feed', second.outcome === 'skipped' ? second.runId : -1],
      ['sync', sync.outcome === 'skipped' ? sync.runId : -1],
    ]);
  });

  it('skips a tick while another process holds the feed or the sync lock', async () => {
    const job = recordingJob('feed');
    const s = scheduler({ jobs: { feed: job.fn }, instance: 'host-a:1:dddddd' });
    for (const [i, key] of [JOB_LOCKS.feed, JOB_LOCKS.sync].entries()) {
      const other = await db.pool.connect();
      try {
        await other.query('select pg_advisory_lock($1)', [key]);
        const r = await s.runTick('feed', slot(i));
        expect(r).toMatchObject({
          outcome: 'skipped',
          reason: 'another feed or sync run holds the lock (another process or instance)',
        });
      } finally {
        await other.query('select pg_advisory_unlock_all()');
        other.release();
      }
    }
    expect(job.calls).toEqual([]);
    // The probe left no lock behind: the next tick runs.
    expect(await s.runTick('feed', slot(4))).toMatchObject({ outcome: 'ran' });
  });

  it('records a skip when the job itself finds its lock taken (job.already_running)', async () => {
    const s = scheduler({
      jobs: {
        feed: () => Promise.reject(new AppError('job.already_running', 'Another feed run holds the lock.')),
      },
    });
    expect(await s.runTick('feed', slot(0))).toMatchObject({
      outcome: 'skipped',
      reason: 'Another feed run holds the lock.',
    });
    expect((await runs()).map((r) => r.status)).toEqual(['skipped']);
  });

  it('reports a failing job and keeps scheduling', async () => {
    let fail = true;
    const ok = recordingJob('feed');
    const s = scheduler({
      jobs: { feed: (t, sig) => (fail ? Promise.reject(new Error('boom')) : ok.fn(t, sig)) },
    });
    expect(await s.runTick('feed', slot(0))).toMatchObject({ outcome: 'failed', error: 'boom' });
    fail = false;
    expect(await s.runTick('feed', slot(2))).toMatchObject({ outcome: 'ran' });
  });
});

describe('start-up catch-up', () => {
  const now = () => new Date('2026-12-01T10:00:00Z');

  it('runs the feed once, as startup, when no feed was ever published', async () => {
    const job = recordingJob('feed');
    const s = scheduler({ jobs: { feed: job.fn }, clock: now });
    expect(await s.catchUp()).toMatchObject({ outcome: 'ran', job: 'feed', trigger: 'startup' });
    // Now it is fresh: a second start runs nothing.
    expect(await s.catchUp()).toBeNull();
    expect(job.calls).toEqual(['startup']);
    expect((await runs()).map((r) => [r.trigger, r.status])).toEqual([['startup', 'published']]);
  });

  it('does nothing when a feed was published after the previous FEED_CRON fire time', async () => {
    await db.pool.query(
      `insert into rr_sync.feed_versions (version, sha256, content_sha256, gz_sha256, offers, bytes, gz_bytes, published_at)
       values ('v1', 'a', 'b', 'c', 5, 10, 5, '2026-12-01T02:05:00Z')`,
    );
    const job = recordingJob('feed');
    expect(await scheduler({ jobs: { feed: job.fn }, clock: now }).catchUp()).toBeNull();
    expect(job.calls).toEqual([]);
  });

  it('runs when the last success is older than the previous fire time (the nightly run was missed)', async () => {
    await db.pool.query(
      `insert into rr_sync.feed_versions (version, sha256, content_sha256, gz_sha256, offers, bytes, gz_bytes, published_at)
       values ('v1', 'a', 'b', 'c', 5, 10, 5, '2026-11-30T23:00:00Z')`,
    );
    const job = recordingJob('feed');
    expect(await scheduler({ jobs: { feed: job.fn }, clock: now }).catchUp()).toMatchObject({
      outcome: 'ran',
    });
    expect(job.calls).toEqual(['startup']);
  });

  it('counts a sync run that found the feed unchanged as a success; a failed run does not count', async () => {
    await db.pool.query(
      `insert into rr_sync.runs (kind, status, started_at, finished_at) values
         ('sync', 'unchanged', '2026-12-01T09:00:00Z', '2026-12-01T09:01:00Z'),
         ('feed', 'failed', '2026-12-01T09:30:00Z', '2026-12-01T09:31:00Z')`,
    );
    const job = recordingJob('feed');
    expect(await scheduler({ jobs: { feed: job.fn }, clock: now }).catchUp()).toBeNull();
    await db.pool.query("delete from rr_sync.runs where kind = 'sync'");
    expect(await scheduler({ jobs: { feed: job.fn }, clock: now }).catchUp()).toMatchObject({
      outcome: 'ran',
    });
  });
});

describe('stop', () => {
  it('lets an in-flight run finish within the grace period', async () => {
    const hold = deferred();
    const job = recordingJob('feed', { hold: hold.promise });
    const s = scheduler({ jobs: { feed: job.fn } });
    const tick = s.runTick('feed', slot(0));
    await expect.poll(() => job.calls.length).toBe(1);
    const stopping = s.stop({ timeoutMs: 30_000 });
    hold.resolve();
    expect(await stopping).toEqual({ aborted: false, abandoned: false });
    expect(await tick).toMatchObject({ outcome: 'ran', status: 'published' });
    // Stopped: a tick that still fires claims nothing.
    expect(await s.runTick('feed', slot(2))).toMatchObject({ outcome: 'stopped' });
    const { rows } = await db.pool.query('select tick from rr_sync.job_ticks');
    expect(rows).toHaveLength(1);
  });

  it('aborts a run that outlives the grace period; the run ends failed', async () => {
    let seen: AbortSignal | undefined;
    const s = scheduler({
      jobs: {
        feed: async (_trigger, signal) => {
          seen = signal;
          const runId = await insertRun(db.pool, 'feed');
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          await finishRun(db.pool, runId, {
            status: 'failed',
            exitCode: 1,
            summary: null,
            report: null,
            error: 'interrupted',
          });
          throw new AppError('interrupted', 'The feed run was interrupted; nothing was published.');
        },
      },
    });
    const tick = s.runTick('feed', slot(0));
    await expect.poll(() => seen).toBeDefined();
    expect(await s.stop({ timeoutMs: 100 })).toEqual({ aborted: true, abandoned: false });
    expect(seen!.aborted).toBe(true);
    expect(await tick).toMatchObject({ outcome: 'failed', error: /interrupted/ });
    expect((await runs()).map((r) => r.status)).toEqual(['failed']);
  });

  it('gives up on a run that ignores the abort, saying so', async () => {
    const never = deferred();
    const called = deferred();
    const s = scheduler({
      jobs: {
        feed: () => {
          called.resolve();
          return never.promise.then(() => ({ status: 'published', exitCode: 0, runId: null }));
        },
      },
    });
    void s.runTick('feed', slot(0));
    await called.promise;
    expect(await s.stop({ timeoutMs: 50 })).toEqual({ aborted: true, abandoned: true });
    never.resolve();
  });
});

describe('node-cron wiring', () => {
  it('fires ticks from the cron (a seconds cron), one claim per slot', async () => {
    const job = recordingJob('sync');
    const results: TickResult[] = [];
    const s = scheduler({
      jobs: { sync: job.fn },
      config: { ...config, syncCron: '* * * * * *' },
      onResult: (r) => results.push(r),
    });
    await s.start();
    await expect
      .poll(() => results.filter((r) => r.trigger === 'schedule').length, { timeout: 20_000 })
      .toBeGreaterThanOrEqual(2);
    await s.stop();
    const { rows } = await db.pool.query<{ tick: Date }>(
      "select tick from rr_sync.job_ticks where job = 'sync'",
    );
    for (const r of rows) expect(r.tick.getUTCMilliseconds()).toBe(0);
    expect(new Set(rows.map((r) => r.tick.getTime())).size).toBe(rows.length);
    // No catch-up: no feed job was given.
    expect(results.every((r) => r.job === 'sync')).toBe(true);
  });
});
