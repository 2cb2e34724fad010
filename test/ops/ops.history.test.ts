import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampler } from '../../src/ops/ops.history.ts';
import type { OpsSnapshot } from '../../src/ops/ops.snapshot.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

// The status page's charts read a bounded history in PostgreSQL: one row a minute (whichever
// instance writes first), cumulative totals turned into per-minute counts, pruned after 7 days.
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

/** The figures the sampler reads from a snapshot (the rest of OpsSnapshot is not used by it). */
function snapshot(accepted: number, offers: number): OpsSnapshot {
  return {
    feed: { offers },
    outbox: { pending: 3, oldestPendingSeconds: 42 },
    deadLetters: 1,
    pushes: { pushed: 10 },
    events: { totals: { accepted, sent: accepted - 1 }, pending: 1, oldestPendingSeconds: 2 },
    recommendations: { bySource: { retailrocket: 5, fallback: 2 } },
  } as unknown as OpsSnapshot;
}

describe('ops history sampler', () => {
  it('writes one row a minute, keeps the first writer of the minute, and prunes rows older than 7 days', async () => {
    await db.pool.query(
      `insert into rr_sync.ops_samples (at, offers, instance) values (now() - interval '8 days', 1, 'old'),
                                                                     (now() - interval '6 days', 2, 'recent')`,
    );
    let accepted = 100;
    const sampler = createSampler({
      state: () => db.pool,
      snapshot: async () => snapshot(accepted, 7),
      logger: silentLogger,
      instance: 'a',
    });
    await sampler.sampleOnce();
    accepted = 130;
    const other = createSampler({
      state: () => db.pool,
      snapshot: async () => snapshot(999, 8),
      logger: silentLogger,
      instance: 'b',
    });
    await other.sampleOnce();
    const { rows } = await db.pool.query(
      `select instance, offers, outbox_pending, dead_letters, events from rr_sync.ops_samples order by at, instance`,
    );
    expect(rows[0]).toEqual({
      instance: 'recent',
      offers: 2,
      outbox_pending: null,
      dead_letters: null,
      events: null,
    });
    expect(rows[1]).toEqual({ instance: 'a', offers: 7, outbox_pending: 3, dead_letters: 1, events: 0 });
    // 'b' wrote nothing in the same minute (it may have, only if the minute turned between the two).
    const perMinute = await db.pool.query(
      'select at from rr_sync.ops_samples group by at having count(*) > 1',
    );
    expect(perMinute.rows).toEqual([]);
  });

  it('turns cumulative totals into per-sample counts, and never stops the service when the write fails', async () => {
    await db.pool.query('truncate rr_sync.ops_samples');
    let accepted = 100;
    const sampler = createSampler({
      state: () => db.pool,
      snapshot: async () => snapshot(accepted, 7),
      logger: silentLogger,
      instance: 'a',
    });
    await sampler.sampleOnce();
    await db.pool.query('truncate rr_sync.ops_samples'); // the next minute, as far as the table knows
    accepted = 130;
    await sampler.sampleOnce();
    const { rows } = await db.pool.query('select events from rr_sync.ops_samples');
    expect(rows).toEqual([{ events: 30 }]);
    const failing = createSampler({
      state: () => db.pool,
      snapshot: () => Promise.reject(new Error('snapshot failed')),
      logger: silentLogger,
      instance: 'c',
      everyMs: 10,
    });
    failing.start();
    await new Promise((r) => setTimeout(r, 50));
    await expect(failing.stop()).resolves.toBeUndefined();
  });
});
