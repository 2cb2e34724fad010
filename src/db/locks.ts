import type pg from 'pg';
import { AppError } from '../shared/errors.ts';
import { APP_NAMES } from './pool.ts';

/** One advisory-lock key per job: jobs never overlap, also across instances (design §6). */
export const JOB_LOCKS = { feed: 0x72725f01, sync: 0x72725f02 } as const;

export interface JobLock {
  /**
   * Aborted, with a `db.unreachable` AppError as its reason, when the lock's connection dies: the
   * lock died with it and another instance may already run the job, so the run must stop.
   */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

/** Back to the name the connection was opened with: it returns to the pool for ordinary work. */
const RESET_NAME = `set_config('application_name', (select reset_val from pg_settings where name = 'application_name'), false)`;

/**
 * Take the job's session advisory lock on a dedicated connection, or fail with
 * `job.already_running` naming the job. The lock dies with the connection, so a killed run never
 * leaves it behind; the connection shows as `rr-sync:lock` in pg_stat_activity while it holds it.
 */
export async function acquireJobLock(pool: pg.Pool, job: keyof typeof JOB_LOCKS): Promise<JobLock> {
  const client = await pool.connect();
  const lost = new AbortController();
  const onLost = (err: unknown) => {
    if (lost.signal.aborted) return;
    lost.abort(
      new AppError(
        'db.unreachable',
        `Lost the connection that held the ${job} job lock (${err instanceof Error ? err.message : String(err)}); the run stopped.`,
        { cause: err },
      ),
    );
  };
  // 'end' without 'error' is a close the server announced cleanly: the lock is gone all the same.
  const onEnd = () => onLost(new Error('Connection terminated'));
  client.on('error', onLost);
  client.on('end', onEnd);
  const detach = (destroy: boolean) => {
    client.off('error', onLost);
    client.off('end', onEnd);
    client.release(destroy || lost.signal.aborted ? true : undefined);
  };
  let held: boolean;
  try {
    const { rows } = await client.query<{ ok: boolean }>(
      'select set_config($2, $3, false), pg_try_advisory_lock($1) as ok',
      [JOB_LOCKS[job], 'application_name', APP_NAMES.lock],
    );
    held = rows[0].ok;
  } catch (err) {
    detach(true);
    throw lost.signal.aborted ? lost.signal.reason : err;
  }
  if (!held) {
    const reset = await client.query(`select ${RESET_NAME}`).then(
      () => true,
      () => false,
    );
    detach(!reset);
    throw new AppError(
      'job.already_running',
      `Another ${job} run holds the lock (another process or instance); nothing was done.`,
    );
  }
  let released = false;
  return {
    signal: lost.signal,
    async release() {
      if (released) return;
      released = true;
      if (lost.signal.aborted) return detach(true);
      const ok = await client.query(`select pg_advisory_unlock($1), ${RESET_NAME}`, [JOB_LOCKS[job]]).then(
        () => true,
        () => false,
      );
      detach(!ok);
    },
  };
}
