import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireJobLock } from '../../src/db/locks.ts';
import { createPool } from '../../src/db/pool.ts';
import { AppError } from '../../src/shared/errors.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let admin: pg.Client;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
  admin = new pg.Client({ connectionString: db.url, application_name: 'locks-test-admin' });
  await admin.connect();
  pool = createPool(db.url, { max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await admin?.end();
  await db?.drop();
});

async function byName(name: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = current_database() and application_name = $1',
    [name],
  );
  return rows.map((r) => r.pid);
}

// pg_locks spans the cluster: other test files hold advisory locks in their own databases.
const lockHeld = async () =>
  (
    await admin.query(
      `select 1 from pg_locks l join pg_database d on d.oid = l.database
        where d.datname = current_database() and l.locktype = 'advisory' and l.granted`,
    )
  ).rowCount ?? 0;

describe('the job lock connection', () => {
  it('shows as rr-sync:lock while held and goes back to the pool as rr-sync', async () => {
    const lock = await acquireJobLock(pool, 'feed');
    expect(await byName('rr-sync:lock')).toHaveLength(1);
    expect(lock.signal.aborted).toBe(false);
    expect(await lockHeld()).toBe(1);
    await lock.release();
    expect(await byName('rr-sync:lock')).toEqual([]);
    expect(await lockHeld()).toBe(0);
  });

  it('a second taker gets job.already_running, and its connection is not left named as the lock', async () => {
    const lock = await acquireJobLock(pool, 'feed');
    try {
      const err = await acquireJobLock(pool, 'feed').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'job.already_running' });
      expect(await byName('rr-sync:lock')).toHaveLength(1);
    } finally {
      await lock.release();
    }
  });

  it('when its connection is terminated, the signal aborts with db.unreachable and release() still works', async () => {
    const lock = await acquireJobLock(pool, 'feed');
    const [pid] = await byName('rr-sync:lock');
    const aborted = new Promise((resolve) => lock.signal.addEventListener('abort', resolve, { once: true }));
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await aborted;
    const reason = lock.signal.reason as AppError;
    expect(reason).toBeInstanceOf(AppError);
    expect(reason.code).toBe('db.unreachable');
    expect(reason.exitCode).toBe(4);
    expect(reason.message).toMatch(
      /^Lost the connection that held the feed job lock \(terminating connection due to administrator command\)/,
    );
    await lock.release();
    // The lock died with its connection: another run can take it as soon as the server has ended
    // that backend. (The client hears the FATAL before the backend has exited and let go of its
    // locks: taking it at that very moment failed once on a loaded CI machine.)
    while ((await admin.query('select 1 from pg_locks where pid = $1', [pid])).rowCount) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const next = await acquireJobLock(pool, 'feed');
    await next.release();
  });
});
