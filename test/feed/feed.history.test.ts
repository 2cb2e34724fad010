import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/db/pool.ts';
import { recordRunFailure } from '../../src/feed/feed.history.ts';
import { runFeedJob } from '../../src/feed/feed.job.ts';
import { insertRun } from '../../src/feed/feed.repository.ts';
import { AppError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createFeedHarness, products, readPublished, type FeedHarness } from './feed.harness.ts';
import { createStore } from './store.fixture.ts';

// The history must tell the truth about what FEEDS_DIR serves even when the state database fails
// in the middle of a run (issue 6 §4): the files are the truth, the database records them.
let h: FeedHarness;
beforeAll(async () => {
  h = await createFeedHarness();
});
afterAll(() => h?.close());

async function run(id: number) {
  const { rows } = await h.db.pool.query<{
    status: string;
    exit_code: number | null;
    code: string | null;
    error: string | null;
  }>(`select status, exit_code, summary->>'code' as code, error from rr_sync.runs where id = $1`, [id]);
  return rows[0];
}

describe('feed history repair', () => {
  it('a run that died between the swap and recording its version is recorded by the next run', async () => {
    await createStore(h.db.pool, { products: products(5, '3.00') });
    const first = await runFeedJob(h.deps);
    expect(first.status).toBe('published');
    const runId = first.runId!;
    const live = (await readPublished(h.feedsDir))!.manifest;
    expect(live.runId).toBe(runId);
    // What a kill -9 (or a lost database) right after the swap leaves behind.
    await h.db.pool.query('delete from rr_sync.feed_versions where version = $1', [live.version]);
    await h.db.pool.query(
      `update rr_sync.runs set status = 'running', exit_code = null, finished_at = null, summary = null where id = $1`,
      [runId],
    );

    const next = await runFeedJob(h.deps);
    expect(next.status).toBe('unchanged');
    expect(next.version).toBe(live.version);
    const { rows } = await h.db.pool.query<{ run_id: string; sha256: string; offers: number }>(
      'select run_id, sha256, offers from rr_sync.feed_versions where version = $1',
      [live.version],
    );
    expect(rows).toEqual([{ run_id: String(runId), sha256: live.sha256, offers: 5 }]);
    expect(await run(runId)).toMatchObject({
      status: 'published',
      error: 'the feed went live, but recording it failed at first; recorded later',
    });
  });

  it('a failure the state database could not take is recorded by the next run, with its code', async () => {
    await createStore(h.db.pool, { products: products(5, '4.00') });
    const runId = await insertRun(h.db.pool, 'feed');
    // Nothing listens on port 1: the state database is gone when the run fails.
    const gone = createPool('postgres://postgres@127.0.0.1:1/gone', { max: 1 });
    try {
      const err = new AppError(
        'db.unreachable',
        'PostgreSQL could not be reached: Connection terminated unexpectedly',
      );
      await recordRunFailure(gone, h.feedsDir, runId, err, { 'product.id.not_integer': 1 }, silentLogger);
    } finally {
      await gone.end();
    }
    expect(await run(runId)).toMatchObject({ status: 'running' });
    expect((await readdir(h.feedsDir)).filter((n) => n.startsWith('.unrecorded-run-'))).toEqual([
      `.unrecorded-run-${runId}.json`,
    ]);

    const next = await runFeedJob(h.deps);
    expect(next.status).toBe('published');
    expect(await run(runId)).toEqual({
      status: 'failed',
      exit_code: 4,
      code: 'db.unreachable',
      error: 'PostgreSQL could not be reached: Connection terminated unexpectedly',
    });
    expect((await readdir(h.feedsDir)).filter((n) => n.startsWith('.unrecorded-run-'))).toEqual([]);
  });
});
