import type pg from 'pg';
import { AppError } from '../shared/errors.ts';

/** One advisory-lock key per job: jobs never overlap, also across instances (design §6). */
export const JOB_LOCKS = { feed: 0x72725f01, sync: 0x72725f02 } as const;

export interface JobLock {
  release(): Promise<void>;
}

/**
 * Take the job's session advisory lock on a dedicated connection, or fail with
 * `job.already_running` naming the job. The lock dies with the connection, so a killed run never
 * leaves it behind.
 */
export async function acquireJobLock(pool: pg.Pool, job: keyof typeof JOB_LOCKS): Promise<JobLock> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [
      JOB_LOCKS[job],
    ]);
    if (!rows[0].ok) {
      throw new AppError(
        'job.already_running',
        `Another ${job} run holds the lock (another process or instance); nothing was done.`,
      );
    }
  } catch (err) {
    client.release();
    throw err;
  }
  return {
    async release() {
      await client.query('select pg_advisory_unlock($1)', [JOB_LOCKS[job]]).catch(() => undefined);
      client.release();
    },
  };
}
