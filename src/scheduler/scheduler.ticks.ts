import type pg from 'pg';
import type { Queryable } from '../db/pool.ts';
import { JOB_LOCKS } from '../db/locks.ts';

export type TickClaim = { claimed: true } | { claimed: false; by: string };

/**
 * Claim one cron tick of a job for this instance. Every instance fires the same tick; the primary
 * key lets exactly one insert win. A loser's insert waits for the winner's commit, so the second
 * statement always sees the winner's row.
 */
export async function claimTick(
  db: Queryable,
  job: string,
  tick: Date,
  instance: string,
): Promise<TickClaim> {
  const won = await db.query(
    `insert into rr_sync.job_ticks (job, tick, instance) values ($1, $2, $3) on conflict do nothing`,
    [job, tick, instance],
  );
  if (won.rowCount === 1) return { claimed: true };
  const { rows } = await db.query<{ instance: string }>(
    'select instance from rr_sync.job_ticks where job = $1 and tick = $2',
    [job, tick],
  );
  return { claimed: false, by: rows[0]?.instance ?? 'an unknown instance' };
}

export async function setTickRun(db: Queryable, job: string, tick: Date, runId: number): Promise<void> {
  await db.query('update rr_sync.job_ticks set run_id = $3 where job = $1 and tick = $2', [job, tick, runId]);
}

/** Ticks only matter while instances may still fire them: keep a month for the curious. */
export async function pruneTicks(db: Queryable): Promise<void> {
  await db.query("delete from rr_sync.job_ticks where tick < now() - interval '30 days'");
}

/**
 * Whether a feed or sync run holds its advisory lock right now (in any instance). The feed and the
 * sync job write the same feed, so either lock makes both jobs' ticks wait. Probed by taking and
 * releasing the locks on one connection: the job takes its own lock again when it starts, and a
 * run that slips in between is caught there (job.already_running).
 */
export async function feedLocksHeld(pool: pg.Pool): Promise<boolean> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ feed: boolean; sync: boolean }>(
      'select pg_try_advisory_lock($1::bigint) as feed, pg_try_advisory_lock($2::bigint) as sync',
      [JOB_LOCKS.feed, JOB_LOCKS.sync],
    );
    const { feed, sync } = rows[0];
    if (feed) await client.query('select pg_advisory_unlock($1::bigint)', [JOB_LOCKS.feed]);
    if (sync) await client.query('select pg_advisory_unlock($1::bigint)', [JOB_LOCKS.sync]);
    client.release();
    return !(feed && sync);
  } catch (err) {
    // Never hand a connection that may still hold a lock back to the pool: close it.
    client.release(err as Error);
    throw err;
  }
}
