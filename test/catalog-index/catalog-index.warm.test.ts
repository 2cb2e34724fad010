import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warmIndexConnections } from '../../src/catalog-index/catalog-index.warm.ts';
import { createPool } from '../../src/db/pool.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** The backends of one application name: what each ran last. */
async function backends(app: string): Promise<string[]> {
  const { rows } = await db.pool.query<{ query: string }>(
    'select query from pg_stat_activity where application_name = $1',
    [app],
  );
  return rows.map((r) => r.query);
}

describe('warming the index connections of a serving process', () => {
  it('opens that many connections, runs the index reads on each, and keeps them past the idle timeout', async () => {
    const app = `rr-sync-warm-${randomBytes(3).toString('hex')}`;
    const pool = createPool(db.url, { max: 6, min: 3, idleTimeoutMillis: 100, applicationName: app });
    try {
      await warmIndexConnections(pool, 3);
      const warmed = await backends(app);
      expect(warmed).toHaveLength(3);
      // The last read of the warm-up (the fallback's candidates) ran on every one of them.
      for (const q of warmed) expect(q).toContain('rr_sync.catalog_items');
      // A burst opens more; once it is over, the pool closes those above `min` and keeps the warm ones.
      await Promise.all(Array.from({ length: 6 }, () => pool.query('select pg_sleep(0.05)')));
      await until(async () => (await backends(app)).length === 3, { what: 'the pool back at its min' });
      await new Promise((r) => setTimeout(r, 400));
      expect(await backends(app)).toHaveLength(3);
    } finally {
      await pool.end();
    }
  });

  it('never holds more than the pool allows, and leaves every connection free for requests', async () => {
    const app = `rr-sync-warm-${randomBytes(3).toString('hex')}`;
    const pool = createPool(db.url, { max: 2, applicationName: app });
    try {
      // Asking for 5 of a pool of 2 would wait for itself; it warms the 2 there are.
      await warmIndexConnections(pool, 5);
      expect(await backends(app)).toHaveLength(2);
      expect(pool.idleCount).toBe(2);
      expect(pool.waitingCount).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it('rejects when PostgreSQL cannot be reached, holding nothing', async () => {
    const pool = createPool('postgres://postgres@127.0.0.1:1/none', { max: 3 });
    pool.options.connectionTimeoutMillis = 2000;
    try {
      await expect(warmIndexConnections(pool, 3)).rejects.toThrow(/ECONNREFUSED|connect/);
      expect(pool.totalCount).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it('releases the connections it opened when one of them is cut mid-way', async () => {
    const app = `rr-sync-warm-${randomBytes(3).toString('hex')}`;
    const pool = createPool(db.url, { max: 3, applicationName: app });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      // Hold the index table so the warm-up's reads wait, then kill one of its backends.
      await admin.query('begin');
      await admin.query('lock table rr_sync.catalog_items_base in access exclusive mode');
      let settled = false;
      const warming = warmIndexConnections(pool, 3).finally(() => (settled = true));
      warming.catch(() => undefined);
      await until(async () => (await backends(app)).length === 3, { what: 'three warming backends' });
      await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 limit 1',
        [app],
      );
      // The other two are still waiting for the lock: the warm-up must not hand them back yet
      // (a request would get a connection busy with our reads).
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false);
      await admin.query('rollback');
      await expect(warming).rejects.toThrow();
      // The others finished their reads and went back to the pool: requests can have them.
      await until(() => pool.waitingCount === 0 && pool.totalCount === pool.idleCount, {
        what: 'every connection back in the pool',
      });
      const r = await pool.query<{ one: number }>('select 1 as one');
      expect(r.rows[0]!.one).toBe(1);
    } finally {
      await admin.end();
      await pool.end();
    }
  });
});
